"""shape: every success body and every fault body validates against the release's schema.

The operation is called with the sandbox's valid request and ``examples - 1`` generated ones
(:func:`harness.gen.strategies.requests`, seeded); a read-only operation also with its valid request
on each sampled existing VM (``--inventory-sample``; a failure names the VM and its kinds).  A 200
body must validate against the declared response type (a reference against its managed type), a
fault body against ``MethodFault`` (the ``_typeName`` discriminator picks the subtype; unknown fields
are refused), and for tasks every ``TaskInfo`` observed against ``TaskInfo`` and a success
``result`` against the task's result type.
"""

from __future__ import annotations

from typing import Any

from ..client import Exchange
from ..contract.model import Contract
from ..gen.bodies import encode_request
from ..gen.draw import draw
from ..gen.strategies import requests
from ..vmodl.codec import CodecError
from .base import CheckContext, check
from .calls import call, may_generate, safe_pool, sample_targets, target
from .rules import answer_problems, any_value, schema_problem
from .verdict import Verdict


def judge_body(
    v: Verdict, contract: Contract, release: str, ex: Exchange, client: Any, timeout: float
) -> None:
    """Validate one answer (:func:`.rules.answer_problems`, the shape rules) and, for a task, every
    TaskInfo observed and a success's result."""
    v.seen += 1
    problems = [message for check, message in answer_problems(contract, release, ex) if check == "shape"]
    for message in problems:
        v.fail(message, ex)
    if problems or not ex.ok or not contract.is_task or not isinstance(ex.json, dict):
        return
    polls: list[Exchange] = []
    infos = client.wait_task(ex.json, timeout=timeout, exchanges=polls)
    last_ex = polls[-1] if polls else ex
    for info in infos:
        if not validate(v, "TaskInfo", release, info, last_ex, "TaskInfo"):
            return
    result = infos[-1].get("result")
    result_ref = contract.task_result_ref
    if infos[-1].get("state") == "success" and result is not None and result_ref:
        validate(v, result_ref, release, any_value(result), last_ex, "TaskInfo.result")


def validate(v: Verdict, ref: str, release: str, value: Any, ex: Exchange, what: str) -> bool:
    """Record a failure unless ``value`` is a valid ``ref`` (:func:`.rules.schema_problem`)."""
    problem = schema_problem(ref, release, value)
    if problem:
        v.fail(f"{what} {problem}", ex)
    return problem is None


def generated_bodies(ctx: CheckContext, prepared: Any, n: int) -> list[dict[str, Any] | None]:
    """``n`` generated request bodies for the prepared target (references from the sandbox)."""
    contract = ctx.contract
    if contract.kind == "property" or not contract.params_for(ctx.release) or n <= 0:
        return []
    if not may_generate(ctx, prepared):
        return []
    pool = safe_pool(ctx)
    try:
        drawn = draw(requests(contract, ctx.release, morefs=pool), n, ctx.seed)
    except (KeyError, ValueError):
        return []
    out = []
    for values in drawn:
        try:
            out.append(encode_request(contract, ctx.release, values))
        except CodecError:
            continue
    return out


@check("shape", description="success and fault bodies validate against the release's schema")
def shape(ctx: CheckContext, v: Verdict) -> str:
    t = target(ctx)
    ex = call(ctx.client, ctx.contract, t.prepared)
    judge_body(v, ctx.contract, ctx.release, ex, ctx.client, ctx.timeout)
    for body in generated_bodies(ctx, t.prepared, max(0, ctx.examples - 1)):
        if v.failures:
            break
        ex = call(ctx.client, ctx.contract, t.prepared, body)
        judge_body(v, ctx.contract, ctx.release, ex, ctx.client, ctx.timeout)
    existing = judge_sample(
        v, ctx, lambda ex: judge_body(v, ctx.contract, ctx.release, ex, ctx.client, ctx.timeout)
    )
    return f"{v.seen} answer(s) valid against the {ctx.release} schema" + (
        f", {existing} of them from existing VMs" if existing else ""
    )


def judge_sample(v: Verdict, ctx: CheckContext, judge: Any, max_failing: int = 3) -> int:
    """Send the prepared request of a read-only operation to each sampled existing VM
    (``--inventory-sample``) and judge each answer, the VM named in any message; how many were judged.
    Stops after ``max_failing`` VMs answered wrongly (the message names them)."""
    n = failing = 0
    for st in sample_targets(ctx):
        before = len(v.failures)
        with v.about(f"on existing VM {st.prepared.existing}"):
            judge(call(ctx.client, ctx.contract, st.prepared))
        n += 1
        failing += len(v.failures) > before
        if failing >= max_failing:
            break
    return n
