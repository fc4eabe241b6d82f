"""Virtual hardware of simulated VMs, kept coherent the way vCenter keeps it.

* :func:`builtin` — the devices every VM has from its creation (PCI, IDE, PS/2 and SIO controllers,
  video card, keyboard, pointing device, VMCI), with vCenter's device keys;
* :func:`seeded` — a seeded VM's hardware: the built-in devices plus SCSI controller and disks,
  network adapters, a CD-ROM, sometimes a SATA or USB controller (drawn from the seed);
* :func:`apply_changes` — the ``deviceChange`` of a config spec (CreateVM_Task, ReconfigVM_Task):
  temporary (negative) keys replaced by free keys in the device class's range and references to them
  remapped, controllers and unit numbers filled in, disk files named in the VM's directory, MAC
  addresses generated, labels given; an add on a controller that does not exist, or removing a
  controller that still has devices, is refused (``InvalidController``, ``InvalidDeviceSpec``);
* :func:`link` — each controller's ``device`` list, from the devices' ``controllerKey``.

The file layout (``layout``, ``layoutEx``), ``summary.config.numVirtualDisks/numEthernetCards``,
``runtime.device`` and ``guest.net`` are rendered from the same list (:mod:`harness.sim.props`).
"""

from __future__ import annotations

import copy
import functools
import random
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..vmodl.registry import release
from ..vmodl.values import DataObject
from .faults import SimFault

if TYPE_CHECKING:
    from .model import VM, Inventory

_REL = "9.1.0.0"

#: First device key of each class (vCenter's numbering) and the label of its devices.
BASE = {
    "pci": 100,
    "ide": 200,
    "ps2": 300,
    "sio": 400,
    "video": 500,
    "keyboard": 600,
    "pointing": 700,
    "scsi": 1000,
    "disk": 2000,
    "cdrom": 3000,
    "nic": 4000,
    "usb": 7000,
    "floppy": 8000,
    "vmci": 12000,
    "other": 13000,
    "usb3": 14000,
    "sata": 15000,
    "nvme": 31000,
}
LABELS = {
    "pci": "PCI controller",
    "ide": "IDE",
    "ps2": "PS2 controller",
    "sio": "SIO controller",
    "video": "Video card",
    "keyboard": "Keyboard",
    "pointing": "Pointing device",
    "scsi": "SCSI controller",
    "disk": "Hard disk",
    "cdrom": "CD/DVD drive",
    "nic": "Network adapter",
    "usb": "USB controller",
    "usb3": "USB xHCI controller",
    "floppy": "Floppy drive",
    "vmci": "VMCI device",
    "sata": "SATA controller",
    "nvme": "NVME controller",
    "other": "Device",
}
#: Unit numbers a controller class offers (SCSI unit 7 is the controller's own).
UNITS = {
    "scsi": [u for u in range(16) if u != 7],
    "ide": [0, 1],
    "sata": list(range(30)),
    "nvme": list(range(15)),
    "pci": list(range(7, 32)),
    "ps2": [0, 1, 2],
    "sio": [0, 1, 2, 3],
}
CONTROLLERS = {"pci", "ide", "ps2", "sio", "scsi", "sata", "nvme", "usb", "usb3"}
_CLASSES = (
    ("VirtualDisk", "disk"),
    ("VirtualCdrom", "cdrom"),
    ("VirtualEthernetCard", "nic"),
    ("VirtualSCSIController", "scsi"),
    ("VirtualAHCIController", "sata"),
    ("VirtualNVMEController", "nvme"),
    ("VirtualIDEController", "ide"),
    ("VirtualUSBXHCIController", "usb3"),
    ("VirtualUSBController", "usb"),
    ("VirtualPCIController", "pci"),
    ("VirtualPS2Controller", "ps2"),
    ("VirtualSIOController", "sio"),
    ("VirtualMachineVideoCard", "video"),
    ("VirtualKeyboard", "keyboard"),
    ("VirtualPointingDevice", "pointing"),
    ("VirtualMachineVMCIDevice", "vmci"),
    ("VirtualFloppy", "floppy"),
)


@functools.cache
def kind(type_name: str) -> str:
    """The device class of a device type (``disk``, ``nic``, ``scsi`` ... ``other``)."""
    rel = release(_REL)
    if type_name not in rel.data:
        return "other"
    for base, name in _CLASSES:
        if rel.is_subtype(type_name, base):
            return name
    return "other"


def of_kind(devices: Iterable[DataObject], *kinds: str) -> list[DataObject]:
    return [d for d in devices if kind(d.type_name) in kinds]


def disk_controllers(devices: Iterable[DataObject]) -> list[DataObject]:
    return of_kind(devices, "scsi", "sata", "nvme")


def _describe(label: str, summary: str) -> DataObject:
    return DataObject("Description", label=label, summary=summary)


def _connect(start: bool, connected: bool = False) -> DataObject:
    return DataObject(
        "VirtualDeviceConnectInfo",
        startConnected=start,
        allowGuestControl=True,
        connected=connected,
        status="ok" if connected else "untried",
    )


def builtin() -> list[DataObject]:
    """What vCenter gives every new VM before the spec's own devices."""
    return link(
        [
            DataObject("VirtualIDEController", key=200, busNumber=0, deviceInfo=_describe("IDE 0", "IDE 0")),
            DataObject("VirtualIDEController", key=201, busNumber=1, deviceInfo=_describe("IDE 1", "IDE 1")),
            DataObject(
                "VirtualPS2Controller",
                key=300,
                busNumber=0,
                deviceInfo=_describe("PS2 controller 0", "PS2 controller 0"),
            ),
            DataObject(
                "VirtualPCIController",
                key=100,
                busNumber=0,
                deviceInfo=_describe("PCI controller 0", "PCI controller 0"),
            ),
            DataObject(
                "VirtualSIOController",
                key=400,
                busNumber=0,
                deviceInfo=_describe("SIO controller 0", "SIO controller 0"),
            ),
            DataObject(
                "VirtualKeyboard",
                key=600,
                controllerKey=300,
                unitNumber=0,
                deviceInfo=_describe("Keyboard", "Keyboard"),
            ),
            DataObject(
                "VirtualPointingDevice",
                key=700,
                controllerKey=300,
                unitNumber=1,
                deviceInfo=_describe("Pointing device", "Pointing device; Device"),
                backing=DataObject(
                    "VirtualPointingDeviceDeviceBackingInfo",
                    deviceName="",
                    useAutoDetect=False,
                    hostPointingDevice="autodetect",
                ),
            ),
            DataObject(
                "VirtualMachineVideoCard",
                key=500,
                controllerKey=100,
                unitNumber=0,
                deviceInfo=_describe("Video card ", "Video card"),
                videoRamSizeInKB=4096,
                numDisplays=1,
                useAutoDetect=False,
                enable3DSupport=False,
                use3dRenderer="automatic",
                graphicsMemorySizeInKB=262144,
            ),
            DataObject(
                "VirtualMachineVMCIDevice",
                key=12000,
                controllerKey=100,
                unitNumber=17,
                deviceInfo=_describe(
                    "VMCI device",
                    "Device on the virtual machine PCI bus that provides "
                    "support for the virtual machine communication interface",
                ),
                id=-1,
                allowUnrestrictedCommunication=False,
                filterEnable=True,
            ),
        ]
    )


def link(devices: list[DataObject]) -> list[DataObject]:
    """Each controller's ``device`` list from the devices that name it (in key order)."""
    children: dict[int, list[int]] = {}
    for d in devices:
        if d.get("controllerKey") is not None:
            children.setdefault(d["controllerKey"], []).append(d["key"])
    for d in devices:
        if kind(d.type_name) in CONTROLLERS:
            keys = sorted(children.get(d["key"], []))
            if keys:
                d["device"] = keys
            else:
                d.pop("device", None)
    return devices


def free_key(devices: Iterable[DataObject], cls: str) -> int:
    used = {d.get("key") for d in devices}
    key = BASE[cls]
    while key in used:
        key += 1
    return key


def free_unit(devices: Iterable[DataObject], controller: DataObject) -> int | None:
    cls = kind(controller.type_name)
    used = {d.get("unitNumber") for d in devices if d.get("controllerKey") == controller["key"]}
    return next((u for u in UNITS.get(cls, range(16)) if u not in used), None)


def mac(vm: VM, index: int) -> str:
    n = vm.num * 4 + index
    return f"00:50:56:{(n >> 16) & 63:02x}:{(n >> 8) & 255:02x}:{n & 255:02x}"


def disk_file(vm: VM, index: int, ds_name: str) -> str:
    base = vm.files_path.rsplit("/", 1)[0].split("] ", 1)[-1]
    suffix = "" if index == 0 else f"_{index}"
    return f"[{ds_name}] {base}/{vm.name}{suffix}.vmdk"


def _kb(capacity_kb: int) -> str:
    return f"{capacity_kb:,} KB"


# --- seeded hardware -----------------------------------------------------------------------------------
def scsi_controller(
    key: int = 1000, bus: int = 0, type_name: str = "ParaVirtualSCSIController"
) -> DataObject:
    summary = "VMware paravirtual SCSI" if type_name == "ParaVirtualSCSIController" else "LSI Logic SAS"
    return DataObject(
        type_name,
        key=key,
        busNumber=bus,
        sharedBus="noSharing",
        hotAddRemove=True,
        scsiCtlrUnitNumber=7,
        controllerKey=100,
        unitNumber=3 + bus,
        deviceInfo=_describe(f"SCSI controller {bus}", summary),
    )


def disk(vm: VM, key: int, controller: int, unit: int, index: int, gib: int, thin: bool = True) -> DataObject:
    ds = vm.datastores[0] if vm.datastores else None
    ds_name = ds.name if ds is not None else "datastore1"
    kb = gib * 1024 * 1024
    return DataObject(
        "VirtualDisk",
        key=key,
        controllerKey=controller,
        unitNumber=unit,
        capacityInKB=kb,
        capacityInBytes=kb * 1024,
        deviceInfo=_describe(f"Hard disk {index + 1}", _kb(kb)),
        backing=DataObject(
            "VirtualDiskFlatVer2BackingInfo",
            fileName=disk_file(vm, index, ds_name),
            diskMode="persistent",
            thinProvisioned=thin,
            eagerlyScrub=False,
            split=False,
            writeThrough=False,
            datastore=ds.ref if ds is not None else None,
            uuid=f"6000C29{vm.num:09d}{index:016x}"[:32],
            sharing="sharingNone",
        ),
        shares=DataObject("SharesInfo", shares=1000, level="normal"),
        storageIOAllocation=DataObject(
            "StorageIOAllocationInfo",
            limit=-1,
            shares=DataObject("SharesInfo", shares=1000, level="normal"),
            reservation=0,
        ),
        diskObjectId=f"{vm.num}-{key}",
        nativeUnmanagedLinkedClone=False,
    )


def nic(vm: VM, key: int, index: int, type_name: str = "VirtualVmxnet3", network: Any = None) -> DataObject:
    name = network.name if network is not None else "VM Network"
    return DataObject(
        type_name,
        key=key,
        controllerKey=100,
        unitNumber=7 + index,
        addressType="assigned",
        macAddress=mac(vm, index),
        wakeOnLanEnabled=True,
        uptCompatibilityEnabled=True if type_name == "VirtualVmxnet3" else None,
        deviceInfo=_describe(f"Network adapter {index + 1}", name),
        backing=DataObject(
            "VirtualEthernetCardNetworkBackingInfo",
            deviceName=name,
            network=network.ref if network is not None else None,
            useAutoDetect=False,
        ),
        connectable=_connect(True, vm.power_state == "poweredOn"),
        resourceAllocation=DataObject(
            "VirtualEthernetCardResourceAllocation",
            reservation=0,
            limit=-1,
            share=DataObject("SharesInfo", shares=50, level="normal"),
        ),
    )


def cdrom(
    key: int, controller: int, unit: int, index: int = 0, iso: str | None = None, ds: Any = None
) -> DataObject:
    if iso:
        backing = DataObject(
            "VirtualCdromIsoBackingInfo", fileName=iso, datastore=ds.ref if ds is not None else None
        )
        summary = f"ISO {iso}"
    else:
        backing = DataObject(
            "VirtualCdromRemotePassthroughBackingInfo", deviceName="", useAutoDetect=False, exclusive=False
        )
        summary = "Remote device"
    return DataObject(
        "VirtualCdrom",
        key=key,
        controllerKey=controller,
        unitNumber=unit,
        backing=backing,
        deviceInfo=_describe(f"CD/DVD drive {index + 1}", summary),
        connectable=_connect(False),
    )


#: Hardware profiles the drawn VMs take in turn (so every inventory of a few dozen VMs has each), as
#: (disks, adapters, CD-ROM) with None where the seed draws: ``media`` is remote, iso, sata or none.
PROFILES: tuple[tuple[int | None, int | None, str | None], ...] = (
    (None, None, None),  # everything drawn
    (0, 1, "iso"),  # diskless (boots from the network or an ISO)
    (3, 1, None),  # three disks on two SCSI controllers
    (None, 2, "remote"),  # two adapters
    (1, 0, "sata"),  # no adapter, a SATA CD-ROM
    (2, 1, "none"),  # no CD-ROM
)


def seeded(
    vm: VM, rng: random.Random | None, networks: list[Any] | None = None, profile: int = 0
) -> list[DataObject]:
    """The hardware of a seeded VM: fixed for ``rng=None`` (a PVSCSI controller with one 16 GB disk, a
    VMXNET3 adapter, a CD-ROM on IDE 0), else ``PROFILES[profile % 6]`` with the rest drawn: one to three
    disks (the third sometimes on a second controller), one or two adapters (VMXNET3 or E1000e) on the
    networks, an ISO or remote CD-ROM on IDE or a CD-ROM on a SATA controller, sometimes a USB controller."""
    devices = builtin()
    net = vm.networks[0] if vm.networks else None
    ds = vm.datastores[0] if vm.datastores else None
    if rng is None:
        devices += [
            scsi_controller(),
            disk(vm, 2000, 1000, 0, 0, 16),
            nic(vm, 4000, 0, network=net),
            cdrom(3000, 200, 0),
        ]
        return link(devices)
    want_disks, want_nics, want_media = PROFILES[profile % len(PROFILES)]
    n_disks = rng.choices([1, 2, 3], [6, 3, 2])[0] if want_disks is None else want_disks
    controller_type = rng.choice(["ParaVirtualSCSIController", "VirtualLsiLogicSASController"])
    if n_disks:
        devices.append(scsi_controller(1000, 0, controller_type))
        second = n_disks == 3 and (want_disks == 3 or rng.random() < 0.5)
        if second:
            devices.append(scsi_controller(1001, 1, "ParaVirtualSCSIController"))
        for i in range(n_disks):
            on_second = second and i == n_disks - 1
            devices.append(
                disk(
                    vm,
                    2000 + i,
                    1001 if on_second else 1000,
                    0 if on_second else i,
                    i,
                    rng.choice([8, 16, 40, 100]),
                    thin=rng.random() < 0.7,
                )
            )
    n_nics = rng.choices([1, 2], [7, 3])[0] if want_nics is None else want_nics
    for i in range(n_nics):
        network = rng.choice(networks) if networks else net
        devices.append(nic(vm, 4000 + i, i, rng.choice(["VirtualVmxnet3", "VirtualE1000e"]), network))
    media = want_media or rng.choice(["remote", "iso", "sata"])
    if media == "sata":
        devices.append(
            DataObject(
                "VirtualAHCIController",
                key=15000,
                busNumber=0,
                controllerKey=100,
                unitNumber=24,
                deviceInfo=_describe("SATA controller 0", "AHCI"),
            )
        )
        devices.append(cdrom(16000, 15000, 0))
    elif media != "none":
        iso = f"[{ds.name}] iso/linux-{vm.num % 5}.iso" if media == "iso" and ds is not None else None
        devices.append(cdrom(3000, 200, 0, iso=iso, ds=ds))
    if rng.random() < 0.3:
        devices.append(
            DataObject(
                "VirtualUSBXHCIController",
                key=14000,
                busNumber=0,
                controllerKey=100,
                unitNumber=23,
                autoConnectDevices=True,
                deviceInfo=_describe("USB xHCI controller ", "USB xHCI controller"),
            )
        )
    return link(devices)


def rehome(vm: VM, devices: list[DataObject]) -> list[DataObject]:
    """Devices copied from another VM (clone, FT secondary) with disk files in this VM's directory,
    its own MAC addresses and disk identities."""
    out = copy.deepcopy(devices)
    disks = nics = 0
    for d in out:
        cls = kind(d.type_name)
        if (
            cls == "disk"
            and isinstance(d.get("backing"), dict)
            and "fileName" in d["backing"]
            and not d.get("vDiskId")
        ):
            ds = (
                d["backing"]["fileName"][1:].split("]", 1)[0]
                if d["backing"]["fileName"].startswith("[")
                else (vm.datastores[0].name if vm.datastores else "datastore1")
            )
            d["backing"]["fileName"] = disk_file(vm, disks, ds)
            d["diskObjectId"] = f"{vm.num}-{d['key']}"
            disks += 1
        elif cls == "nic":
            d["macAddress"] = mac(vm, nics)
            d["addressType"] = "assigned"
            nics += 1
    return out


# --- a config spec's device changes ---------------------------------------------------------------------
def _invalid(message: str, index: int, prop: str = "deviceChange") -> SimFault:
    return SimFault("InvalidDeviceSpec", message, sync=False, deviceIndex=index, property=prop)


def apply_changes(
    vm: VM, inv: Inventory | None, changes: list[Any], devices: list[DataObject]
) -> list[DataObject]:
    """``devices`` after the spec's ``deviceChange`` (a new list; raises SimFault before changing anything)."""
    out = [d.copy() for d in devices]
    renamed: dict[int, int] = {}
    added: list[tuple[int, DataObject, str | None]] = []
    for i, change in enumerate(changes or []):
        device, operation = change.get("device"), change.get("operation")
        if not isinstance(device, DataObject):
            continue
        if operation == "add":
            device = copy.deepcopy(device)
            cls = kind(device.type_name)
            key = device.get("key")
            if key is None or key < 0 or any(d.get("key") == key for d in out):
                new = free_key(out, cls if cls in BASE else "other")
                if key is not None:
                    renamed[key] = new
                device["key"] = new
            out.append(device)
            added.append((i, device, change.get("fileOperation")))
        elif operation == "remove":
            key = device.get("key")
            out = [d for d in out if d.get("key") != key]
        elif operation == "edit":
            key = device.get("key")
            old = next((d for d in out if d.get("key") == key), None)
            new = copy.deepcopy(device)
            if old is not None:
                for keep in ("controllerKey", "unitNumber"):
                    if new.get(keep) is None and old.get(keep) is not None:
                        new[keep] = old[keep]
            out = [new if d.get("key") == key else d for d in out]
    keys = {d.get("key"): d for d in out}
    for i, device, file_op in added:
        if device.get("controllerKey") in renamed:
            device["controllerKey"] = renamed[device["controllerKey"]]
        _place(vm, inv, out, keys, device, i, file_op)
    for d in out:  # a device left on a controller that is gone
        if d.get("controllerKey") is not None and d["controllerKey"] not in keys:
            raise _invalid(
                f"device {d.get('key')} stays on controller {d['controllerKey']}, which is removed", 0
            )
    return link(out)


def _place(
    vm: VM,
    inv: Inventory | None,
    out: list[DataObject],
    keys: dict[int, DataObject],
    device: DataObject,
    index: int,
    file_op: str | None,
) -> None:
    cls = kind(device.type_name)
    same = [d for d in out if kind(d.type_name) == cls]
    number = same.index(device)
    ctrl_key = device.get("controllerKey")
    if ctrl_key is None:
        wanted = {"disk": ("scsi", "sata", "nvme"), "cdrom": ("ide", "sata")}.get(cls, ("pci",))
        candidates = [d for d in out if kind(d.type_name) in wanted and d is not device]
        controller = next((c for c in candidates if free_unit(out, c) is not None), None)
        if controller is not None and cls not in ("keyboard", "pointing", "other"):
            device["controllerKey"] = ctrl_key = controller["key"]
    elif ctrl_key not in keys or kind(keys[ctrl_key].type_name) not in CONTROLLERS:
        raise SimFault(
            "InvalidController",
            f"device {device['key']} names controller {ctrl_key}, which does not exist",
            sync=False,
            controllerKey=ctrl_key,
            deviceIndex=index,
        )
    if ctrl_key is not None and ctrl_key in keys and device.get("unitNumber") is None:
        unit = free_unit([d for d in out if d is not device], keys[ctrl_key])
        if unit is not None:
            device["unitNumber"] = unit
    if cls in LABELS and not isinstance(device.get("deviceInfo"), dict):
        label = f"{LABELS[cls]} {number + (0 if cls in CONTROLLERS else 1)}"
        device["deviceInfo"] = _describe(label, label)
    backing = device.get("backing")
    if cls == "disk":
        kb = device.get("capacityInKB") or 0
        if device.get("capacityInBytes"):
            kb = max(kb, device["capacityInBytes"] // 1024)
        device["capacityInKB"] = kb
        device["capacityInBytes"] = kb * 1024
        if isinstance(backing, dict) and "fileName" in backing:
            name = backing.get("fileName") or ""
            if file_op == "create" and (not name or name.endswith("]") or "/" not in name):
                ds_name = (
                    name[1:-1]
                    if name.startswith("[") and name.endswith("]")
                    else (vm.datastores[0].name if vm.datastores else "datastore1")
                )
                backing["fileName"] = disk_file(vm, number, ds_name)
                ds = next((d for d in (inv.datastores if inv is not None else []) if d.name == ds_name), None)
                if ds is not None:
                    backing["datastore"] = ds.ref
            if not backing.get("diskMode"):
                backing["diskMode"] = "persistent"
    elif cls == "nic":
        if device.get("addressType") in (None, "generated", "Generated") or not device.get("macAddress"):
            device["macAddress"] = mac(vm, number)
            device["addressType"] = "assigned"
        if (
            isinstance(backing, dict)
            and backing.type_name == "VirtualEthernetCardNetworkBackingInfo"
            and backing.get("network") is None
            and inv is not None
        ):
            net = next((n for n in inv.networks if n.name == backing.get("deviceName")), None)
            if net is not None:
                backing["network"] = net.ref
    if cls in ("nic", "cdrom") and not isinstance(device.get("connectable"), dict):
        device["connectable"] = _connect(cls == "nic")
