"""tasks: ``TaskInfo`` of a task method behaves as VI/JSON says.

On the sandbox's valid request:

* the state moves forward only (queued -> running -> success | error) and stays terminal on a
  later read; ``progress`` stays within 0..100 and never falls; a terminal state is reached within
  ``--timeout``;
* success carries a ``result`` of the declared type (none for a void task), no ``error`` and is not
  ``cancelled``; error a declared or runtime fault and no ``result``;
* ``entity`` is the target (type and moId), ``task`` the task itself, ``descriptionId`` ends in the
  method's VMODL name (``VirtualMachine.powerOn``), ``queueTime <= startTime <= completeTime``;
* the task appears in the target's ``recentTask`` (read right after the call, and after the end);
* where the contract says ``cancelable``: a second run cancelled at once ends in ``error`` with
  ``RequestCanceled`` (or in success, noted, when it finished first);
* where the contract ``locks`` the target (and the operation changes state): a second call while
  the first task is still running (and goes on to succeed) answers ``TaskInProgress`` (in the
  response or the task's error).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ..client import Exchange, Fault, TaskTimeout
from ..vmodl.registry import release as registry
from ..vmodl.schema import validator
from .base import CheckContext, Skip, check
from .calls import call, target
from .rules import any_value, fault_allowed, task_fault
from .verdict import Verdict

RANK = {"queued": 0, "running": 1, "success": 2, "error": 2}


def _time(value: Any) -> dt.datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None


def judge_sequence(v: Verdict, infos: list[dict[str, Any]], ex: Exchange) -> None:
    """States only move forward, progress never falls, a terminal state stays."""
    last_rank, last_progress, terminal = -1, None, None
    for info in infos:
        state = info.get("state")
        if state not in RANK:
            v.fail(f"TaskInfo.state {state!r} is not a TaskInfoState", ex)
            return
        if terminal is not None and state != terminal:
            v.fail(f"TaskInfo.state went from {terminal} to {state} after the task ended", ex)
            return
        if RANK[state] < last_rank:
            v.fail(f"TaskInfo.state went backwards to {state}", ex)
            return
        last_rank = RANK[state]
        if RANK[state] == 2:
            terminal = state
        else:
            early = [k for k in ("completeTime", "result", "error") if info.get(k) is not None]
            if early:
                v.fail(f"a {state} task already carries {', '.join(early)}", ex)
                return
        progress = info.get("progress")
        if isinstance(progress, int | float):
            if not 0 <= progress <= 100:
                v.fail(f"TaskInfo.progress is {progress}, outside 0..100", ex)
                return
            if last_progress is not None and progress < last_progress:
                v.fail(f"TaskInfo.progress fell from {last_progress} to {progress}", ex)
                return
            last_progress = progress


def judge_terminal(
    v: Verdict,
    ctx: CheckContext,
    info: dict[str, Any],
    entity: str | None,
    ex: Exchange,
    entity_type: str,
    task: str,
) -> None:
    """The terminal TaskInfo: result or error as declared; entity, task, descriptionId and times."""
    c = ctx.contract
    if info.get("state") == "success":
        result = any_value(info.get("result"))
        ref = c.task_result_ref
        if ref and result is not None:
            val = validator(ref, ctx.release)
            if not val.is_valid(result):
                v.fail(f"TaskInfo.result is not a {ref}: {'; '.join(val.errors(result, 2))}", ex)
        elif not ref and result is not None:
            v.fail("a void task carries a result", ex)
        if info.get("error") is not None:
            v.fail("a task in state success carries an error", ex)
        if info.get("cancelled") is True:
            v.fail("a task in state success says it was cancelled", ex)
    else:
        fault = task_fault(info)
        name = (fault or {}).get("_typeName")
        if not name:
            v.fail("a task in state error without error (TaskInfo.error holds no fault object)", ex)
        elif not fault_allowed(c, ctx.release, name):
            v.fail(f"TaskInfo.error is {name}, neither declared by {c.name} nor a runtime fault", ex)
        if info.get("result") is not None:
            v.fail("a task in state error carries a result", ex)
    ent = info.get("entity")
    if isinstance(ent, dict) and entity and (ent.get("value"), ent.get("type")) != (entity, entity_type):
        v.fail(
            f"TaskInfo.entity is {ent.get('type')}:{ent.get('value')}, the call was on {entity_type}:{entity}",
            ex,
        )
    elif ent is None:
        v.fail("TaskInfo.entity is not set", ex)
    task_ref = info.get("task")
    named = task_ref.get("value") if isinstance(task_ref, dict) else task_ref
    if named != task:
        v.fail(f"TaskInfo.task is {named!r}, not {task}", ex)
    _judge_description(v, ctx, info.get("descriptionId"), ex)
    q, s, e = (_time(info.get(k)) for k in ("queueTime", "startTime", "completeTime"))
    if q is None:
        v.fail("TaskInfo.queueTime is not set", ex)
    if e is None:
        v.fail("a finished task has no completeTime", ex)
    times = [x for x in (q, s, e) if x is not None]
    if times != sorted(times):
        v.fail(
            f"TaskInfo times out of order: queue {info.get('queueTime')}, start {info.get('startTime')}, "
            f"complete {info.get('completeTime')}",
            ex,
        )


def _judge_result_exists(v: Verdict, ctx: CheckContext, info: dict[str, Any], ex: Exchange) -> None:
    """A reference in ``TaskInfo.result`` (the new VM, the new snapshot ...) names an object that exists:
    reading its properties (``name`` first; the first one served decides) must not answer
    ``ManagedObjectNotFound``."""
    refs = any_value(info.get("result")) if info.get("state") == "success" else None
    for ref in (refs if isinstance(refs, list) else [refs])[:3]:
        if not (isinstance(ref, dict) and ref.get("_typeName") == "ManagedObjectReference"):
            continue
        mt, moid = ref.get("type"), ref.get("value")
        rel = registry(ctx.release)
        if mt not in rel.managed or not isinstance(moid, str):
            continue  # the type is judged against the declared result type
        props = sorted((p.name for p in rel.properties(mt)), key=lambda n: n != "name")
        for prop in props[:4]:  # the first property the endpoint serves decides
            read = ctx.client.get(mt, moid, prop)
            if read.fault_type == "ManagedObjectNotFound":
                v.fail(f"TaskInfo.result names {mt}:{moid}, which does not exist", read)
            if read.ok or read.fault_type == "ManagedObjectNotFound":
                break


def _judge_description(v: Verdict, ctx: CheckContext, description: Any, ex: Exchange) -> None:
    """``descriptionId`` is ``<type>.<vmodl method name>`` (``VirtualMachine.powerOn``,
    ``vm.Snapshot.remove``): its last part names the method called."""
    if not description or not isinstance(description, str):
        v.fail("TaskInfo.descriptionId is not set", ex)
        return
    c = ctx.contract
    try:
        vmodl = registry(ctx.release).method(c.declared_by, c.name).vmodl_name
    except KeyError:
        return
    if description.rsplit(".", 1)[-1].lower() != vmodl.lower():
        v.fail(
            f"TaskInfo.descriptionId is {description!r}; a {c.name} task is described as '<type>.{vmodl}'", ex
        )


def _in_recent(ctx: CheckContext, managed_type: str, moid: str, task: str) -> bool | None:
    ex = ctx.client.get(managed_type, moid, "recentTask")
    if not ex.ok:
        return None
    return any(isinstance(r, dict) and r.get("value") == task for r in (ex.json or []))


@check(
    "tasks",
    description="TaskInfo moves forward, ends in time, carries a typed result or a declared fault",
    applies=lambda c: c.is_task,
    changes_state=True,
)
def tasks(ctx: CheckContext, v: Verdict) -> str:
    c = ctx.contract
    if not c.is_task:
        raise Skip("not a task method")
    t = target(ctx)
    ex = call(ctx.client, c, t.prepared)
    if ex.fault is not None or ex.json is None:
        raise Skip(f"the prepared request was refused ({ex.fault_type or ex.status}); no task to judge")
    task = ex.json.get("value") if isinstance(ex.json, dict) else None
    if not task:
        v.fail("a task method answered without a Task reference", ex)
        return ""
    # TaskInfo.entity is a ManagedEntity: a snapshot's task names its virtual machine
    entity_type, entity = (
        (t.prepared.managed_type, t.moid)
        if registry(ctx.release).is_subtype(t.prepared.managed_type, "ManagedEntity")
        else ("VirtualMachine", t.prepared.vm)
    )
    recent_early = _in_recent(ctx, entity_type, entity, task) if entity else None
    polls: list[Exchange] = []
    try:
        infos = ctx.client.wait_task(task, timeout=ctx.timeout, exchanges=polls)
    except TaskTimeout as exc:
        judge_sequence(v, exc.infos, polls[-1] if polls else ex)
        v.fail(f"{exc}", polls[-1] if polls else ex)
        return ""
    except Fault as exc:
        if exc.exchange.fault is None:
            raise  # not an answer of the endpoint's own (a proxy, the network): error
        v.fail(f"Task.info of {task}, which the call returned, answered {exc.type_name}", exc.exchange)
        return ""
    # a later read must not move the task away from its terminal state (nor forget the task)
    for _ in range(2):
        again = ctx.client.task_info(task)
        polls.append(again)
        if again.ok and isinstance(again.json, dict):
            infos.append(again.json)
        elif again.fault is not None:
            v.fail(f"Task.info of the finished task {task} answered {again.fault_type}", again)
    last_ex = polls[-1] if polls else ex
    v.seen += len(infos)
    judge_sequence(v, infos, last_ex)
    judge_terminal(v, ctx, infos[-1], entity, last_ex, entity_type, task)
    _judge_result_exists(v, ctx, infos[-1], last_ex)
    if entity and not recent_early:
        late = _in_recent(ctx, entity_type, entity, task)
        if late is False and recent_early is False:
            v.fail(f"task {task} never appeared in {entity}.recentTask", last_ex)
    if c.cancelable and not v.failures:
        _cancel(v, ctx)
    if "target" in c.locks and c.changes_state and not v.failures:
        _busy(v, ctx)
    return f"{len(infos)} TaskInfo read(s) coherent; ended {infos[-1].get('state')}"


def _cancel(v: Verdict, ctx: CheckContext) -> None:
    t = target(ctx)
    ex = call(ctx.client, ctx.contract, t.prepared)
    if not ex.ok:
        v.note(f"cancel not tried: the call answered {ex.fault_type}")
        return
    cancel = ctx.client.cancel_task(ex.json)
    infos = ctx.client.wait_task(ex.json, timeout=ctx.timeout)
    last = infos[-1]
    if cancel.fault is not None:
        if last.get("state") in ("success", "error") and cancel.fault_type in (
            "InvalidState",
            "NotSupported",
        ):
            v.note("cancel came after the task ended")
            return
        v.fail(f"CancelTask of a cancelable task answered {cancel.fault_type}", cancel)
        return
    if last.get("state") == "error":
        name = (task_fault(last) or {}).get("_typeName")
        if name != "RequestCanceled":
            v.fail(f"a cancelled task ended with {name}, not RequestCanceled", cancel)
    elif last.get("state") == "success":
        v.note("the task finished before the cancel took effect")


def _busy(v: Verdict, ctx: CheckContext) -> None:
    t = target(ctx)
    first = call(ctx.client, ctx.contract, t.prepared)
    if not first.ok:
        v.note(f"busy target not tried: the first call answered {first.fault_type}")
        return
    second = call(ctx.client, ctx.contract, t.prepared, wait_idle=False)
    info_ex = ctx.client.task_info(first.json)
    running = info_ex.ok and (info_ex.json or {}).get("state") in ("queued", "running")
    first_ok = ctx.client.wait_task(first.json, timeout=ctx.timeout)[-1].get("state") == "success"
    outcome = second.fault_type
    if second.ok and isinstance(second.json, dict) and second.json.get("type") == "Task":
        last = ctx.client.wait_task(second.json, timeout=ctx.timeout)[-1]
        outcome = (task_fault(last) or {}).get("_typeName") if last.get("state") == "error" else "success"
    if not running or not first_ok:
        v.note(
            "busy target not judged: "
            + ("the first task had ended" if not running else "the first task failed")
        )
        return
    if outcome != "TaskInProgress":
        v.fail(f"a call on a target busy with a running task answered {outcome}, not TaskInProgress", second)
