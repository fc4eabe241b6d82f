"""Power state machine, guest operations, snapshots and templates, with their failure paths."""

from __future__ import annotations

from .conftest import fault_of


def _power(admin, moid):
    return admin.prop(moid, "runtime")["powerState"]


def test_power_state_machine(admin, fresh):
    vm = fresh("poweredOff")
    admin.failed_task(admin.vm(vm, "PowerOffVM_Task"), "InvalidPowerState")
    admin.failed_task(admin.vm(vm, "SuspendVM_Task"), "InvalidPowerState")
    admin.failed_task(admin.vm(vm, "ResetVM_Task"), "InvalidPowerState")
    admin.ok_task(admin.vm(vm, "PowerOnVM_Task"))
    assert _power(admin, vm) == "poweredOn"
    admin.failed_task(admin.vm(vm, "PowerOnVM_Task"), "InvalidPowerState")
    admin.ok_task(admin.vm(vm, "ResetVM_Task"))
    admin.ok_task(admin.vm(vm, "SuspendVM_Task"))
    assert _power(admin, vm) == "suspended"
    admin.ok_task(admin.vm(vm, "PowerOnVM_Task"))
    admin.ok_task(admin.vm(vm, "PowerOffVM_Task"))
    assert _power(admin, vm) == "poweredOff"


def test_power_on_refusals(admin, fresh, sim):
    admin.failed_task(admin.vm("vm-100", "PowerOnVM_Task"), "InvalidState")  # template
    vm = fresh("poweredOff")
    r = admin.vm(
        vm,
        "PowerOnVM_Task",
        {"host": {"_typeName": "ManagedObjectReference", "type": "HostSystem", "value": "host-13"}},
    )  # host in maintenance mode
    admin.failed_task(r, "InvalidState")
    assert _power(admin, vm) == "poweredOff"
    admin.failed_task(admin.vm("vm-107", "PowerOnVM_Task"), "InvalidPowerState")  # already on


def test_guest_operations_need_running_tools(admin, fresh):
    no_tools = fresh("poweredOn", tools=False)
    for method in ("ShutdownGuest", "RebootGuest", "StandbyGuest"):
        assert fault_of(admin.vm(no_tools, method)) == "ToolsUnavailable"
    off = fresh("poweredOff")
    assert fault_of(admin.vm(off, "ShutdownGuest")) == "InvalidPowerState"
    vm = fresh("poweredOn")
    assert admin.vm(vm, "RebootGuest").status_code == 204
    assert admin.vm(vm, "StandbyGuest").status_code == 204
    assert _power(admin, vm) == "suspended"
    admin.ok_task(admin.vm(vm, "PowerOnVM_Task"))
    assert admin.vm(vm, "ShutdownGuest").status_code == 204
    assert _power(admin, vm) == "poweredOff"
    assert fault_of(admin.vm(vm, "TerminateVM")) == "InvalidPowerState"
    admin.ok_task(admin.vm(vm, "PowerOnVM_Task"))
    assert admin.vm(vm, "TerminateVM").status_code == 204
    assert _power(admin, vm) == "poweredOff"


def test_snapshot_tree_revert_remove(admin, fresh):
    vm = fresh("poweredOn")
    s1 = admin.ok_task(admin.vm(vm, "CreateSnapshot_Task", {"name": "one", "memory": True, "quiesce": True}))
    s1 = s1["result"]["value"]
    admin.ok_task(admin.vm(vm, "PowerOffVM_Task"))
    admin.ok_task(
        admin.vm(vm, "ReconfigVM_Task", {"spec": {"_typeName": "VirtualMachineConfigSpec", "numCPUs": 6}})
    )
    s2 = admin.ok_task(admin.vm(vm, "CreateSnapshotEx_Task", {"name": "two", "memory": False}))["result"][
        "value"
    ]
    tree = admin.prop(vm, "snapshot")["rootSnapshotList"]
    assert tree[0]["snapshot"]["value"] == s1 and tree[0]["childSnapshotList"][0]["snapshot"]["value"] == s2
    assert [c["value"] for c in admin.prop(s1, "childSnapshot", "VirtualMachineSnapshot")] == [s2]
    assert admin.prop(s1, "config", "VirtualMachineSnapshot")["hardware"]["numCPU"] != 6
    # revert to the first: powered on again (memory snapshot), old hardware back
    admin.ok_task(admin.call("VirtualMachineSnapshot", s1, "RevertToSnapshot_Task", {}))
    assert _power(admin, vm) == "poweredOn"
    assert admin.prop(vm, "config")["hardware"]["numCPU"] != 6
    assert admin.prop(vm, "snapshot")["currentSnapshot"]["value"] == s1
    admin.ok_task(admin.vm(vm, "RevertToCurrentSnapshot_Task", {"suppressPowerOn": True}))
    assert admin.call("VirtualMachineSnapshot", s2, "RenameSnapshot", {"name": "renamed"}).status_code == 204
    assert admin.prop(vm, "snapshot")["rootSnapshotList"][0]["childSnapshotList"][0]["name"] == "renamed"
    assert fault_of(admin.call("VirtualMachineSnapshot", s2, "RenameSnapshot", {"name": ""})) == "InvalidName"
    admin.ok_task(admin.call("VirtualMachineSnapshot", s1, "RemoveSnapshot_Task", {"removeChildren": False}))
    assert [r["value"] for r in admin.prop(vm, "rootSnapshot")] == [s2]
    assert fault_of(admin.get("VirtualMachineSnapshot", s1, "config")) == "ManagedObjectNotFound"
    admin.ok_task(admin.vm(vm, "RemoveAllSnapshots_Task", {"consolidate": True}))
    assert admin.prop(vm, "snapshot") is None and admin.prop(vm, "rootSnapshot") == []
    admin.failed_task(admin.vm(vm, "RevertToCurrentSnapshot_Task", {}), "NotFound")


def test_snapshot_refusals(admin, fresh):
    off = fresh("poweredOff", tools=False)
    admin.failed_task(
        admin.vm(off, "CreateSnapshot_Task", {"name": "", "memory": False, "quiesce": False}), "InvalidName"
    )
    admin.failed_task(
        admin.vm(off, "CreateSnapshot_Task", {"name": "q", "memory": False, "quiesce": True}), "InvalidState"
    )
    admin.failed_task(
        admin.vm("vm-100", "CreateSnapshot_Task", {"name": "t", "memory": False, "quiesce": False}),
        "InvalidState",
    )
    assert admin.prop(off, "snapshot") is None


def test_templates_and_clones(admin, fresh):
    on = fresh("poweredOn")
    assert fault_of(admin.vm(on, "MarkAsTemplate")) == "InvalidPowerState"
    vm = fresh("poweredOff")
    assert admin.vm(vm, "MarkAsTemplate").status_code == 204
    assert admin.prop(vm, "config")["template"] is True
    assert fault_of(admin.vm(vm, "MarkAsTemplate")) == "InvalidState"
    clone = admin.ok_task(
        admin.vm(
            vm,
            "CloneVM_Task",
            {
                "folder": {"type": "Folder", "value": "group-v40"},
                "name": "from-template",
                "spec": {
                    "_typeName": "VirtualMachineCloneSpec",
                    "location": {},
                    "template": False,
                    "powerOn": True,
                },
            },
        )
    )
    new = clone["result"]["value"]
    assert admin.prop(new, "runtime")["powerState"] == "poweredOn"
    assert admin.prop(new, "parent")["value"] == "group-v40"
    dup = admin.vm(
        vm,
        "CloneVM_Task",
        {
            "folder": {"type": "Folder", "value": "group-v40"},
            "name": "from-template",
            "spec": {
                "_typeName": "VirtualMachineCloneSpec",
                "location": {},
                "template": False,
                "powerOn": False,
            },
        },
    )
    admin.failed_task(dup, "FileAlreadyExists")
    assert fault_of(admin.vm(vm, "MarkAsVirtualMachine", {})) == "InvalidArgument"  # pool is required
    r = admin.vm(vm, "MarkAsVirtualMachine", {"pool": {"type": "ResourcePool", "value": "resgroup-9"}})
    assert r.status_code == 204, r.text
    assert admin.prop(vm, "config")["template"] is False
    assert admin.prop(vm, "resourcePool")["value"] == "resgroup-9"
    assert (
        fault_of(
            admin.vm(vm, "MarkAsVirtualMachine", {"pool": {"type": "ResourcePool", "value": "resgroup-9"}})
        )
        == "InvalidState"
    )
    admin.failed_task(
        admin.vm(
            vm,
            "InstantClone_Task",
            {"spec": {"_typeName": "VirtualMachineInstantCloneSpec", "name": "ic", "location": {}}},
        ),
        "InvalidPowerState",
    )
    ic = admin.ok_task(
        admin.vm(
            new,
            "InstantClone_Task",
            {"spec": {"_typeName": "VirtualMachineInstantCloneSpec", "name": "ic-1", "location": {}}},
        )
    )
    assert admin.prop(ic["result"]["value"], "runtime")["powerState"] == "poweredOn"
