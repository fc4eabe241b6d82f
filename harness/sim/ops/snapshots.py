"""Snapshots: taking, reverting, removing, renaming and consolidating them."""

from __future__ import annotations

from ..faults import SimFault, invalid_state
from ..lifecycle import revert_to, take_snapshot
from ..model import Host, Snapshot
from .base import Call, TaskPlan, op
from .guards import can_power_on_at, host_usable, not_secondary, not_template, valid_name

MAX_SNAPSHOT_DEPTH = 32  # vSphere's limit of a snapshot chain


def _snapshot_checks(call: Call, quiesce: bool) -> None:
    vm = call.vm
    not_template(call)
    not_secondary(call)
    name = call.p("name")
    call.require(
        valid_name(name), lambda: SimFault("InvalidName", f"invalid snapshot name {name!r}", name=str(name))
    )
    call.require(
        vm.record_replay == "inactive", lambda: invalid_state("the virtual machine is recording or replaying")
    )
    call.require(
        _depth(vm.current_snapshot) < MAX_SNAPSHOT_DEPTH,
        lambda: SimFault("TooManySnapshotLevels", f"a snapshot chain holds at most {MAX_SNAPSHOT_DEPTH}"),
    )
    if quiesce:
        call.require(
            vm.power_state == "poweredOn" and vm.tools_running,
            lambda: invalid_state("quiescing needs VMware Tools running in a powered-on guest"),
        )


def _depth(snap: Snapshot | None) -> int:
    depth = 0
    while snap is not None:
        depth += 1
        snap = snap.parent_snap
    return depth


def _revert_may_power_on(call: Call, snap: Snapshot, host: Host | None) -> None:
    """A revert to a powered-on snapshot powers the VM on: InvalidState when the host it would run on
    is in maintenance mode (or not connected), as for PowerOnVM_Task."""
    if snap.state == "poweredOn" and not call.p("suppressPowerOn"):
        can_power_on_at(call, host or snap.vm.host)


@op("VirtualMachine", "CreateSnapshot_Task")
def create_snapshot(call: Call):
    quiesce = bool(call.p("quiesce"))
    _snapshot_checks(call, quiesce)
    return lambda: (
        take_snapshot(
            call.sim.inv, call.vm, call.p("name"), call.p("description", ""), bool(call.p("memory")), quiesce
        ).ref
    )


@op("VirtualMachine", "CreateSnapshotEx_Task")
def create_snapshot_ex(call: Call):
    quiesce = call.p("quiesceSpec") is not None
    _snapshot_checks(call, quiesce)
    return lambda: (
        take_snapshot(
            call.sim.inv, call.vm, call.p("name"), call.p("description", ""), bool(call.p("memory")), quiesce
        ).ref
    )


@op("VirtualMachine", "RevertToCurrentSnapshot_Task")
def revert_current(call: Call):
    vm = call.vm
    not_template(call)
    call.require(
        vm.current_snapshot is not None,
        lambda: SimFault("NotFound", "the virtual machine has no current snapshot"),
    )
    host = call.ref_obj("host")
    host_usable(call, host)  # type: ignore[arg-type]
    if vm.current_snapshot is not None:
        _revert_may_power_on(call, vm.current_snapshot, host)  # type: ignore[arg-type]

    def work() -> None:
        if vm.current_snapshot is not None:
            revert_to(vm, vm.current_snapshot, bool(call.p("suppressPowerOn")), host)  # type: ignore[arg-type]

    return work


@op("VirtualMachine", "RemoveAllSnapshots_Task")
def remove_all_snapshots(call: Call):
    vm = call.vm
    not_template(call)

    def work() -> None:
        for s in list(vm.iter_snapshots()):
            call.sim.inv.remove(s)
        vm.snapshots = []
        vm.current_snapshot = None
        vm.consolidation_needed = call.p("consolidate") is False
        vm.touch()

    return work


@op("VirtualMachine", "ConsolidateVMDisks_Task")
def consolidate(call: Call):
    not_template(call)

    def work() -> None:
        call.vm.consolidation_needed = False
        call.vm.touch()

    return work


@op("VirtualMachine", "EstimateStorageForConsolidateSnapshots_Task")
def estimate_consolidate(call: Call):
    vm = call.vm
    snaps = sum(1 for _ in vm.iter_snapshots())
    return lambda: [
        call.b.obj("StorageRequirement", datastore=ds.ref, freeSpaceRequiredInKb=snaps * 1024 * 64)
        for ds in vm.datastores
    ]


@op("VirtualMachineSnapshot", "RemoveSnapshot_Task")
def remove_snapshot(call: Call):
    snap: Snapshot = call.obj  # type: ignore[assignment]
    vm, inv = snap.vm, call.sim.inv

    def work() -> None:
        if snap.moid not in inv.objects:
            return
        siblings = snap.parent_snap.children if snap.parent_snap else vm.snapshots
        idx = siblings.index(snap) if snap in siblings else len(siblings)
        removed = [snap]
        if call.p("removeChildren"):
            stack = list(snap.children)
            while stack:
                s = stack.pop()
                removed.append(s)
                stack.extend(s.children)
            replacement: list[Snapshot] = []
        else:
            replacement = list(snap.children)
            for child in replacement:
                child.parent_snap = snap.parent_snap
        siblings[idx : idx + 1] = replacement
        current = vm.current_snapshot
        if current in removed:
            vm.current_snapshot = snap.parent_snap
        for s in removed:
            inv.remove(s)
        vm.touch()

    return work


@op("VirtualMachineSnapshot", "RevertToSnapshot_Task")
def revert_snapshot(call: Call):
    snap: Snapshot = call.obj  # type: ignore[assignment]
    vm = snap.vm
    call.require(not vm.template, lambda: SimFault("InvalidState", "a template cannot be reverted"))
    host = call.ref_obj("host")
    if host is not None:
        call.require(
            not host.maintenance, lambda: SimFault("InvalidState", "the host is in maintenance mode")
        )
    _revert_may_power_on(call, snap, host)  # type: ignore[arg-type]

    def work() -> None:
        revert_to(vm, snap, bool(call.p("suppressPowerOn")), host)

    return TaskPlan(work, locks=[vm], entity=vm)


@op("VirtualMachineSnapshot", "RenameSnapshot")
def rename_snapshot(call: Call):
    snap: Snapshot = call.obj  # type: ignore[assignment]
    name, description = call.p("name"), call.p("description")
    if name is not None:
        call.require(
            valid_name(name), lambda: SimFault("InvalidName", f"invalid snapshot name {name!r}", name=name)
        )

    def apply() -> None:
        if name is not None:
            snap.name = name
        if description is not None:
            snap.description = description
        snap.touch()
        snap.vm.touch()

    return apply
