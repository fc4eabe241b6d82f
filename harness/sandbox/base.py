"""The sandbox's foundation: its run id, the inventory, its folder, tasks run to their end, new VMs."""

from __future__ import annotations

import uuid
from typing import Any

from ..outcomes import Inconclusive, Skip
from ..vmodl.codec import codec
from ..vmodl.registry import release as registry
from ..vmodl.values import MoRef
from .inventory import Inventory, discover
from .leases import Leases
from .reads import unique_name
from .survey import Sampled
from .values import vm_config_spec


class SetupError(Inconclusive):
    """The sandbox could not prepare what a check needs (reported as ``error``)."""

    def __init__(self, message: str, exchange: Any = None):
        super().__init__(message)
        self.exchange = exchange

    def evidence(self) -> list:
        return [self.exchange.evidence(note=str(self))] if self.exchange is not None else []


class SandboxBase:
    """State shared by the sandbox's parts, and the calls every part makes."""

    def __init__(
        self,
        client: Any,
        release: str,
        read_only: bool = False,
        run_id: str | None = None,
        timeout: float = 60.0,
        inventory: Inventory | None = None,
        inventory_sample: int = 0,
        seed: int = 0,
    ):
        self.client = client
        self.release = release
        self.read_only = read_only
        self.run_id = run_id or uuid.uuid4().hex[:8]
        self.timeout = timeout
        self._inventory: Inventory | None = inventory
        self._folder: str | None = None
        self.created_vms: list[str] = []
        self.created_folders: list[str] = []
        self.created_roles: list[int] = []
        self.permissions: list[tuple[str, str, str]] = []  # (entity type, moid, principal)
        self._shared: dict[str, str] = {}  # state -> VM moid
        self.secondaries: dict[str, str] = {}  # FT primary -> secondary
        self._skips: dict[str, str] = {}  # state -> why it cannot be reached
        self.reached: set[str] = set()  # the states a sandbox VM was brought into in this run
        self._user: str | None = None
        #: a principal other than the harness's user that permissions may name (the limited user)
        self.principal: str | None = None
        #: how many existing VMs to sample for read-only operations (0: none), and the seed choosing them
        self.sample_size = max(0, int(inventory_sample))
        self.sample_seed = seed
        self._sample: list[Sampled] | None = None
        self.sample_notes: list[str] = []
        #: export leases seen open (the run's clients report every answer to ``leases.observe``)
        self.leases = Leases()

    @property
    def inventory(self) -> Inventory:
        if self._inventory is None:
            inv = discover(self.client)
            if inv.vm_folder is None or inv.pool is None:
                raise SetupError(
                    "the endpoint does not show a datacenter's vmFolder and a resource pool "
                    "(Datacenter.vmFolder/hostFolder, ComputeResource.resourcePool): the sandbox "
                    "has nowhere to create its folder and VMs"
                )
            self._inventory = inv
        return self._inventory

    @property
    def folder(self) -> str:
        """The sandbox folder (created on first use)."""
        if self.read_only:
            raise Skip("read-only run: the harness creates no sandbox")
        if self._folder is None:
            parent = self.inventory.vm_folder
            if parent is None:
                raise SetupError("the endpoint has no datacenter with a VM folder")
            ref = self._ok(
                self.client.invoke(
                    "Folder", parent, "CreateFolder", {"name": f"vsphere-harness-{self.run_id}"}
                ),
                "create the sandbox folder",
            )
            self._folder = ref["value"]
            self.created_folders.append(self._folder)
        return self._folder

    def safe_pool(self) -> dict[str, list[MoRef]]:
        """References generated requests may use: the sandbox's own VMs and folder, the placement
        objects (resource pool, hosts, datastores, datacenter), and for every other managed type an
        object that does not exist, so that a generator never invents the id of a real object."""
        pool: dict[str, list[MoRef]] = {
            t: [MoRef(t, f"vsphere-harness-{self.run_id}-none")] for t in registry(self.release).managed
        }
        inv = self.inventory
        for t, refs in inv.pool_refs().items():
            if refs and t != "Folder":
                pool[t] = list(refs)
        if self._folder:
            pool["Folder"] = [MoRef("Folder", self._folder)]
        vms = [MoRef("VirtualMachine", vm) for vm in self.created_vms]
        if vms:
            pool["VirtualMachine"] = vms
        return pool

    def owns(self, moid: str) -> bool:
        return moid in self.created_vms or moid in self.created_folders or moid in self.secondaries.values()

    def user(self) -> str | None:
        if self._user is None:
            ex = self.client.get(
                "SessionManager", self.client.content["sessionManager"]["value"], "currentSession"
            )
            self._user = (ex.json or {}).get("userName") if ex.ok and isinstance(ex.json, dict) else None
        return self._user

    def _ok(self, ex: Any, what: str) -> Any:
        """The answer's value; a refusal raises SetupError (``error``).  A method the endpoint does
        not implement (MethodNotFound) raises Skip: what needs it cannot exist there, and the answer
        itself fails the operation that gave it (the ``versions`` rule)."""
        if ex.fault_type == "MethodNotFound":
            raise Skip(f"sandbox: cannot {what}: the endpoint does not implement the method (MethodNotFound)")
        if not ex.ok:
            raise SetupError(f"sandbox: cannot {what}: {ex.fault_type or f'HTTP {ex.status}'}", ex)
        return ex.json

    def run_task(self, managed_type: str, moid: str, method: str, body: Any = None, what: str = "") -> dict:
        """Invoke a task method and wait; the terminal TaskInfo (raises SetupError on a fault)."""
        what = what or f"{method} on {moid}"
        task = self._ok(self.invoke_when_idle(managed_type, moid, method, body), what)
        info = self.client.wait_task(task, timeout=self.timeout)[-1]
        if info.get("state") != "success":
            fault = (info.get("error") or {}).get("_typeName", "an error")
            raise SetupError(f"sandbox: cannot {what}: task ended with {fault}")
        return info

    def invoke_when_idle(self, managed_type: str, moid: str, method: str, body: Any = None) -> Any:
        """Invoke; when the object is busy (TaskInProgress), wait for that task and try once more."""
        ex = self.client.invoke(managed_type, moid, method, body)
        busy = (ex.fault or {}).get("task") if ex.fault_type == "TaskInProgress" else None
        if isinstance(busy, dict) and busy.get("value"):
            self.client.wait_task(busy, timeout=self.timeout)
            ex = self.client.invoke(managed_type, moid, method, body)
        return ex

    def create_vm(self) -> str:
        """A new powered-off VM in the sandbox folder."""
        inv = self.inventory
        if inv.pool is None:
            raise SetupError("the endpoint has no resource pool to create sandbox VMs in")
        c = codec(self.release)
        body = {
            "config": c.encode(
                vm_config_spec(inv, f"vsphere-harness-{self.run_id}-{unique_name('vm')}"),
                "VirtualMachineConfigSpec",
            ),
            "pool": c.encode(MoRef("ResourcePool", inv.pool), "ManagedObjectReference"),
        }
        info = self.run_task("Folder", self.folder, "CreateVM_Task", body, "create a sandbox VM")
        vm = (info.get("result") or {}).get("value")
        if not vm:
            raise SetupError("sandbox: CreateVM_Task succeeded without a VM in its result")
        self.created_vms.append(vm)
        return vm
