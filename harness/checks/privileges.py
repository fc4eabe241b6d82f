"""privileges: a user lacking a required privilege gets ``NoPermission`` naming that privilege and the
entity in ``missingPrivileges``; the administrator is never refused for privileges.

1. The administrator sends the valid request: ``NoPermission`` is a violation.
2. Where the harness may (not read-only, the target is a sandbox VM, the limited user's name is
   known): for each privilege required on the target, a role with every privilege of
   ``AuthorizationManager.privilegeList`` but that one is created and given to the limited user on the
   sandbox VM; the limited user's call must answer ``NoPermission`` whose entry for the target names
   exactly that privilege (entries for other objects may only name privileges required on parameters).
   Role and permission are removed afterwards.
3. Otherwise the limited user is used as it is: a ``NoPermission`` must name (in
   ``missingPrivileges``) only privileges the contract requires; a success is a violation when
   ``FetchUserPrivilegeOnEntities`` shows the user lacks a required privilege on the target.

Conditional privileges (contract ``conditional_privileges``) are exercised where the request can be
shaped to trigger them: a ``param`` condition with ``equals``/``in`` sets that value
(``AcquireTicket`` by ``ticketType``); a ``target`` condition is evaluated on the target.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any

from ..client import Exchange
from ..contract.model import ConditionalPrivilege, Contract
from ..contract.semantics import MISSING, holds_on_wire, walk
from ..gen.bodies import param_ref
from ..sandbox.reads import read_path
from ..sandbox.state_table import STATES, state_meets
from ..sandbox.values import Refs, minimal
from ..vmodl.codec import INT_RANGES, codec
from ..vmodl.registry import TypeRef
from ..vmodl.registry import release as registry
from .base import CheckContext, Skip, check
from .calls import call, settle, target
from .verdict import Verdict
from .watch import Watch

ALWAYS = frozenset({"System.Anonymous", "System.View", "System.Read"})
MAX_PRIVILEGES = 4


def _has_privileges(c: Contract) -> bool:
    return bool(c.privileges or c.conditional_privileges or any(p.privilege for p in c.params))


def _set(body: dict[str, Any], path: str, value: Any) -> None:
    *head, last = path.split(".")
    cur = body
    for seg in head:
        cur = cur.setdefault(seg, {})
    cur[last] = value


@dataclass
class Scenario:
    """One request to try: where, what, and which privileges it needs (on the target, on parameters)."""

    label: str
    prepared: Any
    body: dict[str, Any] | None
    on_target: list[str]
    on_params: set[str]


def scenarios(ctx: CheckContext, prepared: Any) -> list[Scenario]:
    """The valid request, and requests shaped so that conditional privileges apply."""
    c = ctx.contract
    base_body = prepared.body
    param_privs = {p.privilege for p in c.params if p.privilege and (base_body or {}).get(p.name) is not None}

    def applies(cp: ConditionalPrivilege, body: dict[str, Any] | None, where: Any) -> bool:
        cond = cp.when
        if "param" in cond:
            return holds_on_wire(cond, walk(body or {}, cond["param"].split(".")))
        if "target" in cond:
            value, _ = read_path(ctx.client, where.managed_type, where.moid, cond["target"])
            return value is not MISSING and holds_on_wire(cond, value)
        return False

    def scenario(label: str, body: dict[str, Any] | None, where: Any) -> Scenario:
        on_target = list(c.privileges)
        on_params = set(param_privs)
        for cp in c.conditional_privileges:
            if applies(cp, body, where):
                if cp.on == "target":
                    on_target.extend(p for p in cp.privileges if p not in on_target)
                else:
                    on_params.update(cp.privileges)
        return Scenario(label, where, body, on_target, on_params)

    out = [scenario("the valid request", base_body, prepared)]
    seen_values = set()
    for cp in c.conditional_privileges:
        cond = cp.when
        if "param" not in cond or base_body is None:
            continue
        value = cond.get("equals", (cond.get("in") or [None])[0])
        if value is None and cond.get("present") is True:
            value = _present_value(ctx, prepared, cond["param"])
        if value is None or (cond["param"], str(value)) in seen_values:
            continue
        seen_values.add((cond["param"], str(value)))
        body = copy.deepcopy(base_body)
        _set(body, cond["param"], value)
        if body == base_body:
            continue
        shown = (
            repr(value)
            if len(repr(value)) <= 40
            else (f"a {value.get('_typeName')}" if isinstance(value, dict) else "set")
        )
        out.append(scenario(f"{cond['param']} = {shown}", body, prepared))
    out.extend(_target_scenarios(ctx, prepared, scenario))
    return out


def _target_scenarios(ctx: CheckContext, prepared: Any, scenario: Any) -> list[Scenario]:
    """Requests on another sandbox VM, in a state where a ``target`` condition holds (CloneVM_Task of
    a template needs VirtualMachine.Provisioning.DeployTemplate)."""
    if ctx.contract.managed_type != "VirtualMachine" or ctx.sandbox is None or ctx.read_only:
        return []
    out = []
    seen: set[str] = set()
    for cp in ctx.contract.conditional_privileges:
        cond = cp.when
        if "target" not in cond:
            continue
        value, _ = read_path(ctx.client, prepared.managed_type, prepared.moid, cond["target"])
        if value is not MISSING and holds_on_wire(cond, value):
            continue  # the valid request covers it
        pred = {"target": cond["target"], **{k: v for k, v in cond.items() if k != "target"}}
        state = next((st for st in STATES if st not in seen and state_meets(st, pred)), None)
        if state is None:
            continue
        seen.add(state)
        try:
            other = ctx.sandbox.target_for(ctx.contract, state=state)
        except Skip:
            continue
        out.append(scenario(f"on a {state} VM", other.prepared.body, other.prepared))
    return out


def _present_value(ctx: CheckContext, prepared: Any, path: str) -> Any:
    """A JSON value for a request path (``spec.numCPUs``), to make a ``present`` condition hold."""

    head, *rest = path.split(".")
    param = next((p for p in ctx.contract.params_for(ctx.release) if p.name == head), None)
    if param is None or ctx.sandbox is None:
        return None
    rel = registry(ctx.release)
    ref: TypeRef = param_ref(param)
    for seg in rest:
        if ref.array or ref.name not in rel.data:
            return None
        member = next((f for f in rel.fields(ref.name) if f.name == seg), None)
        if member is None:
            return None
        ref = member.type
    if ref.name in INT_RANGES and not ref.array:
        return 1
    refs = Refs(ctx.sandbox.inventory, folder=prepared.vm and ctx.sandbox.folder, vm=prepared.vm)
    value = minimal(ref, ctx.release, refs)
    if isinstance(value, dict) and not value and not ref.array:
        # an object with no field reads as unset: give it its first optional number or flag
        for f in rel.fields(ref.name):
            if not f.type.array and f.type.name in (*INT_RANGES, "boolean"):
                value[f.name] = 1 if f.type.name in INT_RANGES else True
                break
        else:
            return None
    return None if value is None else codec(ctx.release).encode(value, ref)


def _missing(ex: Exchange) -> list[tuple[str | None, list[str]]]:
    entries = (ex.fault or {}).get("missingPrivileges") or []
    out = []
    for e in entries if isinstance(entries, list) else []:
        if isinstance(e, dict):
            out.append(((e.get("entity") or {}).get("value"), list(e.get("privilegeIds") or [])))
    return out


@check(
    "privileges",
    description="NoPermission names the missing privilege and entity; the admin is never refused",
    applies=_has_privileges,
)
def privileges(ctx: CheckContext, v: Verdict) -> str:
    c = ctx.contract
    if not _has_privileges(c):
        raise Skip("the operation requires no privilege")
    t = target(ctx)
    plans = scenarios(ctx, t.prepared)
    if not any(sc.on_target or sc.on_params for sc in plans):
        raise Skip("no privilege applies to the requests the harness can make")
    if ctx.limited_client is not None:
        # the limited user first: refused calls change nothing, the admin's may (Destroy_Task ...)
        limited_user = (ctx.users.get("limited") or (getattr(ctx.limited_client, "user", None),))[0]
        entity = _grant_entity(t.prepared)
        can_grant = not ctx.read_only and limited_user and entity and ctx.sandbox.owns(entity[1])
        if can_grant:
            _granted(v, ctx, plans, limited_user)
        else:
            _as_is(v, ctx, plans)
    else:
        v.note("no limited user configured: only the administrator was checked")
    ex = call(ctx.client, c, t.prepared)
    settle(ctx.client, ex, ctx.timeout)
    v.seen += 1
    if ex.fault_type == "NoPermission":
        v.fail("the administrator was refused with NoPermission", ex)
    return f"{v.seen} call(s): NoPermission named the missing privileges; the admin was served"


def _grant_entity(prepared: Any) -> tuple[str, str] | None:
    """Where to grant: the sandbox VM (its snapshots inherit), or a sandbox folder."""
    mt = prepared.managed_type
    if mt in ("VirtualMachine", "VirtualMachineSnapshot") and prepared.vm:
        return ("VirtualMachine", prepared.vm)
    return ("Folder", prepared.moid) if mt == "Folder" else None


def _granted(v: Verdict, ctx: CheckContext, plans: list[Scenario], user: str) -> None:
    sb = ctx.sandbox
    am = ctx.client.content["authorizationManager"]["value"]
    listing = ctx.client.get("AuthorizationManager", am, "privilegeList")
    if not listing.ok or not isinstance(listing.json, list):
        v.error(f"cannot read privilegeList: {listing.fault_type or listing.status}", listing)
        return
    every = [p.get("privId") for p in listing.json if isinstance(p, dict) and p.get("privId")]
    tried = 0
    done: set[str] = set()
    for sc in plans:
        entity = _grant_entity(sc.prepared)
        if entity is None or not sb.owns(entity[1]):
            continue
        for priv in [p for p in sc.on_target if p not in ALWAYS and p not in done]:
            done.add(priv)
            if tried >= max(MAX_PRIVILEGES, ctx.examples):
                return
            if priv not in every:
                v.fail(
                    f"{priv}, which {ctx.contract.name} requires, is not in the endpoint's privilegeList "
                    "(AuthorizationManager.privilegeList): it can be neither granted nor withheld",
                    listing,
                )
                continue
            tried += 1
            role = sb.create_role([p for p in every if p != priv])
            try:
                sb.set_permission(entity[1], user, role, entity_type=entity[0])
                watch = Watch(ctx, sc.prepared.managed_type, sc.prepared.moid)
                ex = call(ctx.limited_client, ctx.contract, sc.prepared, sc.body)
                settle(ctx.client, ex, ctx.timeout)
                v.seen += 1
                _judge_exact(v, ex, priv, {sc.prepared.moid, entity[1]}, sc.on_params, sc.label)
                _judge_unchanged(v, ex, watch, f"{sc.label}, every privilege but {priv}")
            finally:
                sb.remove_permission(entity[1], user, entity_type=entity[0])
                sb.remove_role(role)


def _judge_exact(
    v: Verdict, ex: Exchange, priv: str, entities: set[str], on_params: set[str], label: str
) -> None:
    what = f"{label}, every privilege but {priv}"
    if ex.fault_type != "NoPermission":
        v.fail(f"{what}: answered {ex.fault_type or f'HTTP {ex.status}'} instead of NoPermission", ex)
        return
    _judge_status(v, ex, what)
    entries = _missing(ex)
    if not entries:
        v.fail(f"{what}: NoPermission without missingPrivileges", ex)
        return
    on_target = [privs for ent, privs in entries if ent in entities]
    for ent, privs in entries:
        if ent not in entities and not set(privs) <= on_params:
            v.fail(f"{what}: NoPermission names {privs} on {ent}, not required there", ex)
            return
    if not on_target:
        v.note(f"{what}: NoPermission named only parameter objects")
        return
    if sorted(set(on_target[0])) != [priv]:
        v.fail(f"{what}: NoPermission names {on_target[0]} on the target, expected exactly [{priv!r}]", ex)


def _judge_unchanged(v: Verdict, ex: Exchange, watch: Watch, what: str) -> None:
    """A refused call changes nothing."""
    if ex.fault is not None:
        for change in watch.changes():
            v.fail(f"{what}: refused with {ex.fault_type}, yet {change}", ex)


def _judge_status(v: Verdict, ex: Exchange, what: str) -> None:
    if ex.status != 500:
        v.fail(f"{what}: NoPermission sent with HTTP {ex.status} (faults are sent with 500)", ex)


def _as_is(v: Verdict, ctx: CheckContext, plans: list[Scenario]) -> None:
    for sc in plans[: max(1, ctx.examples)]:
        label, on_target = sc.label, sc.on_target
        allowed = set(on_target) | sc.on_params | ALWAYS
        watch = Watch(ctx, sc.prepared.managed_type, sc.prepared.moid)
        ex = call(ctx.limited_client, ctx.contract, sc.prepared, sc.body)
        settle(ctx.client, ex, ctx.timeout)
        v.seen += 1
        if ex.fault_type == "NoPermission":
            _judge_status(v, ex, label)
            _judge_unchanged(v, ex, watch, label)
            entries = _missing(ex)
            if not entries:
                v.fail(f"{label}: NoPermission without missingPrivileges", ex)
            for ent, privs in entries:
                extra = set(privs) - allowed
                if not privs or extra:
                    v.fail(
                        f"{label}: NoPermission names {privs or 'no privilege'} on {ent}; "
                        f"the contract requires {sorted(allowed - ALWAYS)}",
                        ex,
                    )
        elif ex.fault is None and on_target:
            held = _held(ctx, sc.prepared.ref)
            lacking = [p for p in on_target if held is not None and p not in held]
            if lacking:
                v.fail(f"{label}: the limited user lacks {lacking} on the target, yet was served", ex)
            elif held is None:
                v.note(f"{label}: the limited user was served (its privileges could not be read)")


def _held(ctx: CheckContext, ref: dict[str, str]) -> set[str] | None:
    """The limited user's privileges on an entity, read by the administrator."""
    user = (ctx.users.get("limited") or (getattr(ctx.limited_client, "user", None),))[0]
    if not user:
        return None
    am = ctx.client.content["authorizationManager"]["value"]
    ex = ctx.client.invoke(
        "AuthorizationManager", am, "FetchUserPrivilegeOnEntities", {"entities": [ref], "userName": user}
    )
    if not ex.ok or not isinstance(ex.json, list):
        return None
    out: set[str] = set()
    for item in ex.json:
        if isinstance(item, dict):
            out.update(item.get("privileges") or [])
    return out
