"""The base of the operations: the ``op`` registry, :class:`Call` and :class:`TaskPlan`.

A handler checks preconditions (raising :class:`SimFault`, or ``call.require``) and returns what
to do: for a synchronous method a callable that applies the effect and returns the response
value; for a task method a callable (the work, run when the task completes) or a
:class:`TaskPlan`.  Splitting the check from the effect lets the misbehaviour switches skip an
effect, or apply it despite a failure, and lets tasks apply effects when they complete.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...vmodl.registry import release
from ...vmodl.values import DataObject, MoRef
from ..faults import SimFault, task_in_progress
from ..lease import lock_fault
from ..model import VM, Folder, Host, Managed, Snapshot
from ..preconditions import holds_in_state, lookup_path, walk

if TYPE_CHECKING:
    from ..auth import Session
    from ..build import Builder
    from ..optable import OpSpec
    from ..responses import Response
    from ..rules import RuleHit
    from ..simulator import Simulator

Handler = Callable[["Call"], Any]
HANDLERS: dict[tuple[str, str], Handler] = {}

#: VirtualMachine methods that change nothing: never refused as busy, never skipped.
READ_ONLY = frozenset(
    {
        "AcquireMksTicket",
        "AcquireTicket",
        "CheckCustomizationSpec",
        "EstimateStorageForConsolidateSnapshots_Task",
        "ExtractOvfEnvironment",
        "QueryChangedDiskAreas",
        "QueryConnections",
        "QueryFaultToleranceCompatibility",
        "QueryFaultToleranceCompatibilityEx",
        "QueryUnownedFiles",
        "RefreshStorageInfo",
        "Reload",
        "CreateScreenshot_Task",
        "CurrentTime",
        "HasPrivilegeOnEntity",
        "HasPrivilegeOnEntities",
        "FetchUserPrivilegeOnEntities",
        "RetrieveAllPermissions",
        "RetrieveEntityPermissions",
        "Login",
        "Logout",
        "CancelTask",
    }
)

#: Tasks a client may cancel while they run (unless the contract's semantics say otherwise).
CANCELABLE = frozenset(
    {
        "CloneVM_Task",
        "InstantClone_Task",
        "RelocateVM_Task",
        "MigrateVM_Task",
        "ConsolidateVMDisks_Task",
        "CreateSecondaryVM_Task",
        "CreateSecondaryVMEx_Task",
        "EstimateStorageForConsolidateSnapshots_Task",
        "UpgradeTools_Task",
        "PromoteDisks_Task",
        "EnterMaintenanceMode_Task",
        "CreateVM_Task",
    }
)


_serials = itertools.count(1)


def serial() -> int:
    """The next number of one process-wide counter (console tickets, export leases)."""
    return next(_serials)


def op(managed_type: str, *names: str) -> Callable[[Handler], Handler]:
    """Register the decorated function as the handler of ``managed_type``'s methods ``names``."""

    def register(fn: Handler) -> Handler:
        for name in names:
            HANDLERS[(managed_type, name)] = fn
        return fn

    return register


@dataclass
class TaskPlan:
    """What a task method does: its work, the objects it holds (default: the call's), its entity,
    and how long it lasts at least (a task that waits, EnterMaintenanceMode_Task's ``timeout``)."""

    work: Callable[[], Any] | None
    locks: list[Managed] | None = None
    entity: Managed | None = None
    min_delay_s: float = 0.0


class Call:
    """One operation call: target, decoded parameters, caller and the release's builder."""

    def __init__(
        self,
        sim: Simulator,
        spec: OpSpec,
        b: Builder,
        obj: Managed,
        session: Session | None,
        params: dict[str, Any],
        headers: dict[str, str],
        client: str,
    ):
        self.sim = sim
        self.spec = spec
        self.b = b
        self.obj = obj
        self.session = session
        self.params = params
        self.headers = headers
        self.client = client
        self.force = False
        self.rule: RuleHit | None = None
        #: the session a Login call opened (its key goes back in the response header)
        self.new_session: Session | None = None
        #: a fault found while decoding that the method reports itself (in its task), not the dispatcher
        self.deferred: SimFault | None = None

    # conveniences ------------------------------------------------------------------------------------
    @property
    def name(self) -> str:
        return self.spec.contract.name

    @property
    def vm(self) -> VM:
        return self.obj  # type: ignore[return-value]

    def p(self, name: str, default: Any = None) -> Any:
        value = self.params.get(name)
        return default if value is None else value

    def ref_obj(self, name: str) -> Managed | None:
        ref = self.params.get(name)
        return self.sim.inv.get(ref.value) if isinstance(ref, MoRef) else None

    def require(self, condition: bool, fault: Callable[[], SimFault] | SimFault) -> None:
        """Raise ``fault`` unless ``condition`` holds (or the call is forced by effects_on_failure)."""
        if condition or self.force:
            return
        raise fault() if callable(fault) else fault

    def user_name(self) -> str:
        return self.session.user.name if self.session is not None else "anonymous"

    def description_id(self) -> str:
        c = self.spec.contract
        rel = release(self.spec.release)
        try:
            vmodl = rel.method(c.managed_type, c.name).vmodl_name
        except KeyError:
            vmodl = c.name
        return f"{c.declared_by}.{vmodl}"

    def delay_s(self) -> float:
        cfg = self.sim.cfg
        default = cfg.task_delay_ms / 1000.0 * cfg.method_delay_factor.get(self.name, 1.0)
        if self.rule is not None and self.rule.into == "task" and self.rule.delay_s:
            return max(default, self.rule.delay_s)  # a rule "into: task" with a delay slows the task
        return default

    def locked_objects(self) -> list[Managed]:
        """The objects this call holds while it runs: the contract's ``locks`` (``target`` and
        parameter names), else the target."""
        obj = self.obj
        target = obj.vm if isinstance(obj, Snapshot) else obj
        names = self.spec.contract.semantics.get("locks")
        if names is None:
            return [target] if isinstance(target, VM | Host | Folder) else []
        out: list[Managed] = []
        for name in names:
            if name == "target":
                if isinstance(target, VM | Host | Folder):
                    out.append(target)
            else:
                other = self.ref_obj(name)
                if isinstance(other, VM | Host) and other not in out:
                    out.append(other)
        return out

    def read_only(self) -> bool:
        return bool(self.spec.contract.semantics.get("read_only", self.name in READ_ONLY))

    def check_busy(self) -> None:
        """TaskInProgress when the target (or an object the call would lock) is busy with a task."""
        if self.read_only():
            return
        if self.name == "MakePrimaryVM_Task" and "ft_double_swap" in self.sim.misbehave:
            return
        obj = self.obj.vm if isinstance(self.obj, Snapshot) else self.obj
        locked = lock_fault(self.sim, obj) if isinstance(obj, VM) else None  # an open export lease
        if locked is not None and not self.force:
            raise locked
        if "no_task_lock" in self.sim.misbehave:
            return
        for target in {id(o): o for o in [obj, *self.locked_objects()]}.values():
            busy = getattr(target, "busy_task", None)
            if busy is not None:
                task = self.sim.inv.get(busy.value)
                if task is not None:
                    self.sim.tasks.advance(task)  # type: ignore[arg-type]
                busy = getattr(target, "busy_task", None)
                if busy is not None and not self.force:
                    raise task_in_progress(busy)

    # privileges -------------------------------------------------------------------------------------------
    def required_privileges(self) -> list[tuple[Managed, list[str]]]:
        c = self.spec.contract
        out: list[tuple[Managed, list[str]]] = []
        if c.privileges:
            out.append((self.obj, list(c.privileges)))
        for param in c.params_for(self.spec.release):
            if param.privilege and param.name in self.params:
                for ref in _refs(self.params[param.name]):
                    target = self.sim.inv.get(ref.value)
                    if target is not None:
                        out.append((target, [param.privilege]))
        for cond in c.conditional_privileges:
            when = cond.when
            try:
                if "target" in when:
                    value = lookup_path(self.sim, self.obj, when["target"], self.b)
                else:
                    name, _, rest = str(when.get("param", "")).partition(".")
                    value = walk(self.params.get(name), rest)
            except SimFault:
                continue
            if not holds_in_state(when, value):
                continue
            entities: list[Managed] = [self.obj]
            if isinstance(cond.on, dict):  # every object found on the target (each disk's datastore)
                entities = self.objects_on_target(cond.on)
            elif cond.on != "target":
                name, _, rest = cond.on.partition(".")
                ref = walk(self.params.get(name), rest)
                found = self.sim.inv.get(ref.value) if isinstance(ref, MoRef) else None
                entities = [found] if found is not None else []
            out.extend((entity, list(cond.privileges)) for entity in entities)
        return out

    def objects_on_target(self, on: dict[str, str]) -> list[Managed]:
        """The managed objects an ``on: {target, each, path}`` names: the references at ``target`` (a
        property path of the target object), through each item of an array (only the items of type
        ``each``, or of one of its subtypes, when given), then at ``path`` within an item; each once."""
        try:
            value = lookup_path(self.sim, self.obj, on["target"], self.b)
        except SimFault:
            return []
        rel, each, out = self.b.rel, on.get("each"), {}
        for item in value if isinstance(value, list) else [value]:
            if each and not (
                isinstance(item, DataObject)
                and rel.exists(item.type_name)
                and rel.is_subtype(item.type_name, each)
            ):
                continue
            found = walk(item, on.get("path", ""))
            for ref in found if isinstance(found, list) else [found]:
                entity = self.sim.inv.get(ref.value) if isinstance(ref, MoRef) else None
                if entity is not None:
                    out.setdefault(entity.moid, entity)
        return list(out.values())

    # the answer -------------------------------------------------------------------------------------------
    def finish(self, outcome: Any) -> Response:
        sim, c = self.sim, self.spec.contract
        skip = "skip_effects" in sim.misbehave and not self.read_only()
        if c.is_task:
            plan = outcome if isinstance(outcome, TaskPlan) else TaskPlan(outcome)
            hit = self.rule
            error = hit.fault if hit is not None and hit.into == "task" else None
            hang = hit is not None and hit.into == "hang"
            entity = plan.entity or (self.obj.vm if isinstance(self.obj, Snapshot) else self.obj)
            cancelable = bool(c.semantics.get("cancelable", self.name in CANCELABLE))
            locks = (
                self.locked_objects()
                if "locks" in c.semantics
                else (
                    plan.locks
                    if plan.locks is not None
                    else []
                    if self.read_only()
                    else self.locked_objects()
                )
            )
            task = sim.tasks.create(
                entity,
                self.description_id(),
                self.user_name(),
                method=self.spec.contract.name,
                cancelable=cancelable or hang,
                delay_s=max(self.delay_s(), plan.min_delay_s),
                work=None if skip else plan.work,
                result_type=c.task_result,
                error=error,
                hang=hang,
                locks=locks,
            )
            return sim.ok(self, task.ref)
        if skip:
            value = None
            if self.spec.response is not None:
                value = self.b.default(self.spec.response)
            return sim.ok(self, value)
        try:
            target = self.obj.vm if isinstance(self.obj, Snapshot) else self.obj
            touched = [target, *self.locked_objects()]
            with sim.inv.locked(*touched):
                value = outcome() if callable(outcome) else outcome
                for obj in touched:
                    obj.touch()
        except SimFault as fault:
            return sim._failed(self, fault)
        return sim.ok(self, value)


def _refs(value: Any) -> list[MoRef]:
    if isinstance(value, MoRef):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, MoRef)]
    return []
