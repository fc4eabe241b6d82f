"""Object lifecycle: creating, powering, snapshotting, reconfiguring and removing VMs.

The inventory seed and the operations share these helpers, so a VM made at run time looks like a
seeded one and every removal leaves the inventory, pools and folders coherent.
"""

from __future__ import annotations

from ..vmodl.values import DataObject
from . import devices as hardware
from .model import VM, Folder, FtGroup, Host, Inventory, Managed, ResourcePool, Snapshot, now

DEFAULT_HW = "vmx-19"  # the datacenter's default compatibility for new VMs (upgradable to vmx-21)


def power_on(vm: VM) -> None:
    """Power ``vm`` on (a new boot time); nothing else changes."""
    vm.power_state = "poweredOn"
    vm.boot_time = now()
    vm.touch()


def set_power(vm: VM, state: str) -> None:
    """Put ``vm`` in power ``state``, with what goes along (a pending customization applied at boot, the
    installer unmounted and connections dropped when it stops); an FT primary takes its enabled
    secondaries along."""
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


def take_snapshot(
    inv: Inventory, vm: VM, name: str, description: str, memory: bool, quiesce: bool
) -> Snapshot:
    """A new snapshot of ``vm``, child of its current one, which it becomes (memory only when on)."""
    number = next(inv.snapshot_numbers)
    snap = Snapshot(
        f"snapshot-{number}",
        name,
        vm,
        vm.current_snapshot,
        description,
        memory and vm.power_state == "poweredOn",
        quiesce,
        number,
    )
    if vm.current_snapshot is None:
        vm.snapshots.append(snap)
    else:
        vm.current_snapshot.children.append(snap)
    vm.current_snapshot = snap
    inv.add(snap)
    vm.touch()
    return snap


def revert_to(vm: VM, snap: Snapshot, suppress_power_on: bool, host: Host | None) -> None:
    """Bring ``vm`` back to ``snap``: its hardware and power state (suspended instead of on when
    ``suppress_power_on``), optionally on ``host``; ``snap`` becomes the current snapshot."""
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
    """A new VM in ``folder`` from a ``VirtualMachineConfigSpec`` (CreateVM_Task), with the built-in
    devices and the spec's; the pool, host and datastore default to the inventory's first usable."""
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
    """A copy of ``source`` named ``name`` in ``folder`` (a template, or powered on, when asked); the
    pool, host and datastore default to the source's."""
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


def make_secondary(inv: Inventory, primary: VM, host: Host) -> VM:
    """Create an FT secondary of ``primary`` on ``host``; returns it."""
    secondary = VM(
        inv.new_id("vm"),
        primary.name,
        primary.parent,
        primary.pool,
        host,  # type: ignore[arg-type]
        primary.datastores[0],
        primary.networks[0],
        primary.num + 500000,
    )
    secondary.num_cpu, secondary.memory_mb = primary.num_cpu, primary.memory_mb
    secondary.guest_id, secondary.tools_running = primary.guest_id, primary.tools_running
    secondary.devices = hardware.rehome(secondary, primary.devices)
    secondary.seeded = primary.seeded
    if primary.power_state == "poweredOn":
        power_on(secondary)
    if primary.ft is None:
        primary.ft = FtGroup(primary)
    primary.ft.secondaries.append(secondary)
    secondary.ft = primary.ft
    primary.parent.children.append(secondary)  # type: ignore[union-attr]
    primary.pool.vms.append(secondary)
    inv.add(secondary)
    primary.touch()
    return secondary


def apply_config_spec(vm: VM, spec: DataObject, inv: Inventory | None = None) -> None:
    """Apply a ``VirtualMachineConfigSpec`` to ``vm``: simple settings, extraConfig (an empty value
    removes the key) and deviceChange (devices first, so a refused change alters nothing)."""
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
