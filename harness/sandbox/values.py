"""Valid request values: the parameters of a request meeting an operation's preconditions.

:func:`request_values` gives the parameter values (name -> Python value, encoded with
:func:`harness.gen.encode_request`): hand-picked where an operation needs particular values
(MakePrimaryVM_Task's ``vm`` is the secondary), the minimal value of the declared type otherwise.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..contract.model import Contract
from ..gen.bodies import param_ref
from ..vmodl.registry import TypeRef, release
from ..vmodl.values import AnyValue, DataObject, MoRef
from ..vmodl.walk import ValueVisitor
from .inventory import Inventory
from .reads import unique_name

_PRIMITIVE_MINIMA: dict[str, Any] = {
    "boolean": False,
    "byte": 0,
    "short": 0,
    "int": 0,
    "long": 0,
    "float": 0.0,
    "double": 0.0,
    "string": "vsphere-harness",
    "anyURI": "http://127.0.0.1/",
    "base64Binary": b"",
}


@dataclass
class Refs:
    """The objects a request may name: the target, the sandbox's folder, the inventory."""

    inventory: Inventory
    folder: str | None = None  # the sandbox folder
    vm: str | None = None  # the target VM (VirtualMachine operations) or the snapshot's VM
    secondary: str | None = None  # the FT secondary of the target
    snapshot: str | None = None  # the target VM's current snapshot
    vm_path: str | None = None  # the target VM's config.files.vmPathName
    user: str | None = None  # the user name of the harness's session
    other_vms: list[str] = field(default_factory=list)
    prefix: str = "vsphere-harness"  # names of objects the run creates (``vsphere-harness-<runid>``)

    def ref_for(self, managed_type: str) -> MoRef | None:
        inv = self.inventory
        rel_pool = {
            "VirtualMachine": self.vm,
            "VirtualMachineSnapshot": self.snapshot,
            "Folder": self.folder or inv.vm_folder,
            "ResourcePool": inv.pool,
            "HostSystem": inv.hosts[0] if inv.hosts else None,
            "Datastore": inv.datastores[0] if inv.datastores else None,
            "Datacenter": inv.datacenter,
            "ManagedEntity": self.vm or self.folder,
        }
        moid = rel_pool.get(managed_type)
        return MoRef(managed_type, moid) if moid else None


class _Minimal(ValueVisitor):
    """The smallest valid value of a declared type: required fields only, one array item, references
    to the objects of :class:`Refs` (None when there is none of that type)."""

    def __init__(self, rel_name: str, refs: Refs):
        super().__init__(release(rel_name))
        self.refs = refs

    def visit_array(self, ref: TypeRef, depth: int = 0) -> list[Any]:
        one = self.visit(ref.item, depth)
        return [] if one is None else [one]

    def visit_primitive(self, name: str, depth: int = 0) -> Any:
        if name == "dateTime":
            return dt.datetime.now(dt.UTC).replace(microsecond=0)
        return _PRIMITIVE_MINIMA[name]

    def visit_any(self, name: str, depth: int = 0) -> AnyValue:
        return AnyValue("string", "vsphere-harness")

    def visit_reference(self, name: str, depth: int = 0) -> MoRef | None:
        return self.refs.ref_for("ManagedEntity")

    def visit_managed(self, name: str, depth: int = 0) -> MoRef | None:
        return self.refs.ref_for(name)

    def visit_enum(self, name: str, depth: int = 0) -> str:
        return self.release.enums[name].values[0]

    def too_deep(self, name: str) -> DataObject:
        return DataObject(name)


def minimal(ref: TypeRef, rel_name: str, refs: Refs) -> Any:
    """The smallest valid value of a declared type: required fields only, one array item."""
    return _Minimal(rel_name, refs).value(ref)


def _relocate(refs: Refs) -> DataObject:
    return DataObject("VirtualMachineRelocateSpec", pool=refs.ref_for("ResourcePool"))


def _customization() -> DataObject:
    return DataObject(
        "CustomizationSpec",
        identity=DataObject(
            "CustomizationLinuxPrep",
            hostName=DataObject("CustomizationFixedName", name="vsphere-harness"),
            domain="local",
        ),
        globalIPSettings=DataObject("CustomizationGlobalIPSettings"),
        nicSettingMap=[],
    )


def _vm(moid: str | None) -> MoRef | None:
    return MoRef("VirtualMachine", moid) if moid else None


#: The First Class Disk id AttachDisk_Task and DetachDisk_Task name.
TEST_DISK = "vsphere-harness-disk"

#: Hand-picked values for parameters that need particular ones (by method name).
VALUES: dict[str, Callable[[Refs], dict[str, Any]]] = {
    "AcquireTicket": lambda r: {"ticketType": "mks"},
    "AnswerVM": lambda r: {"questionId": "0", "answerChoice": "0"},
    "AttachDisk_Task": lambda r: {
        "diskId": DataObject("ID", id=TEST_DISK),
        "datastore": r.ref_for("Datastore"),
    },
    "DetachDisk_Task": lambda r: {"diskId": DataObject("ID", id=TEST_DISK)},
    "CheckCustomizationSpec": lambda r: {"spec": _customization()},
    "CustomizeVM_Task": lambda r: {"spec": _customization()},
    "CloneVM_Task": lambda r: {
        "folder": r.ref_for("Folder"),
        "name": unique_name(),
        "spec": DataObject("VirtualMachineCloneSpec", location=_relocate(r), template=False, powerOn=False),
    },
    "InstantClone_Task": lambda r: {
        "spec": DataObject(
            "VirtualMachineInstantCloneSpec",
            name=unique_name(),
            location=DataObject("VirtualMachineRelocateSpec", folder=r.ref_for("Folder")),
        )
    },
    "CreateSnapshot_Task": lambda r: {"name": unique_name("snapshot"), "memory": False, "quiesce": False},
    "CreateSnapshotEx_Task": lambda r: {"name": unique_name("snapshot"), "memory": False},
    "MarkAsVirtualMachine": lambda r: {"pool": r.ref_for("ResourcePool")},
    "MigrateVM_Task": lambda r: {"priority": "defaultPriority", "pool": r.ref_for("ResourcePool")},
    "RelocateVM_Task": lambda r: {"spec": _relocate(r)},
    "ReconfigVM_Task": lambda r: {
        "spec": DataObject("VirtualMachineConfigSpec", annotation="vsphere-harness")
    },
    "Rename_Task": lambda r: {"newName": unique_name()},
    "SetScreenResolution": lambda r: {"width": 1024, "height": 768},
    "SetDisplayTopology": lambda r: {
        "displays": [DataObject("VirtualMachineDisplayTopology", x=0, y=0, width=1024, height=768)]
    },
    "PutUsbScanCodes": lambda r: {
        "spec": DataObject(
            "UsbScanCodeSpec", keyEvents=[DataObject("UsbScanCodeSpecKeyEvent", usbHidCode=(0x04 << 16) | 7)]
        )
    },
    "QueryChangedDiskAreas": lambda r: {"deviceKey": 2000, "startOffset": 0, "changeId": "*"},
    "StartRecording_Task": lambda r: {"name": unique_name("recording")},
    "StartReplaying_Task": lambda r: {"replaySnapshot": r.ref_for("VirtualMachineSnapshot")},
    "setCustomValue": lambda r: {"key": "vsphere-harness", "value": "1"},
    "reloadVirtualMachineFromPath_Task": lambda r: {
        "configurationPath": r.vm_path or "[datastore] vm/vm.vmx"
    },
    "MakePrimaryVM_Task": lambda r: {"vm": _vm(r.secondary)},
    "DisableSecondaryVM_Task": lambda r: {"vm": _vm(r.secondary)},
    "EnableSecondaryVM_Task": lambda r: {"vm": _vm(r.secondary)},
    "TerminateFaultTolerantVM_Task": lambda r: {"vm": _vm(r.secondary)},
    "PromoteDisks_Task": lambda r: {"unlink": True},
    "RemoveSnapshot_Task": lambda r: {"removeChildren": False},
    "RenameSnapshot": lambda r: {"name": unique_name("snapshot")},
    "CreateFolder": lambda r: {"name": unique_name("folder")},
    "AddAuthorizationRole": lambda r: {"name": unique_name(f"{r.prefix}-role"), "privIds": []},
    "RetrieveEntityPermissions": lambda r: {"entity": r.ref_for("ManagedEntity"), "inherited": False},
    "FetchUserPrivilegeOnEntities": lambda r: {
        "entities": [r.ref_for("ManagedEntity")],
        "userName": r.user or "vsphere-harness",
    },
    "HasPrivilegeOnEntity": lambda r: {
        "entity": r.ref_for("ManagedEntity"),
        "sessionId": "vsphere-harness-none",
        "privId": ["System.View"],
    },
    "HasPrivilegeOnEntities": lambda r: {
        "entity": [r.ref_for("ManagedEntity")],
        "sessionId": "vsphere-harness-none",
        "privId": ["System.View"],
    },
    "SetEntityPermissions": lambda r: {"entity": r.ref_for("ManagedEntity"), "permission": []},
    "CreateVM_Task": lambda r: {"config": vm_config_spec(r.inventory), "pool": r.ref_for("ResourcePool")},
}


def vm_config_spec(inv: Inventory, name: str | None = None) -> DataObject:
    """A small VM with real hardware: one CPU, 128 MB, files on the first datastore; a paravirtual
    SCSI controller with a thin 1 GB disk, a VMXNET3 adapter on a standard port group (when the
    datacenter has one), and a SATA controller with a CD-ROM (a remote device, not connected)."""
    path = f"[{inv.datastore_name}]" if inv.datastore_name else ""
    return DataObject(
        "VirtualMachineConfigSpec",
        name=name or unique_name(),
        guestId="otherGuest64",
        numCPUs=1,
        memoryMB=128,
        files=DataObject("VirtualMachineFileInfo", vmPathName=path),
        deviceChange=hardware_changes(inv),
    )


def hardware_changes(inv: Inventory) -> list[DataObject]:
    """The ``deviceChange`` of :func:`vm_config_spec` (temporary negative keys, as a client sends)."""

    def add(device: DataObject, file_operation: str | None = None) -> DataObject:
        return DataObject(
            "VirtualDeviceConfigSpec", operation="add", fileOperation=file_operation, device=device
        )

    def connect(start: bool) -> DataObject:
        return DataObject(
            "VirtualDeviceConnectInfo", startConnected=start, allowGuestControl=True, connected=False
        )

    path = f"[{inv.datastore_name}]" if inv.datastore_name else ""
    changes = [
        add(DataObject("ParaVirtualSCSIController", key=-100, busNumber=0, sharedBus="noSharing")),
        add(
            DataObject(
                "VirtualDisk",
                key=-101,
                controllerKey=-100,
                unitNumber=0,
                capacityInKB=1024 * 1024,
                backing=DataObject(
                    "VirtualDiskFlatVer2BackingInfo",
                    fileName=path,
                    diskMode="persistent",
                    thinProvisioned=True,
                ),
            ),
            "create",
        ),
        add(DataObject("VirtualAHCIController", key=-102, busNumber=0)),
        add(
            DataObject(
                "VirtualCdrom",
                key=-103,
                controllerKey=-102,
                unitNumber=0,
                connectable=connect(False),
                backing=DataObject(
                    "VirtualCdromRemotePassthroughBackingInfo", deviceName="", exclusive=False
                ),
            )
        ),
    ]
    if inv.network and inv.network_name:
        changes.append(
            add(
                DataObject(
                    "VirtualVmxnet3",
                    key=-104,
                    addressType="generated",
                    connectable=connect(True),
                    backing=DataObject(
                        "VirtualEthernetCardNetworkBackingInfo",
                        deviceName=inv.network_name,
                        network=MoRef("Network", inv.network),
                    ),
                )
            )
        )
    return changes


def request_values(contract: Contract, rel_name: str, refs: Refs) -> dict[str, Any]:
    """Parameter values (name -> Python value) of a request expected to succeed on a target in the
    state :func:`states_for` picks: hand-picked values, else the minimum of every required parameter."""
    params = {p.name: p for p in contract.params_for(rel_name)}
    picked = VALUES.get(contract.name, lambda r: {})(refs)
    out: dict[str, Any] = {k: v for k, v in picked.items() if k in params and v is not None}
    for p in params.values():
        if p.required and p.name not in out:
            value = minimal(param_ref(p), rel_name, refs)
            if value is None and p.moref:  # nothing to point to: a reference that names no object
                value = MoRef(p.moref, f"{p.moref.lower()}-vsphere-harness-missing")
                value = [value] if p.type.endswith("[]") else value
            if value is not None:
                out[p.name] = value
    return out
