"""Hosts in the simulator, over real sockets: maintenance mode (EnterMaintenanceMode_Task waits its
timeout for the powered-on VMs, what a VM may not do on a host in maintenance mode), a host's
connection through /_sim/hosts/{moId}/connection, and the switches that break them."""

from __future__ import annotations

import time

import pytest
import requests

from .conftest import fault_of


def _ref(type_name, value):
    return {"_typeName": "ManagedObjectReference", "type": type_name, "value": value}


EMPTY = "host-14"


@pytest.fixture(autouse=True)
def _hosts_as_seeded(sim):
    yield
    for host in sim.sim.inv.hosts:
        host.connection_state = "connected"
        host.maintenance = host.moid == "host-13"
        host.touch()


def _host(admin, moid=EMPTY):
    return admin.prop(moid, "runtime", "HostSystem")


def _on_empty_host(admin, fresh, state="poweredOff"):
    vm = fresh("poweredOff")
    admin.ok_task(
        admin.vm(vm, "MigrateVM_Task", {"host": _ref("HostSystem", EMPTY), "priority": "defaultPriority"})
    )
    if state == "poweredOn":
        admin.ok_task(admin.vm(vm, "PowerOnVM_Task"))
    return vm


def _enter(admin, timeout, moid=EMPTY):
    return admin.call("HostSystem", moid, "EnterMaintenanceMode_Task", {"timeout": timeout})


def test_the_seed_has_an_empty_connected_host(admin):
    runtime = _host(admin)
    assert runtime["connectionState"] == "connected" and runtime["inMaintenanceMode"] is False
    assert admin.prop(EMPTY, "vm", "HostSystem") in ([], None)
    assert EMPTY in [h["value"] for h in admin.prop("domain-c7", "host", "ClusterComputeResource")]


def test_entering_maintenance_waits_its_timeout_then_times_out_leaving_the_host_as_it_was(admin, fresh):
    vm = _on_empty_host(admin, fresh, "poweredOn")
    start = time.monotonic()
    admin.failed_task(_enter(admin, 1), "Timedout")
    assert time.monotonic() - start >= 0.9  # it waited for the VM to go
    assert _host(admin)["inMaintenanceMode"] is False
    assert admin.prop(vm, "runtime")["powerState"] == "poweredOn"
    # timeout 0 (wait without end in vCenter) is refused at once while the VM runs
    admin.failed_task(_enter(admin, 0), "InvalidState")
    admin.ok_task(admin.vm(vm, "PowerOffVM_Task"))


def test_entering_maintenance_succeeds_when_the_vm_is_powered_off_while_it_waits(admin, fresh):
    vm = _on_empty_host(admin, fresh, "poweredOn")
    task = _enter(admin, 2)
    admin.ok_task(admin.vm(vm, "PowerOffVM_Task"))
    admin.ok_task(task)
    assert _host(admin)["inMaintenanceMode"] is True


def test_a_vm_on_a_host_in_maintenance_is_not_powered_on(admin, fresh):
    vm = _on_empty_host(admin, fresh, "poweredOn")
    admin.ok_task(admin.vm(vm, "CreateSnapshot_Task", {"name": "on", "memory": True, "quiesce": False}))
    admin.ok_task(admin.vm(vm, "PowerOffVM_Task"))
    admin.ok_task(_enter(admin, 0))
    admin.failed_task(admin.vm(vm, "PowerOnVM_Task"), "InvalidState")
    admin.failed_task(admin.vm(vm, "RevertToCurrentSnapshot_Task"), "InvalidState")
    snapshot = admin.prop(vm, "snapshot")["currentSnapshot"]["value"]
    admin.failed_task(
        admin.call("VirtualMachineSnapshot", snapshot, "RevertToSnapshot_Task", {}), "InvalidState"
    )
    assert admin.prop(vm, "runtime")["powerState"] == "poweredOff"
    # a revert that does not power the VM on is allowed
    admin.ok_task(admin.vm(vm, "RevertToCurrentSnapshot_Task", {"suppressPowerOn": True}))
    assert admin.prop(vm, "runtime")["powerState"] == "suspended"
    admin.ok_task(admin.vm(vm, "PowerOffVM_Task"))
    admin.ok_task(admin.call("HostSystem", EMPTY, "ExitMaintenanceMode_Task", {"timeout": 0}))
    admin.ok_task(admin.vm(vm, "PowerOnVM_Task"))
    admin.ok_task(admin.vm(vm, "PowerOffVM_Task"))


def test_ignore_maintenance_mode_powers_the_vm_on_there(sim, admin, fresh):
    vm = _on_empty_host(admin, fresh)
    admin.ok_task(_enter(admin, 0))
    sim.set_misbehaviour({"ignore_maintenance_mode"})
    admin.ok_task(admin.vm(vm, "PowerOnVM_Task"))
    assert admin.prop(vm, "runtime")["powerState"] == "poweredOn"
    admin.ok_task(admin.vm(vm, "PowerOffVM_Task"))


def test_maintenance_half_done_leaves_the_host_in_maintenance_after_timing_out(sim, admin, fresh):
    vm = _on_empty_host(admin, fresh, "poweredOn")
    sim.set_misbehaviour({"maintenance_half_done"})
    admin.failed_task(_enter(admin, 1), "Timedout")
    assert _host(admin)["inMaintenanceMode"] is True
    admin.ok_task(admin.vm(vm, "PowerOffVM_Task"))


def test_a_host_that_stops_responding_and_comes_back(sim, admin, fresh):
    vm = _on_empty_host(admin, fresh)
    url = f"{sim.url}/_sim/hosts/{EMPTY}/connection"
    r = requests.post(url, json={"state": "notResponding"}, timeout=10)
    assert r.status_code == 200 and r.json() == {
        "host": EMPTY,
        "was": "connected",
        "connectionState": "notResponding",
    }
    assert _host(admin)["connectionState"] == "notResponding"
    assert admin.prop(vm, "runtime")["connectionState"] == "disconnected"
    admin.failed_task(admin.vm(vm, "PowerOnVM_Task"), "InvalidState")
    assert requests.post(url, json={"state": "connected"}, timeout=10).json()["was"] == "notResponding"
    assert admin.prop(vm, "runtime")["connectionState"] == "connected"
    admin.ok_task(admin.vm(vm, "PowerOnVM_Task"))
    admin.ok_task(admin.vm(vm, "PowerOffVM_Task"))


@pytest.mark.parametrize(
    "path,body",
    [
        (f"/_sim/hosts/{EMPTY}/connection", {"state": "crashed"}),
        ("/_sim/hosts/host-99/connection", {"state": "notResponding"}),
        ("/_sim/hosts/vm-100/connection", {"state": "notResponding"}),
        (f"/_sim/hosts/{EMPTY}/connection", ["notResponding"]),
    ],
)
def test_a_bad_host_control_request_is_refused(sim, admin, path, body):
    r = requests.post(f"{sim.url}{path}", json=body, timeout=10)
    assert r.status_code == 400 and r.json()["error"]
    assert _host(admin)["connectionState"] == "connected"


def _ft_pair(admin, fresh):
    vm = fresh("poweredOn")
    admin.ok_task(
        admin.vm(vm, "MigrateVM_Task", {"host": _ref("HostSystem", "host-10"), "priority": "defaultPriority"})
    )
    info = admin.ok_task(admin.vm(vm, "CreateSecondaryVM_Task", {"host": _ref("HostSystem", "host-11")}))
    return vm, info["result"]["vm"]["value"]


@pytest.mark.parametrize("double", [False, True])
def test_two_failovers_at_once_swap_once_unless_ft_double_swap(sim, admin, fresh, double):
    vm, sec = _ft_pair(admin, fresh)
    sim.add_fault_rule({"method": "MakePrimaryVM_Task", "into": "task", "delay_ms": 500})
    sim.set_host_connection("host-10", "notResponding")
    if double:
        sim.set_misbehaviour({"ft_double_swap"})
    body = {"vm": _ref("VirtualMachine", sec)}
    first = admin.vm(vm, "MakePrimaryVM_Task", body)
    second = admin.vm(vm, "MakePrimaryVM_Task", body)
    admin.ok_task(first)
    if double:
        admin.ok_task(second)
        assert admin.prop(vm, "config")["ftInfo"]["role"] == 1  # swapped twice: back where it was
    else:
        assert fault_of(second) == "TaskInProgress"
        assert admin.prop(sec, "config")["ftInfo"]["role"] == 1
        assert admin.prop(vm, "config")["ftInfo"]["role"] == 2
    sim.set_misbehaviour(set())
    sim.set_host_connection("host-10", "connected")
    primary = sec if not double else vm
    admin.ok_task(admin.vm(primary, "TurnOffFaultToleranceForVM_Task"))
    admin.ok_task(admin.vm(primary, "PowerOffVM_Task"))
