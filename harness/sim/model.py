"""The simulator's state: managed objects as plain Python objects with a lock and a version.

Every object carries ``version``, bumped on each change (property values are cached per version),
and a re-entrant ``lock`` (per-object locking: an operation holds the locks of the objects it
changes, in a fixed order, see :meth:`Inventory.locked`).
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
import threading
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from typing import Any

from ..vmodl.values import DataObject, MoRef
from .devices import seeded


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class Managed:
    """A managed object of the simulated inventory."""

    type_name = "ManagedEntity"

    def __init__(self, moid: str, name: str, parent: Managed | None = None):
        self.moid = moid
        self.name = name
        self.parent = parent
        self.lock = threading.RLock()
        self.version = 0
        self.cache: dict[tuple[str, str], tuple[int, Any, bytes]] = {}
        self.custom: dict[int, str] = {}
        self.recent_tasks: list[MoRef] = []

    @property
    def ref(self) -> MoRef:
        return MoRef(self.type_name, self.moid)

    def touch(self) -> None:
        self.version += 1

    def __getstate__(self) -> dict[str, Any]:
        """Saved without its cache of rendered properties (harness.sim.persist)."""
        return {**self.__dict__, "cache": {}}

    def ancestors(self) -> Iterator[Managed]:
        """The object itself, then its parents up to the root folder."""
        obj: Managed | None = self
        while obj is not None:
            yield obj
            obj = obj.parent

    def __repr__(self) -> str:
        return f"{self.type_name}({self.moid!r}, {self.name!r})"


class ServiceObject(Managed):
    """ServiceInstance, SessionManager, AuthorizationManager: not in the inventory tree."""

    def __init__(self, type_name: str, moid: str):
        super().__init__(moid, type_name)
        self.type_name = type_name  # type: ignore[misc]


class Folder(Managed):
    type_name = "Folder"

    def __init__(self, moid: str, name: str, parent: Managed | None, child_types: tuple[str, ...]):
        super().__init__(moid, name, parent)
        self.children: list[Managed] = []
        self.child_types = child_types
        self.busy_task: MoRef | None = None  # a Destroy_Task running on it


class Datacenter(Managed):
    type_name = "Datacenter"
    vm_folder: Folder
    host_folder: Folder
    datastore_folder: Folder
    network_folder: Folder


class Datastore(Managed):
    type_name = "Datastore"
    capacity = 4 * 1024**4
    free = 3 * 1024**4


class Network(Managed):
    type_name = "Network"


class ResourcePool(Managed):
    type_name = "ResourcePool"

    def __init__(self, moid: str, name: str, parent: Managed | None, owner: Managed | None = None):
        super().__init__(moid, name, parent)
        self.owner = owner
        self.vms: list[VM] = []


class VirtualApp(ResourcePool):
    """A vApp: a resource pool that holds VMs (``children``, ``vms``) and shows in a VM folder.  Its
    ``parent`` here is that folder (permissions flow from it); ``pool_parent`` is its parent pool."""

    type_name = "VirtualApp"

    def __init__(
        self, moid: str, name: str, folder: Folder, pool_parent: ResourcePool, owner: Managed | None
    ):
        super().__init__(moid, name, folder, owner)
        self.pool_parent = pool_parent
        self.children: list[Managed] = []


class Cluster(Managed):
    type_name = "ClusterComputeResource"

    def __init__(self, moid: str, name: str, parent: Managed | None):
        super().__init__(moid, name, parent)
        self.hosts: list[Host] = []
        self.pool: ResourcePool | None = None


class Host(Managed):
    type_name = "HostSystem"

    def __init__(self, moid: str, name: str, parent: Managed | None, ft_capable: bool):
        super().__init__(moid, name, parent)
        self.ft_capable = ft_capable
        self.maintenance = False
        self.connection_state = "connected"
        self.power_state = "poweredOn"
        self.boot_time = now()
        self.busy_task: MoRef | None = None


@dataclass
class FtGroup:
    """A Fault Tolerance group: one primary and its secondaries."""

    primary: VM
    secondaries: list[VM] = field(default_factory=list)
    disabled: set[str] = field(default_factory=set)  # moIds of disabled secondaries


def uuid_text(n: int) -> str:
    """``str(uuid.UUID(int=n))``, without building the UUID object."""
    h = f"{n:032x}"
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


class VM(Managed):
    """A virtual machine's state."""

    type_name = "VirtualMachine"

    def __init__(
        self,
        moid: str,
        name: str,
        folder: Folder,
        pool: ResourcePool,
        host: Host,
        datastore: Datastore,
        network: Network,
        num: int,
    ):
        super().__init__(moid, name, folder)
        self.pool = pool
        self.host: Host | None = host
        self.datastores = [datastore]
        self.networks = [network]
        self.num = num
        self.power_state = "poweredOff"
        self.template = False
        self.tools_running = False
        self.tools_installed = True
        self.tools_version = 12352
        self.tools_installer_mounted = False
        self.guest_id = "otherGuest64"
        self.guest_full_name = "Other (64-bit)"
        self.num_cpu = 1
        self.cores_per_socket = 1
        self.memory_mb = 1024
        self.hw_version = "vmx-19"
        self.annotation = ""
        self.uuid = uuid_text(num * 7919 + 1)
        self.instance_uuid = uuid_text(num * 104729 + 3)
        self.change_tracking = False
        self.extra_config: list[DataObject] = []
        self.cpu_allocation: DataObject | None = None
        self.memory_allocation: DataObject | None = None
        self.boot_time: dt.datetime | None = None
        self.created = now()
        self.modified = self.created
        self.snapshots: list[Snapshot] = []  # roots
        self.current_snapshot: Snapshot | None = None
        self.ft: FtGroup | None = None
        self.record_replay = "inactive"
        self.connections: list[DataObject] = []
        self.question: DataObject | None = None
        self.crypto_locked = False
        self.encrypted = False
        self.feature_mask: list[DataObject] = []
        self.consolidation_needed = False
        self.busy_task: MoRef | None = None
        self.screen = (1024, 768)
        self.display_topology: list[DataObject] = []
        self.usb_scan_codes = 0
        self.nmi_count = 0
        self.guest_info_reset = 0
        self.managed_by: DataObject | None = None
        self._devices: list[DataObject] | None = None
        self.files_path = f"[{datastore.name}] {name}/{name}.vmx"
        self.registered = True
        self.customization_applied: DataObject | None = None
        self.screenshots = 0
        self.seeded = False  # made by the seed (pre-existing), not at run time
        #: how default_devices draws the hardware: (seed, networks to choose from, profile); None: fixed
        self.hardware_draw: tuple[str, list[Network], int] | None = None

    # derived state ---------------------------------------------------------------------------
    @property
    def devices(self) -> list[DataObject]:
        if self._devices is None:
            self._devices = default_devices(self)
        return self._devices

    @devices.setter
    def devices(self, value: list[DataObject]) -> None:
        self._devices = value

    @property
    def ft_role(self) -> int:
        """0 not FT, 1 primary, 2.. secondary."""
        if self.ft is None:
            return 0
        if self.ft.primary is self:
            return 1
        return 2 + self.ft.secondaries.index(self)

    @property
    def ft_state(self) -> str:
        if self.ft is None:
            return "notConfigured"
        group = self.ft
        active = [s for s in group.secondaries if s.moid not in group.disabled]
        if not active:
            return "disabled" if group.secondaries else "needSecondary"
        if group.primary.power_state == "poweredOn":
            return "running"
        return "enabled"

    @property
    def guest_state(self) -> str:
        if self.power_state == "poweredOn":
            return "running" if self.tools_running else "notRunning"
        if self.power_state == "suspended":
            return "standby"
        return "notRunning"

    def iter_snapshots(self) -> Iterator[Snapshot]:
        stack = list(reversed(self.snapshots))
        while stack:
            snap = stack.pop()
            yield snap
            stack.extend(reversed(snap.children))

    def hardware_state(self, devices: bool = True) -> dict[str, Any]:
        """What a snapshot keeps of the configuration (``devices`` None for ``devices=False``)."""
        return {
            "num_cpu": self.num_cpu,
            "cores_per_socket": self.cores_per_socket,
            "memory_mb": self.memory_mb,
            "annotation": self.annotation,
            "devices": [d.copy() for d in self.devices] if devices else None,
            "hw_version": self.hw_version,
            "guest_id": self.guest_id,
        }


def default_devices(vm: VM) -> list[DataObject]:
    """A seeded VM's hardware (:func:`harness.sim.devices.seeded`): drawn from ``vm.hardware_draw``
    (a seed and the networks to choose from), fixed without one."""
    return drawn_devices(vm, vm.hardware_draw)


def drawn_devices(vm: VM, draw: tuple[str, list[Network], int] | None) -> list[DataObject]:
    """The hardware :func:`harness.sim.devices.seeded` draws for ``vm`` from ``draw`` (fixed for None)."""
    return seeded(vm, random.Random(draw[0]), draw[1], draw[2]) if draw else seeded(vm, None)


class Snapshot(Managed):
    type_name = "VirtualMachineSnapshot"

    def __init__(
        self,
        moid: str,
        name: str,
        vm: VM,
        parent_snap: Snapshot | None,
        description: str,
        memory: bool,
        quiesced: bool,
        number: int,
    ):
        super().__init__(moid, name, None)
        self.vm = vm
        self.parent_snap = parent_snap
        self.description = description
        self.children: list[Snapshot] = []
        self.create_time = now()
        self.state = vm.power_state if memory else "poweredOff"
        self.quiesced = quiesced
        self.number = number
        # devices None when the VM's default hardware is not drawn yet: drawn on first read, same draw
        self._config = vm.hardware_state(devices=vm._devices is not None)
        self._draw = vm.hardware_draw
        self.replay_supported = False

    @property
    def config(self) -> dict[str, Any]:
        """What the snapshot keeps of the VM's configuration (:meth:`VM.hardware_state`).  Of a VM whose
        default hardware was not drawn yet (a seeded snapshot) the devices are drawn on first read, from
        the VM's draw: seeded VMs with snapshots start without drawing their hardware."""
        if self._config["devices"] is None:
            self._config["devices"] = drawn_devices(self.vm, self._draw)
        return self._config

    def ancestors(self) -> Iterator[Managed]:
        yield self
        yield from self.vm.ancestors()


class Task(Managed):
    """A task: its TaskInfo fields and how it ends."""

    type_name = "Task"

    def __init__(
        self, moid: str, key: str, entity: Managed | None, description_id: str, user: str, cancelable: bool
    ):
        super().__init__(moid, description_id, None)
        self.key = key
        self.entity = entity
        self.entity_name = entity.name if entity is not None else None
        self.description_id = description_id
        self.method = ""  # the wire name of the method that created the task (TaskInfo.name)
        self.user = user
        self.state = "queued"
        self.progress: int | None = None
        self.cancelable = cancelable
        self.cancelled = False
        self.result: Any = None
        self.result_type: str | None = None
        self.error: DataObject | None = None
        self.queue_time = now()
        self.start_time: dt.datetime | None = None
        self.complete_time: dt.datetime | None = None
        self.event_chain_id = 0
        self.locked: list[Managed] = []
        self.reads = 0  # for the task_* misbehaviours

    def ancestors(self) -> Iterator[Managed]:
        if self.entity is not None:
            yield from self.entity.ancestors()

    @property
    def done(self) -> bool:
        return self.state in ("success", "error")


class Inventory:
    """All managed objects, by moId, and what creates or removes them."""

    def __init__(self) -> None:
        self.objects: dict[str, Managed] = {}
        self.lock = threading.RLock()
        self._ids = itertools.count(1000)
        self.root: Folder
        self.datacenter: Datacenter
        self.hosts: list[Host] = []
        self.datastores: list[Datastore] = []
        self.networks: list[Network] = []
        self.pools: list[ResourcePool] = []
        self.cluster: Cluster
        self.custom_fields: dict[str, int] = {}
        self._field_keys = itertools.count(101)
        self.snapshot_numbers = itertools.count(1)

    def add(self, obj: Managed) -> Managed:
        with self.lock:
            self.objects[obj.moid] = obj
        return obj

    def remove(self, obj: Managed) -> None:
        with self.lock:
            self.objects.pop(obj.moid, None)

    def new_id(self, prefix: str) -> str:
        with self.lock:
            return f"{prefix}-{next(self._ids)}"

    def reserve_ids(self, upto: int) -> None:
        """Make :meth:`new_id` start above ``upto``."""
        with self.lock:
            self._ids = itertools.count(max(1000, upto + 1))

    def get(self, moid: str) -> Managed | None:
        return self.objects.get(moid)

    def vms(self) -> list[VM]:
        return [o for o in list(self.objects.values()) if isinstance(o, VM)]

    def field_key(self, name: str) -> int:
        with self.lock:
            if name not in self.custom_fields:
                self.custom_fields[name] = next(self._field_keys)
            return self.custom_fields[name]

    @contextmanager
    def locked(self, *objs: Managed | None) -> Iterator[None]:
        """Hold the locks of several objects, always acquired in moId order (no deadlock)."""
        unique = sorted({id(o): o for o in objs if o is not None}.values(), key=lambda o: o.moid)
        with ExitStack() as stack:
            for obj in unique:
                stack.enter_context(obj.lock)
            yield
