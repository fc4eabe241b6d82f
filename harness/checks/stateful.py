"""stateful: a hypothesis state machine over the VM lifecycle, endpoint compared with a model.

Runs once per run, attached to ``VirtualMachine_PowerOnVM_Task`` (the lifecycle's entry point; a
failure shows in that operation's row).  On a sandbox VM of its own, seeded (``--seed``), at most
``max(5, examples)`` programs of at most :data:`MAX_STEPS` steps each, it draws among:

power on / off / suspend / reset; create a snapshot, revert to the current one, remove the current
one, remove all; mark as template / as virtual machine; and, when the sandbox can make a Fault
Tolerance pair, create the secondary, make the secondary primary, turn Fault Tolerance off.

The model says, for each step, whether it must succeed, must fail (with a fault, nothing changed),
or may do either (where vSphere's behaviour legitimately varies, e.g. powering off a suspended VM),
and what the VM looks like afterwards: power state, template flag, number of snapshots, whether it
is an FT primary.  After every step the endpoint is read and compared.  On the simulator a failing
program is shrunk to a minimal one; against a real endpoint shrinking is off (it would repeat calls).
"""

from __future__ import annotations

import collections
from dataclasses import dataclass, field
from typing import Any

from hypothesis import HealthCheck, Phase, settings
from hypothesis import seed as hseed
from hypothesis.errors import Flaky
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    precondition,
    rule,
    run_state_machine_as_test,
)

from ..client import Exchange
from ..contract.semantics import walk
from ..sandbox.reads import moref, unique_name
from .base import CheckContext, Skip, check
from .rules import task_fault
from .verdict import Verdict

ATTACHED_TO = "VirtualMachine_PowerOnVM_Task"
MAX_STEPS = 12
MIN_PROGRAMS = 5  # it runs once per run: at least this many programs whatever --examples says


class Mismatch(AssertionError):
    def __init__(self, message: str, ex: Exchange | None):
        super().__init__(message)
        self.ex = ex


@dataclass
class Model:
    power: str = "poweredOff"
    template: bool = False
    snapshots: int = 0
    ft: bool = False
    loose: set[str] = field(default_factory=set)  # attributes to adopt from the endpoint this step


def count_snapshots(tree: Any) -> int:
    if not isinstance(tree, list):
        return 0
    return sum(1 + count_snapshots(node.get("childSnapshotList")) for node in tree if isinstance(node, dict))


def machine(
    ctx: CheckContext, v: Verdict, steps_log: list[str], ft_possible: bool, used: collections.Counter[str]
) -> type:
    client, sb, timeout = ctx.client, ctx.sandbox, ctx.timeout

    class VmLifecycle(RuleBasedStateMachine):
        def __init__(self) -> None:
            super().__init__()
            self.model = Model()
            self.vm = ""

        @initialize()
        def fresh(self) -> None:
            steps_log.clear()
            self.vm = sb.own_vm("stateful")
            sb.reset_vm(self.vm)
            self.model = self.observe()
            steps_log.append(f"{self.vm} reset ({self.model.power}, {self.model.snapshots} snapshot(s))")

        # --- plumbing --------------------------------------------------------------------------------
        def observe(self) -> Model:
            rt = client.get("VirtualMachine", self.vm, "runtime")
            cfg = client.get("VirtualMachine", self.vm, "config")
            snap = client.get("VirtualMachine", self.vm, "snapshot")
            for ex in (rt, cfg):
                if not ex.ok:
                    raise Mismatch(f"cannot read {self.vm}: {ex.fault_type or ex.status}", ex)
            return Model(
                power=(rt.json or {}).get("powerState"),
                template=bool((cfg.json or {}).get("template")),
                snapshots=count_snapshots(walk(snap.json, ["rootSnapshotList"])) if snap.ok else 0,
                ft=walk(cfg.json, ["ftInfo", "role"]) == 1,
            )

        def step(
            self,
            label: str,
            mt: str,
            moid: str,
            method: str,
            body: Any,
            expect: str,
            apply: Any = None,
            loose: frozenset[str] = frozenset(),
        ) -> Any:
            """Call, compare the outcome with ``expect`` (ok | fault | either), update the model
            with ``apply`` on success, then compare the endpoint's state with the model."""
            steps_log.append(label)
            ex = client.invoke(mt, moid, method, body)
            v.seen += 1
            used[method] += 1
            ok, fault, result = ex.ok, ex.fault_type, None
            if ok and isinstance(ex.json, dict) and ex.json.get("type") == "Task":
                info = client.wait_task(ex.json, timeout=timeout)[-1]
                ok = info.get("state") == "success"
                fault = None if ok else (task_fault(info) or {}).get("_typeName")
                result = info.get("result")
            if expect == "ok" and not ok:
                raise Mismatch(f"{label}: the model expects success, the endpoint answered {fault}", ex)
            if expect == "fault" and ok:
                raise Mismatch(f"{label}: the model expects a fault, the endpoint succeeded", ex)
            if ok and apply is not None:
                apply(self.model)
            seen = self.observe()
            for attr in ("power", "template", "snapshots", "ft"):
                want, have = getattr(self.model, attr), getattr(seen, attr)
                if attr in loose and ok:
                    setattr(self.model, attr, have)
                elif want != have:
                    state = "after success" if ok else f"after {fault} (nothing may change)"
                    raise Mismatch(f"{label}: {attr} is {have!r}, the model says {want!r} {state}", ex)
            return result

        def vm_step(
            self,
            label: str,
            method: str,
            body: Any,
            expect: str,
            apply: Any = None,
            loose: frozenset[str] = frozenset(),
        ) -> Any:
            return self.step(label, "VirtualMachine", self.vm, method, body, expect, apply, loose)

        # --- power ------------------------------------------------------------------------------------
        def _from_running(self) -> str:
            """What PowerOff and Reset must answer: ok when on; either when suspended; else a fault."""
            m = self.model
            if m.power == "poweredOn" and not m.template:
                return "ok"
            return "either" if m.power == "suspended" else "fault"

        @rule()
        def power_on(self) -> None:
            m = self.model
            expect = "fault" if m.template or m.power == "poweredOn" else "ok"
            self.vm_step("PowerOnVM_Task", "PowerOnVM_Task", None, expect, _set(power="poweredOn"))

        @rule()
        def power_off(self) -> None:
            self.vm_step(
                "PowerOffVM_Task", "PowerOffVM_Task", None, self._from_running(), _set(power="poweredOff")
            )

        @rule()
        def suspend(self) -> None:
            m = self.model
            expect = "ok" if m.power == "poweredOn" and not m.template else "fault"
            self.vm_step("SuspendVM_Task", "SuspendVM_Task", None, expect, _set(power="suspended"))

        @rule()
        def reset(self) -> None:
            self.vm_step("ResetVM_Task", "ResetVM_Task", None, self._from_running(), _set(power="poweredOn"))

        # --- snapshots --------------------------------------------------------------------------------
        @rule()
        def create_snapshot(self) -> None:
            m = self.model
            expect = "either" if m.template or m.ft else "ok"
            self.vm_step(
                "CreateSnapshot_Task",
                "CreateSnapshot_Task",
                {"name": unique_name("snapshot"), "memory": False, "quiesce": False},
                expect,
                _inc(snapshots=1),
            )

        @rule()
        def revert_to_current(self) -> None:
            m = self.model
            expect = "fault" if not m.snapshots else ("either" if m.template or m.ft else "ok")
            # a snapshot without memory reverts to powered off (or the state it was taken in)
            self.vm_step(
                "RevertToCurrentSnapshot_Task",
                "RevertToCurrentSnapshot_Task",
                None,
                expect,
                None,
                loose=frozenset({"power"}),
            )

        @precondition(lambda self: self.model.snapshots > 0)
        @rule()
        def remove_current_snapshot(self) -> None:
            snap = client.get("VirtualMachine", self.vm, "snapshot")
            current = walk(snap.json, ["currentSnapshot", "value"]) if snap.ok else None
            if not current:
                raise Mismatch(
                    f"the model has {self.model.snapshots} snapshot(s), the endpoint no current one", snap
                )
            self.step(
                "VirtualMachineSnapshot.RemoveSnapshot_Task",
                "VirtualMachineSnapshot",
                current,
                "RemoveSnapshot_Task",
                {"removeChildren": False},
                "ok",
                _inc(snapshots=-1),
            )

        @rule()
        def remove_all_snapshots(self) -> None:
            m = self.model
            expect = "ok" if m.snapshots and not m.template else "either"
            self.vm_step(
                "RemoveAllSnapshots_Task", "RemoveAllSnapshots_Task", None, expect, _set(snapshots=0)
            )

        # --- templates --------------------------------------------------------------------------------
        @rule()
        def mark_as_template(self) -> None:
            m = self.model
            expect = "ok" if m.power == "poweredOff" and not m.template and not m.ft else "fault"
            self.vm_step("MarkAsTemplate", "MarkAsTemplate", None, expect, _set(template=True))

        @rule()
        def mark_as_vm(self) -> None:
            expect = "ok" if self.model.template else "fault"
            self.vm_step(
                "MarkAsVirtualMachine",
                "MarkAsVirtualMachine",
                {"pool": moref("ResourcePool", sb.inventory.pool or "")},
                expect,
                _set(template=False),
            )

        # --- fault tolerance --------------------------------------------------------------------------
        @precondition(lambda self: ft_possible)
        @rule()
        def create_secondary(self) -> None:
            m = self.model
            expect = "fault" if m.template or m.ft else "either"
            result = self.vm_step(
                "CreateSecondaryVM_Task", "CreateSecondaryVM_Task", None, expect, _set(ft=True)
            )
            secondary = walk(result, ["vm", "value"])
            if secondary:
                sb.secondaries[self.vm] = secondary

        @precondition(lambda self: ft_possible)
        @rule()
        def make_primary(self) -> None:
            secondary = sb.secondaries.get(self.vm) if self.model.ft else None
            if not secondary:
                self.vm_step(
                    "MakePrimaryVM_Task (not FT)",
                    "MakePrimaryVM_Task",
                    {"vm": moref("VirtualMachine", self.vm)},
                    "fault",
                )
                return
            self.vm_step(
                "MakePrimaryVM_Task",
                "MakePrimaryVM_Task",
                {"vm": moref("VirtualMachine", secondary)},
                "ok",
                None,
                loose=frozenset({"ft"}),
            )
            old = self.vm
            self.vm = secondary  # the new primary carries on
            sb.set_own_vm("stateful", secondary)
            sb.secondaries.pop(old, None)
            sb.secondaries[secondary] = old
            seen = self.observe()
            if not seen.ft:
                raise Mismatch(f"after MakePrimaryVM_Task, {secondary} is not the FT primary", None)
            # from here the model follows the new primary (its own power state and snapshots)
            self.model = seen

        @precondition(lambda self: ft_possible)
        @rule()
        def turn_off_ft(self) -> None:
            expect = "ok" if self.model.ft else "fault"
            self.vm_step(
                "TurnOffFaultToleranceForVM_Task",
                "TurnOffFaultToleranceForVM_Task",
                None,
                expect,
                _set(ft=False),
            )
            if expect == "ok":
                sb.secondaries.pop(self.vm, None)

    return VmLifecycle


def _set(**values: Any):
    def apply(m: Model) -> None:
        for k, val in values.items():
            setattr(m, k, val)

    return apply


def _inc(**deltas: int):
    def apply(m: Model) -> None:
        for k, d in deltas.items():
            setattr(m, k, getattr(m, k) + d)

    return apply


def _ft_possible(ctx: CheckContext) -> bool:
    try:
        ctx.sandbox.vm("ftPrimary")
    except Skip:
        return False
    return True


@check(
    "stateful",
    description="a VM lifecycle state machine agrees with the endpoint after every step",
    applies=lambda c: c.id == ATTACHED_TO,
    changes_state=True,
)
def stateful(ctx: CheckContext, v: Verdict) -> str:
    if ctx.contract.id != ATTACHED_TO:
        raise Skip(f"runs once per run, on {ATTACHED_TO}")
    if ctx.read_only:
        raise Skip("read-only run: the state machine changes sandbox VMs")
    if ctx.sandbox is None:
        raise Skip("no sandbox")
    steps: list[str] = []
    ft = _ft_possible(ctx)
    if not ft:
        v.note("no Fault Tolerance steps: the sandbox cannot make an FT pair")
    used: collections.Counter[str] = collections.Counter()
    cls = machine(ctx, v, steps, ft, used)
    phases = [Phase.explicit, Phase.generate] + ([Phase.shrink] if ctx.simulated else [])
    cfg = settings(
        max_examples=max(MIN_PROGRAMS, ctx.examples),
        stateful_step_count=MAX_STEPS,
        database=None,
        deadline=None,
        phases=phases,
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    try:
        run_state_machine_as_test(hseed(ctx.seed)(cls), settings=cfg)
    except Mismatch as exc:
        v.fail(f"{exc} (steps: {' -> '.join(steps)})", exc.ex)
    except Flaky as exc:
        v.error(f"a mismatch did not reproduce: {str(exc)[:300]}")
    rules = ", ".join(f"{name} x{n}" for name, n in sorted(used.items()))
    return f"{v.seen} lifecycle step(s) agreed with the model ({rules})"
