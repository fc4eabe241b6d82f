"""versions: an operation (or a parameter) absent from a release is refused by that release.

For the operation under test, every release of the harness where the contract does not exist is
asked for it (``/sdk/vim25/<that release>/...``, same session, same target and body): the answer
must be a refusal (a fault, or a 4xx), never a 2xx.  A parameter introduced after the release under
test (``since``) is sent to it: refused too, and so is a field a later release added to the data
type of a parameter (``VirtualMachineConfigSpec`` grows with every release): the first such field
is set in the prepared body.  An operation that exists with the same parameters and parameter types
in every release is skipped with that reason.
"""

from __future__ import annotations

from typing import Any

from ..client import Exchange
from ..contract.model import release_key
from ..gen.bodies import param_ref
from ..sandbox.values import Refs, minimal
from ..vmodl.codec import codec
from ..vmodl.registry import RELEASES
from ..vmodl.registry import release as registry
from .base import CheckContext, Skip, check
from .calls import call, path_of, settle, target
from .verdict import Verdict


def _refused(v: Verdict, ex: Exchange, what: str, client: Any = None) -> None:
    v.seen += 1
    if client is not None:
        settle(client, ex, 30.0)
    if 200 <= ex.status < 300 and ex.fault is None:
        v.fail(f"{what}: served with HTTP {ex.status}", ex)
    elif ex.status >= 500 and ex.fault is None:
        v.fail(f"{what}: HTTP {ex.status} without a fault object", ex)


def _later_param_value(ctx: CheckContext, name: str, since: str) -> Any:
    """A value of a later parameter, encoded with the release that has it."""

    p = next(p for p in ctx.contract.params if p.name == name)
    refs = Refs(ctx.sandbox.inventory) if ctx.sandbox is not None else None
    value = minimal(param_ref(p), since, refs) if refs is not None else None
    if value is None:
        return {"_typeName": p.type} if p.type[0].isupper() else "vsphere-harness"
    return codec(since).encode(value, param_ref(p))


def later_fields(ctx: CheckContext) -> list[tuple[str, str, Any, str]]:
    """``(param, field, declared type, first release)``: one field per data-typed parameter that a
    later release added to the parameter's type."""

    here = registry(ctx.release)
    out = []
    for p in ctx.contract.params_for(ctx.release):
        ref = param_ref(p)
        if ref.array or ref.name not in here.data:
            continue
        known = {f.name for f in here.fields(ref.name)}
        for newer in (r for r in RELEASES if release_key(r) > release_key(ctx.release)):
            rel = registry(newer)
            if ref.name not in rel.data:
                continue
            added = [f for f in rel.fields(ref.name) if f.name not in known]
            if added:
                out.append((p.name, added[0].name, added[0].type, newer))
                break
    return out


def _with_later_field(
    ctx: CheckContext, body: dict[str, Any] | None, item: tuple[str, str, Any, str]
) -> dict:
    """The prepared body with a later release's field set in one parameter's data object."""

    pname, fname, ftype, newer = item
    out = dict(body or {})
    refs = Refs(ctx.sandbox.inventory) if ctx.sandbox is not None else None
    p = next(p for p in ctx.contract.params_for(ctx.release) if p.name == pname)
    obj = out.get(pname)
    if not isinstance(obj, dict):
        base = minimal(param_ref(p), ctx.release, refs) if refs is not None else None
        obj = codec(ctx.release).encode(base, param_ref(p)) if base is not None else {"_typeName": p.type}
    value = minimal(ftype, newer, refs) if refs is not None else None
    if value is None:
        value = {} if ftype.name[0].isupper() else "vsphere-harness"
    out[pname] = {**obj, fname: codec(newer).encode(value, ftype)}
    return out


def _implemented(ctx: CheckContext, v: Verdict, unreachable: Skip) -> str:
    """An operation of the release whose target state the sandbox cannot reach (its checks all skip):
    sent once to a powered-off sandbox VM, it must not answer MethodNotFound (vcsim answers that for
    the Fault Tolerance methods, whose state needs one of them).  Otherwise the check skips as before."""
    c = ctx.contract
    if ctx.read_only or ctx.sandbox is None or c.kind != "method" or c.managed_type != "VirtualMachine":
        raise unreachable
    try:
        plain = ctx.sandbox.target_for(c, state="poweredOff", fresh=False)
    except Skip:
        raise unreachable from None
    ex = call(ctx.client, c, plain.prepared)
    settle(ctx.client, ex, ctx.timeout)
    if ex.fault_type != "MethodNotFound":
        raise unreachable
    v.seen += 1
    v.fail(
        f"{c.name} cannot be exercised here ({unreachable}); sent to a powered-off sandbox VM it answered "
        f"MethodNotFound: the endpoint does not implement it, though release {ctx.release} has it",
        ex,
    )
    return ""


@check("versions", description="an operation or parameter absent from a release is refused by that release")
def versions(ctx: CheckContext, v: Verdict) -> str:
    c = ctx.contract
    absent = [r for r in RELEASES if r not in c.releases]
    later = [p for p in c.params if p.since and release_key(p.since) > release_key(ctx.release)]
    fields = later_fields(ctx) if c.kind == "method" else []
    alike = Skip(
        f"{c.name} exists with the same parameters and parameter types in every release "
        f"({', '.join(RELEASES)})"
    )
    if not absent and not later and not fields and ctx.sandbox is not None and ctx.sandbox.known_reachable(c):
        raise alike  # its target can be built: nothing to probe either
    try:
        t = target(ctx)
    except Skip as unreachable:
        if not c.in_release(ctx.release):
            raise
        return _implemented(ctx, v, unreachable)
    if not absent and not later and not fields:
        raise alike
    body = t.prepared.body if c.kind == "method" else None
    for rel in absent:
        url = f"{ctx.client.base_url}/sdk/vim25/{rel}{path_of(c, t.moid)}"
        ex = ctx.client.request(c.http_method, url, body)
        _refused(v, ex, f"{c.name} (absent from {rel}) asked of release {rel}", ctx.client)
    for p in later:
        value = _later_param_value(ctx, p.name, p.since)
        ex = ctx.client.request("POST", path_of(c, t.moid), {**(body or {}), p.name: value})
        _refused(v, ex, f"parameter {p.name} (since {p.since}) sent to {ctx.release}", ctx.client)
    for item in fields[: max(1, ctx.examples)]:
        pname, fname, _, newer = item
        ex = ctx.client.request("POST", path_of(c, t.moid), _with_later_field(ctx, body, item))
        _refused(v, ex, f"{pname}.{fname} (since {newer}) sent to {ctx.release}", ctx.client)
    return f"{v.seen} request(s) for what a release lacks were refused"
