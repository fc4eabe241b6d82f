"""Record and replay of a virtual machine's execution."""

from __future__ import annotations

from ...vmodl.values import MoRef
from ..faults import SimFault, invalid_state
from ..lifecycle import set_power, take_snapshot
from ..model import Snapshot
from .base import Call, op
from .guards import not_template, powered, valid_name


@op("VirtualMachine", "StartRecording_Task")
def start_recording(call: Call):
    vm = call.vm
    not_template(call)
    powered(call, "poweredOn")
    name = call.p("name")
    call.require(valid_name(name), lambda: SimFault("InvalidName", f"invalid name {name!r}", name=str(name)))
    call.require(
        vm.record_replay == "inactive", lambda: invalid_state(f"the VM is already {vm.record_replay}")
    )
    call.require(
        vm.ft is None, lambda: SimFault("RecordReplayDisabled", "record/replay is disabled for FT VMs")
    )

    def work() -> MoRef:
        snap = take_snapshot(call.sim.inv, vm, name, call.p("description", ""), memory=True, quiesce=False)
        snap.replay_supported = True
        vm.record_replay = "recording"
        vm.touch()
        return snap.ref

    return work


@op("VirtualMachine", "StopRecording_Task")
def stop_recording(call: Call):
    vm = call.vm
    powered(call, "poweredOn")
    call.require(
        vm.record_replay == "recording", lambda: invalid_state("the virtual machine is not recording")
    )

    def work() -> None:
        vm.record_replay = "inactive"
        vm.touch()

    return work


@op("VirtualMachine", "StartReplaying_Task")
def start_replaying(call: Call):
    vm = call.vm
    not_template(call)
    snap = call.ref_obj("replaySnapshot")
    call.require(
        isinstance(snap, Snapshot) and snap.vm is vm,
        lambda: SimFault("NotFound", "the snapshot does not belong to this virtual machine"),
    )
    call.require(
        vm.record_replay == "inactive", lambda: invalid_state(f"the VM is already {vm.record_replay}")
    )
    call.require(
        getattr(snap, "replay_supported", False),
        lambda: SimFault("SnapshotFault", "the snapshot holds no recording"),
    )
    powered(call, "poweredOff", requested="poweredOff")

    def work() -> None:
        vm.record_replay = "replaying"
        set_power(vm, "poweredOn")

    return work


@op("VirtualMachine", "StopReplaying_Task")
def stop_replaying(call: Call):
    vm = call.vm
    powered(call, "poweredOn")
    call.require(
        vm.record_replay == "replaying", lambda: invalid_state("the virtual machine is not replaying")
    )

    def work() -> None:
        vm.record_replay = "inactive"
        vm.touch()

    return work
