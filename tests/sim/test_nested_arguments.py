"""Arguments the method checks itself, as vCenter does: a reference nested in a data object that names
no object is refused by the task of a task method (HTTP 200, then a task in error), synchronously
otherwise; and the switches that break this (accept_invalid, invalid_in_task, fault_as_text)."""

from __future__ import annotations

from harness.checks.rules import task_fault

from .conftest import fault_of

MOREF = "ManagedObjectReference"


def _ref(type_name: str, value: str) -> dict:
    return {"_typeName": MOREF, "type": type_name, "value": value}


def _relocate_spec(host: str = "host-harness-missing-object") -> dict:
    return {"spec": {"_typeName": "VirtualMachineRelocateSpec", "host": _ref("HostSystem", host)}}


def test_a_nested_missing_reference_ends_the_task_in_error(admin, fresh):
    vm = fresh("poweredOff")
    host = admin.prop(vm, "runtime")["host"]
    r = admin.vm(vm, "RelocateVM_Task", _relocate_spec())
    assert r.status_code == 200 and r.json()["type"] == "Task"
    info = admin.task(r)
    assert info["state"] == "error" and "result" not in info
    fault = task_fault(info)
    assert fault["_typeName"] == "ManagedObjectNotFound"
    assert fault["obj"]["value"] == "host-harness-missing-object"
    assert admin.prop(vm, "runtime")["host"] == host  # nothing changed


def test_a_top_level_missing_reference_is_refused_at_once(admin):
    r = admin.vm("vm-102", "MigrateVM_Task", {"host": _ref("HostSystem", "host-harness-missing-object")})
    assert fault_of(r) == "ManagedObjectNotFound"


def test_a_nested_missing_reference_of_a_synchronous_method_is_refused_at_once(admin):
    body = {
        "entity": _ref("VirtualMachine", "vm-101"),
        "permission": [
            {
                "_typeName": "Permission",
                "entity": _ref("VirtualMachine", "vm-harness-missing-object"),
                "principal": "limited@vsphere.local",
                "group": False,
                "roleId": -1,
                "propagate": False,
            }
        ],
    }
    r = admin.call("AuthorizationManager", "AuthorizationManager", "SetEntityPermissions", body)
    assert fault_of(r) == "ManagedObjectNotFound"


def test_accept_invalid_lets_the_task_succeed(sim, admin, fresh):
    vm = fresh("poweredOff")
    sim.set_misbehaviour({"accept_invalid"})
    info = admin.task(admin.vm(vm, "RelocateVM_Task", _relocate_spec()))
    assert info["state"] == "success"


def test_invalid_in_task_refuses_malformed_bodies_in_the_task(sim, admin, fresh):
    vm = fresh("poweredOff")
    sim.set_misbehaviour({"invalid_in_task"})
    r = admin.call("VirtualMachine", vm, "PowerOnVM_Task", raw=b"{not json")
    assert r.status_code == 200
    info = admin.task(r)
    assert info["state"] == "error" and task_fault(info)["_typeName"] == "InvalidRequest"
    assert admin.prop(vm, "runtime")["powerState"] == "poweredOff"
    # a method without a task still refuses at once
    assert fault_of(admin.call("VirtualMachine", vm, "AcquireTicket", raw=b"[1]")) == "InvalidRequest"


def test_fault_as_text_sends_faults_as_text(sim, admin):
    sim.set_misbehaviour({"fault_as_text"})
    r = admin.vm("vm-102", "ShutdownGuest")
    assert r.status_code == 500 and r.headers["content-type"].startswith("text/plain")
    assert r.text.startswith("InvalidPowerState")
