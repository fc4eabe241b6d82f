"""The sandbox: the objects the harness creates through the API and is allowed to change.

A run never changes an object it did not create.  The sandbox creates a folder
``vsphere-harness-<runid>`` in the first datacenter's VM folder (``Folder.CreateFolder``) and
small virtual machines in it (``Folder.CreateVM_Task``), drives them into the states preconditions
need (power on, suspend, snapshot, template, Fault Tolerance primary), and builds requests that meet
an operation's preconditions (:meth:`Sandbox.target_for`).  :meth:`Sandbox.cleanup` powers off and
destroys everything in its folder (VMs that checks created there too) and the folder, and returns
what it could not clean.

When an object cannot be created or driven into a state (no FT-capable host pair, VMware Tools
that never run in an empty VM) the sandbox raises :class:`~harness.checks.base.Skip` with the
reason; other setup failures raise :class:`SetupError` (an ``error``, never a ``failed``).

Read-only mode creates nothing: :meth:`Sandbox.vm` then finds an existing VM in the state, and
:meth:`Sandbox.target_for` only serves operations that change nothing.

Existing VMs are also *sampled* (``inventory_sample``, :mod:`harness.run.inventory`): a seeded,
stratified sample of the endpoint's own VMs and templates, on which :meth:`Sandbox.sample_targets`
serves read-only operations (property reads, methods whose contract says they change nothing) and
nothing else, so that answers are judged on the shapes real inventories hold.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..checks.base import Inconclusive, Skip
from ..contract.model import Contract
from ..gen.bodies import encode_request
from ..vmodl.codec import CodecError, codec
from ..vmodl.values import MoRef
from .inventory import Sampled, choose, coverage, survey
from .prepare import (
    DESTRUCTIVE,
    MISSING,
    STATE_BY_OP,
    STATES,
    Inventory,
    Refs,
    discover,
    holds,
    moref,
    request_values,
    states_for,
    unique_name,
    violating_states,
    vm_config_spec,
    walk,
)


class SetupError(Inconclusive):
    """The sandbox could not prepare what a check needs (reported as ``error``)."""

    def __init__(self, message: str, exchange: Any = None):
        super().__init__(message)
        self.exchange = exchange

    def evidence(self) -> list:
        return [self.exchange.evidence(note=str(self))] if self.exchange is not None else []


@dataclass
class Prepared:
    """A request ready to send: where, what, and what the sandbox knows about it."""

    managed_type: str
    moid: str
    body: dict[str, Any] | None  # JSON-ready request body (None: no parameters)
    values: dict[str, Any] = field(default_factory=dict)  # the parameters as Python values
    state: str | None = None  # the sandbox state of the target VM
    vm: str | None = None  # the VM concerned (the target, or the snapshot's VM)
    precondition: dict[str, Any] | None = None  # for violating targets: the precondition broken
    expected_fault: str | None = None  # ... and the fault it names
    existing: str | None = None  # an existing VM of the sample (its label): only read-only calls go there
    notes: list[str] = field(default_factory=list)

    @property
    def ref(self) -> dict[str, str]:
        return moref(self.managed_type, self.moid)


class Target(NamedTuple):
    """``(moid, prepared)``: the object to call and the prepared request."""

    moid: str
    ctx: Prepared


_POWER = {"poweredOff", "poweredOn", "suspended"}


class Sandbox:
    """Objects created by this run, in states checks ask for."""

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
        self._user: str | None = None
        #: a principal other than the harness's user that permissions may name (the limited user)
        self.principal: str | None = None
        #: how many existing VMs to sample for read-only operations (0: none), and the seed choosing them
        self.sample_size = max(0, int(inventory_sample))
        self.sample_seed = seed
        self._sample: list[Sampled] | None = None
        self.sample_notes: list[str] = []

    # --- basics ------------------------------------------------------------------------------
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
        from ..vmodl.registry import release as registry

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

    # --- virtual machines --------------------------------------------------------------------
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

    def observe(self, vm: str) -> dict[str, Any] | None:
        """The facts of a VM that states depend on (None when the VM is gone)."""
        rt = self.client.get("VirtualMachine", vm, "runtime")
        if not rt.ok:
            if rt.fault_type == "ManagedObjectNotFound" or rt.status == 404:
                return None
            raise SetupError(f"sandbox: cannot read runtime of {vm}: {rt.fault_type or rt.status}", rt)
        cfg = self.client.get("VirtualMachine", vm, "config")
        snap = self.client.get("VirtualMachine", vm, "snapshot")
        config = cfg.json if cfg.ok and isinstance(cfg.json, dict) else {}
        return {
            "powerState": (rt.json or {}).get("powerState"),
            "template": bool(config.get("template")),
            "snapshot": walk(snap.json, ["currentSnapshot", "value"]) if snap.ok else None,
            "ftRole": walk(config, ["ftInfo", "role"]),
            "ftState": (rt.json or {}).get("faultToleranceState"),
            "recordReplay": (rt.json or {}).get("recordReplayState"),
            "toolsMounted": bool((rt.json or {}).get("toolsInstallerMounted")),
            "vmPathName": walk(config, ["files", "vmPathName"]),
        }

    def _in_state(self, vm: str, state: str, facts: dict[str, Any]) -> bool:
        if state != "withSnapshot" and facts["snapshot"]:
            return False
        if state == "template":
            return facts["template"]
        if facts["template"]:
            return False
        if state in _POWER:
            return facts["powerState"] == state and not facts["ftRole"]
        if state == "withSnapshot":
            return bool(facts["snapshot"]) and not facts["ftRole"]
        if state == "toolsRunning":
            return facts["powerState"] == "poweredOn" and self._tools_running(vm)
        if state == "recording":
            return facts["powerState"] == "poweredOn" and facts.get("recordReplay") == "recording"
        if state == "toolsMounted":
            return facts["powerState"] == "poweredOn" and facts.get("toolsMounted") is True
        if state in ("ftPrimary", "ftDisabled"):
            ft_state = "disabled" if state == "ftDisabled" else "running"
            return (
                facts["ftRole"] == 1
                and vm in self.secondaries
                and facts["powerState"] == "poweredOn"
                and facts.get("ftState", ft_state) == ft_state
            )
        raise ValueError(f"unknown sandbox state {state!r}")

    def _tools_running(self, vm: str) -> bool:
        ex = self.client.get("VirtualMachine", vm, "guest")
        return (
            ex.ok and isinstance(ex.json, dict) and ex.json.get("toolsRunningStatus") == "guestToolsRunning"
        )

    def _power(self, vm: str, facts: dict[str, Any], want: str) -> None:
        have = facts["powerState"]
        if have == want:
            return
        if want == "poweredOff":
            self.run_task("VirtualMachine", vm, "PowerOffVM_Task", what=f"power off {vm}")
        elif want == "poweredOn":
            self.run_task("VirtualMachine", vm, "PowerOnVM_Task", what=f"power on {vm}")
        elif want == "suspended":
            if have != "poweredOn":
                self.run_task("VirtualMachine", vm, "PowerOnVM_Task", what=f"power on {vm}")
            self.run_task("VirtualMachine", vm, "SuspendVM_Task", what=f"suspend {vm}")
        facts["powerState"] = want

    def _drive(self, vm: str, state: str) -> None:
        """Drive a sandbox VM into ``state`` through the API."""
        facts = self.observe(vm)
        if facts is None:
            raise SetupError(f"sandbox VM {vm} is gone")
        if self._in_state(vm, state, facts):
            return
        if facts["ftRole"] and facts["ftRole"] != 1:
            raise SetupError(
                f"sandbox VM {vm} is an FT secondary (role {facts['ftRole']}); it cannot be driven"
            )
        if facts["ftRole"]:
            self.run_task(
                "VirtualMachine", vm, "TurnOffFaultToleranceForVM_Task", what=f"turn off FT of {vm}"
            )
            self.secondaries.pop(vm, None)
            facts["ftRole"] = None
        if facts["template"] and state != "template":
            self._ok(
                self.invoke_when_idle(
                    "VirtualMachine",
                    vm,
                    "MarkAsVirtualMachine",
                    {"pool": moref("ResourcePool", self.inventory.pool or "")},
                ),
                f"mark {vm} as a virtual machine",
            )
            facts["template"] = False
        if facts["snapshot"] and state != "withSnapshot":
            self.run_task(
                "VirtualMachine", vm, "RemoveAllSnapshots_Task", what=f"remove the snapshots of {vm}"
            )
            facts["snapshot"] = None
        if state in _POWER:
            self._power(vm, facts, state)
        elif state == "template":
            self._power(vm, facts, "poweredOff")
            self._ok(
                self.invoke_when_idle("VirtualMachine", vm, "MarkAsTemplate"), f"mark {vm} as a template"
            )
        elif state == "withSnapshot":
            if not facts["snapshot"]:
                self.run_task(
                    "VirtualMachine",
                    vm,
                    "CreateSnapshot_Task",
                    {"name": unique_name("snapshot"), "memory": False, "quiesce": False},
                    f"snapshot {vm}",
                )
        elif state == "toolsRunning":
            self._power(vm, facts, "poweredOn")
            deadline = time.monotonic() + min(self.timeout, 3.0)
            while not self._tools_running(vm):
                if time.monotonic() > deadline:
                    raise Skip("VMware Tools do not run in the sandbox's (empty) VMs")
                time.sleep(0.2)
        elif state == "recording":
            self._power(vm, facts, "poweredOn")
            self.run_task(
                "VirtualMachine",
                vm,
                "StartRecording_Task",
                {"name": unique_name("recording")},
                f"record {vm}",
            )
        elif state == "toolsMounted":
            self._power(vm, facts, "poweredOn")
            self._ok(
                self.invoke_when_idle("VirtualMachine", vm, "MountToolsInstaller"), f"mount tools on {vm}"
            )
        elif state in ("ftPrimary", "ftDisabled"):
            self._power(vm, facts, "poweredOn")
            self._make_ft_primary(vm)
            if state == "ftDisabled":
                self.run_task(
                    "VirtualMachine",
                    vm,
                    "DisableSecondaryVM_Task",
                    {"vm": moref("VirtualMachine", self.secondaries[vm])},
                    f"disable the FT secondary of {vm}",
                )

    def _make_ft_primary(self, vm: str) -> None:
        hosts = self.inventory.hosts
        body = {"host": moref("HostSystem", hosts[1])} if len(hosts) > 1 else None
        ex = self.client.invoke("VirtualMachine", vm, "CreateSecondaryVM_Task", body)
        if not ex.ok:
            raise Skip(
                f"cannot make a Fault Tolerance primary: CreateSecondaryVM_Task answered {ex.fault_type}"
            )
        info = self.client.wait_task(ex.json, timeout=self.timeout)[-1]
        if info.get("state") != "success":
            fault = (info.get("error") or {}).get("_typeName", "an error")
            raise Skip(f"cannot make a Fault Tolerance primary (needs an FT-capable host pair): {fault}")
        secondary = walk(info.get("result"), ["vm", "value"])
        if not secondary:
            raise SetupError("CreateSecondaryVM_Task succeeded without the secondary in its result")
        self.secondaries[vm] = secondary

    def _reach(self, vm: str, state: str) -> str:
        if state in self._skips:
            raise Skip(self._skips[state])
        try:
            self._drive(vm, state)
        except Skip as exc:
            self._skips[state] = str(exc)
            raise
        return vm

    def vm(self, state: str = "poweredOff") -> dict[str, str]:
        """A shared sandbox VM in ``state`` (its MoRef JSON); re-driven when a check changed it."""
        if state not in STATES:
            raise ValueError(f"unknown sandbox state {state!r}; known: {', '.join(STATES)}")
        if self.read_only:
            return moref("VirtualMachine", self._existing_vm(state))
        vm = self._shared.get(state)
        if vm is not None and self.observe(vm) is None:
            vm = None
        if vm is None:
            vm = self._shared[state] = self.create_vm()
        try:
            return moref("VirtualMachine", self._reach(vm, state))
        except SetupError:
            # a check may have left the shared VM where it cannot be driven back: start afresh
            vm = self._shared[state] = self.create_vm()
            return moref("VirtualMachine", self._reach(vm, state))

    def fresh_vm(self, state: str = "poweredOff") -> dict[str, str]:
        """A new sandbox VM in ``state``, not shared with other checks (for destructive operations)."""
        if self.read_only:
            raise Skip("read-only run: the harness creates no sandbox")
        return moref("VirtualMachine", self._reach(self.create_vm(), state))

    def own_vm(self, key: str) -> str:
        """A VM dedicated to one user (``key``), created on first use and kept for the run."""
        if self.read_only:
            raise Skip("read-only run: the harness creates no sandbox")
        vm = self._shared.get(f"own:{key}")
        if vm is None or self.observe(vm) is None:
            vm = self._shared[f"own:{key}"] = self.create_vm()
        return vm

    def set_own_vm(self, key: str, vm: str) -> None:
        """``vm`` (a sandbox VM) now serves ``key`` (after an FT failover, say)."""
        self._shared[f"own:{key}"] = vm

    def reset_vm(self, vm: str) -> None:
        """Back to a plain VM: no FT, not a template, powered off, no snapshots."""
        self._drive(vm, "poweredOff")
        facts = self.observe(vm)
        if facts and facts["snapshot"]:
            self.run_task(
                "VirtualMachine", vm, "RemoveAllSnapshots_Task", what=f"remove the snapshots of {vm}"
            )

    def _existing_vm(self, state: str) -> str:
        """Read-only mode: an existing VM in ``state`` (found, never changed)."""
        key = f"existing:{state}"
        if key in self._shared:
            return self._shared[key]
        folders = [self.inventory.vm_folder] if self.inventory.vm_folder else []
        seen = 0
        while folders and seen < 200:
            ex = self.client.get("Folder", folders.pop(0), "childEntity")
            for child in ex.json if ex.ok and isinstance(ex.json, list) else []:
                if child.get("type") == "Folder":
                    folders.append(child["value"])
                elif child.get("type") == "VirtualMachine":
                    seen += 1
                    facts = self.observe(child["value"])
                    if (
                        facts
                        and state in ("poweredOff", "poweredOn", "suspended", "template", "withSnapshot")
                        and self._in_state(child["value"], state, facts)
                    ):
                        self._shared[key] = child["value"]
                        return child["value"]
        raise Skip(f"read-only run: no existing VM is {state}")

    # --- the sample of existing VMs --------------------------------------------------------------
    def sample(self) -> list[Sampled]:
        """The sampled existing VMs (surveyed and chosen on first use; see :mod:`harness.run.inventory`)."""
        if self._sample is None:
            self._sample = []
            if self.sample_size > 0:
                found = survey(self.client, limit=max(50, 10 * self.sample_size), skip=self._not_sampled)
                self._sample = choose(found.candidates, self.sample_size, self.sample_seed)
                self.sample_notes = found.notes[:5]
                if found.truncated:
                    self.sample_notes.append(f"survey stopped after {len(found.candidates)} VMs")
        return self._sample

    def sample_summary(self) -> dict[str, Any]:
        """What the run sampled, for results.json (``stats.inventory_sample``)."""
        sample = self._sample or []
        return {
            "size": self.sample_size,
            "vms": [s.label for s in sample],
            "kinds": coverage(sample),
            **({"notes": self.sample_notes} if self.sample_notes else {}),
        }

    def _not_sampled(self, managed_type: str, moid: str) -> bool:
        return self.owns(moid) or moid in self.created_folders

    def sample_targets(self, contract: Contract) -> Iterator[Target]:
        """The contract's prepared request on each sampled existing VM (on its current snapshot, for
        snapshot operations) — only for operations that change nothing; nothing otherwise."""
        if contract.changes_state or self.sample_size <= 0:
            return
        mt = contract.managed_type
        if mt not in ("VirtualMachine", "VirtualMachineSnapshot"):
            return
        try:
            inv = self.inventory
        except SetupError:
            return
        for s in self.sample():
            if self.owns(s.moid):
                continue
            moid = s.moid if mt == "VirtualMachine" else s.snapshot
            if not moid:
                continue
            refs = Refs(
                inv,
                folder=self._folder,
                vm=s.moid,
                snapshot=s.snapshot,
                vm_path=s.vm_path,
                user=self.user(),
                prefix=f"vsphere-harness-{self.run_id}",
            )
            try:
                target = self._target(contract, mt, moid, refs, vm=s.moid)
            except SetupError:
                continue
            target.ctx.existing = s.label if mt == "VirtualMachine" else f"{moid} of {s.label}"
            yield target

    # --- targets -----------------------------------------------------------------------------
    def target_for(self, contract: Contract, state: str | None = None, fresh: bool | None = None) -> Target:
        """An object meeting the contract's preconditions and a valid request for it.

        ``state`` forces the VM state; ``fresh`` a VM of its own (default: for destructive
        operations).  Raises :class:`Skip` when the target cannot exist here (read-only run and a
        state-changing operation, an FT pair that cannot be made ...)."""
        if self.read_only and contract.changes_state:
            raise Skip("read-only run: the operation changes state")
        mt = contract.managed_type
        if mt == "VirtualMachine":
            return self._vm_target(contract, state, fresh)
        if mt == "VirtualMachineSnapshot":
            vm = self.vm("withSnapshot")["value"]
            facts = self.observe(vm) or {}
            snap = facts.get("snapshot")
            if not snap:
                raise SetupError(f"sandbox VM {vm} has no current snapshot")
            refs = self._refs(vm=vm, snapshot=snap)
            return self._target(contract, mt, snap, refs, state="withSnapshot", vm=vm)
        return self._support_target(contract)

    def unmet(self, contract: Contract, vm: str) -> list[dict[str, Any]]:
        """The curated target preconditions a VM does not meet now (read from the endpoint; a
        property the endpoint does not serve counts as met)."""
        values: dict[str, Any] = {}
        out = []
        for pre in contract.preconditions:
            if "target" not in pre:
                continue
            head, *rest = pre["target"].split(".")
            if head not in values:
                ex = self.client.get("VirtualMachine", vm, head)
                values[head] = ex.json if ex.ok else MISSING
            if values[head] is not MISSING and not holds(pre, walk(values[head], rest)):
                out.append(pre)
        return out

    def _vm_target(
        self, contract: Contract, state: str | None, fresh: bool | None, verify: bool = True
    ) -> Target:
        candidates = [state] if state else states_for(contract)
        notes = []
        if not candidates:
            # nothing meets every precondition: the call will be refused, which most checks still judge
            candidates = [STATE_BY_OP.get(contract.name, "poweredOff")]
            notes.append("no sandbox state meets every precondition of the operation")
        fresh = contract.name in DESTRUCTIVE if fresh is None else fresh
        reasons = []
        for st in candidates:
            try:
                vm = (self.fresh_vm(st) if fresh and not self.read_only else self.vm(st))["value"]
                if verify and not fresh and not self.read_only and self.unmet(contract, vm):
                    # an earlier check left the shared VM so (tools installer mounted, recording ...)
                    vm = self.fresh_vm(st)["value"]
            except Skip as exc:
                reasons.append(str(exc))
                continue
            facts = self.observe(vm) or {}
            snap = facts.get("snapshot")
            refs = self._refs(
                vm=vm, snapshot=snap, secondary=self.secondaries.get(vm), vm_path=facts.get("vmPathName")
            )
            target = self._target(contract, "VirtualMachine", vm, refs, state=st, vm=vm)
            target.ctx.notes.extend(notes)
            return target
        raise Skip("; ".join(dict.fromkeys(reasons)))

    def _refs(self, **kw: Any) -> Refs:
        folder = self._folder if (self.read_only or self._folder) else self.folder
        return Refs(
            self.inventory, folder=folder, user=self.user(), prefix=f"vsphere-harness-{self.run_id}", **kw
        )

    def _target(self, contract: Contract, mt: str, moid: str, refs: Refs, **kw: Any) -> Target:
        values = request_values(contract, self.release, refs)
        try:
            body = encode_request(contract, self.release, values)
        except CodecError as exc:
            raise SetupError(f"sandbox: cannot build a valid {contract.name} request: {exc}") from None
        return Target(moid, Prepared(mt, moid, body, values, **kw))

    def _support_target(self, contract: Contract) -> Target:
        content = self.client.content
        mt, name = contract.managed_type, contract.name

        def manager(key: str) -> str:
            ref = content.get(key)
            if not isinstance(ref, dict):
                raise Skip(f"the endpoint has no {key}")
            return ref["value"]

        if mt == "ServiceInstance":
            return self._target(contract, mt, "ServiceInstance", self._refs())
        if mt == "SessionManager":
            if name == "Login":
                raise Skip(
                    "Login carries credentials; the harness's own login and the session check exercise it"
                )
            if name == "Logout":
                raise Skip("Logout would end the harness's session; the session check exercises it")
            return self._target(contract, mt, manager("sessionManager"), self._refs())
        if mt == "AuthorizationManager":
            am = manager("authorizationManager")
            if contract.changes_state and self.read_only:
                raise Skip("read-only run: the operation changes state")
            vm = None if self.read_only else self.vm("poweredOff")["value"]
            refs = self._refs(vm=vm)
            target = self._target(contract, mt, am, refs)
            if name in ("RemoveAuthorizationRole", "UpdateAuthorizationRole"):
                role = self.create_role([])
                target.ctx.body = {
                    "roleId": role,
                    **(
                        {"failIfUsed": False}
                        if name.startswith("Remove")
                        else {"newName": unique_name("vsphere-harness-role")}
                    ),
                }
            elif name == "RemoveEntityPermission":
                user = self.principal
                if not user or user == self.user():
                    raise Skip("no principal other than the harness's own user to give and take a permission")
                self.set_permission(vm or "", user, -2)  # ReadOnly role on our VM
                target.ctx.body = {
                    "entity": moref("VirtualMachine", vm or ""),
                    "user": user,
                    "isGroup": False,
                }
            return target
        if mt == "Folder":
            if name == "Destroy_Task":
                sub = self._ok(
                    self.client.invoke(
                        "Folder", self.folder, "CreateFolder", {"name": unique_name("folder")}
                    ),
                    "create a sub-folder",
                )
                self.created_folders.append(sub["value"])
                return self._target(contract, mt, sub["value"], self._refs())
            return self._target(
                contract,
                mt,
                self.folder if not self.read_only else (self.inventory.vm_folder or ""),
                self._refs(),
            )
        if mt == "Task":
            task = self.a_task()
            return self._target(contract, mt, task, self._refs())
        if mt == "HostSystem":
            if contract.changes_state:
                raise Skip("the operation changes a host, which the harness did not create")
            if not self.inventory.hosts:
                raise Skip("the endpoint has no host")
            return self._target(contract, mt, self.inventory.hosts[0], self._refs())
        raise Skip(f"the sandbox has no target of type {mt}")

    def a_task(self) -> str:
        """A task of this run (an empty reconfiguration of a sandbox VM); its moId."""
        if self.read_only:
            raise Skip("read-only run: the harness starts no task")
        vm = self.own_vm("tasks")
        ref = self._ok(
            self.invoke_when_idle(
                "VirtualMachine", vm, "ReconfigVM_Task", {"spec": {"_typeName": "VirtualMachineConfigSpec"}}
            ),
            "start a task",
        )
        return ref["value"]

    def violating_targets(self, contract: Contract) -> Iterator[Target]:
        """Targets each breaking one curated target precondition that names a fault (as far as the
        sandbox can reach such a state): ``ctx.precondition`` and ``ctx.expected_fault`` say which."""
        if contract.managed_type != "VirtualMachine" or self.read_only:
            return
        for st, pre in violating_states(contract):
            try:
                target = self._vm_target(contract, st, contract.name in DESTRUCTIVE, verify=False)
                if pre not in self.unmet(contract, target.moid):
                    # the shared VM does not break it after all (an earlier check changed it)
                    target = self._vm_target(contract, st, True, verify=False)
                    if pre not in self.unmet(contract, target.moid):
                        continue
            except Skip:
                continue
            target.ctx.precondition = pre
            target.ctx.expected_fault = pre.get("fault")
            yield target

    def violating_target(self, contract: Contract) -> Target | None:
        """The first of :meth:`violating_targets` (None when there is none)."""
        return next(self.violating_targets(contract), None)

    # --- authorization helpers (privileges check) -----------------------------------------------
    def create_role(self, privileges: list[str]) -> int:
        am = self.client.content["authorizationManager"]["value"]
        role = self._ok(
            self.client.invoke(
                "AuthorizationManager",
                am,
                "AddAuthorizationRole",
                {"name": f"vsphere-harness-{self.run_id}-{unique_name('role')}", "privIds": privileges},
            ),
            "create a role",
        )
        role_id = int(role)
        self.created_roles.append(role_id)
        return role_id

    def set_permission(
        self, vm: str, principal: str, role_id: int, entity_type: str = "VirtualMachine"
    ) -> None:
        """Give ``principal`` the role on a sandbox VM or folder (only on objects the sandbox created)."""
        if not self.owns(vm):
            raise SetupError(f"sandbox: refusing to set a permission on {vm}, which it did not create")
        if principal == self.user():
            raise SetupError("sandbox: refusing to change the harness's own permissions")
        am = self.client.content["authorizationManager"]["value"]
        perm = {
            "_typeName": "Permission",
            "principal": principal,
            "group": False,
            "roleId": role_id,
            "propagate": True,
        }
        self._ok(
            self.client.invoke(
                "AuthorizationManager",
                am,
                "SetEntityPermissions",
                {"entity": moref(entity_type, vm), "permission": [perm]},
            ),
            f"grant a role on {vm}",
        )
        self.permissions.append((entity_type, vm, principal))

    def remove_permission(self, vm: str, principal: str, entity_type: str = "VirtualMachine") -> None:
        am = self.client.content["authorizationManager"]["value"]
        ex = self.client.invoke(
            "AuthorizationManager",
            am,
            "RemoveEntityPermission",
            {"entity": moref(entity_type, vm), "user": principal, "isGroup": False},
        )
        if ex.ok and (entity_type, vm, principal) in self.permissions:
            self.permissions.remove((entity_type, vm, principal))

    def remove_role(self, role_id: int) -> None:
        am = self.client.content["authorizationManager"]["value"]
        ex = self.client.invoke(
            "AuthorizationManager", am, "RemoveAuthorizationRole", {"roleId": role_id, "failIfUsed": False}
        )
        if ex.ok and role_id in self.created_roles:
            self.created_roles.remove(role_id)

    # --- cleanup -----------------------------------------------------------------------------
    def cleanup(self) -> list[str]:
        """Destroy what the sandbox created; what could not be cleaned, one line each."""
        problems: list[str] = []
        if self.read_only:
            return problems
        am = (self.client.content.get("authorizationManager") or {}).get("value")
        for etype, moid, principal in reversed(self.permissions):
            ex = self._try(
                lambda e=etype, m=moid, p=principal: self.client.invoke(
                    "AuthorizationManager",
                    am,
                    "RemoveEntityPermission",
                    {"entity": moref(e, m), "user": p, "isGroup": False},
                )
            )
            if ex is not None and not ex.ok and ex.fault_type not in ("NotFound", "ManagedObjectNotFound"):
                problems.append(f"permission of {principal} on {moid}: {ex.fault_type or ex.status}")
        roles = self._try(lambda: self.client.get("AuthorizationManager", am, "roleList"))
        prefix = f"vsphere-harness-{self.run_id}-"
        for role in roles.json if roles is not None and roles.ok and isinstance(roles.json, list) else []:
            if isinstance(role, dict) and str(role.get("name", "")).startswith(prefix):
                self.created_roles.append(role.get("roleId"))  # made by a check's AddAuthorizationRole
        for role in list(dict.fromkeys(self.created_roles)):
            ex = self._try(
                lambda r=role: self.client.invoke(
                    "AuthorizationManager", am, "RemoveAuthorizationRole", {"roleId": r, "failIfUsed": False}
                )
            )
            if ex is None or not ex.ok and ex.fault_type != "NotFound":
                problems.append(f"role {role}: {ex.fault_type if ex is not None else 'no answer'}")
        vms = list(dict.fromkeys(self.created_vms + self._folder_vms()))
        for vm in vms:  # FT primaries first: turning FT off removes their secondaries
            facts = self._try(lambda v=vm: self.observe(v))
            if facts and facts["ftRole"] == 1:
                try:
                    self.run_task(
                        "VirtualMachine", vm, "TurnOffFaultToleranceForVM_Task", what=f"turn off FT of {vm}"
                    )
                except Exception as exc:  # noqa: BLE001 - report, never raise, in cleanup
                    problems.append(f"VM {vm}: {exc}")
        for vm in list(dict.fromkeys(vms + self._folder_vms())):
            problem = self._destroy_vm(vm)
            if problem:
                problems.append(problem)
        for folder in reversed(self.created_folders):
            gone = self._try(lambda f=folder: self.client.get("Folder", f, "childEntity"))
            if gone is not None and gone.fault_type == "ManagedObjectNotFound":
                continue  # destroyed already (by a check, or with its parent)
            try:
                self.run_task("Folder", folder, "Destroy_Task", what=f"destroy folder {folder}")
            except Exception as exc:  # noqa: BLE001 - report, never raise, in cleanup
                problems.append(f"folder {folder}: {exc}")
        return problems

    def _try(self, fn: Any) -> Any:
        try:
            return fn()
        except Exception:  # noqa: BLE001 - cleanup reports instead of raising
            return None

    def _folder_vms(self) -> list[str]:
        out, folders = [], list(self.created_folders)
        while folders:
            folder = folders.pop(0)
            ex = self._try(lambda f=folder: self.client.get("Folder", f, "childEntity"))
            for child in ex.json if ex is not None and ex.ok and isinstance(ex.json, list) else []:
                if child.get("type") == "VirtualMachine":
                    out.append(child["value"])
                elif child.get("type") == "Folder":
                    folders.append(child["value"])
        return out

    def _destroy_vm(self, vm: str) -> str | None:
        try:
            facts = self.observe(vm)
            if facts is None:
                return None
            if facts["ftRole"]:
                return f"VM {vm}: still in a Fault Tolerance pair (role {facts['ftRole']})"
            if facts["powerState"] in ("poweredOn", "suspended"):
                self.run_task("VirtualMachine", vm, "PowerOffVM_Task", what=f"power off {vm}")
            self.run_task("VirtualMachine", vm, "Destroy_Task", what=f"destroy {vm}")
        except Exception as exc:  # noqa: BLE001 - report, never raise, in cleanup
            return f"VM {vm}: {exc}"
        return None
