"""The VMODL type registry: releases, members by release, inheritance, subtypes, faults."""

from __future__ import annotations

import pytest

from harness.contract import load_contracts
from harness.vmodl.registry import (
    DEFAULT_RELEASE,
    RELEASES,
    TypeRef,
    UnknownRelease,
    first_release,
    release,
    version_release,
)


def vm_ops(rel_name: str) -> tuple[set[str], set[str]]:
    rel = release(rel_name)
    return {m.name for m in rel.methods("VirtualMachine")}, {p.name for p in rel.properties("VirtualMachine")}


@pytest.mark.parametrize(
    ("rel_name", "methods", "properties"),
    [
        ("8.0.1.0", 68, 33),
        ("8.0.2.0", 68, 33),
        ("8.0.3.0", 68, 33),
        ("9.0.0.0", 68, 33),
        ("9.1.0.0", 69, 33),
    ],
)
def test_virtual_machine_operation_counts(rel_name, methods, properties):
    m, p = vm_ops(rel_name)
    assert (len(m), len(p)) == (methods, properties)


def test_101_operations_at_8_0_2_and_102_at_9_1_in_registry_and_contracts():
    contracts = load_contracts()
    for rel_name, expected in (("8.0.2.0", 101), ("9.1.0.0", 102)):
        m, p = vm_ops(rel_name)
        assert len(m) + len(p) == expected
        ops = contracts.virtual_machine(rel_name)
        assert len(ops) == expected
        assert {c.name for c in ops if c.kind == "method"} == m
        assert {c.name for c in ops if c.kind == "property"} == p


def test_default_release_and_release_list():
    assert DEFAULT_RELEASE == "8.0.2.0"
    assert RELEASES == ("8.0.1.0", "8.0.2.0", "8.0.3.0", "9.0.0.0", "9.1.0.0")
    assert release() is release("8.0.2.0")


def test_unknown_release_is_refused():
    with pytest.raises(UnknownRelease, match="unknown release '7.0.3.0'"):
        release("7.0.3.0")


def test_remove_all_snapshots_spec_only_from_8_0_3():
    for rel_name in RELEASES:
        method = release(rel_name).method("VirtualMachine", "RemoveAllSnapshots_Task")
        params = [p.name for p in method.params]
        expected = ["consolidate", "spec"] if rel_name >= "8.0.3.0" else ["consolidate"]
        assert params == expected, rel_name
    spec = release("8.0.3.0").method("VirtualMachine", "RemoveAllSnapshots_Task").params[1]
    assert spec.type == TypeRef("SnapshotSelectionSpec") and spec.optional
    assert version_release(spec.since) == "8.0.3.0" and first_release(spec.since) == "8.0.3.0"
    assert not release("8.0.2.0").exists("SnapshotSelectionSpec")
    assert release("8.0.3.0").kind("SnapshotSelectionSpec") == "data"


def test_repair_vm_disk_chains_only_from_9_1():
    for rel_name in RELEASES:
        has = "RepairVmDiskChains_Task" in vm_ops(rel_name)[0]
        assert has == (rel_name == "9.1.0.0"), rel_name
    with pytest.raises(KeyError, match="RepairVmDiskChains_Task"):
        release("9.0.0.0").method("VirtualMachine", "RepairVmDiskChains_Task")
    assert release("9.1.0.0").method("VirtualMachine", "RepairVmDiskChains_Task").is_task


def test_managed_inheritance():
    rel = release("8.0.2.0")
    assert rel.ancestors("VirtualMachine") == [
        "VirtualMachine",
        "ManagedEntity",
        "ExtensibleManagedObject",
        "ManagedObject",
    ]
    assert rel.declaring_type("VirtualMachine", "Destroy_Task") == "ManagedEntity"
    assert rel.declaring_type("VirtualMachine", "Rename_Task") == "ManagedEntity"
    assert rel.declaring_type("VirtualMachine", "setCustomValue") == "ExtensibleManagedObject"
    assert rel.declaring_type("VirtualMachine", "runtime") == "VirtualMachine"
    names = [p.name for p in rel.properties("VirtualMachine")]
    assert names.index("value") < names.index("parent") < names.index("runtime")  # inherited first
    # pyVmomi carries no privilege for inherited ManagedEntity methods; the contracts curate them
    assert rel.method("VirtualMachine", "Destroy_Task").privilege is None
    assert rel.method("VirtualMachine", "PowerOnVM_Task").privilege == "VirtualMachine.Interact.PowerOn"
    contracts = load_contracts()
    assert contracts.get("VirtualMachine_Destroy_Task").privileges == ("VirtualMachine.Inventory.Delete",)
    assert contracts.get("VirtualMachine_Rename_Task").privileges == ("VirtualMachine.Config.Rename",)


def test_data_inheritance_fields_inherited_first():
    rel = release("8.0.2.0")
    assert rel.ancestors("VirtualDisk") == ["VirtualDisk", "VirtualDevice", "DynamicData", "DataObject"]
    fields = [f.name for f in rel.fields("VirtualDisk")]
    assert fields[:2] == ["dynamicType", "dynamicProperty"]
    assert fields.index("key") < fields.index("capacityInKB")
    info = {f.name: f for f in rel.fields("TaskInfo")}
    assert info["state"].type == TypeRef("TaskInfoState") and not info["state"].optional
    assert info["result"].type == TypeRef("anyType") and info["result"].optional
    assert info["entity"].type == TypeRef("ManagedEntity")


def test_subtypes():
    rel = release("8.0.2.0")
    cards = rel.subtypes("VirtualEthernetCard")
    assert "VirtualVmxnet3" in cards and "VirtualE1000e" in cards and "VirtualEthernetCard" in cards
    assert "VirtualEthernetCard" not in rel.subtypes("VirtualEthernetCard", include_self=False)
    assert cards == sorted(cards)
    assert rel.is_subtype("VirtualVmxnet3", "VirtualDevice")  # transitive
    assert not rel.is_subtype("VirtualDevice", "VirtualVmxnet3")
    assert rel.subtypes("AboutInfo") == ["AboutInfo"]
    assert "VirtualMachine" in rel.subtypes("ManagedEntity")
    assert rel.is_subtype("VirtualMachine", "ManagedEntity")


def test_faults_and_runtime_faults():
    rel = release("8.0.2.0")
    assert rel.is_fault("NotAuthenticated") and rel.is_runtime_fault("NotAuthenticated")
    assert rel.is_subtype("NotAuthenticated", "NoPermission")
    assert rel.is_runtime_fault("NoPermission") and rel.is_runtime_fault("ManagedObjectNotFound")
    assert rel.is_fault("InvalidPowerState") and not rel.is_runtime_fault("InvalidPowerState")
    assert rel.ancestors("InvalidPowerState")[:4] == [
        "InvalidPowerState",
        "InvalidState",
        "VimFault",
        "MethodFault",
    ]
    assert not rel.is_fault("TaskInfo") and not rel.is_fault("VirtualMachine")
    assert "missingPrivileges" in {f.name for f in rel.fields("NoPermission")}
    power_on = rel.method("VirtualMachine", "PowerOnVM_Task")
    assert "InvalidState" in power_on.faults and "TaskInProgress" in power_on.faults
    assert all(rel.is_fault(f) for m in rel.methods("VirtualMachine") for f in m.faults)


def test_faults_in_data_positions_are_method_faults():
    """VMware's VI/JSON document and pyVmomi type every fault inside data as MethodFault, sent as the
    fault object itself; LocalizedMethodFault is a type of its own that nothing refers to."""
    for r in RELEASES:
        rel = release(r)
        info = {f.name: f for f in rel.fields("TaskInfo")}
        assert info["error"].type == TypeRef("MethodFault") and info["error"].optional
        cause = {f.name: f for f in rel.fields("MethodFault")}["faultCause"]
        assert cause.type == TypeRef("MethodFault") and cause.optional
        for name in ("QueryFaultToleranceCompatibility", "QueryFaultToleranceCompatibilityEx"):
            ft = rel.method("VirtualMachine", name)
            assert ft.returns == TypeRef("MethodFault", True) and ft.returns_optional, (r, name)
        lmf = {f.name: f for f in rel.fields("LocalizedMethodFault")}
        assert lmf["fault"].type == TypeRef("MethodFault") and not lmf["fault"].optional
        assert lmf["localizedMessage"].optional
        assert not rel.is_fault("LocalizedMethodFault")
        # nothing refers to LocalizedMethodFault: no field, parameter, result or property
        assert not [
            (n, f.name) for n in rel.data for f in rel.fields(n) if f.type.name == "LocalizedMethodFault"
        ]
        for mt in rel.managed:
            for m in rel.methods(mt):
                refs = [p.type for p in m.params] + [m.returns, m.task_result]
                assert TypeRef("LocalizedMethodFault") not in [TypeRef(t.name) for t in refs if t], (
                    mt,
                    m.name,
                )
            assert not [p for p in rel.properties(mt) if p.type.name == "LocalizedMethodFault"], mt


def test_fault_types_derive_from_any_not_data_object():
    """MethodFault is a root (``allOf Any`` in VMware's document): no DynamicData fields on faults."""
    rel = release("8.0.2.0")
    assert rel.data["MethodFault"].base is None and rel.data["DataObject"].base is None
    assert rel.ancestors("InvalidPowerState") == [
        "InvalidPowerState",
        "InvalidState",
        "VimFault",
        "MethodFault",
    ]
    assert [f.name for f in rel.fields("MethodFault")] == ["faultCause", "faultMessage"]
    assert not rel.is_subtype("InvalidPowerState", "DynamicData")
    assert not rel.is_subtype("InvalidPowerState", "DataObject")
    assert "InvalidPowerState" not in rel.subtypes("DynamicData")
    assert rel.is_subtype("TaskInfo", "DynamicData") and rel.is_subtype("TaskInfo", "DataObject")


def test_kinds():
    rel = release("8.0.2.0")
    assert [
        rel.kind(n)
        for n in (
            "int",
            "dateTime",
            "base64Binary",
            "anyType",
            "ManagedObjectReference",
            "VirtualMachinePowerState",
            "TaskInfo",
            "VirtualMachine",
        )
    ] == ["primitive", "primitive", "primitive", "anyType", "moref", "enum", "data", "managed"]
    assert rel.enums["VirtualMachinePowerState"].values == ("poweredOff", "poweredOn", "suspended")
    with pytest.raises(KeyError, match="NoSuchType"):
        rel.kind("NoSuchType")


def test_every_referenced_type_exists_in_its_release():
    for rel_name in RELEASES:
        rel = release(rel_name)
        for name in rel.data:
            for f in rel.fields(name):
                assert rel.exists(f.type.name), (rel_name, name, f.name)
        for m in rel.methods("VirtualMachine"):
            for ref in [p.type for p in m.params] + [r for r in (m.returns, m.task_result) if r]:
                assert rel.exists(ref.name), (rel_name, m.name, ref)


def test_reachable_includes_fields_and_subtypes():
    rel = release("8.0.2.0")
    seen = rel.reachable([TypeRef("VirtualMachineConfigSpec")])
    assert {
        "VirtualMachineConfigSpec",
        "VirtualDeviceConfigSpec",
        "VirtualDisk",
        "VirtualVmxnet3",
        "VirtualDeviceConfigSpecOperation",
    } <= seen
    assert "VirtualMachine" not in seen  # managed types are not data
