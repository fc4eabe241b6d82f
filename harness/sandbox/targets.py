"""Targets: an object meeting an operation's preconditions and a valid request for it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from ..contract.model import Contract
from ..contract.semantics import MISSING, holds_on_wire, walk
from ..gen.bodies import encode_request
from ..outcomes import Skip
from ..vmodl.codec import CodecError
from .authz import Permissions
from .base import SandboxBase, SetupError
from .reads import moref, unique_name
from .state_table import DESTRUCTIVE, STATE_BY_OP, states_for, violating_states
from .states import VmStates
from .values import TEST_DISK, Refs, request_values


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
    prepared: Prepared


#: States a shared VM, once brought into them, can always be brought into again (an FT pair, a
#: recording, tools that must run depend on more than the VM itself).
REDRIVABLE = frozenset({"poweredOff", "poweredOn", "suspended", "withSnapshot", "template"})


class Targets(VmStates, Permissions, SandboxBase):
    """Targets for every contracted operation: sandbox VMs in the state its preconditions need, their
    snapshots, the managers of ServiceContent, the sandbox folder, a task of the run, a host."""

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
            vm, facts = self.vm_in("withSnapshot")
            snap = facts.get("snapshot")
            if not snap:
                raise SetupError(f"sandbox VM {vm} has no current snapshot")
            refs = self._refs(vm=vm, snapshot=snap)
            return self._target(contract, mt, snap, refs, state="withSnapshot", vm=vm)
        return self._support_target(contract)

    def known_reachable(self, contract: Contract) -> bool:
        """Whether a sandbox VM was already brought into a state the operation's target needs, so
        that its target can be built (without building it: a check that only needs to know spares
        the driving).  False when unknown."""
        if contract.managed_type != "VirtualMachine" or self.read_only or contract.name in DESTRUCTIVE:
            return False  # a fresh VM each time: whether the next one can be made is not known
        candidates = states_for(contract) or [STATE_BY_OP.get(contract.name, "poweredOff")]
        return any(state in self.reached and state in REDRIVABLE for state in candidates)

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
            if values[head] is not MISSING and not holds_on_wire(pre, walk(values[head], rest)):
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
                vm, facts = self.fresh_vm_in(st) if fresh and not self.read_only else self.vm_in(st)
                if verify and not fresh and not self.read_only and self.unmet(contract, vm):
                    # an earlier check left the shared VM so (tools installer mounted, recording ...)
                    vm, facts = self.fresh_vm_in(st)
            except Skip as exc:
                reasons.append(str(exc))
                continue
            snap = facts.get("snapshot")
            refs = self._refs(
                vm=vm, snapshot=snap, secondary=self.secondaries.get(vm), vm_path=facts.get("vmPathName")
            )
            if contract.name == "DetachDisk_Task" and not self.read_only:
                self._attach_test_disk(vm)
            target = self._target(contract, "VirtualMachine", vm, refs, state=st, vm=vm)
            target.prepared.notes.extend(notes)
            return target
        raise Skip("; ".join(dict.fromkeys(reasons)))

    def _attach_test_disk(self, vm: str) -> None:
        """DetachDisk_Task needs the disk its request names attached; attach it (an endpoint that
        answers that it is attached already is fine), so that the verdict does not depend on whether
        AttachDisk_Task ran before on the same VM (shards, xdist workers, ``-o`` filters)."""
        datastores = self.inventory.datastores
        if not datastores:
            return
        body = {
            "diskId": {"_typeName": "ID", "id": TEST_DISK},
            "datastore": moref("Datastore", datastores[0]),
        }
        ex = self.invoke_when_idle("VirtualMachine", vm, "AttachDisk_Task", body)
        if ex.ok and isinstance(ex.json, dict):
            self.client.wait_task(ex.json, timeout=self.timeout)

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
        """The target of an operation of a support type (one method per managed type below)."""
        build = getattr(self, f"_target_of_{contract.managed_type}", None)
        if build is None:
            raise Skip(f"the sandbox has no target of type {contract.managed_type}")
        return build(contract)

    def _manager(self, key: str) -> str:
        """The moId of a manager of ServiceContent (Skip when the endpoint has none)."""
        ref = self.client.content.get(key)
        if not isinstance(ref, dict):
            raise Skip(f"the endpoint has no {key}")
        return ref["value"]

    def _target_of_ServiceInstance(self, contract: Contract) -> Target:
        return self._target(contract, "ServiceInstance", "ServiceInstance", self._refs())

    def _target_of_SessionManager(self, contract: Contract) -> Target:
        if contract.name == "Login":
            raise Skip("Login carries credentials; the harness's own login and the session check exercise it")
        if contract.name == "Logout":
            raise Skip("Logout would end the harness's session; the session check exercises it")
        return self._target(contract, "SessionManager", self._manager("sessionManager"), self._refs())

    def _target_of_AuthorizationManager(self, contract: Contract) -> Target:
        """A role of the run to update or remove, a permission of the run to take away."""
        name = contract.name
        am = self._manager("authorizationManager")
        if contract.changes_state and self.read_only:
            raise Skip("read-only run: the operation changes state")
        vm = None if self.read_only else self.vm("poweredOff")["value"]
        target = self._target(contract, "AuthorizationManager", am, self._refs(vm=vm))
        if name in ("RemoveAuthorizationRole", "UpdateAuthorizationRole"):
            role = self.create_role([])
            target.prepared.body = {
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
            target.prepared.body = {
                "entity": moref("VirtualMachine", vm or ""),
                "user": user,
                "isGroup": False,
            }
        return target

    def _target_of_Folder(self, contract: Contract) -> Target:
        """The sandbox folder; for Destroy_Task, a sub-folder made for it."""
        if contract.name == "Destroy_Task":
            sub = self._ok(
                self.client.invoke("Folder", self.folder, "CreateFolder", {"name": unique_name("folder")}),
                "create a sub-folder",
            )
            self.created_folders.append(sub["value"])
            return self._target(contract, "Folder", sub["value"], self._refs())
        folder = self.folder if not self.read_only else (self.inventory.vm_folder or "")
        return self._target(contract, "Folder", folder, self._refs())

    def _target_of_Task(self, contract: Contract) -> Target:
        return self._target(contract, "Task", self.a_task(), self._refs())

    def _target_of_HostSystem(self, contract: Contract) -> Target:
        if contract.changes_state:
            raise Skip("the operation changes a host, which the harness did not create")
        if not self.inventory.hosts:
            raise Skip("the endpoint has no host")
        return self._target(contract, "HostSystem", self.inventory.hosts[0], self._refs())

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
            target.prepared.precondition = pre
            target.prepared.expected_fault = pre.get("fault")
            yield target

    def violating_target(self, contract: Contract) -> Target | None:
        """The first of :meth:`violating_targets` (None when there is none)."""
        return next(self.violating_targets(contract), None)
