"""faults: a fault is declared by the contract (or a subtype of a declared one) or a runtime fault,
sent with HTTP 500; a success uses the contract's status (200 with a body, 204 without).

Calls judged: the sandbox's valid request; requests on targets that each break one curated
precondition (up to three; the precondition's fault is expected; success there is a violation); a call on a
moId that does not exist (``ManagedObjectNotFound``); ``examples - 3`` generated requests; and for a
read-only operation its valid request on each sampled existing VM (``--inventory-sample``).
For task methods the task is followed and ``TaskInfo.error`` is judged the same way.
"""

from __future__ import annotations

import itertools
from typing import Any

from ..client import Exchange
from ..contract.model import Contract
from ..contract.semantics import MISSING, holds_on_wire
from ..sandbox.reads import read_path
from ..vmodl.registry import release as registry
from .base import CheckContext, check
from .calls import call, outcome, target
from .rules import fault_problem, is_fault_type, response_optional
from .shape import generated_bodies, judge_sample, validate
from .verdict import Verdict, show

MAX_BROKEN = 3  # preconditions broken per run of the check
#: faults an endpoint answers for many reasons, not only for the precondition that names them
GENERIC = frozenset({"InvalidState", "InvalidArgument", "NotSupported", "InvalidRequest", "VimFault"})


def judge_fault_name(
    v: Verdict, contract: Contract, release: str, name: Any, ex: Exchange, where: str
) -> None:
    problem = fault_problem(contract, release, name)
    if problem:
        v.fail(f"{where}: {problem}", ex)


def judge(v: Verdict, ctx: CheckContext, ex: Exchange) -> tuple[str, str | None]:
    """Judge one answer; ``(kind, fault type)`` of its outcome."""
    contract, release = ctx.contract, ctx.release
    v.seen += 1
    if ex.fault is not None:
        if ex.status != 500:
            v.fail(f"fault {ex.fault_type} sent with HTTP {ex.status} (faults are sent with 500)", ex)
        judge_fault_name(v, contract, release, ex.fault_type, ex, "response")
        if is_fault_type(release, ex.fault_type):
            validate(v, "MethodFault", release, ex.fault, ex, "fault body")
        return "fault", ex.fault_type
    if ex.status >= 300:
        v.fail(f"HTTP {ex.status} without a fault object", ex)
        return "fault", None
    want = contract.status
    optional = response_optional(contract, release)
    if ex.status != want and not (ex.status == 204 and optional):
        v.fail(f"success answered HTTP {ex.status}; the contract says {want}", ex)
    if ex.status == 204 and ex.body:
        v.fail("HTTP 204 with a body", ex)
    if ex.status == 200 and contract.response_type and ex.json is None and not optional:
        v.fail(f"HTTP 200 without a value (no body or null); {contract.name} is not optional", ex)
    kind, fault, infos = outcome(ctx.client, contract, ex, ctx.timeout)
    if kind == "task-fault":
        judge_fault_name(v, contract, release, (fault or {}).get("_typeName"), ex, "TaskInfo.error")
        if is_fault_type(release, (fault or {}).get("_typeName")):
            validate(v, "MethodFault", release, fault, ex, "TaskInfo.error")
        return kind, (fault or {}).get("_typeName")
    return kind, None


def _held_preconditions(ctx: CheckContext, prepared: Any) -> dict[str, str]:
    """Fault -> description, for each fault that only curated ``target`` preconditions name and all of
    them hold on the prepared target right now (refusing the call with that fault is then wrong).
    Runtime faults and generic ones (InvalidState ...) are left out: an endpoint has other reasons for them."""
    rel = registry(ctx.release)
    by_fault: dict[str, list[dict[str, Any]]] = {}
    for pre in ctx.contract.preconditions:
        name = pre.get("fault")
        if name and name not in GENERIC and rel.exists(name) and not rel.is_runtime_fault(name):
            by_fault.setdefault(pre["fault"], []).append(pre)
    out = {}
    for fault, pres in by_fault.items():
        if not all("target" in p for p in pres):
            continue
        values = [read_path(ctx.client, prepared.managed_type, prepared.moid, p["target"])[0] for p in pres]
        if all(
            value is not MISSING and holds_on_wire(p, value) for p, value in zip(pres, values, strict=True)
        ):
            out[fault] = "; ".join(
                f"{p['target']} is {show(value, 60)}" for p, value in zip(pres, values, strict=True)
            )
    return out


@check(
    "faults", description="faults are declared or runtime faults, with HTTP 500; success statuses as declared"
)
def faults(ctx: CheckContext, v: Verdict) -> str:
    t = target(ctx)
    held = _held_preconditions(ctx, t.prepared)
    ex = call(ctx.client, ctx.contract, t.prepared)
    kind, fault = judge(v, ctx, ex)
    if kind in ("fault", "task-fault") and fault and fault in held:
        v.fail(
            f"the valid request was refused with {fault}, yet the precondition naming it holds "
            f"({held[fault]})",
            ex,
        )
    # targets that each break one precondition (at most MAX_BROKEN of them)
    broken = (
        [] if ctx.read_only else itertools.islice(ctx.sandbox.violating_targets(ctx.contract), MAX_BROKEN)
    )
    for bad in broken:
        ex = call(ctx.client, ctx.contract, bad.prepared)
        kind, fault = judge(v, ctx, ex)
        pre = bad.prepared.precondition or {}
        if kind in ("ok", "task-ok"):
            v.fail(
                f"precondition {pre.get('id', '?')} ({pre.get('description', '')}) unmet on a "
                f"{bad.prepared.state} VM, yet the call succeeded (expected {bad.prepared.expected_fault})",
                ex,
            )
        elif fault and bad.prepared.expected_fault and fault != bad.prepared.expected_fault:
            rel = registry(ctx.release)
            if not (
                rel.exists(bad.prepared.expected_fault) and rel.is_subtype(fault, bad.prepared.expected_fault)
            ):
                v.note(
                    f"unmet {pre.get('id')} answered {fault}, the contract names {bad.prepared.expected_fault}"
                )
    # an object that does not exist
    if ctx.contract.managed_type not in ("ServiceInstance",) and t.prepared.managed_type not in (
        "SessionManager",
        "AuthorizationManager",
    ):
        ghost = type(t.prepared)(t.prepared.managed_type, f"{t.moid}-vsphere-harness-gone", t.prepared.body)
        ex = call(ctx.client, ctx.contract, ghost)
        kind, fault = judge(v, ctx, ex)
        if kind in ("ok", "task-ok"):
            v.fail(f"a call on {ghost.moid}, which does not exist, succeeded", ex)
    for body in generated_bodies(ctx, t.prepared, max(0, ctx.examples - 3)):
        if v.failures:
            break
        judge(v, ctx, call(ctx.client, ctx.contract, t.prepared, body))
    existing = judge_sample(v, ctx, lambda ex: judge(v, ctx, ex))
    return f"{v.seen} answer(s) with declared or runtime faults and the right HTTP status" + (
        f", {existing} of them from existing VMs" if existing else ""
    )
