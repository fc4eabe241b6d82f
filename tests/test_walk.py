"""The one walk over the type system: which kind a declared type is, and the visitor's dispatch."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from harness.contract.openapi import OpenApiSchemas
from harness.gen.strategies import values
from harness.sim.build import builder
from harness.vmodl.codec import CodecError, codec
from harness.vmodl.registry import MANAGED_ROOT, MOREF, TypeRef, release
from harness.vmodl.schema import SchemaBuilder
from harness.vmodl.values import DataObject, MoRef
from harness.vmodl.walk import (
    UNTYPED_REFERENCES,
    Kind,
    TypeVisitor,
    ValueVisitor,
    as_ref,
    is_reference,
    kind,
    name_kind,
    referable,
)

REL = "8.0.2.0"

#: One declared type of each kind (two for the kinds with a special case).
EXAMPLES: list[tuple[TypeRef | str, Kind]] = [
    (TypeRef("string", True), Kind.ARRAY),
    ("VirtualMachineSnapshotTree[]", Kind.ARRAY),
    ("int", Kind.PRIMITIVE),
    ("dateTime", Kind.PRIMITIVE),
    ("base64Binary", Kind.PRIMITIVE),
    ("VirtualMachinePowerState", Kind.ENUM),
    (MOREF, Kind.REFERENCE),
    (MANAGED_ROOT, Kind.REFERENCE),
    ("anyType", Kind.ANY),
    ("TaskInfo", Kind.DATA),
    ("MethodFault", Kind.DATA),
    ("DataObject", Kind.DATA),
    ("VirtualMachine", Kind.MANAGED),
    ("ManagedEntity", Kind.MANAGED),
]


class Recorder(TypeVisitor):
    """Says which method a type reached, with what."""

    def visit_array(self, ref: TypeRef, *args: Any) -> tuple:
        return ("array", ref, args)

    def visit_primitive(self, name: str, *args: Any) -> tuple:
        return ("primitive", name, args)

    def visit_enum(self, name: str, *args: Any) -> tuple:
        return ("enum", name, args)

    def visit_reference(self, name: str, *args: Any) -> tuple:
        return ("reference", name, args)

    def visit_any(self, name: str, *args: Any) -> tuple:
        return ("any", name, args)

    def visit_data(self, name: str, *args: Any) -> tuple:
        return ("data", name, args)

    def visit_managed(self, name: str, *args: Any) -> tuple:
        return ("managed", name, args)


@pytest.mark.parametrize(("declared", "expected"), EXAMPLES, ids=lambda v: str(v))
def test_kind_of_each_declared_type(declared, expected):
    rel = release(REL)
    assert kind(rel, declared) is expected
    assert Recorder(rel).kind(declared) is expected


@pytest.mark.parametrize(("declared", "expected"), EXAMPLES, ids=lambda v: str(v))
def test_visit_dispatches_each_kind_with_the_extra_arguments(declared, expected):
    method, subject, args = Recorder(release(REL)).visit(declared, 1, "two")
    assert method == expected.name.lower() and expected.method == f"visit_{method}"
    assert args == (1, "two")
    ref = as_ref(declared)
    # an array's method gets the TypeRef (its item is ref.item), every other kind the type name
    assert subject == (ref if ref.array else ref.name)


def test_managed_object_is_an_untyped_reference_decided_in_one_place():
    rel = release(REL)
    # the registry has ManagedObject as a managed type (the root of them all) ...
    assert rel.kind(MANAGED_ROOT) == "managed" and MANAGED_ROOT in rel.managed
    # ... but a position declared ManagedObject takes a reference to any managed object, as
    # ManagedObjectReference does
    assert {MOREF, MANAGED_ROOT} == UNTYPED_REFERENCES
    assert name_kind(rel, MANAGED_ROOT) is name_kind(rel, MOREF) is Kind.REFERENCE
    assert name_kind(rel, "VirtualMachine") is Kind.MANAGED
    assert referable(rel, MANAGED_ROOT) == referable(rel, MOREF) == sorted(rel.managed)
    assert MANAGED_ROOT not in referable(rel, MOREF, abstract=False)
    assert referable(rel, "VirtualMachine") == ["VirtualMachine"]
    assert "HostSystem" in referable(rel, "ManagedEntity") and "Task" not in referable(rel, "ManagedEntity")
    assert all(is_reference(rel, n) for n in (MOREF, MANAGED_ROOT, "VirtualMachine"))
    assert not any(is_reference(rel, n) for n in ("TaskInfo", "string", "anyType", "NoSuchType"))


def test_every_consumer_treats_managed_object_as_an_untyped_reference():
    rel = release(REL)
    c = codec(REL)
    folder = MoRef("Folder", "group-d1")
    wire = {"_typeName": MOREF, "type": "Folder", "value": "group-d1"}
    for untyped in UNTYPED_REFERENCES:
        assert c.encode(folder, untyped) == wire and c.decode(wire, untyped) == folder
        assert builder(REL).default(TypeRef(untyped)) == folder
    with pytest.raises(CodecError, match="expected a reference to VirtualMachine, got one to Folder"):
        c.encode(folder, "VirtualMachine")
    with pytest.raises(CodecError, match="expected a reference to VirtualMachine, got one to Folder"):
        c.decode(wire, "VirtualMachine")
    assert builder(REL).default(TypeRef("VirtualMachine")) == MoRef("VirtualMachine", "virtualmachine-0")

    schemas = SchemaBuilder(rel)
    assert schemas.position(MANAGED_ROOT) == schemas.position(MOREF) == {"$ref": "#/$defs/MoRef"}
    assert schemas.position("VirtualMachine") == {"$ref": "#/$defs/MoRef.VirtualMachine"}
    assert schemas.defs["MoRef"]["properties"]["type"]["enum"] == sorted(rel.managed)

    openapi = OpenApiSchemas(rel)
    untyped = {"$ref": "#/components/schemas/ManagedObjectReference"}
    assert openapi.position(MANAGED_ROOT) == openapi.position(MOREF) == untyped
    assert openapi.position(MOREF, moref="VirtualMachine") == {
        "$ref": "#/components/schemas/MoRefVirtualMachine"
    }
    assert openapi.position("ManagedObject[]") == {"type": "array", "items": untyped}


@settings(max_examples=20, database=None, deadline=None, suppress_health_check=list(HealthCheck))
@given(values(MANAGED_ROOT, REL))
def test_strategies_never_draw_a_reference_to_the_abstract_root(ref):
    assert isinstance(ref, MoRef) and ref.type != MANAGED_ROOT and ref.type in release(REL).managed


def test_unknown_types_raise_key_error():
    rel = release(REL)
    with pytest.raises(KeyError, match="NoSuchType"):
        kind(rel, "NoSuchType")
    with pytest.raises(KeyError, match="NoSuchType"):
        Recorder(rel).visit("NoSuchType")
    with pytest.raises(KeyError, match="NoSuchType"):
        values("NoSuchType[]", REL)


def test_the_method_of_a_type_name_is_decided_once(monkeypatch):
    rel = release(REL)
    visitor = Recorder(rel)
    calls: list[str] = []
    original = type(rel).kind

    def counting(self, name):
        calls.append(name)
        return original(self, name)

    monkeypatch.setattr(type(rel), "kind", counting)
    for _ in range(3):
        visitor.visit("TaskInfo")
        visitor.visit(TypeRef("TaskInfo", True))
        visitor.visit(MANAGED_ROOT)
    assert calls == ["TaskInfo"]  # arrays need no decision; untyped references are decided without it


def test_a_kind_the_visitor_does_not_walk_raises_not_implemented():
    class OnlyPrimitives(TypeVisitor):
        def visit_primitive(self, name: str) -> str:
            return name

    visitor = OnlyPrimitives(release(REL))
    assert visitor.visit("long") == "long"
    for declared in ("TaskInfo", "int[]", MOREF, "VirtualMachine", "anyType", "VirtualMachinePowerState"):
        with pytest.raises(NotImplementedError, match="OnlyPrimitives does not walk"):
            visitor.visit(declared)


class Minimal(ValueVisitor):
    """A minimal valid value, as the sandbox builds one: required fields only, one array item."""

    def visit_array(self, ref: TypeRef, depth: int = 0) -> list:
        one = self.visit(ref.item, depth)
        return [] if one is None else [one]

    def visit_primitive(self, name: str, depth: int = 0) -> Any:
        return {"boolean": False, "string": "x"}.get(name, 0)

    def visit_enum(self, name: str, depth: int = 0) -> str:
        return self.release.enums[name].values[0]

    def visit_reference(self, name: str, depth: int = 0) -> MoRef:
        return MoRef("Folder", "group-d1")

    def visit_managed(self, name: str, depth: int = 0) -> MoRef | None:
        return None  # nothing to point to: the field is left out

    def visit_any(self, name: str, depth: int = 0) -> None:
        return None

    def too_deep(self, name: str) -> DataObject:
        return DataObject(name)


def test_value_visitor_builds_required_fields_only():
    rel = release(REL)
    m = Minimal(rel)
    info = m.value("TaskInfo")
    required = [f.name for f in rel.fields("TaskInfo") if not f.optional]
    assert isinstance(info, DataObject) and info.type_name == "TaskInfo"
    # TaskInfo's required references (task, descriptionId ...) that the visitor leaves as None are left out
    assert set(info) <= set(required)
    assert info["state"] == rel.enums["TaskInfoState"].values[0]
    assert info["key"] == "x" and info["cancelled"] is False
    assert m.value("TaskInfo[]") == [info]
    assert m.value("string[]") == ["x"]
    assert m.value("VirtualMachine[]") == []
    assert m.visit_data("TaskInfo", m.max_depth + 1) == DataObject("TaskInfo")
    codec(REL).encode(m.value("VirtualMachineConfigSpec"), "VirtualMachineConfigSpec")


def test_sim_defaults_too_deep_keeps_its_message():
    b = builder(REL)
    with pytest.raises(ValueError, match="cannot build a default TaskInfo: too deep"):
        b.default(TypeRef("TaskInfo"), b.max_depth + 1)
