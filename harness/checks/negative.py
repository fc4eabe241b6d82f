"""negative: invalid requests are refused with a fault, never accepted, never answered with a
non-fault body (a crash) or a dropped connection.

Cases: wire-level malformations (a body that is not JSON, a JSON array, an unknown parameter, a
missing required parameter, a parameter of the wrong JSON type) and, up to ``examples``, the
labelled invalid requests of :mod:`harness.gen` (ill-typed values, missing ``_typeName`` where the
type is polymorphic, references of the wrong managed type or to objects that do not exist ...); for
properties, a read of an object that does not exist.

Refusals are judged as VMware promises them.  A body that is no ``<Method>RequestType`` at all (the
wire-level cases, and their generated twins at the top level of the body) cannot reach the method,
so no task can exist for it: it must be refused synchronously (HTTP 500 with a fault object).  Any
other invalid request (a value inside a data object, an enum value, a number out of range, a
reference to an object that does not exist ...) is checked by the method, and vCenter checks many
of them inside the task: it is refused either synchronously or by a task that ends in ``error`` with
a fault.  Acceptance (2xx for a non-task method, a task that succeeds) or an answer that is no fault
fails; refused requests must leave the contract's ``on_failure_unchanged`` paths unchanged.

A dropped connection is judged carefully, since an injected network fault must never become
``failed``: the valid request is sent as a control; only when the control is answered and the
invalid request drops the connection again is it a violation, otherwise the check is ``error``.
"""

from __future__ import annotations

from typing import Any

from ..client import ClientError, TransportError
from ..gen.draw import draw
from ..gen.invalid import invalid_requests
from .base import CheckContext, check
from .calls import call, may_generate, path_of, safe_pool, target
from .refusals import refusal
from .verdict import Verdict
from .watch import Watch

#: kinds of generated invalid body that are wire-level when they sit at the top level of the body
#: (the body does not deserialize into the request type): refused before any task exists
WIRE_KINDS = frozenset(
    {"malformed_json", "unknown_param", "missing_required", "wrong_json_type", "bad_typename"}
)


def wire_level(kind: str, path: str) -> bool:
    """Whether a generated invalid body is malformed at the wire level: the whole body, a top-level
    parameter (or an item of a top-level array) of the wrong JSON type or ``_typeName``, an unknown
    or missing parameter.  An invalid value inside a data object (``spec.host``) is not."""
    return kind in WIRE_KINDS and "." not in path


def wire_cases(ctx: CheckContext, body: dict[str, Any] | None) -> list[tuple[str, Any]]:
    """(label, body) of malformed requests that need no type knowledge beyond the parameters
    (every one of them wire-level)."""
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


def generated_cases(ctx: CheckContext, prepared: Any, n: int) -> list[tuple[str, Any, bool]]:
    """(label, body, wire-level) of invalid requests from the generators (where random requests may
    be sent)."""

    if not may_generate(ctx, prepared):
        return []
    pool = safe_pool(ctx)
    try:
        strategy = invalid_requests(ctx.contract, ctx.release, morefs=pool)
    except (TypeError, ValueError, KeyError):
        return []
    out = []
    for item in draw(strategy, n, ctx.seed):
        if hasattr(item, "label"):
            out.append((f"generated: {item.label}", item.body, wire_level(item.kind, item.path)))
        else:
            label, body = item
            out.append((f"generated: {label}", body, True))
    return out


@check("negative", description="invalid requests are refused with a fault, never accepted, never a crash")
def negative(ctx: CheckContext, v: Verdict) -> str:
    c = ctx.contract
    t = target(ctx)
    if c.kind == "property":
        cases: list[tuple[str, Any, bool]] = [("object that does not exist", None, True)]
    else:
        cases = [(label, body, True) for label, body in wire_cases(ctx, t.prepared.body)]
        cases += generated_cases(ctx, t.prepared, max(0, ctx.examples))
    watch = Watch(ctx, t.prepared.managed_type, t.moid) if c.kind == "method" else None
    last = None
    for label, body, wire in cases:
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
        try:
            answer = refusal(ctx.client, c, ctx.release, ex, ctx.timeout)
        except ClientError as exc:  # the task it started cannot be followed to its end
            v.error(f"{label}: {exc}", ex)
            continue
        if not answer.refused:
            v.fail(f"{label}: {answer.message}", ex)
        elif answer.kind == "task" and wire:
            v.fail(
                f"{label}: a body that is no {c.request_type or 'request object'} was answered with a task "
                f"({answer.message}); a malformed request is refused before any task exists (HTTP 500 and "
                "a fault)",
                ex,
            )
    if watch is not None and last is not None and not v.failures and not v.errors:
        # every invalid request was refused (and no control request was sent): nothing may have changed
        for change in watch.changes():
            v.fail(f"{v.seen} invalid request(s) were refused, yet {change}", last)
    return f"{v.seen} invalid request(s) refused with a fault"


def _dropped(v: Verdict, ctx: CheckContext, t: Any, label: str, send: Any, exc: TransportError) -> None:
    """The connection dropped on an invalid request: a violation only if it is reproducible while
    the valid request (the control) is answered."""
    try:
        call(ctx.client, ctx.contract, t.prepared)
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
