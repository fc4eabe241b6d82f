"""Request generation: valid bodies validate and decode; every invalid body really is invalid."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import HealthCheck, given, settings

from harness.contract import load_contracts
from harness.gen import decode_request, encode_request, request_schema, request_validator, requests, values
from harness.gen.invalid import INVALID_KINDS, applicable_kinds, invalid_requests
from harness.gen.preconditions import lookup
from harness.vmodl.codec import CodecError, codec
from harness.vmodl.values import DataObject, MoRef

SETTINGS = settings(
    max_examples=6, derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)
CONTRACTS = load_contracts()
VMS = [MoRef("VirtualMachine", f"vm-{i}") for i in (101, 102, 103)]
POOL = {
    "VirtualMachine": VMS,
    "HostSystem": [MoRef("HostSystem", "host-9")],
    "Folder": [MoRef("Folder", "group-v3")],
    "ResourcePool": [MoRef("ResourcePool", "resgroup-8")],
    "Datastore": [MoRef("Datastore", "datastore-11")],
}


def ops(rel_name: str) -> list:
    return [c for c in CONTRACTS.for_release(rel_name) if c.kind == "method"]


def ids(contracts) -> list[str]:
    return [c.id for c in contracts]


def references(value) -> list[MoRef]:
    if isinstance(value, MoRef):
        return [value]
    if isinstance(value, dict):
        return [r for v in value.values() for r in references(v)]
    if isinstance(value, list):
        return [r for v in value for r in references(v)]
    return []


# --- valid bodies ---------------------------------------------------------------------------------
def valid_bodies(contract, rel_name: str):
    check = request_validator(contract, rel_name)

    @SETTINGS
    @given(requests(contract, rel_name, morefs=POOL))
    def valid(params):
        body = encode_request(contract, rel_name, params)
        if not contract.params_for(rel_name):
            assert body is None
            return
        wire = json.loads(json.dumps(body))
        assert check.is_valid(wire), (contract.id, check.errors(wire))
        assert decode_request(contract, rel_name, wire) == params
        for p in contract.params_for(rel_name):
            if p.required:
                assert p.name in params, (contract.id, p.name)
        for ref in references(params):  # every reference a pool type can fill comes from the pool
            if ref.type in POOL:
                assert ref in POOL[ref.type], (contract.id, ref)

    return valid


@pytest.mark.parametrize("rel_name", ["8.0.2.0", "9.1.0.0"])
def test_generated_bodies_validate_and_decode(rel_name):
    for contract in ops(rel_name):
        try:
            valid_bodies(contract, rel_name)()
        except Exception as exc:  # say which contract
            raise AssertionError(f"{contract.id}: {exc}") from exc


def test_reference_parameters_point_to_the_declared_managed_type():
    contract = CONTRACTS.get("VirtualMachine_MakePrimaryVM_Task")

    @SETTINGS
    @given(requests(contract, "8.0.2.0", morefs=None))
    def synthetic(params):
        assert params["vm"].type == "VirtualMachine" and params["vm"].value.startswith("vm-")

    synthetic()

    @SETTINGS
    @given(requests(contract, "8.0.2.0", morefs=POOL))
    def pooled(params):
        assert params["vm"] in VMS

    pooled()


def test_optional_reference_without_pool_entries_is_left_out():
    contract = CONTRACTS.get("VirtualMachine_PowerOnVM_Task")
    seen: set = set()

    @settings(SETTINGS, max_examples=20)
    @given(requests(contract, "8.0.2.0", morefs={"VirtualMachine": VMS}))
    def no_host(params):
        assert "host" not in params

    @settings(SETTINGS, max_examples=20)
    @given(requests(contract, "8.0.2.0", morefs=POOL))
    def host_from_pool(params):
        if "host" in params:
            seen.add(params["host"])

    no_host()
    host_from_pool()
    assert seen == {MoRef("HostSystem", "host-9")}


def test_overrides_fix_parameters():
    contract = CONTRACTS.get("VirtualMachine_MakePrimaryVM_Task")
    chosen = MoRef("VirtualMachine", "vm-ft-1")

    @SETTINGS
    @given(requests(contract, "8.0.2.0", morefs=POOL, overrides={"vm": chosen}))
    def fixed(params):
        assert params == {"vm": chosen}

    fixed()
    power_on = CONTRACTS.get("VirtualMachine_PowerOnVM_Task")

    @SETTINGS
    @given(requests(power_on, "8.0.2.0", morefs=POOL, overrides={"host": None}))
    def left_out(params):
        assert params == {}

    left_out()
    with pytest.raises(ValueError, match="has no parameter colour"):
        requests(contract, "8.0.2.0", morefs=POOL, overrides={"colour": 1})


def test_parameters_follow_the_release():
    contract = CONTRACTS.get("VirtualMachine_RemoveAllSnapshots_Task")
    drawn: dict[str, set[str]] = {"8.0.2.0": set(), "8.0.3.0": set()}
    for rel_name, names in drawn.items():
        for params in examples(requests(contract, rel_name), 30):
            names.update(params)
    assert drawn == {"8.0.2.0": {"consolidate"}, "8.0.3.0": {"consolidate", "spec"}}
    with pytest.raises(ValueError, match="does not exist in release 8.0.2.0"):
        requests(CONTRACTS.get("VirtualMachine_RepairVmDiskChains_Task"), "8.0.2.0")


def test_encode_request():
    power_off = CONTRACTS.get("VirtualMachine_PowerOffVM_Task")
    assert encode_request(power_off, "8.0.2.0", {}) is None
    with pytest.raises(CodecError):
        encode_request(power_off, "8.0.2.0", {"vm": VMS[0]})
    make_primary = CONTRACTS.get("VirtualMachine_MakePrimaryVM_Task")
    assert encode_request(make_primary, "8.0.2.0", {"vm": VMS[0]}) == {
        "vm": {"_typeName": "ManagedObjectReference", "type": "VirtualMachine", "value": "vm-101"}
    }
    with pytest.raises(CodecError, match="required parameter of MakePrimaryVM_Task is missing"):
        encode_request(make_primary, "8.0.2.0", {})
    with pytest.raises(CodecError, match="expected a reference to VirtualMachine, got one to HostSystem"):
        encode_request(make_primary, "8.0.2.0", {"vm": MoRef("HostSystem", "host-1")})
    with pytest.raises(CodecError, match="has no parameter 'colour'"):
        encode_request(make_primary, "8.0.2.0", {"vm": VMS[0], "colour": "red"})
    rename = CONTRACTS.get("VirtualMachine_Rename_Task")
    assert encode_request(rename, "8.0.2.0", {"newName": "x"}) == {"newName": "x"}


def test_decode_request_errors():
    clone = CONTRACTS.get("VirtualMachine_CloneVM_Task")
    with pytest.raises(CodecError, match="a request body is a JSON object"):
        decode_request(clone, "8.0.2.0", [1])
    with pytest.raises(CodecError) as info:
        decode_request(clone, "8.0.2.0", {"folder": {"type": "Folder", "value": "group-v3"}, "name": "c"})
    assert info.value.path == "spec"
    params = decode_request(
        clone,
        "8.0.2.0",
        {
            "folder": {"type": "Folder", "value": "group-v3"},
            "name": "c",
            "spec": {"location": {}, "template": False, "powerOn": False},
        },
    )
    assert params["spec"] == DataObject(
        "VirtualMachineCloneSpec",
        template=False,
        powerOn=False,
        location=DataObject("VirtualMachineRelocateSpec"),
    )


def test_request_schema_shape():
    schema = request_schema(CONTRACTS.get("VirtualMachine_CloneVM_Task"), "8.0.2.0")
    assert schema["required"] == ["folder", "name", "spec"]
    assert schema["additionalProperties"] is False
    assert schema["properties"]["folder"] == {"$ref": "#/$defs/MoRef.Folder"}
    assert request_validator(CONTRACTS.get("VirtualMachine_PowerOffVM_Task"), "8.0.2.0").is_valid(None)


def test_values_refuses_unknown_types():
    with pytest.raises(KeyError, match="SnapshotSelectionSpec"):
        values("SnapshotSelectionSpec", "8.0.2.0")
    assert values("SnapshotSelectionSpec", "8.0.3.0") is not None


def test_values_respect_sizes_and_depth():
    c = codec("8.0.2.0")

    def depth(value) -> int:
        if isinstance(value, dict):
            return 1 + max((depth(v) for v in value.values()), default=0)
        if isinstance(value, list):
            return max((depth(v) for v in value), default=0)
        return 0

    def arrays(value):
        if isinstance(value, list):
            yield value
            for v in value:
                yield from arrays(v)
        elif isinstance(value, dict):
            for v in value.values():
                yield from arrays(v)

    @settings(SETTINGS, max_examples=30)
    @given(values("VirtualMachineConfigSpec", "8.0.2.0", max_depth=2))
    def small(value):
        wire = c.encode(value, "VirtualMachineConfigSpec")
        assert all(len(a) <= 3 for a in arrays(wire))
        assert len(value) <= 6
        # required-only objects may continue past the limit, but only where a field is required
        assert depth(value) <= 6

    small()


# --- invalid bodies -------------------------------------------------------------------------------
def assert_invalid(contract, rel_name, bad) -> None:
    if bad.detectable == "json":
        with pytest.raises(ValueError):
            json.loads(bad.body)
        return
    body = json.loads(bad.body)
    check = request_validator(contract, rel_name)
    if bad.detectable == "inventory":
        assert check.is_valid(body), (contract.id, bad.label)
        decoded = decode_request(contract, rel_name, body)
        assert not any(r in pool_refs() for r in references(decoded) if "missing" in r.value), bad.label
        assert any("missing" in r.value for r in references(decoded)), bad.label
        return
    assert not check.is_valid(body), f"{contract.id}: the schema accepts {bad.label}: {bad.body[:300]!r}"
    with pytest.raises(CodecError):
        decode_request(contract, rel_name, body)


def pool_refs() -> set[MoRef]:
    return {r for refs in POOL.values() for r in refs}


def invalid_bodies(contract, rel_name: str, kinds: set[str]):
    @SETTINGS
    @given(invalid_requests(contract, rel_name, morefs=POOL))
    def invalid(bad):
        assert bad.kind in INVALID_KINDS and bad.label.startswith("a body")
        kinds.add(bad.kind)
        assert_invalid(contract, rel_name, bad)

    return invalid


@pytest.mark.parametrize("rel_name", ["8.0.2.0"])
def test_every_invalid_body_is_invalid(rel_name):
    kinds: set[str] = set()
    for contract in ops(rel_name):
        try:
            invalid_bodies(contract, rel_name, kinds)()
        except Exception as exc:
            raise AssertionError(f"{contract.id}: {exc}") from exc
    assert kinds == set(INVALID_KINDS)


@pytest.mark.parametrize(
    ("op_id", "kind", "label"),
    [
        (
            "VirtualMachine_MakePrimaryVM_Task",
            "missing_required",
            "a body with a missing required parameter `vm`",
        ),
        (
            "VirtualMachine_MakePrimaryVM_Task",
            "wrong_moref_type",
            "a body with `vm` referring to a HostSystem where a VirtualMachine is required",
        ),
        (
            "VirtualMachine_MakePrimaryVM_Task",
            "missing_moref",
            "a body with `vm` referring to a nonexistent VirtualMachine `vm-harness-missing-object`",
        ),
        (
            "VirtualMachine_PowerOffVM_Task",
            "unknown_param",
            "a body with an unknown parameter `harnessUnknownParameter`",
        ),
        ("VirtualMachine_PowerOffVM_Task", "malformed_json", r"^a body that is not JSON \(truncated text\)$"),
        ("VirtualMachine_SetScreenResolution", "int_out_of_range", "out of the range of int"),
        ("VirtualMachine_MigrateVM_Task", "bad_enum", "not a value of enum"),
        (
            "VirtualMachine_ReconfigVM_Task",
            "bad_typename",
            r"^a body with `spec(\.\w+|\[\d+\])*\._typeName` = `AboutInfo`, which is no \w+$",
        ),
        (
            "VirtualMachine_CloneVM_Task",
            "missing_required_field",
            r"^a body without `spec(\.\w+|\[\d+\])*\.\w+`, a required field of \w+$",
        ),
        (
            "VirtualMachine_Rename_Task",
            "wrong_json_type",
            r"^a body (with `newName` of the wrong JSON type \(expected string\)"
            r"|that is a JSON array, not an object)$",
        ),
    ],
)
def test_each_kind_is_labelled_and_invalid(op_id, kind, label):
    contract = CONTRACTS.get(op_id)
    assert kind in applicable_kinds(contract, "8.0.2.0") or kind == "missing_required_field"

    @SETTINGS
    @given(invalid_requests(contract, "8.0.2.0", morefs=POOL, kinds={kind}))
    def labelled(bad):
        assert bad.kind == kind and re.search(label, bad.label), bad.label
        assert_invalid(contract, "8.0.2.0", bad)

    labelled()


def test_wrong_moref_type_uses_a_real_object_of_another_type():
    contract = CONTRACTS.get("VirtualMachine_MakePrimaryVM_Task")
    bad = examples(invalid_requests(contract, "8.0.2.0", morefs=POOL, kinds={"wrong_moref_type"}), 1)[0]
    assert json.loads(bad.body)["vm"] == {
        "_typeName": "ManagedObjectReference",
        "type": "HostSystem",
        "value": "host-9",
    }


def test_generic_references_never_name_the_abstract_root():
    for type_name in ("ManagedObjectReference", "ManagedObject", "ManagedEntity[]"):
        for value in examples(values(type_name, "8.0.2.0"), 20):
            refs = value if isinstance(value, list) else [value]
            assert all(r.type != "ManagedObject" for r in refs), value


def test_property_reads_have_no_invalid_bodies():
    with pytest.raises(ValueError, match="takes no request body"):
        invalid_requests(CONTRACTS.get("VirtualMachine_getRuntime"), "8.0.2.0")


def test_invalid_kinds_are_checked():
    with pytest.raises(ValueError, match="unknown invalid-body kinds: typo"):
        invalid_requests(CONTRACTS.get("VirtualMachine_PowerOffVM_Task"), "8.0.2.0", kinds={"typo"})


def test_applicable_kinds():
    assert applicable_kinds(CONTRACTS.get("VirtualMachine_PowerOffVM_Task"), "8.0.2.0") == {
        "unknown_param",
        "wrong_json_type",
        "malformed_json",
    }
    assert {"missing_required", "wrong_moref_type", "missing_moref", "bad_typename"} <= applicable_kinds(
        CONTRACTS.get("VirtualMachine_CloneVM_Task"), "8.0.2.0"
    )


def examples(strategy, n: int) -> list:
    """The examples a seeded run draws (deterministic)."""
    out = []

    @settings(SETTINGS, max_examples=n)
    @given(strategy)
    def take(x):
        out.append(x)

    take()
    return out


# --- preconditions on request values --------------------------------------------------------------
@pytest.mark.parametrize(
    ("op_id", "path", "ok"),
    [
        ("VirtualMachine_Rename_Task", "newName", lambda v: v != ""),
        ("VirtualMachine_ReconfigVM_Task", "spec.numCPUs", lambda v: v != 0),
        (
            "VirtualMachine_AcquireTicket",
            "ticketType",
            lambda v: (
                v in ("mks", "device", "guestControl", "dnd", "webmks", "guestIntegrity", "webRemoteDevice")
            ),
        ),
        (
            "VirtualMachine_MigrateVM_Task",
            "priority",
            lambda v: v in ("lowPriority", "highPriority", "defaultPriority"),
        ),
        ("Folder_CreateVM_Task", "config.name", lambda v: v not in (None, "")),
    ],
)
def test_requests_meet_preconditions_on_request_values(op_id, path, ok):
    contract = CONTRACTS.get(op_id)
    parts = path.split(".")
    broken = 0
    for params in examples(requests(contract, "8.0.2.0", morefs=POOL, preconditions=False), 40):
        found, value = lookup(params, parts)
        broken += found and not ok(value) or (op_id.startswith("Folder") and not found)
    for params in examples(requests(contract, "8.0.2.0", morefs=POOL), 40):
        found, value = lookup(params, parts)
        if found or op_id.startswith("Folder"):
            assert ok(value), (op_id, path, value)
        encode_request(contract, "8.0.2.0", params)  # still valid
    # numCPUs is seldom drawn at all; priority's precondition restates its enum
    if op_id not in ("VirtualMachine_ReconfigVM_Task", "VirtualMachine_MigrateVM_Task"):
        assert broken, f"without preconditions {op_id} never broke {path}: the test proves nothing"


def test_overridden_parameters_are_not_changed_by_preconditions():
    contract = CONTRACTS.get("VirtualMachine_Rename_Task")
    for params in examples(requests(contract, "8.0.2.0", overrides={"newName": ""}), 3):
        assert params == {"newName": ""}
