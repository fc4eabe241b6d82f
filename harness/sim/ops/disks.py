"""Disks: first-class disks attached and detached, promotion, defragmentation, changed areas."""

from __future__ import annotations

from ...vmodl.values import DataObject
from .. import devices as hardware
from ..faults import SimFault, invalid_argument, invalid_state
from ..model import VM
from .base import Call, op
from .guards import not_template, powered


def _disk_ids(vm: VM) -> dict[str, DataObject]:
    return {d["vDiskId"]["id"]: d for d in vm.devices if d.type_name == "VirtualDisk" and d.get("vDiskId")}


@op("VirtualMachine", "AttachDisk_Task")
def attach_disk(call: Call):
    vm = call.vm
    not_template(call)
    disk_id = call.p("diskId")["id"]
    call.require(disk_id not in _disk_ids(vm), lambda: invalid_state(f"disk {disk_id} is already attached"))
    controller = call.p("controllerKey")
    controllers = {d["key"] for d in hardware.disk_controllers(vm.devices)}
    if controller is not None:
        call.require(
            controller in controllers,
            lambda: SimFault(
                "InvalidController", f"no controller {controller}", controllerKey=controller, deviceIndex=0
            ),
        )
    else:
        call.require(
            bool(controllers), lambda: SimFault("MissingController", "the VM has no disk controller")
        )
    datastore = call.ref_obj("datastore")

    def work() -> None:
        key = controller if controller is not None else min(controllers)
        used = {d.get("unitNumber") for d in vm.devices if d.get("controllerKey") == key}
        unit = call.p("unitNumber")
        if unit is None:
            unit = next(u for u in range(16) if u not in used and u != 7)
        vm.devices = hardware.link(
            [
                *vm.devices,
                DataObject(
                    "VirtualDisk",
                    key=hardware.free_key(vm.devices, "disk"),
                    controllerKey=key,
                    unitNumber=unit,
                    capacityInKB=1024 * 1024,
                    capacityInBytes=1024**3,
                    vDiskId=DataObject("ID", id=disk_id),
                    backing=DataObject(
                        "VirtualDiskFlatVer2BackingInfo",
                        fileName=f"[{datastore.name}] fcd/{disk_id}.vmdk",
                        diskMode="persistent",
                        datastore=datastore.ref,
                    ),
                ),
            ]
        )
        vm.touch()

    return work


@op("VirtualMachine", "DetachDisk_Task")
def detach_disk(call: Call):
    vm = call.vm
    disk_id = call.p("diskId")["id"]
    call.require(disk_id in _disk_ids(vm), lambda: SimFault("NotFound", f"disk {disk_id} is not attached"))

    def work() -> None:
        vm.devices = hardware.link(
            [d for d in vm.devices if not (d.get("vDiskId") and d["vDiskId"]["id"] == disk_id)]
        )
        vm.touch()

    return work


@op("VirtualMachine", "PromoteDisks_Task")
def promote_disks(call: Call):
    not_template(call)
    powered(call, "poweredOff", requested="poweredOff")

    def work() -> None:
        call.vm.consolidation_needed = False
        call.vm.touch()

    return work


@op("VirtualMachine", "DefragmentAllDisks")
def defragment(call: Call):
    not_template(call)
    powered(call, "poweredOff", requested="poweredOff")
    return lambda: None


@op("VirtualMachine", "QueryChangedDiskAreas")
def query_changed(call: Call):
    vm = call.vm
    key = call.p("deviceKey")
    disk = next((d for d in vm.devices if d.type_name == "VirtualDisk" and d.get("key") == key), None)
    if disk is None:
        raise SimFault("NotFound", f"no disk with key {key}", sync=True)
    if not vm.change_tracking:
        raise SimFault("FileFault", "changed block tracking is not enabled", sync=True, file=vm.files_path)
    snap = call.ref_obj("snapshot")
    if snap is not None and getattr(snap, "vm", None) is not vm:
        raise SimFault("NotFound", "the snapshot does not belong to this virtual machine", sync=True)
    start = call.p("startOffset", 0)
    length = disk.get("capacityInKB", 0) * 1024 - start
    if start < 0 or length < 0:
        raise invalid_argument("startOffset", "startOffset lies outside the disk")
    areas = (
        []
        if call.p("changeId") != "*"
        else [call.b.obj("DiskChangeExtent", start=start, length=min(length, 65536))]
    )
    return lambda: call.b.obj("DiskChangeInfo", startOffset=start, length=length, changedArea=areas)


@op("VirtualMachine", "QueryUnownedFiles")
def query_unowned(call: Call):
    return lambda: []


@op("VirtualMachine", "RepairVmDiskChains_Task")
def repair_disk_chains(call: Call):
    not_template(call)
    powered(call, "poweredOff", requested="poweredOff")

    def work() -> None:
        call.vm.consolidation_needed = False
        call.vm.touch()

    return work
