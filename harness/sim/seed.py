"""A seeded inventory: one datacenter, folders, a cluster of hosts (an FT-capable pair, a third host,
one in maintenance mode, one empty), datastores, networks, resource pools, a vApp and VMs in mixed states.

The first VMs are fixed so tests and the sandbox find every state (see :data:`FIXED`); the rest are
drawn from the seed: their state, and apart from it (so that the states stay as they were) their
hardware (:func:`harness.sim.devices.seeded`: disks, adapters, CD-ROMs, controllers), drawn from the
seed and the VM's number when first used (a large inventory starts fast).  Every VM made
here is ``seeded`` (the ``break_existing_vms`` misbehaviour breaks only those).
"""

from __future__ import annotations

import bisect
import gc
import random

from ..vmodl.values import DataObject
from .lifecycle import make_secondary, power_on, take_snapshot
from .model import (
    VM,
    Cluster,
    Datacenter,
    Datastore,
    Folder,
    Host,
    Inventory,
    Network,
    ResourcePool,
    VirtualApp,
)

#: The fixed VMs at the start of the inventory (name suffix -> what it is).
FIXED = (
    "template",
    "on-tools",
    "off",
    "suspended",
    "on-snapshots",
    "off-snapshot",
    "ft-primary",
    "question",
    "crypto-locked",
)


def build_inventory(vms: int, seed: int) -> Inventory:
    """The seeded inventory with ``vms`` VMs.  The cyclic garbage collector is paused while it is
    built: the objects are all kept, and re-scanning them every few thousand allocations would make
    a large inventory's start-up grow faster than its size."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        return _build(vms, seed)
    finally:
        if enabled:
            gc.enable()


def _build(vms: int, seed: int) -> Inventory:
    rng = random.Random(seed)
    inv = Inventory()
    root = Folder("group-d1", "Datacenters", None, ("Folder", "Datacenter"))
    inv.root = root
    inv.add(root)
    dc = Datacenter("datacenter-2", "DC0", root)
    root.children.append(dc)
    inv.datacenter = dc
    inv.add(dc)
    dc.vm_folder = Folder("group-v3", "vm", dc, ("Folder", "VirtualMachine", "VirtualApp"))
    dc.host_folder = Folder("group-h4", "host", dc, ("Folder", "ComputeResource"))
    dc.datastore_folder = Folder("group-s5", "datastore", dc, ("Folder", "Datastore"))
    dc.network_folder = Folder("group-n6", "network", dc, ("Folder", "Network"))
    for f in (dc.vm_folder, dc.host_folder, dc.datastore_folder, dc.network_folder):
        inv.add(f)
    cluster = Cluster("domain-c7", "Cluster0", dc.host_folder)
    dc.host_folder.children.append(cluster)
    inv.cluster = cluster
    inv.add(cluster)
    pool = ResourcePool("resgroup-8", "Resources", cluster, cluster)
    cluster.pool = pool
    child_pool = ResourcePool("resgroup-9", "Pool0", pool, cluster)
    inv.pools = [pool, child_pool]
    for p in inv.pools:
        inv.add(p)
    # host-14 stays empty (no seeded VM runs there): a host a scenario may put into maintenance mode
    hosts = [(True, False), (True, False), (False, False), (False, True), (False, False)]
    for i, (ft, maintenance) in enumerate(hosts):
        host = Host(f"host-{10 + i}", f"esx{i + 1}.sim.local", cluster, ft_capable=ft)
        host.maintenance = maintenance
        cluster.hosts.append(host)
        inv.hosts.append(host)
        inv.add(host)
    for i in range(2):
        ds = Datastore(f"datastore-{20 + i}", f"datastore{i + 1}", dc.datastore_folder)
        dc.datastore_folder.children.append(ds)
        inv.datastores.append(ds)
        inv.add(ds)
    for i, name in enumerate(("VM Network", "Backup Network")):
        net = Network(f"network-{30 + i}", name, dc.network_folder)
        dc.network_folder.children.append(net)
        inv.networks.append(net)
        inv.add(net)
    workloads = Folder("group-v40", "Workloads", dc.vm_folder, ("Folder", "VirtualMachine", "VirtualApp"))
    dc.vm_folder.children.append(workloads)
    inv.add(workloads)

    vapp = VirtualApp("resgroup-v41", "vApp0", dc.vm_folder, pool, cluster)
    dc.vm_folder.children.append(vapp)
    inv.pools.append(vapp)
    inv.add(vapp)

    inv.reserve_ids(100 + vms)  # ids made at run time never collide with seeded ones
    active_hosts = inv.hosts[:3]
    for i in range(vms):
        kind = FIXED[i] if i < len(FIXED) else _draw(rng)
        # the first drawn VM that is not a template runs in the vApp (parentVApp; no parent folder)
        in_vapp = i >= len(FIXED) and not vapp.vms and kind != "template"
        folder: Folder | VirtualApp = (
            vapp if in_vapp else (dc.vm_folder if i < len(FIXED) or i % 4 else workloads)
        )
        host = active_hosts[i % len(active_hosts)]
        name = f"sim-vm-{i:05d}" + (f"-{FIXED[i]}" if i < len(FIXED) else "")
        vm = VM(
            f"vm-{100 + i}",
            name,
            folder,
            vapp if in_vapp else pool if i % 3 else child_pool,  # type: ignore[arg-type]
            host,
            inv.datastores[i % 2],
            inv.networks[0],
            i,
        )
        folder.children.append(vm)
        vm.pool.vms.append(vm)
        inv.add(vm)
        _shape(inv, vm, kind, rng)
        # drawn on first use (model.default_devices); the fixed VMs, and those with seeded snapshots
        # (taken before the draw is set, so of the fixed hardware), have fixed hardware
        if i >= len(FIXED) and not vm.snapshots:
            vm.hardware_draw = (f"hardware-{seed}-{i}", inv.networks, i - len(FIXED))
        vm.seeded = True
    _make_ft_pair(inv)
    return inv


#: The kinds of drawn VMs and their cumulative weights (30, 20, 25, 8, 8, 6, 3).
KINDS = ("off", "on", "on-tools", "suspended", "on-snapshots", "off-snapshot", "template")
KIND_CUM_WEIGHTS = (30, 50, 75, 83, 91, 97, 100)


def _draw(rng: random.Random) -> str:
    """A drawn VM's kind: ``rng.choices(KINDS, weights)[0]`` (the same draw), without its per-call set-up."""
    return KINDS[bisect.bisect(KIND_CUM_WEIGHTS, rng.random() * 100.0, 0, len(KINDS) - 1)]


def _shape(inv: Inventory, vm: VM, kind: str, rng: random.Random) -> None:
    vm.num_cpu = 1 + vm.num % 4
    vm.memory_mb = 1024 * (1 + vm.num % 8)
    if kind.startswith("on") or kind in ("ft-primary", "question"):
        power_on(vm)
        vm.tools_running = kind in ("on-tools", "on-snapshots", "ft-primary")
    elif kind == "suspended":
        vm.power_state = "suspended"
    elif kind == "template":
        vm.template = True
    elif kind == "crypto-locked":
        vm.encrypted = True
        vm.crypto_locked = True
    if kind in ("on-snapshots", "off-snapshot"):
        first = take_snapshot(inv, vm, "base", "seeded snapshot", memory=False, quiesce=False)
        if kind == "on-snapshots":
            take_snapshot(inv, vm, "before-update", "seeded child snapshot", memory=True, quiesce=False)
            vm.current_snapshot = first.children[0] if first.children else first
    if kind == "question":
        vm.question = DataObject(
            "VirtualMachineQuestionInfo",
            id=f"{vm.moid}-q1",
            text="This virtual machine might have been moved or copied. I moved it / I copied it?",
            choice=DataObject(
                "ChoiceOption",
                defaultIndex=0,
                choiceInfo=[
                    DataObject("ElementDescription", key="0", label="Cancel", summary="Cancel"),
                    DataObject("ElementDescription", key="1", label="I Moved It", summary="I moved it"),
                    DataObject("ElementDescription", key="2", label="I Copied It", summary="I copied it"),
                ],
            ),
        )
    if vm.tools_running:
        vm.connections = [
            DataObject(
                "VirtualMachineMksConnection",
                label="console",
                client="10.0.0.5",
                userName="administrator@vsphere.local",
            )
        ]


def _make_ft_pair(inv: Inventory) -> None:
    """Make the fixed ft-primary VM an FT primary with a secondary on the other FT-capable host."""
    primary = next((v for v in inv.vms() if v.name.endswith("-ft-primary")), None)
    if primary is None:
        return
    primary.host = inv.hosts[0]
    make_secondary(inv, primary, inv.hosts[1])
