"""Every VirtualMachine operation, acting on state (preconditions as VMware documents them)."""

from __future__ import annotations

import hashlib
import itertools
from typing import Any

from ...vmodl.values import DataObject, MoRef
from .. import devices as hardware
from ..faults import SimFault, invalid_argument, invalid_power_state, invalid_state
from ..model import VM, Folder, Host, Inventory, Managed, ResourcePool, Snapshot, now
from ..seed import make_secondary, power_on, take_snapshot
from . import Call, TaskPlan, op

LATEST_HW = "vmx-21"
DEFAULT_HW = "vmx-19"  # the datacenter's default compatibility for new VMs (upgradable to LATEST_HW)
LATEST_TOOLS = 12416
MAX_SNAPSHOT_DEPTH = 32  # vSphere's limit of a snapshot chain
_tickets = itertools.count(1)


# --- helpers ---------------------------------------------------------------------------------------
def valid_name(name: Any) -> bool:
    return (
        isinstance(name, str)
        and len(name.strip()) > 0
        and len(name) <= 80
        and not any(c in name for c in "\x00\n\r/\\")
    )


def not_template(call: Call) -> None:
    call.require(not call.vm.template, lambda: invalid_state(f"{call.vm.name} is a template"))


def powered(call: Call, *states: str, requested: str | None = None) -> None:
    vm = call.vm
    call.require(vm.power_state in states, lambda: invalid_power_state(vm.power_state, requested))


def host_usable(call: Call, host: Host | None) -> None:
    if host is not None:
        call.require(not host.maintenance, lambda: invalid_state(f"host {host.name} is in maintenance mode"))
        call.require(
            host.connection_state == "connected", lambda: invalid_state(f"host {host.name} is not connected")
        )


def tools_running(call: Call) -> None:
    vm = call.vm
    call.require(vm.power_state == "poweredOn", lambda: invalid_power_state(vm.power_state, "poweredOn"))
    call.require(
        vm.tools_running, lambda: SimFault("ToolsUnavailable", "VMware Tools is not running in the guest")
    )


def not_secondary(call: Call) -> None:
    vm = call.vm
    call.require(
        vm.ft_role < 2,
        lambda: SimFault(
            "InvalidOperationOnSecondaryVm",
            "the operation is not allowed on an FT secondary",
            instanceUuid=vm.instance_uuid,
        ),
    )


def unique_in_folder(vm_or_none: VM | None, folder: Managed | None, name: str) -> Managed | None:
    for child in getattr(folder, "children", ()):
        if child is not vm_or_none and child.name == name and isinstance(child, VM) and child.ft_role < 2:
            return child
    return None


def set_power(vm: VM, state: str) -> None:
    if state == "poweredOn" and vm.power_state != "poweredOn":
        power_on(vm)
        vm.customization_applied = None  # the guest applies a pending customization at boot
    else:
        vm.power_state = state
        if state != "poweredOn":
            vm.tools_installer_mounted = vm.tools_installer_mounted and state == "poweredOn"
            vm.connections = []
    vm.touch()
    if vm.ft is not None and vm.ft.primary is vm:
        for s in vm.ft.secondaries:
            if s.moid not in vm.ft.disabled:
                if state == "poweredOn" and s.power_state != "poweredOn":
                    power_on(s)
                elif state != "poweredOn":
                    s.power_state = state
                s.touch()


def remove_vm(inv: Inventory, vm: VM) -> None:
    """Take a VM (and its snapshots, and FT secondaries when it is a primary) out of the inventory."""
    for s in list(vm.iter_snapshots()):
        inv.remove(s)
    if vm.ft is not None:
        group = vm.ft
        if group.primary is vm:
            for s in list(group.secondaries):
                s.ft = None
                remove_vm(inv, s)
        else:
            group.secondaries[:] = [s for s in group.secondaries if s is not vm]
            group.disabled.discard(vm.moid)
            group.primary.touch()
        vm.ft = None
    if isinstance(getattr(vm.parent, "children", None), list):  # a folder or a vApp
        vm.parent.children[:] = [c for c in vm.parent.children if c is not vm]
        vm.parent.touch()
    vm.pool.vms[:] = [v for v in vm.pool.vms if v is not vm]
    vm.registered = False
    inv.remove(vm)
    vm.touch()


def revert_to(vm: VM, snap: Snapshot, suppress_power_on: bool, host: Host | None) -> None:
    hw = snap.config
    vm.num_cpu, vm.cores_per_socket, vm.memory_mb = hw["num_cpu"], hw["cores_per_socket"], hw["memory_mb"]
    vm.annotation, vm.hw_version, vm.guest_id = hw["annotation"], hw["hw_version"], hw["guest_id"]
    vm.devices = [d.copy() for d in hw["devices"]]
    if host is not None:
        vm.host = host
    target = snap.state
    if target == "poweredOn" and suppress_power_on:
        target = "suspended"
    set_power(vm, target)
    vm.current_snapshot = snap
    vm.modified = now()
    vm.touch()


def new_vm_from_spec(
    inv: Inventory, folder: Folder, pool: Managed | None, host: Managed | None, spec: DataObject
) -> VM:
    pool = pool if isinstance(pool, ResourcePool) else inv.pools[0]
    host = host if isinstance(host, Host) else next(h for h in inv.hosts if not h.maintenance)
    ds = inv.datastores[0]
    path = (spec.get("files") or {}).get("vmPathName") if isinstance(spec.get("files"), dict) else None
    if isinstance(path, str) and path.startswith("["):
        name_ds = path[1 : path.index("]")] if "]" in path else ""
        ds = next((d for d in inv.datastores if d.name == name_ds), ds)
    num = int(inv.new_id("n").split("-")[1])
    vm = VM(inv.new_id("vm"), spec["name"], folder, pool, host, ds, inv.networks[0], num)
    vm.num_cpu = spec.get("numCPUs") or 1
    vm.cores_per_socket = spec.get("numCoresPerSocket") or 1
    vm.memory_mb = spec.get("memoryMB") or 1024
    vm.guest_id = spec.get("guestId") or vm.guest_id
    vm.annotation = spec.get("annotation") or ""
    vm.hw_version = spec.get("version") or DEFAULT_HW
    vm.tools_installed = True  # like vcsim: a new VM's guest runs VMware Tools once powered on
    vm.tools_running = True
    vm.devices = hardware.apply_changes(vm, inv, spec.get("deviceChange") or [], hardware.builtin())
    if spec.get("extraConfig"):
        vm.extra_config = [o for o in spec["extraConfig"] if o.get("value") not in (None, "")]
    folder.children.append(vm)
    pool.vms.append(vm)
    inv.add(vm)
    folder.touch()
    return vm


def clone_vm(
    inv: Inventory,
    source: VM,
    folder: Folder,
    name: str,
    pool: Managed | None,
    host: Managed | None,
    datastore: Managed | None,
    template: bool,
    power: bool,
) -> VM:
    num = int(inv.new_id("n").split("-")[1])
    pool = pool if isinstance(pool, ResourcePool) else source.pool
    host = host if isinstance(host, Host) else source.host
    ds = datastore if datastore is not None else source.datastores[0]
    vm = VM(inv.new_id("vm"), name, folder, pool, host, ds, source.networks[0], num)  # type: ignore[arg-type]
    for attr in (
        "num_cpu",
        "cores_per_socket",
        "memory_mb",
        "guest_id",
        "guest_full_name",
        "annotation",
        "hw_version",
        "tools_installed",
        "tools_version",
        "change_tracking",
    ):
        setattr(vm, attr, getattr(source, attr))
    vm.tools_running = source.tools_running
    vm.devices = hardware.rehome(vm, source.devices)
    vm.extra_config = [o.copy() for o in source.extra_config]
    vm.template = template
    folder.children.append(vm)
    vm.pool.vms.append(vm)
    inv.add(vm)
    if power and not template:
        power_on(vm)
    folder.touch()
    return vm


# --- power ------------------------------------------------------------------------------------------
@op("VirtualMachine", "PowerOnVM_Task")
def power_on_vm(call: Call):
    vm = call.vm
    not_template(call)
    not_secondary(call)
    call.require(not vm.crypto_locked, lambda: invalid_state("the virtual machine is locked (encryption)"))
    powered(call, "poweredOff", "suspended", requested="poweredOn")
    host = call.ref_obj("host") or vm.host
    host_usable(call, host)  # type: ignore[arg-type]

    def work() -> None:
        if isinstance(host, Host):
            vm.host = host
        set_power(vm, "poweredOn")

    return work


@op("VirtualMachine", "PowerOffVM_Task")
def power_off_vm(call: Call):
    not_template(call)
    not_secondary(call)
    powered(call, "poweredOn", "suspended", requested="poweredOff")
    return lambda: set_power(call.vm, "poweredOff")


@op("VirtualMachine", "SuspendVM_Task")
def suspend_vm(call: Call):
    not_template(call)
    not_secondary(call)
    powered(call, "poweredOn", requested="suspended")
    return lambda: set_power(call.vm, "suspended")


@op("VirtualMachine", "ResetVM_Task")
def reset_vm(call: Call):
    not_template(call)
    not_secondary(call)
    powered(call, "poweredOn")

    def work() -> None:
        call.vm.boot_time = now()
        call.vm.touch()

    return work


@op("VirtualMachine", "ShutdownGuest")
def shutdown_guest(call: Call):
    not_template(call)
    tools_running(call)
    return lambda: set_power(call.vm, "poweredOff")


@op("VirtualMachine", "RebootGuest")
def reboot_guest(call: Call):
    not_template(call)
    tools_running(call)

    def apply() -> None:
        call.vm.boot_time = now()

    return apply


@op("VirtualMachine", "StandbyGuest")
def standby_guest(call: Call):
    not_template(call)
    tools_running(call)
    return lambda: set_power(call.vm, "suspended")


@op("VirtualMachine", "TerminateVM")
def terminate_vm(call: Call):
    not_template(call)
    powered(call, "poweredOn")
    return lambda: set_power(call.vm, "poweredOff")


# --- snapshots -----------------------------------------------------------------------------------------
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


# --- templates and clones --------------------------------------------------------------------------------
@op("VirtualMachine", "MarkAsTemplate")
def mark_as_template(call: Call):
    vm = call.vm
    call.require(not vm.template, lambda: invalid_state(f"{vm.name} is already a template"))
    call.require(
        vm.ft is None, lambda: invalid_state("a fault tolerant virtual machine cannot become a template")
    )
    powered(call, "poweredOff", requested="poweredOff")

    def apply() -> None:
        vm.template = True
        vm.touch()

    return apply


@op("VirtualMachine", "MarkAsVirtualMachine")
def mark_as_vm(call: Call):
    vm = call.vm
    call.require(vm.template, lambda: invalid_state(f"{vm.name} is not a template"))
    pool, host = call.ref_obj("pool"), call.ref_obj("host")
    host_usable(call, host)  # type: ignore[arg-type]

    def apply() -> None:
        vm.template = False
        if isinstance(pool, ResourcePool) and pool is not vm.pool:
            vm.pool.vms[:] = [v for v in vm.pool.vms if v is not vm]
            vm.pool = pool
            pool.vms.append(vm)
        if isinstance(host, Host):
            vm.host = host
        vm.touch()

    return apply


def _location(call: Call, location: DataObject | None) -> tuple[Any, Any, Any]:
    location = location or {}
    refs = []
    for key in ("pool", "host", "datastore"):
        ref = location.get(key)
        refs.append(call.sim.inv.get(ref.value) if isinstance(ref, MoRef) else None)
    host_usable(call, refs[1])
    return refs[0], refs[1], refs[2]


@op("VirtualMachine", "CloneVM_Task")
def clone(call: Call):
    vm = call.vm
    not_secondary(call)
    folder = call.ref_obj("folder")
    name = call.p("name")
    if not valid_name(name):
        raise invalid_argument("name", f"invalid virtual machine name {name!r}")
    spec = call.p("spec") or DataObject("VirtualMachineCloneSpec")
    pool, host, datastore = _location(call, spec.get("location"))
    call.require(
        isinstance(folder, Folder) and "VirtualMachine" in folder.child_types,
        lambda: invalid_state("the destination is not a virtual machine folder"),
    )
    call.require(
        unique_in_folder(None, folder, name) is None,
        lambda: SimFault(
            "FileAlreadyExists",
            f"a virtual machine named {name} exists in the folder",
            file=f"[datastore1] {name}/{name}.vmx",
        ),
    )
    power = bool(spec.get("powerOn"))
    template = bool(spec.get("template"))

    def work() -> MoRef:
        new = clone_vm(call.sim.inv, vm, folder, name, pool, host, datastore, template, power)  # type: ignore[arg-type]
        if spec.get("customization") is not None:
            new.customization_applied = spec["customization"]
        if spec.get("config") is not None:
            try:
                apply_config_spec(new, spec["config"], call.sim.inv)
            except SimFault:
                remove_vm(call.sim.inv, new)
                raise
        return new.ref

    return TaskPlan(work, locks=[])


@op("VirtualMachine", "InstantClone_Task")
def instant_clone(call: Call):
    vm = call.vm
    not_template(call)
    not_secondary(call)
    powered(call, "poweredOn", requested="poweredOn")
    spec = call.p("spec")
    name = spec.get("name")
    if not valid_name(name):
        raise invalid_argument("spec.name", f"invalid virtual machine name {name!r}")
    pool, host, datastore = _location(call, spec.get("location"))
    folder_ref = (spec.get("location") or {}).get("folder")
    folder = call.sim.inv.get(folder_ref.value) if isinstance(folder_ref, MoRef) else vm.parent
    call.require(
        unique_in_folder(None, folder, name) is None,
        lambda: SimFault(
            "FileAlreadyExists",
            f"a virtual machine named {name} exists in the folder",
            file=f"[datastore1] {name}/{name}.vmx",
        ),
    )

    def work() -> MoRef:
        return clone_vm(call.sim.inv, vm, folder, name, pool, host, datastore, False, True).ref  # type: ignore[arg-type]

    return TaskPlan(work, locks=[])


# --- configuration --------------------------------------------------------------------------------------
def apply_config_spec(vm: VM, spec: DataObject, inv: Inventory | None = None) -> None:
    devices = (
        hardware.apply_changes(vm, inv, spec["deviceChange"], vm.devices) if spec.get("deviceChange") else []
    )
    simple = {
        "name": "name",
        "numCPUs": "num_cpu",
        "numCoresPerSocket": "cores_per_socket",
        "memoryMB": "memory_mb",
        "annotation": "annotation",
        "guestId": "guest_id",
        "changeTrackingEnabled": "change_tracking",
        "cpuAllocation": "cpu_allocation",
        "memoryAllocation": "memory_allocation",
        "managedBy": "managed_by",
    }
    for key, attr in simple.items():
        if spec.get(key) is not None:
            setattr(vm, attr, spec[key])
    if spec.get("extraConfig"):
        current = {o.get("key"): o for o in vm.extra_config}
        for option in spec["extraConfig"]:
            value = option.get("value")
            if value is None or (hasattr(value, "value") and value.value == ""):
                current.pop(option.get("key"), None)
            else:
                current[option.get("key")] = option.copy()
        vm.extra_config = list(current.values())
    if spec.get("deviceChange"):
        vm.devices = devices
    vm.modified = now()
    vm.touch()


@op("VirtualMachine", "ReconfigVM_Task")
def reconfig(call: Call):
    vm = call.vm
    spec = call.p("spec")
    not_secondary(call)
    if spec.get("name") is not None:
        name = spec["name"]
        call.require(
            valid_name(name), lambda: SimFault("InvalidName", f"invalid name {name!r}", name=str(name))
        )
        dup = unique_in_folder(vm, vm.parent, name)
        call.require(
            dup is None,
            lambda: SimFault("DuplicateName", f"{name} exists", name=name, object=dup.ref if dup else vm.ref),
        )
    if spec.get("numCPUs") is not None:
        if spec["numCPUs"] < 1 or spec["numCPUs"] > 768:
            raise invalid_argument("spec.numCPUs", "numCPUs is from 1 to 768")
        call.require(
            vm.power_state != "poweredOn" or spec["numCPUs"] == vm.num_cpu,
            lambda: invalid_power_state(
                vm.power_state, "poweredOff", "CPU hot plug is not enabled for this virtual machine"
            ),
        )
    if spec.get("memoryMB") is not None:
        if spec["memoryMB"] < 4 or spec["memoryMB"] % 4:
            raise invalid_argument("spec.memoryMB", "memoryMB is a positive multiple of 4")
        call.require(
            vm.power_state != "poweredOn" or spec["memoryMB"] >= vm.memory_mb,
            lambda: invalid_power_state(
                vm.power_state, "poweredOff", "memory cannot shrink while powered on"
            ),
        )
        call.require(
            vm.ft is None or spec["memoryMB"] == vm.memory_mb,
            lambda: invalid_state("memory of a fault tolerant virtual machine cannot change"),
        )
    keys = {d.get("key") for d in vm.devices}
    for i, change in enumerate(spec.get("deviceChange") or []):
        device, operation = change.get("device"), change.get("operation")
        if operation in ("remove", "edit") and device.get("key") not in keys:
            raise SimFault(
                "InvalidDeviceSpec",
                f"no device with key {device.get('key')}",
                sync=False,
                deviceIndex=i,
                property="deviceChange",
            )
        if operation is None:
            raise SimFault(
                "InvalidDeviceSpec",
                "a device change needs an operation",
                deviceIndex=i,
                property="deviceChange.operation",
            )
    return lambda: apply_config_spec(vm, spec, call.sim.inv)


@op("VirtualMachine", "UpgradeVM_Task")
def upgrade_vm(call: Call):
    vm = call.vm
    version = call.p("version") or LATEST_HW
    if not (isinstance(version, str) and version.startswith("vmx-") and version[4:].isdigit()):
        raise invalid_argument("version", f"{version!r} is not a hardware version such as {LATEST_HW}")
    powered(call, "poweredOff", requested="poweredOff")
    call.require(
        int(version[4:]) > int(vm.hw_version[4:]),
        lambda: SimFault("AlreadyUpgraded", f"the virtual machine is already at {vm.hw_version}"),
    )

    def work() -> None:
        vm.hw_version = version
        vm.modified = now()
        vm.touch()

    return work


@op("VirtualMachine", "UpgradeTools_Task")
def upgrade_tools(call: Call):
    not_template(call)
    tools_running(call)

    def work() -> None:
        call.vm.tools_version = LATEST_TOOLS
        call.vm.touch()

    return work


@op("VirtualMachine", "MountToolsInstaller")
def mount_tools(call: Call):
    vm = call.vm
    not_template(call)
    powered(call, "poweredOn")
    call.require(
        not vm.tools_installer_mounted, lambda: invalid_state("the tools installer is already mounted")
    )

    def apply() -> None:
        vm.tools_installer_mounted = True

    return apply


@op("VirtualMachine", "UnmountToolsInstaller")
def unmount_tools(call: Call):
    vm = call.vm
    call.require(vm.tools_installer_mounted, lambda: invalid_state("the tools installer is not mounted"))

    def apply() -> None:
        vm.tools_installer_mounted = False

    return apply


@op("VirtualMachine", "Rename_Task")
def rename(call: Call):
    vm = call.vm
    name = call.p("newName")
    call.require(
        valid_name(name),
        lambda: SimFault("InvalidName", f"invalid name {name!r}", name=str(name), entity=vm.ref),
    )
    dup = unique_in_folder(vm, vm.parent, name)
    call.require(
        dup is None,
        lambda: SimFault("DuplicateName", f"{name} exists", name=name, object=dup.ref if dup else vm.ref),
    )

    def work() -> None:
        vm.name = name
        vm.modified = now()
        vm.touch()

    return work


@op("VirtualMachine", "Destroy_Task")
def destroy(call: Call):
    vm = call.vm
    powered(call, "poweredOff", "suspended", requested="poweredOff")
    not_secondary(call)

    def work() -> None:
        remove_vm(call.sim.inv, vm)

    return work


@op("VirtualMachine", "UnregisterVM")
def unregister(call: Call):
    powered(call, "poweredOff", "suspended", requested="poweredOff")
    return lambda: remove_vm(call.sim.inv, call.vm)


@op("VirtualMachine", "Reload")
def reload(call: Call):
    return lambda: None


@op("VirtualMachine", "reloadVirtualMachineFromPath_Task")
def reload_from_path(call: Call):
    vm = call.vm
    path = call.p("configurationPath")
    powered(call, "poweredOff", requested="poweredOff")
    call.require(
        isinstance(path, str) and path.startswith("[") and "]" in path and path.endswith(".vmx"),
        lambda: SimFault("FileNotFound", f"file {path} was not found", file=str(path)),
    )

    def work() -> None:
        vm.files_path = path
        vm.touch()

    return work


@op("VirtualMachine", "RelocateVM_Task")
def relocate(call: Call):
    vm = call.vm
    not_secondary(call)
    spec = call.p("spec")
    pool, host, datastore = _location(call, spec)

    def work() -> None:
        _move(vm, pool, host)
        if datastore is not None:
            vm.datastores = [datastore]  # type: ignore[list-item]
            vm.files_path = f"[{datastore.name}] {vm.name}/{vm.name}.vmx"
        vm.touch()

    return work


def _move(vm: VM, pool: Any, host: Any) -> None:
    if isinstance(pool, ResourcePool) and pool is not vm.pool:
        vm.pool.vms[:] = [v for v in vm.pool.vms if v is not vm]
        vm.pool = pool
        pool.vms.append(vm)
    if isinstance(host, Host):
        vm.host = host


@op("VirtualMachine", "MigrateVM_Task")
def migrate(call: Call):
    vm = call.vm
    not_template(call)
    not_secondary(call)
    pool, host = call.ref_obj("pool"), call.ref_obj("host")
    if pool is None and host is None:
        raise invalid_argument("host", "a migration names a host, a pool or both")
    state = call.p("state")
    if state is not None:
        call.require(vm.power_state == state, lambda: invalid_power_state(vm.power_state, state))
    host_usable(call, host)  # type: ignore[arg-type]
    return lambda: _move(vm, pool, host)


# --- disks ---------------------------------------------------------------------------------------------------
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


# --- console, tickets ------------------------------------------------------------------------------------------
def _ticket() -> str:
    return hashlib.sha1(str(next(_tickets)).encode()).hexdigest()[:24]


@op("VirtualMachine", "AcquireMksTicket")
def acquire_mks_ticket(call: Call):
    vm = call.vm
    return lambda: call.b.obj(
        "VirtualMachineMksTicket",
        ticket=_ticket(),
        cfgFile=vm.files_path,
        host=vm.host.name if vm.host else None,
        port=902,
        sslThumbprint="AA:BB:CC",
    )


@op("VirtualMachine", "AcquireTicket")
def acquire_ticket(call: Call):
    vm = call.vm
    kind = call.p("ticketType")
    types = call.sim.rel(call.spec).enums["VirtualMachineTicketType"].values
    if kind not in types:
        raise invalid_argument("ticketType", f"{kind!r} is not one of {', '.join(types)}")
    powered(call, "poweredOn", requested="poweredOn")
    if kind in ("guestControl", "guestIntegrity"):
        call.require(vm.tools_running, lambda: invalid_state("VMware Tools is not running in the guest"))
    return lambda: call.b.obj(
        "VirtualMachineTicket",
        ticket=_ticket(),
        cfgFile=vm.files_path,
        host=vm.host.name if vm.host else None,
        port=443 if kind == "webmks" else 902,
        sslThumbprint="AA:BB:CC",
        url=f"wss://{vm.host.name if vm.host else 'esx'}/ticket/{_ticket()}" if kind == "webmks" else None,
    )


@op("VirtualMachine", "QueryConnections")
def query_connections(call: Call):
    powered(call, "poweredOn")
    return lambda: [call.b.project(c) for c in call.vm.connections]


@op("VirtualMachine", "DropConnections")
def drop_connections(call: Call):
    vm = call.vm
    powered(call, "poweredOn")
    wanted = call.p("listOfConnections")

    def apply() -> bool:
        if not wanted:
            return False
        before = len(vm.connections)
        keys = {(c.get("label"), c.get("client"), c.get("userName")) for c in wanted}
        vm.connections = [
            c for c in vm.connections if (c.get("label"), c.get("client"), c.get("userName")) not in keys
        ]
        return len(vm.connections) < before

    return apply


@op("VirtualMachine", "SetScreenResolution")
def set_screen(call: Call):
    tools_running(call)
    width, height = call.p("width"), call.p("height")
    if width <= 0 or height <= 0 or width > 16384 or height > 16384:
        raise invalid_argument("width", "width and height are from 1 to 16384")

    def apply() -> None:
        call.vm.screen = (width, height)

    return apply


@op("VirtualMachine", "SetDisplayTopology")
def set_display(call: Call):
    tools_running(call)
    displays = call.p("displays")
    if not displays:
        raise invalid_argument("displays", "at least one display")

    def apply() -> None:
        call.vm.display_topology = list(displays)
        first = displays[0]
        call.vm.screen = (first["width"], first["height"])

    return apply


@op("VirtualMachine", "PutUsbScanCodes")
def put_usb(call: Call):
    vm = call.vm
    events = call.p("spec").get("keyEvents") or []

    def apply() -> int:
        if vm.power_state != "poweredOn":
            return 0
        vm.usb_scan_codes += len(events)
        return len(events)

    return apply


@op("VirtualMachine", "CreateScreenshot_Task")
def screenshot(call: Call):
    vm = call.vm
    not_template(call)
    powered(call, "poweredOn")

    def work() -> str:
        vm.screenshots += 1
        return f"{vm.files_path.rsplit('/', 1)[0]}/{vm.name}-{vm.screenshots}.png"

    return work


# --- record and replay -------------------------------------------------------------------------------------------
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


# --- guest, misc ---------------------------------------------------------------------------------------------------
@op("VirtualMachine", "setCustomValue")
def set_custom_value(call: Call):
    key, value = call.p("key"), call.p("value")
    if not key:
        raise invalid_argument("key", "a custom field needs a name")

    def apply() -> None:
        field_key = call.sim.inv.field_key(key)
        call.vm.custom[field_key] = value
        for vm in call.sim.inv.vms():
            vm.touch()  # availableField changed everywhere

    return apply


@op("VirtualMachine", "SendNMI")
def send_nmi(call: Call):
    not_template(call)
    powered(call, "poweredOn")

    def apply() -> None:
        call.vm.nmi_count += 1

    return apply


@op("VirtualMachine", "ExtractOvfEnvironment")
def extract_ovf(call: Call):
    vm = call.vm
    powered(call, "poweredOn")
    return lambda: (
        f'<?xml version="1.0" encoding="UTF-8"?><Environment xmlns="http://schemas.dmtf.org/ovf/'
        f'environment/1" ovfenv:id="{vm.moid}"><PlatformSection><Kind>VMware ESXi</Kind>'
        f"</PlatformSection></Environment>"
    )


@op("VirtualMachine", "ExportVm")
def export_vm(call: Call):
    not_template(call)
    powered(call, "poweredOff", requested="poweredOff")
    return lambda: MoRef("HttpNfcLease", f"lease-{call.vm.moid}-{next(_tickets)}")


@op("VirtualMachine", "CryptoUnlock_Task")
def crypto_unlock(call: Call):
    vm = call.vm
    call.require(vm.encrypted, lambda: invalid_state("the virtual machine is not encrypted"))
    call.require(vm.crypto_locked, lambda: invalid_state("the virtual machine is not locked"))

    def work() -> None:
        vm.crypto_locked = False
        vm.touch()

    return work


@op("VirtualMachine", "ApplyEvcModeVM_Task")
def apply_evc(call: Call):
    vm = call.vm
    not_template(call)
    powered(call, "poweredOff", requested="poweredOff")
    mask = call.p("mask")

    def work() -> None:
        vm.feature_mask = list(mask or [])
        vm.touch()

    return work


@op("VirtualMachine", "RefreshStorageInfo")
def refresh_storage(call: Call):
    def apply() -> None:
        call.vm.modified = now()

    return apply


@op("VirtualMachine", "ResetGuestInformation")
def reset_guest_info(call: Call):
    powered(call, "poweredOff", "suspended", requested="poweredOff")

    def apply() -> None:
        call.vm.guest_info_reset += 1

    return apply


@op("VirtualMachine", "AnswerVM")
def answer_vm(call: Call):
    vm = call.vm
    question = vm.question
    call.require(
        question is not None and question["id"] == call.p("questionId"),
        lambda: SimFault("ConcurrentAccess", "the question was already answered or does not exist"),
    )
    if question is not None:
        choices = [c["key"] for c in question["choice"]["choiceInfo"]]
        if call.p("answerChoice") not in choices:
            raise invalid_argument("answerChoice", f"choose one of {', '.join(choices)}")

    def apply() -> None:
        vm.question = None

    return apply


def _customization_checks(call: Call) -> None:
    spec = call.p("spec")
    identity = spec.get("identity")
    linux = not call.vm.guest_id.startswith("win")
    call.require(
        not (linux and identity is not None and identity.type_name == "CustomizationSysprep"),
        lambda: SimFault(
            "UncustomizableGuest",
            "a Linux guest cannot take a Sysprep identity",
            uncustomizableGuestOS=call.vm.guest_id,
        ),
    )
    call.require(
        call.vm.tools_installed, lambda: SimFault("CustomizationFault", "VMware Tools is not installed")
    )


@op("VirtualMachine", "CheckCustomizationSpec")
def check_customization(call: Call):
    _customization_checks(call)
    return lambda: None


@op("VirtualMachine", "CustomizeVM_Task")
def customize(call: Call):
    vm = call.vm
    _customization_checks(call)
    call.require(
        vm.power_state == "poweredOff",
        lambda: SimFault("CustomizationFault", "the virtual machine must be powered off"),
    )
    call.require(
        vm.customization_applied is None,
        lambda: SimFault("CustomizationPending", "a customization is already pending"),
    )

    def work() -> None:
        vm.customization_applied = call.p("spec")
        vm.touch()

    return work


# --- Fault Tolerance ---------------------------------------------------------------------------------------------------
def _ft_issues(call: Call, vm: VM) -> list[SimFault]:
    issues = []

    def issue(reason: str) -> SimFault:
        return SimFault(
            "VmFaultToleranceConfigIssue",
            f"fault tolerance issue: {reason}",
            reason=reason,
            entityName=vm.name,
            entity=vm.ref,
        )

    if vm.template:
        issues.append(issue("templateVm"))
    if vm.ft_role >= 2:
        issues.append(issue("ftSecondaryVm"))
    if vm.host is not None and not vm.host.ft_capable:
        issues.append(issue("ftUnsupportedHardware"))
    if vm.num_cpu > 8:
        issues.append(issue("tooManyVCPUs"))
    if vm.snapshots:
        issues.append(issue("hasSnapshots"))
    return issues


@op("VirtualMachine", "QueryFaultToleranceCompatibility", "QueryFaultToleranceCompatibilityEx")
def query_ft(call: Call):
    return lambda: [f.render(call.b) for f in _ft_issues(call, call.vm)]


def _ft_target_host(call: Call, vm: VM) -> Host:
    host = call.ref_obj("host")
    if host is None:
        candidates = [
            h
            for h in call.sim.inv.hosts
            if h.ft_capable
            and not h.maintenance
            and h is not vm.host
            and all(s.host is not h for s in (vm.ft.secondaries if vm.ft else []))
        ]
        call.require(
            bool(candidates),
            lambda: SimFault(
                "NoHostSuitableForFtSecondary", "no host can run the secondary", vm=vm.ref, vmName=vm.name
            ),
        )
        return candidates[0] if candidates else vm.host  # type: ignore[return-value]
    assert isinstance(host, Host)
    host_usable(call, host)
    call.require(
        host is not vm.host and host.ft_capable,
        lambda: SimFault(
            "IncompatibleHostForFtSecondary", f"host {host.name} cannot run the secondary", host=host.ref
        ),
    )
    return host


def _secondary_result(call: Call, secondary: VM, primary: VM) -> DataObject:
    return call.b.obj(
        "FaultToleranceSecondaryOpResult",
        vm=secondary.ref,
        powerOnAttempted=primary.power_state == "poweredOn",
    )


@op("VirtualMachine", "CreateSecondaryVM_Task", "CreateSecondaryVMEx_Task")
def create_secondary(call: Call):
    vm = call.vm
    not_template(call)
    not_secondary(call)
    issues = [i for i in _ft_issues(call, vm) if i.fields.get("reason") != "hasSnapshots"]
    call.require(not issues, lambda: issues[0])
    call.require(
        vm.ft is None or not vm.ft.secondaries,
        lambda: SimFault(
            "SecondaryVmAlreadyRegistered",
            "the virtual machine already has a secondary",
            instanceUuid=vm.ft.secondaries[0].instance_uuid if vm.ft else vm.instance_uuid,
        ),
    )
    host = _ft_target_host(call, vm)

    def work() -> DataObject:
        secondary = make_secondary(call.sim.inv, vm, host)
        vm.touch()
        return _secondary_result(call, secondary, vm)

    return work


def _group_secondary(call: Call) -> VM:
    """The ``vm`` parameter, which must be a secondary of the target's FT group."""
    vm = call.vm
    not_secondary(call)
    other = call.ref_obj("vm")
    call.require(vm.ft is not None, lambda: invalid_state(f"{vm.name} is not fault tolerant"))
    call.require(
        isinstance(other, VM) and vm.ft is not None and other in vm.ft.secondaries,
        lambda: SimFault(
            "SecondaryVmNotRegistered",
            f"{getattr(other, 'name', '?')} is not a secondary of this fault tolerant group",
            instanceUuid=getattr(other, "instance_uuid", ""),
        ),
    )
    return other  # type: ignore[return-value]


@op("VirtualMachine", "MakePrimaryVM_Task")
def make_primary(call: Call):
    vm = call.vm
    secondary = _group_secondary(call)
    if vm.ft is not None and isinstance(secondary, VM):
        call.require(
            secondary.moid not in vm.ft.disabled,
            lambda: SimFault(
                "SecondaryVmAlreadyDisabled",
                "the secondary is disabled",
                instanceUuid=secondary.instance_uuid,
            ),
        )
        host_usable(call, secondary.host)

    def work() -> None:
        group = vm.ft
        if group is None or secondary not in group.secondaries:
            return
        idx = group.secondaries.index(secondary)
        group.secondaries[idx] = vm
        group.primary = secondary
        vm.touch()
        secondary.touch()

    return TaskPlan(work, locks=[vm, secondary])


@op("VirtualMachine", "DisableSecondaryVM_Task")
def disable_secondary(call: Call):
    vm = call.vm
    secondary = _group_secondary(call)
    if vm.ft is not None and isinstance(secondary, VM):
        call.require(
            secondary.moid not in vm.ft.disabled,
            lambda: SimFault(
                "SecondaryVmAlreadyDisabled",
                "the secondary is already disabled",
                instanceUuid=secondary.instance_uuid,
            ),
        )

    def work() -> None:
        if vm.ft is not None:
            vm.ft.disabled.add(secondary.moid)
            secondary.power_state = "poweredOff"
            secondary.touch()
            vm.touch()

    return TaskPlan(work, locks=[vm, secondary])


@op("VirtualMachine", "EnableSecondaryVM_Task")
def enable_secondary(call: Call):
    vm = call.vm
    secondary = _group_secondary(call)
    if vm.ft is not None and isinstance(secondary, VM):
        call.require(
            secondary.moid in vm.ft.disabled,
            lambda: SimFault(
                "SecondaryVmAlreadyEnabled",
                "the secondary is already enabled",
                instanceUuid=secondary.instance_uuid,
            ),
        )
    host = call.ref_obj("host")
    host_usable(call, host)  # type: ignore[arg-type]

    def work() -> DataObject:
        if vm.ft is not None:
            vm.ft.disabled.discard(secondary.moid)
            if isinstance(host, Host):
                secondary.host = host
            if vm.power_state == "poweredOn":
                power_on(secondary)
            secondary.touch()
            vm.touch()
        return _secondary_result(call, secondary, vm)

    return TaskPlan(work, locks=[vm, secondary])


@op("VirtualMachine", "TerminateFaultTolerantVM_Task")
def terminate_ft(call: Call):
    vm = call.vm
    not_secondary(call)
    call.require(vm.ft is not None, lambda: invalid_state(f"{vm.name} is not fault tolerant"))
    call.require(vm.power_state == "poweredOn", lambda: invalid_state("fault tolerance is not running"))
    secondary = _group_secondary(call) if call.params.get("vm") is not None else None

    def work() -> None:
        group = vm.ft
        if group is None:
            return
        if secondary is not None:
            secondary.boot_time = now()  # the secondary is restarted
            secondary.touch()
        else:
            active = [s for s in group.secondaries if s.moid not in group.disabled]
            if active:  # failover: a secondary takes over
                new = active[0]
                group.secondaries[group.secondaries.index(new)] = vm
                group.primary = new
                vm.boot_time = now()
                new.touch()
        vm.touch()

    return TaskPlan(work, locks=[vm, *([secondary] if secondary else [])])


@op("VirtualMachine", "TurnOffFaultToleranceForVM_Task")
def turn_off_ft(call: Call):
    vm = call.vm
    not_secondary(call)
    call.require(vm.ft is not None, lambda: invalid_state(f"{vm.name} is not fault tolerant"))

    def work() -> None:
        group = vm.ft
        if group is None:
            return
        for s in list(group.secondaries):
            s.ft = None
            remove_vm(call.sim.inv, s)
        vm.ft = None
        vm.touch()

    return work


@op("VirtualMachine", "RepairVmDiskChains_Task")
def repair_disk_chains(call: Call):
    not_template(call)
    powered(call, "poweredOff", requested="poweredOff")

    def work() -> None:
        call.vm.consolidation_needed = False
        call.vm.touch()

    return work
