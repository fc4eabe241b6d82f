"""Each misbehaviour switch does what docs/simulator.md says (and only when switched on)."""

from __future__ import annotations

import time

import requests

from harness.sim import MISBEHAVIOURS, SimConfig, running_simulator
from harness.vmodl.registry import release
from harness.vmodl.schema import validator

from .conftest import Vi, fault_of

REL = "8.0.2.0"


def _set(sim, *names):
    r = requests.put(f"{sim.url}/_sim/misbehaviour", json=list(names))
    assert r.status_code == 200 and r.json() == sorted(names)


def test_switches_over_http(sim):
    assert requests.put(f"{sim.url}/_sim/misbehaviour", json=["no_such"]).status_code == 400
    assert requests.get(f"{sim.url}/_sim/misbehaviour").json() == []
    assert len(MISBEHAVIOURS) == 30


def test_shape_switches(sim, admin):
    v = validator("VirtualMachineRuntimeInfo", REL)
    assert v.is_valid(admin.prop("vm-101", "runtime"))
    _set(sim, "drop_typename")
    body = admin.prop("vm-101", "runtime")
    assert "_typeName" not in body and not v.is_valid(body)
    _set(sim, "extra_field")
    body = admin.prop("vm-101", "runtime")
    assert "simUndefinedField" in body and not v.is_valid(body)
    _set(sim, "break_existing_vms")  # only the VMs the seed made
    assert admin.prop("vm-101", "runtime")["powerState"] == "poweredSideways"
    assert admin.prop("vm-101", "name") == 42 and admin.prop("vm-101", "parentVApp") is not None
    _set(sim)
    assert v.is_valid(admin.prop("vm-101", "runtime"))


def test_fault_switches(sim, admin):
    _set(sim, "fault_status_200")
    r = admin.vm("vm-102", "ShutdownGuest")
    assert r.status_code == 200 and r.json()["_typeName"] == "InvalidPowerState"
    _set(sim, "undeclared_fault")
    r = admin.vm("vm-102", "ShutdownGuest")
    name = fault_of(r)
    rel = release(REL)
    declared = ("ToolsUnavailable", "TaskInProgress", "InvalidState")
    assert not rel.is_runtime_fault(name) and not any(rel.is_subtype(name, d) for d in declared)
    info = admin.task(admin.vm("vm-102", "PowerOffVM_Task"))
    assert info["error"]["_typeName"] not in ("InvalidPowerState", "InvalidState", "TaskInProgress")


def test_privilege_switches(sim, limited):
    _set(sim, "ignore_privileges")
    assert limited.get("VirtualMachine", "vm-101", "runtime").status_code == 200
    _set(sim, "nopermission_no_privileges")
    r = limited.get("VirtualMachine", "vm-101", "runtime")
    assert fault_of(r) == "NoPermission" and "missingPrivileges" not in r.json()
    assert r.json().get("privilegeId") != "System.Read"


def test_task_switches(sim, admin, fresh):
    vm = fresh("poweredOff")
    _set(sim, "task_state_backwards")
    task = admin.vm(vm, "PowerOnVM_Task").json()["value"]
    states = [admin.prop(task, "info", "Task")["state"] for _ in range(4)]
    assert "success" in states and "running" in states[states.index("success") :]
    _set(sim, "task_no_recent_task")
    task = admin.vm(vm, "PowerOffVM_Task").json()["value"]
    assert task not in [t["value"] for t in admin.prop(vm, "recentTask")]
    _set(sim)


def test_progress_decreases():
    with running_simulator(
        SimConfig(vms=3, task_delay_ms=600, misbehave=frozenset({"task_progress_decreases"}))
    ) as sim:
        vi = Vi(sim.url)
        vi.login(*sim.users["admin"])
        task = vi.vm("vm-102", "PowerOnVM_Task").json()["value"]
        time.sleep(0.1)
        progress = [vi.prop(task, "info", "Task").get("progress", -1) for _ in range(4)]
        assert any(b < a for a, b in zip(progress, progress[1:], strict=False)), progress


def test_effect_switches(sim, admin, fresh):
    vm = fresh("poweredOff")
    _set(sim, "skip_effects")
    admin.ok_task(admin.vm(vm, "PowerOnVM_Task"))
    assert admin.prop(vm, "runtime")["powerState"] == "poweredOff"
    assert admin.vm(vm, "setCustomValue", {"key": "k", "value": "v"}).status_code == 204
    assert admin.prop(vm, "customValue") == []
    _set(sim, "effects_on_failure")
    assert fault_of(admin.vm(vm, "MountToolsInstaller")) == "InvalidPowerState"
    assert admin.prop(vm, "runtime")["toolsInstallerMounted"] is True
    admin.failed_task(admin.vm(vm, "SuspendVM_Task"), "InvalidPowerState")
    assert admin.prop(vm, "runtime")["powerState"] == "suspended"


def test_input_switches(sim, admin):
    bad = admin.vm("vm-101", "AcquireTicket", {"ticketType": 42})
    assert fault_of(bad) == "InvalidArgument"
    _set(sim, "accept_invalid")
    assert admin.vm("vm-101", "AcquireTicket", {"ticketType": 42}).status_code == 200
    assert admin.call("VirtualMachine", "vm-101", "PowerOffVM_Task", raw=b"{not json").status_code == 200
    _set(sim, "crash_on_invalid")
    r = admin.vm("vm-101", "AcquireTicket", {"ticketType": 42})
    assert r.status_code == 500 and r.text.startswith("Traceback") and "json" not in r.headers["content-type"]


def test_version_and_session_switches(sim, admin):
    r = admin.call("VirtualMachine", "vm-102", "RepairVmDiskChains_Task", release="8.0.2.0")
    assert fault_of(r) == "MethodNotFound"
    _set(sim, "serve_all_releases")
    r = admin.call("VirtualMachine", "vm-102", "RepairVmDiskChains_Task", release="8.0.2.0")
    assert r.status_code == 200 and r.json()["type"] == "Task"
    anonymous = Vi(sim.url)
    assert fault_of(anonymous.get("VirtualMachine", "vm-101", "name")) == "NotAuthenticated"
    _set(sim, "no_session_required")
    assert anonymous.get("VirtualMachine", "vm-101", "name").status_code == 200
