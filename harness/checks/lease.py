"""lease: the ``HttpNfcLease`` an operation returns (``ExportVm``) keeps its contract.

The valid request opens a lease; the check reads ``state`` until it leaves ``initializing``, reads
``info`` and validates it as an ``HttpNfcLeaseInfo`` of the release naming this lease and the
exported VM, reports progress, completes the lease and reads ``state`` once more (``done``).  It
fails when the endpoint keeps the lease ``initializing`` without moving ``initializeProgress`` for
the whole wait, serves an ``info`` outside the schema (or none on a ready lease), refuses
``HttpNfcLeaseProgress`` or ``HttpNfcLeaseComplete`` on a ready lease, or leaves it anything but
``done`` after a complete.  A lease that is slow but moving, or that ends in ``error`` on its own,
is ``error`` (undecided); network trouble is ``error`` (:class:`~.base.CheckSpec`).  Whatever
happens, the lease is noted in the sandbox, which aborts it if it is still open after the check.
"""

from __future__ import annotations

import time
from typing import Any

from ..client import Exchange
from ..sandbox.leases import LEASE, lease_of
from .base import CheckContext, Skip, check
from .calls import call, target
from .rules import schema_problem
from .verdict import Verdict, show

#: Pause between two reads of an initializing lease (doubling up to the last value).
POLL_S = (0.05, 0.1, 0.2, 0.5)


def _applies(c: Any) -> bool:
    return c.kind == "method" and c.response_moref == LEASE


@check(
    "lease",
    description="an HttpNfcLease an operation returns becomes ready, its info fits the schema, it completes",
    applies=_applies,
    changes_state=True,
)
def lease(ctx: CheckContext, v: Verdict) -> str:
    t = target(ctx)
    ex = call(ctx.client, ctx.contract, t.prepared)
    if not ex.ok:
        raise Skip(
            f"the call answered {ex.fault_type or ex.status}: no lease to follow (the faults check judges it)"
        )
    moid = lease_of(ex.json)
    if moid is None:
        v.fail(f"the answer is not an {LEASE} reference: {show(ex.json)}", ex)
        return ""
    if ctx.sandbox is not None:
        ctx.sandbox.leases.add(moid)  # aborted after the check unless it ends here
    state = _wait_ready(ctx, v, moid)
    if state != "ready":
        return ""
    _judge_info(ctx, v, moid, t.moid)
    _finish(ctx, v, moid)
    return f"lease {moid} became ready, its info is a valid HttpNfcLeaseInfo and it completed (state done)"


def _read(ctx: CheckContext, moid: str, prop: str) -> Exchange:
    return ctx.client.get(LEASE, moid, prop)


def _wait_ready(ctx: CheckContext, v: Verdict, moid: str) -> str:
    """Read ``state`` until it leaves initializing (or the check's timeout passes)."""
    deadline = time.monotonic() + ctx.timeout
    progress: list[Any] = []
    polls = 0
    while True:
        ex = _read(ctx, moid, "state")
        v.seen += 1
        if not ex.ok:
            v.fail(f"reading the state of lease {moid} answered {ex.fault_type or ex.status}", ex)
            return ""
        state = ex.json
        if state != "initializing":
            break
        got = _read(ctx, moid, "initializeProgress")
        progress.append(got.json if got.ok else None)
        if time.monotonic() >= deadline:
            waited = f"{ctx.timeout:g} s"
            if all(p is None for p in progress):
                v.error(
                    f"lease {moid} still initializing after {waited}; its initializeProgress unreadable", ex
                )
            elif len(set(map(str, progress))) <= 1:
                v.fail(
                    f"lease {moid} never left initializing in {waited} (initializeProgress stayed at "
                    f"{show(progress[0])})",
                    ex,
                )
            else:
                v.error(
                    f"lease {moid} still initializing after {waited} (initializeProgress moved: "
                    f"{show(progress[0])} to {show(progress[-1])}); undecided",
                    ex,
                )
            return "initializing"
        time.sleep(POLL_S[min(polls, len(POLL_S) - 1)])
        polls += 1
    if state == "ready":
        return "ready"
    if state == "error":
        err = _read(ctx, moid, "error")
        kind = err.json.get("_typeName") if 200 <= err.status < 300 and isinstance(err.json, dict) else "?"
        v.error(f"lease {moid} ended in error ({kind}) before it was ready; the export was not judged", err)
    else:
        v.fail(
            f"lease {moid} went from initializing to {show(state)}, not ready, before anyone completed it", ex
        )
    return str(state)


def _judge_info(ctx: CheckContext, v: Verdict, moid: str, entity: str) -> None:
    ex = _read(ctx, moid, "info")
    v.seen += 1
    if not ex.ok:
        v.fail(f"reading info of ready lease {moid} answered {ex.fault_type or ex.status}", ex)
        return
    info = ex.json
    if info is None:
        v.fail(f"info of ready lease {moid} is unset", ex)
        return
    problem = schema_problem("HttpNfcLeaseInfo", ctx.release, info)
    if problem:
        v.fail(f"info of lease {moid} {problem}", ex)
        return
    if lease_of(info.get("lease")) != moid:
        v.fail(f"info.lease of lease {moid} names {show(info.get('lease'))}", ex)
    if (info.get("entity") or {}).get("value") != entity:
        v.fail(f"info.entity of lease {moid} is {show(info.get('entity'))}, not the exported VM {entity}", ex)


def _finish(ctx: CheckContext, v: Verdict, moid: str) -> None:
    """Progress, then complete, a ready lease; then it must be done."""
    ex = ctx.client.invoke(LEASE, moid, "HttpNfcLeaseProgress", {"percent": 50})
    v.seen += 1
    if not ex.ok:
        v.fail(f"HttpNfcLeaseProgress on ready lease {moid} answered {ex.fault_type or ex.status}", ex)
    ex = ctx.client.invoke(LEASE, moid, "HttpNfcLeaseComplete", {})
    v.seen += 1
    if not ex.ok:
        v.fail(f"HttpNfcLeaseComplete on ready lease {moid} was refused: {ex.fault_type or ex.status}", ex)
        return
    after = _read(ctx, moid, "state")
    v.seen += 1
    if not after.ok or after.json != "done":
        got = after.json if after.ok else after.fault_type or after.status
        v.fail(f"after HttpNfcLeaseComplete lease {moid} is {show(got)}, not done", after)
