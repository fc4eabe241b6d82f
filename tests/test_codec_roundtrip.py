"""Round-trip of every data type reachable from a VirtualMachine operation, in every release.

For each release, the reachable set (parameters, return values, task results, properties, declared
faults, and ``TaskInfo``, with every field and subtype) is walked in sorted order; a few values of
each type are drawn from :func:`harness.gen.strategies.values`, encoded, sent through JSON text,
decoded, and compared; the encoded JSON must validate under the release's schema for the type.

Compiling one ``schema.validator(type)`` per type would take minutes (each carries hundreds of
definitions), so validation uses one compiled document per release whose property ``T`` is exactly
``SchemaBuilder.position(T)`` — the schema ``schema.validator(T)`` compiles — and the instance is
``{T: json}``.  ``test_envelope_agrees_with_schema_validator`` checks that the two agree.
"""

from __future__ import annotations

import json

import jsonschema_rs
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

from harness.gen.strategies import values
from harness.vmodl.codec import codec
from harness.vmodl.registry import DEFAULT_RELEASE, RELEASES, TypeRef, release
from harness.vmodl.schema import SchemaBuilder, validator
from harness.vmodl.values import AnyValue, MoRef

EXAMPLES = 3  # per type and release
CHUNK = 10  # types per hypothesis run
MAX_DEPTH = 2  # every nested type is also drawn at the top level, so shallow values suffice

SETTINGS = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)


def vm_roots(rel_name: str) -> set[TypeRef | str]:
    """Every type a VirtualMachine operation sends or receives."""
    rel = release(rel_name)
    # faults inside data (TaskInfo.error, faultCause ...) are MethodFault objects; LocalizedMethodFault
    # is a type of its own that nothing refers to, round-tripped all the same
    roots: set[TypeRef | str] = {"TaskInfo", "MethodFault", "LocalizedMethodFault"}
    for m in rel.methods("VirtualMachine"):
        roots.update(p.type for p in m.params)
        roots.update(r for r in (m.returns, m.task_result) if r is not None)
        roots.update(m.faults)
    roots.update(p.type for p in rel.properties("VirtualMachine"))
    return roots


def reachable(rel_name: str) -> list[str]:
    return sorted(release(rel_name).reachable(vm_roots(rel_name)))


class Envelope:
    """One compiled schema per release checking ``{T: json}`` against ``position(T)``."""

    def __init__(self, rel_name: str, types: list[str]):
        builder = SchemaBuilder(release(rel_name))
        props = {t: builder.position(t) for t in types}
        self.schema = {
            "type": "object",
            "properties": props,
            "additionalProperties": False,
            "minProperties": 1,
            "maxProperties": 1,
            "$defs": builder.defs,
        }
        self._compiled = jsonschema_rs.validator_for(self.schema)

    def errors(self, type_name: str, instance) -> list[str]:
        return [
            f"{'/'.join(map(str, e.instance_path))}: {e.message}"
            for e in self._compiled.iter_errors({type_name: instance})
        ][:3]


def test_reachable_set_is_large_and_covers_the_operations():
    types = reachable("8.0.2.0")
    assert len(types) > 1500
    for name in (
        "VirtualMachineConfigSpec",
        "VirtualMachineConfigInfo",
        "TaskInfo",
        "InvalidPowerState",
        "NoPermission",
        "VirtualMachineRuntimeInfo",
        "VirtualMachineCloneSpec",
        "VirtualMachineMksTicket",
        "VirtualMachinePowerState",
        "LocalizedMethodFault",
        "VirtualDisk",
    ):
        assert name in types, name
    assert "SnapshotSelectionSpec" not in types and "SnapshotSelectionSpec" in reachable("8.0.3.0")


def signature(rel_name: str, type_name: str) -> tuple:
    """What values of a type look like in a release: its fields and the subtypes it admits."""
    rel = release(rel_name)
    if type_name in rel.enums:
        return ("enum", rel.enums[type_name].values)
    fields = tuple((f.name, str(f.type), f.optional) for f in rel.fields(type_name))
    return fields, tuple(rel.subtypes(type_name))


def plan() -> dict[str, list[str]]:
    """The types to draw in each release: every reachable type in the default release; in the
    others, every type whose definition differs from all releases planned before it, and every
    type an operation names directly."""
    order = [DEFAULT_RELEASE] + [r for r in RELEASES if r != DEFAULT_RELEASE]
    done: dict[str, set[tuple]] = {}
    out: dict[str, list[str]] = {}
    for rel_name in order:
        direct = {r.name if isinstance(r, TypeRef) else r for r in vm_roots(rel_name)}
        chosen = []
        for t in reachable(rel_name):
            sig = signature(rel_name, t)
            if rel_name == DEFAULT_RELEASE or sig not in done.get(t, set()) or t in direct:
                chosen.append(t)
            done.setdefault(t, set()).add(sig)
        out[rel_name] = chosen
    return out


PLAN = plan()


def test_plan_covers_every_type_of_every_release():
    for rel_name in RELEASES:
        covered = {(t, signature(r, t)) for r in RELEASES for t in PLAN[r]}
        for t in reachable(rel_name):
            assert (t, signature(rel_name, t)) in covered, (rel_name, t)
    assert len(PLAN[DEFAULT_RELEASE]) == len(reachable(DEFAULT_RELEASE))
    assert "SnapshotSelectionSpec" in PLAN["8.0.3.0"]


@pytest.mark.parametrize("rel_name", RELEASES)
def test_round_trip_every_reachable_type(rel_name):
    types = PLAN[rel_name]
    envelope = Envelope(rel_name, types)
    for start in range(0, len(types), CHUNK):
        round_trip(rel_name, types[start : start + CHUNK], envelope)()


def round_trip(rel_name: str, chunk: list[str], envelope: Envelope):
    c = codec(rel_name)

    @SETTINGS
    @given(st.data())
    def test(data):
        for type_name in chunk:
            value = data.draw(values(type_name, rel_name, max_depth=MAX_DEPTH), label=type_name)
            text = json.dumps(c.encode(value, type_name))
            note(f"{type_name} on the wire: {text[:2000]}")
            wire = json.loads(text)
            assert c.decode(wire, type_name) == value
            problems = envelope.errors(type_name, wire)
            assert not problems, f"{type_name} does not validate: {problems}"

    return test


def test_envelope_agrees_with_schema_validator():
    """The per-type validators accept what the envelope accepts, and reject what it rejects."""
    rel_name = "8.0.2.0"
    types = [
        "TaskInfo",
        "VirtualMachineRuntimeInfo",
        "MethodFault",
        "LocalizedMethodFault",
        "VirtualMachineConfigSpec",
    ]
    envelope = Envelope(rel_name, types)
    c = codec(rel_name)

    @SETTINGS
    @given(st.data())
    def agree(data):
        for type_name in types:
            wire = c.encode(data.draw(values(type_name, rel_name, max_depth=MAX_DEPTH)), type_name)
            assert validator(type_name, rel_name).is_valid(wire) and not envelope.errors(type_name, wire)
            broken = {**wire, "harnessUnknownField": 1}
            assert not validator(type_name, rel_name).is_valid(broken) and envelope.errors(type_name, broken)

    agree()


def references(value) -> list[MoRef]:
    if isinstance(value, MoRef):
        return [value]
    if isinstance(value, AnyValue):
        return references(value.value)
    if isinstance(value, dict):
        return [r for v in value.values() for r in references(v)]
    if isinstance(value, list):
        return [r for v in value for r in references(v)]
    return []


@pytest.mark.parametrize(
    "type_name", ["TaskInfo", "VirtualMachineConfigInfo", "MethodFault", "VirtualDevice[]"]
)
def test_round_trip_with_real_inventory_references(type_name):
    """With a pool of real objects, every VirtualMachine reference drawn comes from the pool."""
    pool = {"VirtualMachine": [MoRef("VirtualMachine", "vm-1001"), MoRef("VirtualMachine", "vm-1002")]}
    rel_name = "8.0.2.0"
    c = codec(rel_name)
    v = validator(type_name, rel_name)
    seen: set[MoRef] = set()

    @settings(SETTINGS, max_examples=25)
    @given(values(type_name, rel_name, morefs=pool, max_depth=3))
    def check(value):
        wire = c.encode(value, type_name)
        assert v.is_valid(wire), v.errors(wire)
        assert c.decode(json.loads(json.dumps(wire)), type_name) == value
        for ref in references(value):
            if ref.type == "VirtualMachine":
                assert ref in pool["VirtualMachine"]
                seen.add(ref)

    check()
    if type_name == "TaskInfo":
        assert seen, "TaskInfo.entity (a ManagedEntity) never drew a pool VM"
