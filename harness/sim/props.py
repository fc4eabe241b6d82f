"""Property values rendered from state, per release (every VirtualMachine property, and those of
the support objects the contracts name)."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..vmodl.values import AnyValue, DataObject, MoRef
from .build import Builder
from .devices import of_kind
from .lease import LEASE_PROPERTIES
from .model import VM, Folder, Host, Managed, Snapshot, Task, VirtualApp, now

if TYPE_CHECKING:
    from .simulator import Simulator

Renderer = Callable[["Simulator", Any, Builder], Any]


# --- VirtualMachine ------------------------------------------------------------------------------
def vm_config(sim: Simulator, vm: VM, b: Builder, hw: dict | None = None) -> DataObject:
    live = hw is None
    hw = hw or vm.hardware_state()
    ft = _ft_info(vm, b)
    return b.obj(
        "VirtualMachineConfigInfo",
        changeVersion=str(vm.version),
        modified=vm.modified,
        name=vm.name,
        guestFullName=vm.guest_full_name,
        version=hw["hw_version"],
        uuid=vm.uuid,
        instanceUuid=vm.instance_uuid,
        template=vm.template,
        guestId=hw["guest_id"],
        alternateGuestName="",
        annotation=hw["annotation"] or None,
        createDate=vm.created,
        changeTrackingEnabled=vm.change_tracking,
        files=b.obj(
            "VirtualMachineFileInfo",
            vmPathName=vm.files_path,
            snapshotDirectory=vm.files_path.rsplit("/", 1)[0],
            suspendDirectory=vm.files_path.rsplit("/", 1)[0],
            logDirectory=vm.files_path.rsplit("/", 1)[0],
        ),
        firmware="bios",
        bootOptions=b.obj(
            "VirtualMachineBootOptions",
            bootDelay=0,
            enterBIOSSetup=False,
            efiSecureBootEnabled=False,
            bootRetryEnabled=False,
            bootRetryDelay=10000,
            networkBootProtocol="ipv4",
        ),
        latencySensitivity=b.obj("LatencySensitivity", level="normal"),
        flags=b.obj("VirtualMachineFlagInfo", snapshotDisabled=False, snapshotLocked=False),
        defaultPowerOps=b.obj(
            "VirtualMachineDefaultPowerOpInfo",
            powerOffType="soft",
            suspendType="hard",
            resetType="soft",
            defaultPowerOffType="soft",
            defaultSuspendType="hard",
            defaultResetType="soft",
            standbyAction="checkpoint",
        ),
        hardware=b.obj(
            "VirtualHardware",
            numCPU=hw["num_cpu"],
            numCoresPerSocket=hw["cores_per_socket"],
            memoryMB=hw["memory_mb"],
            device=b.project(_live(vm, hw["devices"], live)),
        ),
        extraConfig=b.project(vm.extra_config) or [_option(b, "nvram", f"{vm.name}.nvram")],
        cpuAllocation=b.project(vm.cpu_allocation)
        if vm.cpu_allocation is not None
        else _allocation(b, 1000 * hw["num_cpu"]),
        memoryAllocation=b.project(vm.memory_allocation)
        if vm.memory_allocation is not None
        else _allocation(b, 10 * hw["memory_mb"]),
        ftInfo=ft,
        managedBy=b.project(vm.managed_by) if vm.managed_by is not None else None,
        keyId=b.obj("CryptoKeyId", keyId=f"key-{vm.num}", providerId=b.obj("KeyProviderId", id="sim-kms"))
        if vm.encrypted
        else None,
        tools=b.obj(
            "ToolsConfigInfo",
            toolsVersion=vm.tools_version,
            pendingCustomization=f"{vm.files_path.rsplit('/', 1)[0]}/imcf-{vm.moid}"
            if vm.customization_applied is not None
            else None,
        ),
    )


def _allocation(b: Builder, shares: int) -> DataObject:
    """A VM's default CPU or memory allocation, as vCenter reports it: no reservation, no limit,
    normal shares."""
    return b.obj(
        "ResourceAllocationInfo",
        reservation=0,
        expandableReservation=False,
        limit=-1,
        shares=b.obj("SharesInfo", shares=shares, level="normal"),
    )


def _option(b: Builder, key: str, value: str) -> DataObject:
    return b.obj("OptionValue", key=key, value=AnyValue("string", value))


def _live(vm: VM, devices: list[DataObject], live: bool) -> list[DataObject]:
    """Devices as the running VM shows them: adapters and drives set to connect at power-on are
    connected while it is powered on."""
    if not live:
        return devices
    on = vm.power_state == "poweredOn"
    out = []
    for d in devices:
        conn = d.get("connectable")
        if isinstance(conn, dict) and bool(conn.get("connected")) != (
            on and bool(conn.get("startConnected"))
        ):
            d = d.copy()
            d["connectable"] = DataObject(
                conn.type_name,
                **{
                    **conn,
                    "connected": on and bool(conn["startConnected"]),
                    "status": "ok" if on else "untried",
                },
            )
        out.append(d)
    return out


def _nics(vm: VM) -> list[DataObject]:
    return of_kind(vm.devices, "nic")


def _disks(vm: VM) -> list[DataObject]:
    return of_kind(vm.devices, "disk")


def _nic_networks(vm: VM) -> list[MoRef]:
    """The networks the VM's adapters are backed by (``VirtualMachine.network``)."""
    out: list[MoRef] = []
    for d in _nics(vm):
        ref = (d.get("backing") or {}).get("network")
        if isinstance(ref, MoRef) and ref not in out:
            out.append(ref)
    return out


def _ft_info(vm: VM, b: Builder) -> DataObject | None:
    if vm.ft is None:
        return None
    group = vm.ft
    members = [group.primary, *group.secondaries]
    uuids = [m.instance_uuid for m in members]
    paths = [m.files_path for m in members]
    if vm is group.primary:
        return b.obj(
            "FaultTolerancePrimaryConfigInfo",
            role=1,
            instanceUuids=uuids,
            configPaths=paths,
            secondaries=[s.ref for s in group.secondaries],
        )
    return b.obj(
        "FaultToleranceSecondaryConfigInfo",
        role=vm.ft_role,
        instanceUuids=uuids,
        configPaths=paths,
        primaryVM=group.primary.ref,
    )


def _vm_connection(vm: VM) -> str:
    """orphaned when unregistered, disconnected while its host is not connected, else connected."""
    if not vm.registered:
        return "orphaned"
    if vm.host is not None and vm.host.connection_state != "connected":
        return "disconnected"
    return "connected"


def vm_runtime(sim: Simulator, vm: VM, b: Builder) -> DataObject:
    return b.obj(
        "VirtualMachineRuntimeInfo",
        device=[
            b.obj(
                "VirtualMachineDeviceRuntimeInfo",
                key=d["key"],
                runtimeState=b.obj(
                    "VirtualMachineDeviceRuntimeInfoVirtualEthernetCardRuntimeState",
                    vmDirectPathGen2Active=False,
                ),
            )
            for d in _nics(vm)
        ],
        host=vm.host.ref if vm.host is not None else None,
        connectionState=_vm_connection(vm),
        powerState=vm.power_state,
        faultToleranceState=vm.ft_state,
        toolsInstallerMounted=vm.tools_installer_mounted,
        bootTime=vm.boot_time if vm.power_state == "poweredOn" else None,
        maxCpuUsage=2000 * vm.num_cpu,
        maxMemoryUsage=vm.memory_mb,
        numMksConnections=len(vm.connections),
        recordReplayState=vm.record_replay,
        onlineStandby=False,
        consolidationNeeded=vm.consolidation_needed,
        question=b.project(vm.question) if vm.question is not None else None,
        cryptoState=("locked" if vm.crypto_locked else "unlocked") if vm.encrypted else None,
        featureMask=b.project(vm.feature_mask) or None,
        paused=False,
        snapshotInBackground=False,
        instantCloneFrozen=False,
    )


def vm_guest(sim: Simulator, vm: VM, b: Builder) -> DataObject:
    running = vm.power_state == "poweredOn" and vm.tools_running
    status = "toolsOk" if running else ("toolsNotRunning" if vm.tools_installed else "toolsNotInstalled")
    ip = f"10.{(vm.num >> 16) & 255}.{(vm.num >> 8) & 255}.{vm.num & 255 or 1}" if running else None
    return b.obj(
        "GuestInfo",
        toolsStatus=status,
        toolsVersionStatus="guestToolsCurrent",
        toolsVersionStatus2="guestToolsCurrent",
        toolsRunningStatus="guestToolsRunning" if running else "guestToolsNotRunning",
        toolsVersion=str(vm.tools_version),
        guestId=vm.guest_id if running else None,
        guestFamily="linuxGuest" if running else None,
        guestFullName=vm.guest_full_name if running else None,
        hostName=vm.name if running else None,
        ipAddress=ip,
        net=[
            b.obj(
                "GuestNicInfo",
                network=(d.get("backing") or {}).get("deviceName"),
                ipAddress=[ip] if i == 0 else [],
                macAddress=d.get("macAddress"),
                connected=bool((d.get("connectable") or {}).get("startConnected")),
                deviceConfigId=d["key"],
            )
            for i, d in enumerate(_nics(vm))
        ]
        or None
        if running
        else None,
        screen=b.obj("GuestScreenInfo", width=vm.screen[0], height=vm.screen[1]) if running else None,
        guestState=vm.guest_state,
        appHeartbeatStatus="appStatusGray",
        guestKernelCrashed=False,
        appState="none",
        guestOperationsReady=running,
        interactiveGuestOperationsReady=False,
        guestStateChangeSupported=running,
    )


def vm_summary(sim: Simulator, vm: VM, b: Builder) -> DataObject:
    running = vm.power_state == "poweredOn"
    guest = vm_guest(sim, vm, b)
    return b.obj(
        "VirtualMachineSummary",
        vm=vm.ref,
        runtime=vm_runtime(sim, vm, b),
        guest=b.obj(
            "VirtualMachineGuestSummary",
            guestId=guest.get("guestId"),
            guestFullName=guest.get("guestFullName"),
            toolsStatus=guest.get("toolsStatus"),
            toolsVersionStatus2=guest.get("toolsVersionStatus2"),
            toolsRunningStatus=guest.get("toolsRunningStatus"),
            hostName=guest.get("hostName"),
            ipAddress=guest.get("ipAddress"),
        ),
        config=b.obj(
            "VirtualMachineConfigSummary",
            name=vm.name,
            template=vm.template,
            vmPathName=vm.files_path,
            memorySizeMB=vm.memory_mb,
            numCpu=vm.num_cpu,
            numEthernetCards=len(_nics(vm)),
            numVirtualDisks=len(_disks(vm)),
            uuid=vm.uuid,
            instanceUuid=vm.instance_uuid,
            guestId=vm.guest_id,
            guestFullName=vm.guest_full_name,
            annotation=vm.annotation or None,
            hwVersion=vm.hw_version,
            ftInfo=_ft_info(vm, b),
        ),
        storage=b.obj(
            "VirtualMachineStorageSummary",
            committed=_committed(vm),
            uncommitted=0,
            unshared=_committed(vm),
            timestamp=vm.modified,
        ),
        quickStats=b.obj(
            "VirtualMachineQuickStats",
            overallCpuUsage=50 * vm.num_cpu if running else 0,
            guestMemoryUsage=vm.memory_mb // 4 if running else 0,
            uptimeSeconds=int((now() - vm.boot_time).total_seconds()) if running and vm.boot_time else 0,
            guestHeartbeatStatus=_heartbeat(vm),
            powerState=vm.power_state,
        ),
        overallStatus="green",
    )


def _committed(vm: VM) -> int:
    return sum(d.get("capacityInKB", 0) for d in _disks(vm)) * 1024 // 4


def _heartbeat(vm: VM) -> str:
    if vm.power_state != "poweredOn" or not vm.tools_running:
        return "gray"
    return "green"


def vm_snapshot(sim: Simulator, vm: VM, b: Builder) -> DataObject | None:
    if not vm.snapshots:
        return None
    return b.obj(
        "VirtualMachineSnapshotInfo",
        currentSnapshot=vm.current_snapshot.ref if vm.current_snapshot else None,
        rootSnapshotList=[_snap_tree(s, b) for s in vm.snapshots],
    )


def _snap_tree(snap: Snapshot, b: Builder) -> DataObject:
    return b.obj(
        "VirtualMachineSnapshotTree",
        snapshot=snap.ref,
        vm=snap.vm.ref,
        name=snap.name,
        description=snap.description,
        id=snap.number,
        createTime=snap.create_time,
        state=snap.state,
        quiesced=snap.quiesced,
        backupManifest=None,
        replaySupported=snap.replay_supported,
        childSnapshotList=[_snap_tree(c, b) for c in snap.children] or None,
    )


def _disk_files(d: DataObject) -> tuple[str, str] | None:
    """(descriptor, extent) files of a disk backed by a file."""
    name = (d.get("backing") or {}).get("fileName")
    if not isinstance(name, str) or not name.endswith(".vmdk"):
        return None
    return name, name[:-5] + "-flat.vmdk"


def vm_layout(sim: Simulator, vm: VM, b: Builder) -> DataObject:
    base = vm.files_path.rsplit("/", 1)[0]
    disks = [(d, _disk_files(d)) for d in _disks(vm)]
    return b.obj(
        "VirtualMachineFileLayout",
        configFile=[vm.files_path.rsplit("/", 1)[1]],
        logFile=["vmware.log"],
        disk=[
            b.obj("VirtualMachineFileLayoutDiskLayout", key=d["key"], diskFile=[files[0]])
            for d, files in disks
            if files
        ]
        or None,
        snapshot=[
            b.obj(
                "VirtualMachineFileLayoutSnapshotLayout",
                key=s.ref,
                snapshotFile=[f"{base}/{vm.name}-Snapshot{s.number}.vmsn"],
            )
            for s in vm.iter_snapshots()
        ]
        or None,
        swapFile=f"{base}/{vm.name}.vswp" if vm.power_state == "poweredOn" else None,
    )


def vm_layout_ex(sim: Simulator, vm: VM, b: Builder) -> DataObject:
    """Every file of the VM with a key; each disk's chain and each snapshot's files name those keys."""
    base = vm.files_path.rsplit("/", 1)[0]
    files: list[tuple[str, str, int]] = [
        (vm.files_path, "config", 4096),
        (f"{base}/{vm.name}.nvram", "nvram", 8684),
        (f"{base}/vmware.log", "log", 200000),
    ]

    def add(name: str, kind: str, size: int) -> int:
        files.append((name, kind, size))
        return len(files) - 1

    disks = []
    for d in _disks(vm):
        names = _disk_files(d)
        if names is None:
            continue
        size = d.get("capacityInKB", 0) * 1024
        used = size // 4 if (d.get("backing") or {}).get("thinProvisioned") else size
        keys = [add(names[0], "diskDescriptor", 600), add(names[1], "diskExtent", used)]
        disks.append(
            b.obj(
                "VirtualMachineFileLayoutExDiskLayout",
                key=d["key"],
                chain=[b.obj("VirtualMachineFileLayoutExDiskUnit", fileKey=keys)],
            )
        )
    snapshots = []
    for s in vm.iter_snapshots():
        data = add(f"{base}/{vm.name}-Snapshot{s.number}.vmsn", "snapshotData", 30000)
        memory = (
            add(f"{base}/{vm.name}-Snapshot{s.number}.vmem", "snapshotMemory", vm.memory_mb * 1024 * 1024)
            if s.state == "poweredOn"
            else -1
        )
        snapshots.append(
            b.obj(
                "VirtualMachineFileLayoutExSnapshotLayout",
                key=s.ref,
                dataKey=data,
                memoryKey=memory,
                disk=[dl.copy() for dl in disks] or None,
            )
        )
    if vm.power_state == "poweredOn":
        add(f"{base}/{vm.name}.vswp", "swap", vm.memory_mb * 1024 * 1024)
    if vm.power_state == "suspended":
        add(f"{base}/{vm.name}.vmss", "suspend", vm.memory_mb * 1024 * 1024)
    return b.obj(
        "VirtualMachineFileLayoutEx",
        file=[
            b.obj(
                "VirtualMachineFileLayoutExFileInfo",
                key=i,
                name=n,
                type=t,
                size=s,
                uniqueSize=s,
                accessible=True,
            )
            for i, (n, t, s) in enumerate(files)
        ],
        disk=disks or None,
        snapshot=snapshots or None,
        timestamp=vm.modified,
    )


def vm_storage(sim: Simulator, vm: VM, b: Builder) -> DataObject:
    return b.obj(
        "VirtualMachineStorageInfo",
        perDatastoreUsage=[
            b.obj(
                "VirtualMachineUsageOnDatastore",
                datastore=ds.ref,
                committed=_committed(vm),
                uncommitted=0,
                unshared=_committed(vm),
            )
            for ds in vm.datastores
        ],
        timestamp=vm.modified,
    )


def vm_capability(sim: Simulator, vm: VM, b: Builder) -> DataObject:
    fields = {f: True for f, m in b.fields("VirtualMachineCapability").items() if str(m.type) == "boolean"}
    fields["recordReplaySupported"] = True
    return b.obj("VirtualMachineCapability", **fields)


def vm_resource_config(sim: Simulator, vm: VM, b: Builder) -> DataObject:
    def alloc(given: DataObject | None, unit: int) -> DataObject:
        if given is not None:
            return b.project(given)
        return b.obj(
            "ResourceAllocationInfo",
            reservation=0,
            expandableReservation=False,
            limit=-1,
            shares=b.obj("SharesInfo", shares=1000 * unit, level="normal"),
            overheadLimit=None,
        )

    return b.obj(
        "ResourceConfigSpec",
        entity=vm.ref,
        changeVersion=str(vm.version),
        lastModified=vm.modified,
        cpuAllocation=alloc(vm.cpu_allocation, vm.num_cpu),
        memoryAllocation=alloc(vm.memory_allocation, 10),
    )


def vm_disabled_methods(vm: VM) -> list[str]:
    """Methods the VM's state rules out (``disabledMethod``)."""
    out: list[str] = []
    if vm.template:
        return [
            "PowerOnVM_Task",
            "PowerOffVM_Task",
            "SuspendVM_Task",
            "ResetVM_Task",
            "MarkAsTemplate",
            "CreateSnapshot_Task",
            "InstantClone_Task",
            "ShutdownGuest",
            "RebootGuest",
            "StandbyGuest",
        ]
    out.append("MarkAsVirtualMachine")
    if vm.power_state == "poweredOn":
        out += ["PowerOnVM_Task", "MarkAsTemplate", "UnregisterVM"]
    else:
        out += [
            "ResetVM_Task",
            "SuspendVM_Task",
            "ShutdownGuest",
            "RebootGuest",
            "StandbyGuest",
            "TerminateVM",
            "InstantClone_Task",
        ]
        if vm.power_state == "poweredOff":
            out.append("PowerOffVM_Task")
    if not vm.snapshots:
        out += ["RemoveAllSnapshots_Task", "RevertToCurrentSnapshot_Task"]
    if vm.ft is None:
        out += [
            "MakePrimaryVM_Task",
            "TurnOffFaultToleranceForVM_Task",
            "TerminateFaultTolerantVM_Task",
            "DisableSecondaryVM_Task",
            "EnableSecondaryVM_Task",
        ]
    return out


def _custom_values(sim: Simulator, obj: Managed, b: Builder) -> list[DataObject]:
    return [b.obj("CustomFieldStringValue", key=k, value=v) for k, v in sorted(obj.custom.items())]


def _available_fields(sim: Simulator, obj: Managed, b: Builder) -> list[DataObject]:
    return [
        b.obj("CustomFieldDef", key=k, name=n, type="string", managedObjectType="VirtualMachine")
        for n, k in sorted(sim.inv.custom_fields.items(), key=lambda kv: kv[1])
    ]


VM_PROPERTIES: dict[str, Renderer] = {
    "alarmActionsEnabled": lambda s, vm, b: True,
    "availableField": _available_fields,
    "capability": vm_capability,
    "config": lambda s, vm, b: vm_config(s, vm, b),
    "configIssue": lambda s, vm, b: [],
    "configStatus": lambda s, vm, b: "green",
    "customValue": _custom_values,
    "datastore": lambda s, vm, b: [d.ref for d in vm.datastores],
    "declaredAlarmState": lambda s, vm, b: [],
    "disabledMethod": lambda s, vm, b: vm_disabled_methods(vm),
    "effectiveRole": lambda s, vm, b: s.auth.effective_roles(s.current_user(), vm),
    "environmentBrowser": lambda s, vm, b: MoRef("EnvironmentBrowser", f"envbrowser-{s.inv.cluster.moid}"),
    "guest": vm_guest,
    "guestHeartbeatStatus": lambda s, vm, b: _heartbeat(vm),
    "layout": vm_layout,
    "layoutEx": vm_layout_ex,
    "name": lambda s, vm, b: vm.name,
    "network": lambda s, vm, b: _nic_networks(vm),
    "overallStatus": lambda s, vm, b: "green",
    "parent": lambda s, vm, b: (
        vm.parent.ref if vm.parent is not None and not isinstance(vm.parent, VirtualApp) else None
    ),
    "parentVApp": lambda s, vm, b: vm.parent.ref if isinstance(vm.parent, VirtualApp) else None,
    "permission": lambda s, vm, b: s.auth.permissions_on(vm, b, inherited=False),
    "recentTask": lambda s, vm, b: list(vm.recent_tasks),
    "resourceConfig": vm_resource_config,
    "resourcePool": lambda s, vm, b: vm.pool.ref if not vm.template else None,
    "rootSnapshot": lambda s, vm, b: [r.ref for r in vm.snapshots],
    "runtime": vm_runtime,
    "snapshot": vm_snapshot,
    "storage": vm_storage,
    "summary": vm_summary,
    "tag": lambda s, vm, b: [],
    "triggeredAlarmState": lambda s, vm, b: [],
    "value": _custom_values,
}

#: Properties whose value depends on the caller (never cached across users).
PER_USER = frozenset({"effectiveRole", "permission"})


# --- support objects --------------------------------------------------------------------------------
def snapshot_config(sim: Simulator, snap: Snapshot, b: Builder) -> DataObject:
    return vm_config(sim, snap.vm, b, snap.config)


def host_runtime(sim: Simulator, host: Host, b: Builder) -> DataObject:
    return b.obj(
        "HostRuntimeInfo",
        connectionState=host.connection_state,
        powerState=host.power_state,
        inMaintenanceMode=host.maintenance,
        inQuarantineMode=False,
        bootTime=host.boot_time,
        standbyMode="none",
    )


def task_info(sim: Simulator, task: Task, b: Builder) -> DataObject:
    return sim.tasks.info(task, b)


def _vms_on(sim: Simulator, pred) -> list[MoRef]:
    return [v.ref for v in sim.inv.vms() if pred(v)]


def _ref_or_none(obj: Managed | None) -> MoRef | None:
    return obj.ref if obj is not None else None


#: Read-only inventory properties the contracts do not cover but a client needs to find its way
#: (Datacenter.vmFolder, ClusterComputeResource.resourcePool ...); served with System.View.
INVENTORY_PROPERTIES: dict[tuple[str, str], Renderer] = {
    **{
        (t, "name"): (lambda s, o, b: o.name)
        for t in (
            "Folder",
            "Datacenter",
            "ClusterComputeResource",
            "HostSystem",
            "ResourcePool",
            "Datastore",
            "Network",
        )
    },
    **{
        (t, "parent"): (lambda s, o, b: _ref_or_none(o.parent))
        for t in (
            "Folder",
            "Datacenter",
            "ClusterComputeResource",
            "HostSystem",
            "ResourcePool",
            "Datastore",
            "Network",
        )
    },
    ("Folder", "childType"): lambda s, f, b: list(f.child_types),
    ("Datacenter", "vmFolder"): lambda s, d, b: d.vm_folder.ref,
    ("Datacenter", "hostFolder"): lambda s, d, b: d.host_folder.ref,
    ("Datacenter", "datastoreFolder"): lambda s, d, b: d.datastore_folder.ref,
    ("Datacenter", "networkFolder"): lambda s, d, b: d.network_folder.ref,
    ("Datacenter", "datastore"): lambda s, d, b: [x.ref for x in s.inv.datastores],
    ("Datacenter", "network"): lambda s, d, b: [x.ref for x in s.inv.networks],
    ("ClusterComputeResource", "host"): lambda s, c, b: [h.ref for h in c.hosts],
    ("ClusterComputeResource", "resourcePool"): lambda s, c, b: _ref_or_none(c.pool),
    ("ClusterComputeResource", "datastore"): lambda s, c, b: [x.ref for x in s.inv.datastores],
    ("ClusterComputeResource", "network"): lambda s, c, b: [x.ref for x in s.inv.networks],
    ("HostSystem", "vm"): lambda s, h, b: _vms_on(s, lambda v: v.host is h),
    ("HostSystem", "datastore"): lambda s, h, b: [x.ref for x in s.inv.datastores],
    ("HostSystem", "network"): lambda s, h, b: [x.ref for x in s.inv.networks],
    ("ResourcePool", "vm"): lambda s, p, b: [v.ref for v in p.vms],
    ("ResourcePool", "resourcePool"): lambda s, p, b: [
        x.ref for x in s.inv.pools if x.parent is p or getattr(x, "pool_parent", None) is p
    ],
    ("ResourcePool", "owner"): lambda s, p, b: p.owner.ref,
    ("Datastore", "vm"): lambda s, d, b: _vms_on(s, lambda v: d in v.datastores),
    ("Datastore", "summary"): lambda s, d, b: b.obj(
        "DatastoreSummary",
        datastore=d.ref,
        name=d.name,
        url=f"ds:///vmfs/volumes/{d.moid}/",
        capacity=d.capacity,
        freeSpace=d.free,
        accessible=True,
        multipleHostAccess=True,
        type="VMFS",
        maintenanceMode="normal",
    ),
    ("Network", "vm"): lambda s, n, b: _vms_on(s, lambda v: n.ref in _nic_networks(v)),
    ("VirtualApp", "name"): lambda s, a, b: a.name,
    ("VirtualApp", "parent"): lambda s, a, b: a.pool_parent.ref,
    ("VirtualApp", "parentFolder"): lambda s, a, b: a.parent.ref,
    ("VirtualApp", "vm"): lambda s, a, b: [v.ref for v in a.vms],
    ("VirtualApp", "resourcePool"): lambda s, a, b: [],
    ("VirtualApp", "owner"): lambda s, a, b: a.owner.ref,
}

SUPPORT_PROPERTIES: dict[tuple[str, str], Renderer] = {
    **INVENTORY_PROPERTIES,
    ("VirtualMachineSnapshot", "config"): snapshot_config,
    ("VirtualMachineSnapshot", "childSnapshot"): lambda s, snap, b: [c.ref for c in snap.children],
    ("HostSystem", "runtime"): host_runtime,
    ("Folder", "childEntity"): lambda s, f, b: [c.ref for c in f.children] if isinstance(f, Folder) else [],
    ("Task", "info"): task_info,
    **LEASE_PROPERTIES,
}
