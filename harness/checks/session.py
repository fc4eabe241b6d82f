"""session: without a session, with a made-up one, or with one that was logged out, an operation
answers ``NotAuthenticated`` (HTTP 500), never data.

Three calls of the operation's valid request: one with no ``vmware-api-session-id`` header, one
with a made-up id that was never issued, and one with the id of a session that was logged in and
then logged out (a second login of the harness's user; needs the credentials in
``CheckContext.users['admin']``, otherwise that call is not made).  A refused call must change
nothing (the contract's ``on_failure_unchanged`` paths are read before and after).  ``Login`` is
judged with a wrong password: ``InvalidLogin``, HTTP 500.  ``currentSession`` may also read as
unset (never as a session).  The ServiceInstance (``content``, ``CurrentTime``) is exempt.
"""

from __future__ import annotations

import secrets
from typing import Any

from ..client import SESSION_HEADER, Exchange
from .base import CheckContext, Skip, check
from .calls import path_of, settle, target
from .verdict import Verdict
from .watch import Watch

EXEMPT = {
    "ServiceInstance_getContent",
    "ServiceInstance_CurrentTime",
}
LOGIN = "SessionManager_Login"
CURRENT = "SessionManager_getCurrentSession"  # unset (or NotAuthenticated) without a session


def _judge(
    v: Verdict, ex: Exchange, how: str, client: Any = None, watch: Watch | None = None, unset_ok: bool = False
) -> None:
    v.seen += 1
    if unset_ok and ex.ok and ex.json is None:
        return  # currentSession reads as unset without a valid session
    if client is not None:
        settle(client, ex, 30.0)
    if ex.fault is not None and watch is not None:
        for change in watch.changes():
            v.fail(f"{how}: refused with {ex.fault_type}, yet {change}", ex)
    if ex.fault_type == "NotAuthenticated" and ex.status == 500:
        return
    if ex.fault_type == "NotAuthenticated":
        v.fail(f"{how}: NotAuthenticated with HTTP {ex.status} (expected 500)", ex)
    elif ex.fault is not None:
        v.fail(f"{how}: answered {ex.fault_type}, not NotAuthenticated", ex)
    else:
        v.fail(f"{how}: answered HTTP {ex.status} with data instead of NotAuthenticated", ex)


@check(
    "session",
    description="no session, or a logged-out one, gets NotAuthenticated",
    applies=lambda c: c.id not in EXEMPT,
)
def session(ctx: CheckContext, v: Verdict) -> str:
    if ctx.contract.id in EXEMPT:
        raise Skip("served without a session by design")
    c = ctx.contract
    if c.id == LOGIN:
        return _wrong_password(v, ctx)
    unset = c.id == CURRENT
    if c.managed_type == "SessionManager":
        moid, body = ctx.client.content["sessionManager"]["value"], None
    else:
        t = target(ctx)
        moid, body = t.moid, (t.prepared.body if c.kind == "method" else None)
    path = path_of(c, moid)
    method = c.http_method
    watch = Watch(ctx, c.managed_type, moid) if c.kind == "method" else None
    ex = ctx.client.request(method, path, body, headers={SESSION_HEADER: None}, use_session=False)
    _judge(v, ex, "no session header", ctx.client, watch, unset)
    creds = ctx.users.get("admin")
    if creds and ctx.session_factory is not None and c.id != "SessionManager_Logout":
        other = ctx.session_factory()
        try:
            other.login(*creds)
            sid = other.session_id
            other.logout()
            watch = Watch(ctx, c.managed_type, moid) if c.kind == "method" else None
            ex = ctx.client.request(method, path, body, headers={SESSION_HEADER: sid}, use_session=False)
            _judge(v, ex, "a logged-out session", ctx.client, watch, unset)
        finally:
            other.close()
    else:
        v.note("logged-out session not tried (no credentials for a second session)")
    forged = f"vsphere-harness-{secrets.token_hex(16)}"
    watch = Watch(ctx, c.managed_type, moid) if c.kind == "method" else None
    ex = ctx.client.request(method, path, body, headers={SESSION_HEADER: forged}, use_session=False)
    _judge(v, ex, "a session id never issued", ctx.client, watch, unset)
    return f"{v.seen} call(s) without a valid session answered NotAuthenticated"


def _wrong_password(v: Verdict, ctx: CheckContext) -> str:
    """Login with a wrong password answers ``InvalidLogin`` (HTTP 500) and opens no session."""
    creds = ctx.users.get("admin")
    if not creds or ctx.session_factory is None:
        raise Skip("Login is judged with a wrong password for a known user; no credentials given")
    user, password = creds
    manager = ctx.client.content["sessionManager"]["value"]
    other = ctx.session_factory()
    try:
        body = {"userName": user, "password": password + "-vsphere-harness-wrong"}
        ex = other.request("POST", path_of(ctx.contract, manager), body, use_session=False)
        v.seen += 1
        if ex.ok:
            v.fail(f"Login with a wrong password for {user} succeeded (HTTP {ex.status})", ex)
        elif ex.fault_type != "InvalidLogin":
            v.fail(
                f"Login with a wrong password answered {ex.fault_type or f'HTTP {ex.status}'}, not InvalidLogin",
                ex,
            )
        elif ex.status != 500:
            v.fail(f"InvalidLogin sent with HTTP {ex.status} (expected 500)", ex)
        sid = ex.headers.get(SESSION_HEADER)
        if sid:
            probe = other.request(
                "GET",
                f"/SessionManager/{manager}/currentSession",
                None,
                headers={SESSION_HEADER: sid},
                use_session=False,
            )
            if probe.ok and probe.json is not None:
                v.fail("a refused Login handed out a session id that works", probe)
    finally:
        other.close()
    return "a wrong password was refused with InvalidLogin"
