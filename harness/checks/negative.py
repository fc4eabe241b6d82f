"""negative: invalid requests are refused with a fault (HTTP 500 and a fault object), never accepted
with 2xx, never answered with a non-fault 500 body (a crash) or a dropped connection.

Cases: wire-level malformations (a body that is not JSON, a JSON array, an unknown parameter, a
missing required parameter, a parameter of the wrong JSON type) and, up to ``examples``, the
labelled invalid requests of :mod:`harness.gen` (ill-typed values, missing ``_typeName`` where the
type is polymorphic, references of the wrong managed type ...); for properties, a read of an object
that does not exist.

A dropped connection is judged carefully, since an injected network fault must never become
``failed``: the valid request is sent as a control; only when the control is answered and the
invalid request drops the connection again is it a violation, otherwise the check is ``error``.
"""

from __future__ import annotations

from typing import Any

from ..client import TransportError
from ._util import (
    Verdict,
    Watch,
    call,
    draw,
    guarded,
    is_fault_type,
    may_generate,
    path_of,
    safe_pool,
    settle,
    target,
)
from .base import CheckContext, check

NAME = "negative"


def wire_cases(ctx: CheckContext, body: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """(label, body) of malformed requests that need no type knowledge beyond the parameters."""
    c = ctx.contract
    params = c.params_for(ctx.release)
    base = dict(body or {})
    cases: list[tuple[str, Any]] = [
        ("body is not JSON", b'{"vsphere-harness": '),
        ("body is a JSON array", b"[1, 2]"),
        ("unknown parameter", {**base, "vsphereHarnessUnknown": 1}),
    ]
    required = [p for p in params if p.required]
    if required:
        p = required[0]
        cases.append((f"required parameter {p.name} missing", {k: v for k, v in base.items() if k != p.name}))
    if params:
        p = params[0]
        wrong: Any = 12345 if p.type in ("string", "string[]") else "vsphere-harness-not-a-" + p.type
        if p.type.endswith("[]") and p.type != "string[]":
            wrong = {"not": "an array"}
        cases.append((f"parameter {p.name} of the wrong JSON type", {**base, p.name: wrong}))
    return cases


def generated_cases(ctx: CheckContext, prepared: Any, n: int) -> list[tuple[str, Any]]:
    """Labelled invalid requests from the generators (where random requests may be sent)."""
    from ..gen.invalid import invalid_requests

    if not may_generate(ctx, prepared):
        return []
    pool = safe_pool(ctx)
    try:
        strategy = invalid_requests(ctx.contract, ctx.release, morefs=pool)
    except (TypeError, ValueError, KeyError):
        return []
    out = []
    for item in draw(strategy, n, ctx.seed):
        label, body = (item.label, item.body) if hasattr(item, "label") else item
        out.append((f"generated: {label}", body))
    return out


@check(NAME, description="invalid requests are refused with a fault, never 2xx, never a crash")
@guarded(NAME)
def negative(ctx: CheckContext):
    v = Verdict(NAME)
    c = ctx.contract
    t = target(ctx)
    if c.kind == "property":
        cases: list[tuple[str, Any]] = [("object that does not exist", None)]
    else:
        cases = wire_cases(ctx, t.ctx.body)
        cases += generated_cases(ctx, t.ctx, max(0, ctx.examples))
    watch = Watch(ctx, t.ctx.managed_type, t.moid) if c.kind == "method" else None
    last = None
    for label, body in cases:
        if c.kind == "property":
            path = path_of(c, f"{t.moid}-vsphere-harness-gone")
            send = lambda p=path: ctx.client.request("GET", p)  # noqa: E731
        else:
            send = lambda b=body: ctx.client.request("POST", path_of(c, t.moid), b)  # noqa: E731
        try:
            ex = send()
        except TransportError as exc:
            _dropped(v, ctx, t, label, send, exc)
            continue
        v.seen += 1
        last = ex
        settle(ctx.client, ex, ctx.timeout)
        if 200 <= ex.status < 300 and ex.fault is None:
            v.fail(f"{label}: accepted with HTTP {ex.status}", ex)
        elif ex.fault is None:
            v.fail(f"{label}: HTTP {ex.status} without a fault object (a crash?)", ex)
        elif not is_fault_type(ctx.release, ex.fault_type):
            v.fail(f"{label}: refused with a {ex.fault_type}, which is not a fault type", ex)
        elif ex.status != 500:
            v.fail(f"{label}: fault {ex.fault_type} with HTTP {ex.status} (expected 500)", ex)
    if watch is not None and last is not None and not v.failures and not v.errors:
        # every invalid request was refused (and no control request was sent): nothing may have changed
        for change in watch.changes():
            v.fail(f"{v.seen} invalid request(s) were refused, yet {change}", last)
    return v.result(f"{v.seen} invalid request(s) refused with a fault")


def _dropped(v: Verdict, ctx: CheckContext, t: Any, label: str, send: Any, exc: TransportError) -> None:
    """The connection dropped on an invalid request: a violation only if it is reproducible while
    the valid request (the control) is answered."""
    try:
        call(ctx.client, ctx.contract, t.ctx)
    except TransportError:
        v.error(f"{label}: network: {exc} (and the control request failed too)", *exc.evidence()[:1])
        return
    try:
        send()
    except TransportError as again:
        v.fail(
            f"{label}: the server drops the connection (reproducible; the valid request is answered)",
            *again.evidence()[:1],
        )
        return
    v.error(f"{label}: network: {exc} (not reproducible)", *exc.evidence()[:1])
