"""A restart of the simulator: the inventory is kept, sessions and tasks are lost, the port is closed
while it is down; the state file keeps the inventory over a kill of the process."""

from __future__ import annotations

import threading
import time

import pytest
import requests

from harness.client import TransportError, ViClient
from harness.sim import SimConfig, running_simulator
from harness.sim.simulator import Simulator

RELEASE = "8.0.2.0"


def _client(sim) -> ViClient:
    c = ViClient(sim.url, RELEASE, timeout=5)
    c.login(*sim.users["admin"])
    return c


def _rename(c: ViClient, vm: str, name: str) -> None:
    ex = c.invoke("VirtualMachine", vm, "Rename_Task", {"newName": name})
    assert ex.ok, ex.body
    assert c.wait_task(ex.json)[-1]["state"] == "success"


def test_restart_keeps_the_inventory_and_loses_sessions_and_tasks():
    with running_simulator(SimConfig(vms=4, task_delay_ms=20)) as sim:
        c = _client(sim)
        _rename(c, "vm-102", "renamed-before-restart")
        sim.add_fault_rule({"method": "PowerOnVM_Task", "into": "task", "delay_ms": 3000, "max_count": 1})
        role = c.invoke(
            "AuthorizationManager",
            "AuthorizationManager",
            "AddAuthorizationRole",
            {"name": "kept-role", "privIds": ["VirtualMachine.Interact.PowerOn"]},
        )
        assert role.ok, role.body
        running = c.invoke("VirtualMachine", "vm-102", "PowerOnVM_Task").json["value"]
        lost = sim.restart(0.3)
        assert lost["sessions"] >= 1 and lost["tasks"] >= 2
        sid = c.session_id
        stale = c.get("VirtualMachine", "vm-102", "name", relogin=False)
        assert stale.fault_type == "NotAuthenticated"
        assert c.get("VirtualMachine", "vm-102", "name").json == "renamed-before-restart"
        assert c.relogins == 1 and c.session_id != sid
        assert c.task_info(running).fault_type == "ManagedObjectNotFound"
        runtime = c.get("VirtualMachine", "vm-102", "runtime").json
        assert runtime["powerState"] == "poweredOff"  # the running power-on was not completed
        assert not c.get("VirtualMachine", "vm-102", "recentTask").json
        roles = c.get("AuthorizationManager", "AuthorizationManager", "roleList").json
        assert "kept-role" in [r["name"] for r in roles]
        new = c.invoke("VirtualMachine", "vm-102", "PowerOnVM_Task").json["value"]
        assert int(new.split("-")[1]) > int(running.split("-")[1])  # never the moId of a lost task
        assert sim.sim.about()["restarts"] == 1


def test_the_port_is_closed_while_down_and_the_route_answers_first():
    with running_simulator(SimConfig(vms=2, task_delay_ms=10)) as sim:
        c = _client(sim)
        resp = requests.post(f"{sim.url}/_sim/restart", params={"down_ms": 800}, timeout=5)
        assert resp.status_code == 202 and resp.json()["down_ms"] == 800
        assert resp.json()["sessions"] >= 1
        refused = None
        deadline = time.monotonic() + 5
        while refused is None and time.monotonic() < deadline:
            try:
                c.request("GET", "/ServiceInstance/ServiceInstance/content", use_session=False)
                time.sleep(0.02)
            except TransportError as exc:
                refused = str(exc)
        assert refused is not None and "connection refused" in refused
        while time.monotonic() < deadline + 5:
            try:
                assert c.get("VirtualMachine", "vm-100", "name").ok
                break
            except TransportError:
                time.sleep(0.05)
        else:
            pytest.fail("the simulator did not come back")
        assert c.relogins == 1
        assert requests.post(f"{sim.url}/_sim/restart", params={"down_ms": "x"}, timeout=5).status_code == 400


def test_restart_is_refused_where_no_server_can_restart():
    with running_simulator(SimConfig(vms=1)) as sim:
        hook, sim.sim.restart_hook = sim.sim.restart_hook, None  # as for an app served elsewhere
        assert requests.post(f"{sim.url}/_sim/restart", timeout=5).status_code == 409
        sim.sim.restart_hook = hook


def test_restart_loses_inventory_switch_loses_the_vms_made_at_run_time():
    with running_simulator(SimConfig(vms=3, task_delay_ms=0)) as sim:
        c = _client(sim)
        made = "vm-101"
        sim.sim.inv.get(made).seeded = False  # as if made at run time
        sim.set_misbehaviour({"restart_loses_inventory"})
        assert sim.restart(0)["lost_vms"] == 1
        assert c.get("VirtualMachine", made, "name").fault_type == "ManagedObjectNotFound"
        assert c.get("VirtualMachine", "vm-102", "name").ok  # the seed's VMs stay


def test_the_state_file_keeps_the_inventory_for_a_new_process(tmp_path):
    state = tmp_path / "state"
    first = Simulator(SimConfig(vms=3, task_delay_ms=0, state_file=str(state)))
    try:
        assert state.exists() and not first.resumed  # written from the start
        vm = first.inv.get("vm-102")
        session = first.auth.login("administrator@vsphere.local", "VMware1!", "127.0.0.1", "t")
        assert session is not None
        resp = first.handle(
            "POST",
            f"/sdk/vim25/{RELEASE}/VirtualMachine/vm-102/Rename_Task",
            {"vmware-api-session-id": session.key},
            b'{"newName": "kept-in-the-file"}',
        )
        assert resp.status == 200, resp.body
        assert vm.name == "kept-in-the-file" and state.exists()
        last_task = resp.body
    finally:
        first.close()
    second = Simulator(SimConfig(vms=3, task_delay_ms=0, state_file=str(state)))
    try:
        assert second.resumed and second.inv.get("vm-102").name == "kept-in-the-file"
        assert not second.auth.sessions
        assert b"task-1" in last_task and second.inv.get("task-1") is None
        session = second.auth.login("administrator@vsphere.local", "VMware1!", "127.0.0.1", "t")
        resp = second.handle(
            "POST",
            f"/sdk/vim25/{RELEASE}/VirtualMachine/vm-102/PowerOnVM_Task",
            {"vmware-api-session-id": session.key},
            b"",
        )
        assert b"task-2" in resp.body  # task numbers go on: never the moId of a lost task
    finally:
        second.close()


def test_a_broken_state_file_is_a_one_line_error(tmp_path):
    bad = tmp_path / "state"
    bad.write_bytes(b"not a pickle")
    with pytest.raises(ValueError, match="state file"):
        Simulator(SimConfig(vms=1, state_file=str(bad)))


def test_writes_from_several_threads_leave_a_readable_file(tmp_path):
    state = tmp_path / "state"
    sim = Simulator(SimConfig(vms=4, task_delay_ms=0, state_file=str(state)))
    try:
        threads = [threading.Thread(target=sim.persist) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert sim.store.writes == 9  # the first at the start
        assert sim.store.load()["inv"].get("vm-100") is not None
    finally:
        sim.close()


def test_a_state_file_that_cannot_be_written(tmp_path):
    """At start: a one-line usage error naming the file (not a port problem); later (the directory
    went away, a full disk): counted, and the endpoint answers on."""
    with pytest.raises(ValueError, match="cannot write the state file"):
        Simulator(SimConfig(vms=1, state_file=str(tmp_path / "missing" / "state")))
    where = tmp_path / "dir"
    where.mkdir()
    sim = Simulator(SimConfig(vms=1, task_delay_ms=0, state_file=str(where / "state")))
    try:
        (where / "state").unlink()
        where.rmdir()
        sim.persist()
        assert sim.store.failures == 1
    finally:
        sim.close()
