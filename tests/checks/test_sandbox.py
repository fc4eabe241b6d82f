"""The sandbox and the preparation of requests: states, targets, safety, cleanup."""

from __future__ import annotations

import pytest

from harness.checks.base import CheckContext, CheckSpec, Inconclusive, Skip
from harness.checks.calls import may_generate, safe_pool
from harness.client import TransportError
from harness.contract.semantics import holds_on_wire as holds
from harness.gen.draw import draw
from harness.gen.strategies import requests
from harness.report.model import CheckResult
from harness.sandbox import Sandbox, SetupError
from harness.sandbox.state_table import state_meets, states_for, violating_states
from harness.vmodl.values import MoRef


def test_predicates():
    assert holds({"equals": "poweredOn"}, "poweredOn")
    assert holds({"not_equals": 1}, None)
    assert holds({"in": ["a", "b"]}, "b") and not holds({"not_in": ["a"]}, "a")
    assert holds({"present": True}, {"value": "x"}) and holds({"present": False}, [])
    assert holds({"changed": True}, 2, before=1) and not holds({"changed": True}, 1, before=1)
    assert holds({"equals_param": "newName"}, "vm-a", params={"newName": "vm-a"})
    ref = {"_typeName": "ManagedObjectReference", "type": "VirtualMachineSnapshot", "value": "snapshot-1"}
    assert holds({"equals": "snapshot-1"}, ref)


def test_states_follow_curated_preconditions(env):
    power_on = env.contracts.get("VirtualMachine_PowerOnVM_Task")
    assert states_for(power_on)[0] == "poweredOff"
    assert "poweredOn" not in states_for(power_on) and "template" not in states_for(power_on)
    broken = dict(violating_states(power_on))
    assert set(broken) == {"template", "poweredOn"}
    assert state_meets("template", {"target": "config.template", "equals": False}) is False
    assert state_meets("poweredOff", {"target": "guest.ipAddress", "present": True}) is None
    assert states_for(env.contracts.get("VirtualMachine_MarkAsVirtualMachine")) == ["template"]


def test_targets_meet_preconditions(env):
    sb = env.sandbox
    t = sb.target_for(env.contracts.get("VirtualMachine_PowerOffVM_Task"))
    assert env.admin.get("VirtualMachine", t.moid, "runtime").json["powerState"] == "poweredOn"
    assert sb.owns(t.moid)
    t = sb.target_for(env.contracts.get("VirtualMachine_MakePrimaryVM_Task"))
    assert t.prepared.body["vm"]["value"] == sb.secondaries[t.moid]
    t = sb.target_for(env.contracts.get("VirtualMachineSnapshot_RenameSnapshot"))
    assert t.prepared.managed_type == "VirtualMachineSnapshot" and sb.owns(t.prepared.vm)
    bad = sb.violating_target(env.contracts.get("VirtualMachine_PowerOnVM_Task"))
    assert bad is not None and bad.prepared.expected_fault in ("InvalidState", "InvalidPowerState")


def test_never_touches_what_it_did_not_create(env):
    sb = env.sandbox
    foreign = next(vm.moid for vm in env.running.sim.inv.vms() if not sb.owns(vm.moid))
    with pytest.raises(SetupError, match="did not create"):
        sb.set_permission(foreign, env.users["limited"][0], -2)
    with pytest.raises(SetupError, match="own permissions"):
        sb.set_permission(sb.vm("poweredOff")["value"], sb.user(), -2)
    with pytest.raises(Skip, match="host"):
        sb.target_for(env.contracts.get("HostSystem_EnterMaintenanceMode_Task"))


def test_cleanup_removes_everything(env):
    sb = Sandbox(env.admin, "8.0.2.0", run_id="cleanup", timeout=10, inventory=env.sandbox.inventory)
    vms = [sb.vm(s)["value"] for s in ("poweredOn", "template", "withSnapshot", "ftPrimary")]
    clone = env.admin.invoke(
        "VirtualMachine",
        vms[0],
        "CloneVM_Task",
        {
            "folder": {"_typeName": "ManagedObjectReference", "type": "Folder", "value": sb.folder},
            "name": "made-by-a-check",
            "spec": {
                "_typeName": "VirtualMachineCloneSpec",
                "location": {"_typeName": "VirtualMachineRelocateSpec"},
                "template": False,
                "powerOn": True,
            },
        },
    )
    env.admin.wait_task(clone.json)
    add_role = sb.target_for(env.contracts.get("AuthorizationManager_AddAuthorizationRole"))
    role_name = add_role.prepared.body["name"]
    assert env.admin.invoke(
        "AuthorizationManager", add_role.moid, "AddAuthorizationRole", add_role.prepared.body
    ).ok
    folder = sb.folder
    assert sb.cleanup() == []
    roles = env.admin.get("AuthorizationManager", add_role.moid, "roleList").json
    assert role_name not in {r["name"] for r in roles}
    for moid in [*vms, folder]:
        assert env.running.sim.inv.get(moid) is None, moid
    assert not any(vm.name == "made-by-a-check" for vm in env.running.sim.inv.vms())


def test_guard_turns_trouble_into_error_or_skip():
    def raising(exc):
        def fn(ctx, v):
            raise exc

        return CheckSpec("x", fn, "raises", lambda c: True, False).run(None)

    assert raising(Skip("n/a")).status == "skipped"
    assert raising(TransportError("GET x: connection reset")).status == "error"
    assert raising(Inconclusive("setup")).status == "error"
    assert raising(SetupError("sandbox: no pool")).status == "error"
    assert isinstance(raising(Skip("n/a")), CheckResult)
    bug = raising(KeyError("oops"))
    assert bug.status == "error" and bug.message.startswith("harness error: KeyError")


def test_without_sandbox_checks_skip(env):
    ctx = CheckContext(
        contract=env.contracts.get("VirtualMachine_PowerOnVM_Task"), release="8.0.2.0", client=env.admin
    )
    assert env.checks["shape"].run(ctx).status == "skipped"


def test_random_requests_only_where_they_cannot_hurt(env):
    """Against a real endpoint, generated requests reach only the sandbox's own objects; their
    references name sandbox objects, placement objects or objects that do not exist."""

    sb = env.sandbox
    real = CheckContext(
        contract=env.contracts.get("AuthorizationManager_RemoveAuthorizationRole"),
        release="8.0.2.0",
        client=env.admin,
        sandbox=sb,
        simulated=False,
        users=dict(env.users),
    )
    t = sb.target_for(real.contract)
    assert not may_generate(real, t.prepared)
    assert env.checks["schemathesis"].run(real).status == "skipped"
    real.contract = env.contracts.get("VirtualMachine_CloneVM_Task")
    t = sb.target_for(real.contract)
    assert may_generate(real, t.prepared)
    inv = sb.inventory
    placement = {inv.pool, inv.datacenter, *inv.hosts, *inv.datastores}

    def refs(value):
        if isinstance(value, MoRef):
            yield value
        elif isinstance(value, dict):
            for v in value.values():
                yield from refs(v)
        elif isinstance(value, list):
            for v in value:
                yield from refs(v)

    for body in draw(requests(real.contract, "8.0.2.0", morefs=safe_pool(real)), 20, 3):
        for ref in refs(body):
            assert sb.owns(ref.value) or ref.value in placement or ref.value.endswith("-none"), ref


def test_known_reachable_only_for_states_a_shared_vm_can_always_reach_again(env):
    """What lets `versions` skip without building a target: a state reached before, of a shared VM,
    that can always be reached again; never for a fresh VM (destructive) nor an FT pair."""
    sb, c = env.sandbox, env.contracts
    power_off = c.get("VirtualMachine_PowerOffVM_Task")  # needs poweredOn
    sb.reached.discard("poweredOn")
    assert not sb.known_reachable(power_off)
    sb.vm("poweredOn")
    assert "poweredOn" in sb.reached and sb.known_reachable(power_off)
    assert not sb.known_reachable(c.get("VirtualMachine_Destroy_Task"))  # a fresh VM each time
    sb.vm("ftPrimary")
    assert "ftPrimary" in sb.reached
    assert not sb.known_reachable(c.get("VirtualMachine_MakePrimaryVM_Task"))
    assert not sb.known_reachable(c.get("VirtualMachineSnapshot_RenameSnapshot"))
