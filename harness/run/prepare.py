"""Preparation: valid requests that meet an operation's preconditions, and the facts to judge them.

* :class:`Inventory` — the objects of the endpoint a request may name (datacenter, folders, the
  resource pool, hosts, datastores), found with property reads from ``ServiceContent.rootFolder``;
* :func:`read_path` / :func:`holds` — read a dotted property path of an object and evaluate the
  predicates of the curated semantics (``equals``, ``in``, ``present`` ... see docs/semantics.md);
* :data:`STATE_BY_OP` — the sandbox state an operation needs when its contract has no curated
  target preconditions yet;
* :func:`request_values` — the parameter values of a valid request (name -> Python value, encoded
  with :func:`harness.gen.encode_request`): hand-picked where an operation needs particular values
  (MakePrimaryVM_Task's ``vm`` is the secondary), the minimal value of the declared type otherwise.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..contract import semantics
from ..contract.model import Contract
from ..contract.semantics import MISSING, describe, walk  # noqa: F401 - the checks import them here
from ..gen.bodies import param_ref
from ..vmodl.registry import MOREF, PRIMITIVE_WIRE_NAMES, TypeRef, release
from ..vmodl.values import AnyValue, DataObject, MoRef

#: States :meth:`harness.run.sandbox.Sandbox.vm` can put a virtual machine in.
STATES = (
    "poweredOff",
    "poweredOn",
    "suspended",
    "template",
    "withSnapshot",
    "toolsRunning",
    "ftPrimary",
    "ftDisabled",
    "recording",
    "toolsMounted",
)

PRESENT = "<present>"
_NOT_FT = {"runtime.faultToleranceState": "notConfigured", "config.ftInfo": None, "config.ftInfo.role": None}
_NO_SNAPSHOT = {"snapshot": None, "snapshot.currentSnapshot": None, "rootSnapshot": None}
_PLAIN = {"runtime.recordReplayState": "inactive", "runtime.toolsInstallerMounted": False}
_ON = {"runtime.powerState": "poweredOn", "config.template": False, **_NOT_FT, **_NO_SNAPSHOT}

#: What each sandbox state implies for the properties preconditions name (None: unset).
STATE_FACTS: dict[str, dict[str, Any]] = {
    "poweredOff": {"runtime.powerState": "poweredOff", "config.template": False, **_NOT_FT, **_NO_SNAPSHOT},
    "poweredOn": {"runtime.powerState": "poweredOn", "config.template": False, **_NOT_FT, **_NO_SNAPSHOT},
    "suspended": {"runtime.powerState": "suspended", "config.template": False, **_NOT_FT, **_NO_SNAPSHOT},
    "template": {"runtime.powerState": "poweredOff", "config.template": True, **_NOT_FT, **_NO_SNAPSHOT},
    "withSnapshot": {
        "runtime.powerState": "poweredOff",
        "config.template": False,
        **_NOT_FT,
        "snapshot": PRESENT,
        "snapshot.currentSnapshot": PRESENT,
        "rootSnapshot": PRESENT,
    },
    "toolsRunning": {
        "runtime.powerState": "poweredOn",
        "config.template": False,
        **_NOT_FT,
        **_NO_SNAPSHOT,
        "guest.toolsRunningStatus": "guestToolsRunning",
    },
    "ftPrimary": {
        "runtime.powerState": "poweredOn",
        "config.template": False,
        "config.ftInfo": PRESENT,
        "config.ftInfo.role": 1,
        "runtime.faultToleranceState": "running",
        **_NO_SNAPSHOT,
    },
    # an FT primary whose secondary is disabled (DisableSecondaryVM_Task)
    "ftDisabled": {
        "runtime.powerState": "poweredOn",
        "config.template": False,
        "config.ftInfo": PRESENT,
        "config.ftInfo.role": 1,
        "runtime.faultToleranceState": "disabled",
        **_NO_SNAPSHOT,
    },
    # powered on, recording (StartRecording_Task) / with the VMware Tools installer mounted
    "recording": {**_ON, "runtime.toolsInstallerMounted": False, "runtime.recordReplayState": "recording"},
    "toolsMounted": {**_ON, "runtime.recordReplayState": "inactive", "runtime.toolsInstallerMounted": True},
}

for _state in STATES[:8]:
    STATE_FACTS[_state] = {**_PLAIN, **STATE_FACTS[_state]}

#: The state an operation needs, for contracts without curated target preconditions.
STATE_BY_OP: dict[str, str] = {
    **dict.fromkeys(
        [
            "PowerOffVM_Task",
            "SuspendVM_Task",
            "ResetVM_Task",
            "AcquireMksTicket",
            "AcquireTicket",
            "CreateScreenshot_Task",
            "SendNMI",
            "PutUsbScanCodes",
            "MountToolsInstaller",
            "UnmountToolsInstaller",
            "TerminateVM",
            "StartRecording_Task",
            "StopRecording_Task",
            "StopReplaying_Task",
            "InstantClone_Task",
            "QueryConnections",
            "DropConnections",
            "CreateSecondaryVM_Task",
            "CreateSecondaryVMEx_Task",
        ],
        "poweredOn",
    ),
    **dict.fromkeys(
        [
            "ShutdownGuest",
            "RebootGuest",
            "StandbyGuest",
            "SetScreenResolution",
            "SetDisplayTopology",
            "UpgradeTools_Task",
        ],
        "toolsRunning",
    ),
    **dict.fromkeys(
        [
            "MakePrimaryVM_Task",
            "TurnOffFaultToleranceForVM_Task",
            "TerminateFaultTolerantVM_Task",
            "DisableSecondaryVM_Task",
            "EnableSecondaryVM_Task",
        ],
        "ftPrimary",
    ),
    **dict.fromkeys(
        [
            "RevertToCurrentSnapshot_Task",
            "RemoveAllSnapshots_Task",
            "StartReplaying_Task",
            "EstimateStorageForConsolidateSnapshots_Task",
            "RevertToSnapshot_Task",
            "RemoveSnapshot_Task",
            "RenameSnapshot",
        ],
        "withSnapshot",
    ),
    "MarkAsVirtualMachine": "template",
    "StopRecording_Task": "recording",
    "UnmountToolsInstaller": "toolsMounted",
}

#: Operations after which the target is gone or no longer usable: they get a VM of their own.
DESTRUCTIVE = frozenset(
    {
        "Destroy_Task",
        "UnregisterVM",
        "MakePrimaryVM_Task",
        "TerminateFaultTolerantVM_Task",
        "DisableSecondaryVM_Task",
        "EnableSecondaryVM_Task",
    }
)

_NAMES = itertools.count(1)


def unique_name(prefix: str = "vsphere-harness") -> str:
    return f"{prefix}-{next(_NAMES)}"


def moref(type_name: str, value: str) -> dict[str, str]:
    """A managed object reference as VI/JSON sends it."""
    return {"_typeName": MOREF, "type": type_name, "value": value}


# --- inventory -----------------------------------------------------------------------------------
@dataclass
class Inventory:
    """What the endpoint has, as far as requests need it (moIds)."""

    root_folder: str
    datacenter: str | None = None
    vm_folder: str | None = None
    host_folder: str | None = None
    compute: tuple[str, str] | None = None  # (managed type, moid) of the first compute resource
    pool: str | None = None
    hosts: list[str] = field(default_factory=list)
    datastores: list[str] = field(default_factory=list)
    datastore_name: str | None = None
    network: str | None = None  # a standard port group (type Network) the sandbox's adapters connect to
    network_name: str | None = None

    def pool_refs(self) -> dict[str, list[MoRef]]:
        """A reference pool for :func:`harness.gen.strategies.requests` (real objects by type)."""
        out: dict[str, list[MoRef]] = {"Folder": [MoRef("Folder", f) for f in (self.vm_folder,) if f]}
        if self.datacenter:
            out["Datacenter"] = [MoRef("Datacenter", self.datacenter)]
        if self.pool:
            out["ResourcePool"] = [MoRef("ResourcePool", self.pool)]
        out["HostSystem"] = [MoRef("HostSystem", h) for h in self.hosts]
        out["Datastore"] = [MoRef("Datastore", d) for d in self.datastores]
        return out


def _value(client: Any, type_name: str, moid: str, prop: str) -> Any:
    ex = client.get(type_name, moid, prop)
    return ex.json if ex.ok else None


def discover(client: Any) -> Inventory:
    """The first datacenter's folders, compute resource, pool, hosts and datastores."""
    root = client.content["rootFolder"]["value"]
    inv = Inventory(root_folder=root)
    for child in _value(client, "Folder", root, "childEntity") or []:
        if child.get("type") == "Datacenter":
            inv.datacenter = child["value"]
            break
    if inv.datacenter is None:
        return inv
    dc = inv.datacenter
    inv.vm_folder = (_value(client, "Datacenter", dc, "vmFolder") or {}).get("value")
    inv.host_folder = (_value(client, "Datacenter", dc, "hostFolder") or {}).get("value")
    inv.datastores = [d["value"] for d in _value(client, "Datacenter", dc, "datastore") or []]
    if inv.datastores:
        summary = _value(client, "Datastore", inv.datastores[0], "summary") or {}
        inv.datastore_name = summary.get("name")
    for net in _value(client, "Datacenter", dc, "network") or []:
        if isinstance(net, dict) and net.get("type") == "Network":  # not a distributed port group
            name = _value(client, "Network", net["value"], "name")
            if isinstance(name, str):
                inv.network, inv.network_name = net["value"], name
                break
    folders = [inv.host_folder] if inv.host_folder else []
    while folders and inv.compute is None:
        for child in _value(client, "Folder", folders.pop(0), "childEntity") or []:
            if child.get("type") == "Folder":
                folders.append(child["value"])
            elif child.get("type") in ("ComputeResource", "ClusterComputeResource"):
                inv.compute = (child["type"], child["value"])
                break
    if inv.compute:
        ctype, cid = inv.compute
        inv.pool = (_value(client, ctype, cid, "resourcePool") or {}).get("value")
        inv.hosts = [h["value"] for h in _value(client, ctype, cid, "host") or []]
    return inv


# --- property paths and predicates ---------------------------------------------------------------


def read_path(client: Any, managed_type: str, moid: str, path: str) -> tuple[Any, Any]:
    """``(value, exchange)`` of a dotted property path (``runtime.powerState``) of an object.
    The value is None when unset; :data:`MISSING` when the property cannot be read (fault)."""
    head, *rest = path.split(".")
    ex = client.get(managed_type, moid, head)
    if not ex.ok:
        return MISSING, ex
    return walk(ex.json, rest), ex


def _unwrap(value: Any) -> Any:
    if isinstance(value, dict) and "_value" in value and set(value) <= {"_typeName", "_value"}:
        return value["_value"]
    if isinstance(value, dict) and value.get("_typeName") == MOREF:
        return value.get("value")
    return value


def holds(
    pred: dict[str, Any],
    value: Any,
    before: Any = MISSING,
    params: dict[str, Any] | None = None,
    result: Any = MISSING,
) -> bool:
    """Whether a property value read from the endpoint meets a semantics predicate."""
    return semantics.holds(
        pred, _unwrap(value), before=_unwrap(before), params=params, result=result, normalize=_unwrap
    )


def state_meets(state: str, pred: dict[str, Any]) -> bool | None:
    """Whether a sandbox state satisfies a target precondition (None: the state says nothing)."""
    facts = STATE_FACTS[state]
    path = pred.get("target")
    if path not in facts:
        return None
    fact = facts[path]
    if fact == PRESENT:
        if "present" in pred:
            return bool(pred["present"])
        if "not_equals" in pred and pred["not_equals"] is None:
            return True
        return None
    return holds(pred, fact)


def states_for(contract: Contract) -> list[str]:
    """Sandbox states meeting the contract's target preconditions, best first."""
    pre = [p for p in contract.preconditions if "target" in p]
    preferred = STATE_BY_OP.get(contract.name, "poweredOff")
    order = [preferred] + [s for s in STATES if s != preferred]
    if not pre:
        return [preferred]
    return [s for s in order if all(state_meets(s, p) is not False for p in pre)]


def violating_states(contract: Contract) -> list[tuple[str, dict[str, Any]]]:
    """``(state, precondition)`` pairs where the state breaks exactly that target precondition
    (and meets the others as far as known); the precondition names the expected fault."""
    pre = [p for p in contract.preconditions if "target" in p and p.get("fault")]
    out = []
    for p in pre:
        for s in STATES:
            if state_meets(s, p) is False and all(state_meets(s, q) is not False for q in pre if q is not p):
                out.append((s, p))
                break
    return out


# --- request values ------------------------------------------------------------------------------
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


def minimal(ref: TypeRef, rel_name: str, refs: Refs, depth: int = 0) -> Any:
    """The smallest valid value of a declared type: required fields only, one array item."""
    rel = release(rel_name)
    if ref.array:
        one = minimal(ref.item, rel_name, refs, depth)
        return [] if one is None else [one]
    name = ref.name
    if name in PRIMITIVE_WIRE_NAMES:
        if name == "dateTime":
            return dt.datetime.now(dt.UTC).replace(microsecond=0)
        return _PRIMITIVE_MINIMA[name]
    if name == "anyType":
        return AnyValue("string", "vsphere-harness")
    kind = "managed" if name == "ManagedObject" else rel.kind(name)
    if kind in ("managed", "moref"):
        return refs.ref_for("ManagedEntity" if name in (MOREF, "ManagedObject") else name)
    if kind == "enum":
        return rel.enums[name].values[0]
    if depth > 6:
        return DataObject(name)
    out = DataObject(name)
    for f in rel.fields(name):
        if not f.optional:
            value = minimal(f.type, rel_name, refs, depth + 1)
            if value is not None:
                out[f.name] = value
    return out


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


#: Hand-picked values for parameters that need particular ones (by method name).
VALUES: dict[str, Callable[[Refs], dict[str, Any]]] = {
    "AcquireTicket": lambda r: {"ticketType": "mks"},
    "AnswerVM": lambda r: {"questionId": "0", "answerChoice": "0"},
    "AttachDisk_Task": lambda r: {
        "diskId": DataObject("ID", id="vsphere-harness-disk"),
        "datastore": r.ref_for("Datastore"),
    },
    "DetachDisk_Task": lambda r: {"diskId": DataObject("ID", id="vsphere-harness-disk")},
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
