"""Helpers shared by the checks: verdicts with evidence, error handling, calls and fault rules."""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ..client import ClientError, Exchange, TaskTimeout, TransportError
from ..contract.model import Contract
from ..report.model import CheckResult, Evidence
from ..vmodl.registry import release as registry
from .base import CheckContext, CheckFn, Inconclusive, Skip

MAX_EVIDENCE = 6


class Verdict:
    """Collects what a check found; :meth:`result` turns it into a :class:`CheckResult`."""

    def __init__(self, name: str):
        self.name = name
        self.failures: list[str] = []
        self.errors: list[str] = []
        self.notes: list[str] = []
        self.evidence: list[Evidence] = []
        self.seen = 0  # exchanges judged
        self.where = ""  # prefixed to messages while set (:meth:`about`)

    @contextlib.contextmanager
    def about(self, where: str):
        """Messages recorded inside the block say where (``on existing VM vm-104 (poweredOn)``)."""
        before, self.where = self.where, where
        try:
            yield self
        finally:
            self.where = before

    def _keep(self, ex: Exchange | Evidence | None, note: str) -> None:
        if isinstance(ex, Exchange):
            ex.judged = True  # this check's verdict on it stands; the run's auditor leaves it alone
        if ex is None or len(self.evidence) >= MAX_EVIDENCE:
            return
        self.evidence.append(ex if isinstance(ex, Evidence) else ex.evidence(note=note))

    def fail(self, message: str, ex: Exchange | Evidence | None = None) -> None:
        message = f"{self.where}: {message}" if self.where else message
        self.failures.append(message)
        self._keep(ex, message)

    def error(self, message: str, ex: Exchange | Evidence | None = None) -> None:
        message = f"{self.where}: {message}" if self.where else message
        self.errors.append(message)
        self._keep(ex, message)

    def note(self, message: str) -> None:
        self.notes.append(message)

    def result(self, passed: str) -> CheckResult:
        if self.failures:
            msg = "; ".join(dict.fromkeys(self.failures))
            return CheckResult(self.name, "failed", _clip(msg), self.evidence)
        if self.errors:
            return CheckResult(
                self.name, "error", _clip("; ".join(dict.fromkeys(self.errors))), self.evidence
            )
        extra = f" ({'; '.join(dict.fromkeys(self.notes))})" if self.notes else ""
        return CheckResult(self.name, "passed", _clip(passed + extra), [])


def _clip(text: str, limit: int = 1500) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."


def guarded(name: str) -> Callable[[CheckFn], CheckFn]:
    """Turn Skip into ``skipped`` and network trouble, setup failures and unreadable tasks into
    ``error`` (never ``failed``); time the check."""

    def wrap(fn: CheckFn) -> CheckFn:
        @functools.wraps(fn)
        def run(ctx: CheckContext) -> CheckResult:
            start = time.perf_counter()
            try:
                result = fn(ctx)
            except Skip as exc:
                result = CheckResult(name, "skipped", str(exc) or "not applicable")
            except TransportError as exc:
                result = CheckResult(name, "error", f"network: {exc}", exc.evidence())
            except TaskTimeout as exc:
                result = CheckResult(name, "error", f"setup: {exc}")
            except ClientError as exc:
                result = CheckResult(name, "error", f"could not decide: {exc}", exc.evidence())
            except Inconclusive as exc:
                ev = exc.evidence() if hasattr(exc, "evidence") else []
                result = CheckResult(name, "error", str(exc), ev)
            result.duration_ms = round((time.perf_counter() - start) * 1000, 2)
            return result

        return run

    return wrap


# --- targets and calls ---------------------------------------------------------------------------
def target(ctx: CheckContext, **kw: Any) -> Any:
    """The sandbox target of the contract (``Target(moid, prepared)``); Skip without a sandbox."""
    if ctx.sandbox is None:
        raise Skip("no sandbox (the run has no objects to call)")
    limited = ctx.users.get("limited")
    if limited and getattr(ctx.sandbox, "principal", "") is None:
        ctx.sandbox.principal = limited[0]
    return ctx.sandbox.target_for(ctx.contract, **kw)


def call(
    client: Any,
    contract: Contract,
    prepared: Any,
    body: Any = "default",
    wait_idle: bool = True,
    timeout: float = 30.0,
) -> Exchange:
    """Send the contract's request to the prepared target (``body`` overrides the prepared one).

    With ``wait_idle`` a ``TaskInProgress`` answer naming another task (one an earlier check left
    running on a shared sandbox object) waits for that task and sends once more."""
    payload = prepared.body if body == "default" else body
    if getattr(prepared, "existing", None) and contract.changes_state:
        raise ValueError(
            f"refusing to send {contract.id}, which changes state, to {prepared.existing}: "
            "the harness never changes an object it did not create"
        )
    if contract.kind == "property":
        return client.get(prepared.managed_type, prepared.moid, contract.name)
    ex = client.invoke(prepared.managed_type, prepared.moid, contract.name, payload)
    busy = (ex.fault or {}).get("task") if wait_idle and ex.fault_type == "TaskInProgress" else None
    if isinstance(busy, dict) and busy.get("value"):
        try:
            client.wait_task(busy, timeout=timeout)
        except ClientError:
            return ex
        ex = client.invoke(prepared.managed_type, prepared.moid, contract.name, payload)
    return ex


def settle(client: Any, ex: Exchange, timeout: float) -> None:
    """Wait for the task an answer started (so that no task outlives the check that started it)."""
    if ex.ok and isinstance(ex.json, dict) and ex.json.get("type") == "Task" and ex.json.get("value"):
        with contextlib.suppress(ClientError):
            client.wait_task(ex.json, timeout=timeout)


def may_generate(ctx: CheckContext, prepared: Any) -> bool:
    """Whether generated (random) requests may be sent to the prepared target: on a simulator, for
    an operation that changes nothing, or when the target is the sandbox's own object.  Anything
    else (roles, permissions, hosts, folders the harness did not create) only gets prepared requests."""
    if ctx.simulated or not ctx.contract.changes_state:
        return True
    sb = ctx.sandbox
    if sb is None or not hasattr(sb, "owns"):
        return False
    owner = prepared.vm if prepared.managed_type == "VirtualMachineSnapshot" else prepared.moid
    return (
        bool(owner)
        and prepared.managed_type in ("VirtualMachine", "VirtualMachineSnapshot", "Folder")
        and sb.owns(owner)
    )


def sample_targets(ctx: CheckContext) -> Any:
    """The contract's prepared request on each sampled existing VM (``--inventory-sample``): only for
    operations that change nothing; none without a sandbox that samples."""
    sb = ctx.sandbox
    if sb is None or ctx.contract.changes_state or not hasattr(sb, "sample_targets"):
        return iter(())
    return sb.sample_targets(ctx.contract)


def safe_pool(ctx: CheckContext) -> Any:
    sb = ctx.sandbox
    return sb.safe_pool() if sb is not None and hasattr(sb, "safe_pool") else None


def path_of(contract: Contract, moid: str) -> str:
    return contract.path.replace("{moId}", moid)


# --- faults --------------------------------------------------------------------------------------
def fault_allowed(contract: Contract, release_name: str, fault: str) -> bool:
    """A fault may be answered when the contract declares it (or a supertype), it is a runtime fault,
    or it is ``TaskInProgress`` from an operation that changes state: vCenter refuses a change to an
    object busy with another task that way, whether or not the method declares it (the curated
    ``locks`` say which objects a task holds)."""
    rel = registry(release_name)
    if not rel.is_fault(fault):
        return False
    if rel.is_runtime_fault(fault):
        return True
    if fault == "TaskInProgress" and contract.changes_state:
        return True
    return any(
        rel.is_subtype(fault, declared)
        for declared in contract.faults_for(release_name)
        if rel.exists(declared)
    )


def is_fault_type(release_name: str, name: Any) -> bool:
    return isinstance(name, str) and registry(release_name).is_fault(name)


def task_fault(info: dict[str, Any]) -> dict[str, Any] | None:
    """The fault object of a TaskInfo in state error: ``info.error`` itself, typed ``MethodFault``
    (VMware's VI/JSON sends the fault object there, not a ``LocalizedMethodFault`` wrapper; an
    answer that wraps it fails ``shape``/``tasks`` on its ``_typeName``, it is not unwrapped here)."""
    err = info.get("error")
    return err if isinstance(err, dict) else None


def outcome(
    client: Any, contract: Contract, ex: Exchange, timeout: float, polls: list[Exchange] | None = None
) -> tuple[str, dict[str, Any] | None, list[dict[str, Any]]]:
    """``(kind, fault, infos)`` of a call: ``ok``, ``fault`` (sync), ``task-ok`` or ``task-fault``
    (the task's error), following the task when the contract has one."""
    if ex.fault is not None or not 200 <= ex.status < 300:
        return "fault", ex.fault, []
    if contract.is_task and isinstance(ex.json, dict) and ex.json.get("type") == "Task":
        infos = client.wait_task(ex.json, timeout=timeout, exchanges=polls)
        last = infos[-1]
        if last.get("state") == "success":
            return "task-ok", None, infos
        return "task-fault", task_fault(last), infos
    return "ok", None, []


@dataclass
class Refusal:
    """How an endpoint answered a call that it must refuse (see :func:`refusal`).

    ``kind``: ``sync`` (HTTP 500 with a fault object), ``task`` (a task that ended in ``error`` with a
    fault), ``accepted`` (2xx, or a task that succeeded), ``bad`` (an answer that is no refusal and
    no acceptance either: a non-fault error body, a fault with another status, a ``_typeName`` that is
    no fault type, a task in error without a fault).  ``message`` describes it for a verdict."""

    kind: str
    message: str
    fault: dict[str, Any] | None = None
    task: str | None = None

    @property
    def refused(self) -> bool:
        return self.kind in ("sync", "task")

    @property
    def fault_type(self) -> str | None:
        name = (self.fault or {}).get("_typeName")
        return name if isinstance(name, str) else None


def refusal(client: Any, contract: Contract, release_name: str, ex: Exchange, timeout: float) -> Refusal:
    """Classify the answer to a call that must be refused, as VMware promises refusals.

    vCenter checks many arguments inside the method, and a task method reports what it finds in its
    task: a refusal is either synchronous (HTTP 500 with a fault object) or a task that ends in
    ``error`` with a fault.  The task is followed to its end (a task that does not end raises
    :class:`TaskTimeout`; a task that cannot be read, :class:`ClientError`)."""
    if ex.fault is not None:
        name = ex.fault_type
        if not is_fault_type(release_name, name):
            return Refusal("bad", f"refused with a {name}, which is not a fault type", ex.fault)
        if ex.status != 500:
            return Refusal("bad", f"fault {name} with HTTP {ex.status} (expected 500)", ex.fault)
        return Refusal("sync", f"refused with {name}", ex.fault)
    if not 200 <= ex.status < 300:
        return Refusal("bad", f"HTTP {ex.status} without a fault object (a crash?)")
    ref = ex.json
    if (
        contract.is_task
        and isinstance(ref, dict)
        and ref.get("type") == "Task"
        and isinstance(ref.get("value"), str)
    ):
        task = ref["value"]
        last = client.wait_task(ref, timeout=timeout)[-1]
        if last.get("state") == "success":
            return Refusal("accepted", f"accepted with HTTP {ex.status}: task {task} succeeded", task=task)
        fault = task_fault(last)
        name = (fault or {}).get("_typeName")
        if fault is None:
            return Refusal("bad", f"task {task} ended in error without a fault in TaskInfo.error", task=task)
        if not is_fault_type(release_name, name):
            return Refusal(
                "bad", f"task {task} ended in error with a {name}, which is not a fault type", fault, task
            )
        return Refusal("task", f"refused by task {task}, which ended in error with {name}", fault, task)
    return Refusal("accepted", f"accepted with HTTP {ex.status}")


def draw(strategy: Any, n: int, seed: int) -> list[Any]:
    """``n`` values of a hypothesis strategy, reproducible from ``seed`` (no database, no shrinking)."""
    from hypothesis import HealthCheck, Phase, given, settings
    from hypothesis import seed as hseed
    from hypothesis.errors import FailedHealthCheck, Unsatisfiable

    out: list[Any] = []
    if n <= 0:
        return out

    @hseed(seed)
    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    with contextlib.suppress(
        Unsatisfiable, FailedHealthCheck
    ):  # a strategy that cannot produce: fewer values
        collect()
    return out[:n]


def any_value(value: Any) -> Any:
    """A value from an anyType position (TaskInfo.result) unwrapped for validation against its
    declared type: ``{"_typeName": "ArrayOfX", "_value": [...]}`` -> ``[...]``."""
    if isinstance(value, dict) and "_value" in value and set(value) <= {"_typeName", "_value"}:
        return value["_value"]
    return value


def task_result_ref(contract: Contract) -> str | None:
    """The declared type of a task's ``TaskInfo.result`` (a reference typed by its managed type)."""
    if contract.task_result is None:
        return None
    if contract.task_result_moref:
        return contract.task_result_moref + ("[]" if contract.task_result.endswith("[]") else "")
    return contract.task_result


def response_optional(contract: Contract, release_name: str) -> bool:
    """Whether a success may come without a value (204, or 200 with ``null``): an optional property
    (``response_optional``) or a method whose result is optional."""
    if contract.kind == "property":
        return contract.response_optional
    try:
        return registry(release_name).method(contract.declared_by, contract.name).returns_optional
    except KeyError:
        return contract.response_optional


def response_ref(contract: Contract) -> str | None:
    """The declared type of a 200 body (a reference typed by its managed type)."""
    if contract.response_type is None:
        return None
    if contract.response_moref:
        return contract.response_moref + ("[]" if contract.response_type.endswith("[]") else "")
    return contract.response_type


# --- refused calls change nothing ------------------------------------------------------------------
def watched_paths(contract: Contract) -> list[str]:
    """The properties a refused call must leave alone: ``on_failure_unchanged``, else the effect targets."""
    if contract.kind != "method" or not contract.changes_state:
        return []
    sem = contract.semantics
    paths = sem.get("on_failure_unchanged") or [e["target"] for e in contract.effects if "target" in e]
    return list(dict.fromkeys(paths))


class Watch:
    """The watched properties of one object, read before a call that must be refused; :meth:`changes`
    reads them again (first waiting for tasks the object gained meanwhile: an endpoint may refuse a
    call and still run it) and says what changed."""

    def __init__(self, ctx: CheckContext, managed_type: str, moid: str, paths: list[str] | None = None):
        from ..run.prepare import read_path

        self._read_path = read_path
        self.client, self.timeout = ctx.client, ctx.timeout
        self.managed_type, self.moid = managed_type, moid
        self.paths = watched_paths(ctx.contract) if paths is None else list(paths)
        self.tasks = self._recent() if self.paths else set()
        self.before = self._read() if self.paths else {}

    def _read(self) -> dict[str, Any]:
        return {p: self._read_path(self.client, self.managed_type, self.moid, p)[0] for p in self.paths}

    def _recent(self) -> set[str]:
        ex = self.client.get(self.managed_type, self.moid, "recentTask")
        if not ex.ok or not isinstance(ex.json, list):
            return set()
        return {r["value"] for r in ex.json if isinstance(r, dict) and isinstance(r.get("value"), str)}

    def changes(self) -> list[str]:
        from ..run.prepare import MISSING

        if not self.paths:
            return []
        for task in sorted(self._recent() - self.tasks):
            with contextlib.suppress(ClientError):
                self.client.wait_task(task, timeout=self.timeout)
        after = self._read()
        return [
            f"{p} changed from {show(self.before[p])} to {show(after[p])}"
            for p in self.paths
            if self.before[p] is not MISSING and after[p] is not MISSING and self.before[p] != after[p]
        ]


def show(value: Any, limit: int = 80) -> str:
    """A short text of a JSON value for a message (a reference by its moId)."""
    if isinstance(value, dict) and value.get("_typeName") == "ManagedObjectReference":
        value = value.get("value")
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
