"""effects: after success the contract's curated ``effects`` hold; after a failure the
``on_failure_unchanged`` paths (default: every effect target) did not change.

The properties named by the effects are read before and after the valid request (the task
followed to its end).  A failure is provoked on a target that breaks a curated precondition (see
:meth:`harness.sandbox.Sandbox.violating_target`); the unchanged paths are compared before and
after it.  ``observable: false`` operations are skipped with the contract's note; contracts without
effects or preconditions to break are skipped with that reason.
"""

from __future__ import annotations

from typing import Any

from ..client import Exchange
from ..contract.semantics import MISSING, describe, holds_on_wire
from ..sandbox.reads import read_path
from ..vmodl.schema import validator
from .base import CheckContext, Skip, check
from .calls import call, outcome, target
from .refusals import refusal
from .rules import any_value
from .verdict import Verdict
from .watch import Watch


def _paths(effects: list[dict[str, Any]]) -> list[str]:
    return list(dict.fromkeys(e["target"] for e in effects if "target" in e))


def snapshot(ctx: CheckContext, managed_type: str, moid: str, paths: list[str]) -> dict[str, Any]:
    out = {}
    for path in paths:
        value, _ = read_path(ctx.client, managed_type, moid, path)
        out[path] = value
    return out


def _applies(c: Any) -> bool:
    sem = c.semantics
    return c.kind == "method" and (
        bool(sem.get("effects")) or sem.get("observable") is False or bool(sem.get("on_failure_unchanged"))
    )


@check(
    "effects",
    description="declared effects hold after success; nothing changes after a failure",
    applies=_applies,
    changes_state=True,
)
def effects(ctx: CheckContext, v: Verdict) -> str:
    c = ctx.contract
    sem = c.semantics
    if sem.get("observable") is False:
        raise Skip(f"not observable through the API: {sem.get('note', 'no note')}")
    effs = c.effects
    unchanged = list(sem.get("on_failure_unchanged") or _paths(effs))
    if not effs and not unchanged:
        raise Skip("the contract declares no effects (semantics not curated)")
    if effs:
        _success(v, ctx, effs)
    if unchanged and not v.failures:
        _failure(v, ctx, unchanged)
    if not v.seen and not v.failures and not v.errors:  # a check that judged nothing does not pass
        raise Skip("nothing judged: " + ("; ".join(dict.fromkeys(v.notes)) or "no effect could be observed"))
    return f"{v.seen} effect(s) held"


def _success(v: Verdict, ctx: CheckContext, effs: list[dict[str, Any]]) -> None:
    c = ctx.contract
    t = target(ctx)
    paths = _paths(effs)
    before = snapshot(ctx, t.prepared.managed_type, t.moid, paths)
    ex = call(ctx.client, c, t.prepared)
    kind, fault, infos = outcome(ctx.client, c, ex, ctx.timeout)
    if kind not in ("ok", "task-ok"):
        name = (fault or {}).get("_typeName") or ex.fault_type or ex.status
        raise Skip(
            f"the sandbox could not meet the preconditions of the call (it answered {name}); "
            "effects not judged"
        )
    after = snapshot(ctx, t.prepared.managed_type, t.moid, paths)
    params = ex.request_json() or {}
    for eff in effs:
        what = eff.get("description") or f"{eff.get('target', 'task_result')} {describe(eff)}"
        if "task_result" in eff:
            result = infos[-1].get("result") if infos else None
            want = bool(eff["task_result"] == "present" or eff["task_result"] is True)
            if (result is not None) != want:
                state = "set" if result is not None else "unset"
                v.fail(
                    f"effect not seen: {what} (TaskInfo.result is {state})",
                    ex,
                )
            elif (
                result is not None
                and (ref := c.task_result_ref)
                and not validator(ref, ctx.release).is_valid(any_value(result))
            ):
                v.fail(f"effect not seen: {what} (TaskInfo.result is not a {ref})", ex)
            v.seen += 1
            continue
        path = eff["target"]
        value = after.get(path)
        if before.get(path) is MISSING and value is MISSING:
            v.note(f"{path} cannot be read here; not judged")
            continue
        if value is MISSING:
            v.error(f"cannot read {path} after the call", ex)
            continue
        v.seen += 1
        result = infos[-1].get("result") if infos else MISSING
        if not holds_on_wire(eff, value, before=before.get(path), params=params, result=result):
            v.fail(f"effect not seen: {what} ({path} is {_show(value)}, was {_show(before.get(path))})", ex)


def _failure(v: Verdict, ctx: CheckContext, paths: list[str]) -> None:
    """Provoke a refusal (a target breaking one curated precondition): synchronous (HTTP 500 and a
    fault) or by a task that ends in error, either way nothing may change."""
    c = ctx.contract
    bad = ctx.sandbox.violating_target(c) if ctx.sandbox is not None else None
    if bad is None:
        v.note("no failure provoked (no curated precondition the sandbox can break)")
        return
    watch = Watch(ctx, bad.prepared.managed_type, bad.moid, paths)
    ex: Exchange = call(ctx.client, c, bad.prepared)
    answer = refusal(ctx.client, c, ctx.release, ex, ctx.timeout)
    broken = (bad.prepared.precondition or {}).get("id")
    if answer.kind == "accepted":
        v.note(
            f"the call on a {bad.prepared.state} VM (breaking {broken}) succeeded; the faults check judges that"
        )
        return
    if answer.kind == "bad":
        v.fail(f"the call on a {bad.prepared.state} VM (breaking {broken}): {answer.message}", ex)
        return
    v.seen += len(watch.paths)
    for change in watch.changes():
        v.fail(f"after a failure ({answer.message}) {change}", ex)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
