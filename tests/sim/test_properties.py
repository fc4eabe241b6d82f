"""Every property GET returns a value valid for its type, for every object and release."""

from __future__ import annotations

import json
import time

import pytest

from harness.contract import load_contracts
from harness.sim import SimConfig
from harness.sim.simulator import Simulator
from harness.vmodl.registry import RELEASES, release
from harness.vmodl.schema import validator


@pytest.fixture(scope="module")
def inproc():
    sim = Simulator(SimConfig(vms=14, seed=3, task_delay_ms=0))
    r = sim.handle(
        "POST",
        "/sdk/vim25/8.0.2.0/SessionManager/SessionManager/Login",
        {},
        json.dumps({"userName": "administrator@vsphere.local", "password": "VMware1!"}).encode(),
    )
    headers = {"vmware-api-session-id": r.headers["vmware-api-session-id"]}
    off = next(v for v in sim.inv.vms() if v.power_state == "poweredOff" and not v.template)
    lease = sim.handle("POST", f"/sdk/vim25/8.0.2.0/VirtualMachine/{off.moid}/ExportVm", headers, b"")
    assert lease.status == 200, lease.body  # an export lease, ready at once (no task delay), to read
    yield sim, headers
    sim.close()


def _objects(sim: Simulator, managed_type: str) -> list[str]:
    return [o.moid for o in list(sim.inv.objects.values()) if o.type_name == managed_type]


@pytest.mark.parametrize("rel", RELEASES)
def test_every_property_of_every_object_validates(inproc, rel):
    sim, headers = inproc
    checked = 0
    served = [spec.contract for spec in sim.tables[rel].values() if spec.contract.kind == "property"]
    assert {c.id for c in load_contracts().for_release(rel) if c.kind == "property"} <= {c.id for c in served}
    for c in served:
        member = release(rel).property(c.managed_type, c.name)
        v = validator(str(member.type), rel)
        objects = _objects(sim, c.managed_type)
        assert objects or c.managed_type == "Task", c.id
        for moid in objects:
            resp = sim.handle("GET", f"/sdk/vim25/{rel}/{c.managed_type}/{moid}/{c.name}", headers, b"")
            assert resp.status == 200, (c.id, moid, resp.body[:300])
            data = json.loads(resp.body)
            if data is None:
                assert member.optional, f"{c.id} on {moid}: unset but required"
                continue
            assert v.is_valid(data), (c.id, moid, v.errors(data))
            checked += 1
    assert checked > 14 * 25


def test_vm_properties_reflect_state(admin, fresh):
    moid = fresh("poweredOff")
    assert admin.prop(moid, "runtime")["powerState"] == "poweredOff"
    unset = admin.get("VirtualMachine", moid, "snapshot")
    assert (unset.status_code, unset.text) == (200, "null")
    admin.ok_task(admin.vm(moid, "PowerOnVM_Task"))
    runtime = admin.prop(moid, "runtime")
    assert runtime["powerState"] == "poweredOn" and "bootTime" in runtime
    assert admin.prop(moid, "summary")["runtime"]["powerState"] == "poweredOn"
    assert admin.prop(moid, "guest")["guestState"] == "running"
    assert "PowerOnVM_Task" in admin.prop(moid, "disabledMethod")
    info = admin.ok_task(
        admin.vm(moid, "CreateSnapshot_Task", {"name": "s1", "memory": True, "quiesce": False})
    )
    snap = admin.prop(moid, "snapshot")
    assert snap["currentSnapshot"]["value"] == info["result"]["value"]
    assert [r["value"] for r in admin.prop(moid, "rootSnapshot")] == [info["result"]["value"]]
    assert snap["rootSnapshotList"][0]["state"] == "poweredOn"


def test_seeded_inventory_has_every_state(admin):
    states = {}
    for i in range(9):
        moid = f"vm-{100 + i}"
        runtime = admin.prop(moid, "runtime")
        config = admin.prop(moid, "config")
        states[config["name"].split("-", 3)[-1]] = (runtime["powerState"], config["template"])
    assert states["template"] == ("poweredOff", True)
    assert states["suspended"][0] == "suspended"
    assert states["on-tools"][0] == "poweredOn"
    assert admin.prop("vm-101", "guest")["toolsRunningStatus"] == "guestToolsRunning"
    assert admin.prop("vm-104", "snapshot")["rootSnapshotList"][0]["childSnapshotList"]
    ft = admin.prop("vm-106", "config")["ftInfo"]
    assert ft["_typeName"] == "FaultTolerancePrimaryConfigInfo" and len(ft["secondaries"]) == 1
    secondary = ft["secondaries"][0]["value"]
    assert admin.prop(secondary, "config")["ftInfo"]["primaryVM"]["value"] == "vm-106"
    assert admin.prop(secondary, "runtime")["host"] != admin.prop("vm-106", "runtime")["host"]
    assert admin.prop("vm-106", "runtime")["faultToleranceState"] == "running"


def test_large_inventory_starts_fast():
    t = time.monotonic()
    sim = Simulator(SimConfig(vms=10000, seed=0))
    try:
        assert time.monotonic() - t < 5
        assert len(sim.inv.vms()) == 10001  # and the FT secondary's id collides with none
        assert sim.inv.get("vm-10099").name.startswith("sim-vm-09999")
    finally:
        sim.close()


def test_inventory_is_determined_by_the_seed():
    def states(seed: int) -> list[tuple]:
        sim = Simulator(SimConfig(vms=40, seed=seed, task_delay_ms=0))
        try:
            return [
                (v.moid, v.name, v.power_state, v.template, v.tools_running, len(v.snapshots), v.num_cpu)
                for v in sim.inv.vms()
            ]
        finally:
            sim.close()

    assert states(5) == states(5)
    assert states(5) != states(6)
