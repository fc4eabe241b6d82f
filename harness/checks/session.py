"""session: without a session, or with one that was logged out, an operation answers
``NotAuthenticated`` (HTTP 500), never data.

Two calls of the operation's valid request: one with no ``vmware-api-session-id`` header, one
with the id of a session that was logged in and then logged out (a second login of the harness's
user; needs the credentials in ``CheckContext.users['admin']``, otherwise only the first call is
made).  The ServiceInstance (``content``, ``CurrentTime``), ``Login`` and ``currentSession`` (which
reads as unset without a session) are exempt.
"""

from __future__ import annotations

from typing import Any

from ..client import SESSION_HEADER, Exchange
from ._util import Verdict, guarded, path_of, settle, target
from .base import CheckContext, Skip, check

NAME = "session"
EXEMPT = {
    "ServiceInstance_getContent",
    "ServiceInstance_CurrentTime",
    "SessionManager_Login",
    "SessionManager_getCurrentSession",
}


def _judge(v: Verdict, ex: Exchange, how: str, client: Any = None) -> None:
    v.seen += 1
    if client is not None:
        settle(client, ex, 30.0)
    if ex.fault_type == "NotAuthenticated" and ex.status == 500:
        return
    if ex.fault_type == "NotAuthenticated":
        v.fail(f"{how}: NotAuthenticated with HTTP {ex.status} (expected 500)", ex)
    elif ex.fault is not None:
        v.fail(f"{how}: answered {ex.fault_type}, not NotAuthenticated", ex)
    else:
        v.fail(f"{how}: answered HTTP {ex.status} with data instead of NotAuthenticated", ex)


@check(
    NAME,
    description="no session, or a logged-out one, gets NotAuthenticated",
    applies=lambda c: c.id not in EXEMPT,
)
@guarded(NAME)
def session(ctx: CheckContext):
    if ctx.contract.id in EXEMPT:
        raise Skip("served without a session by design")
    v = Verdict(NAME)
    c = ctx.contract
    if c.managed_type == "SessionManager":
        moid, body = ctx.client.content["sessionManager"]["value"], None
    else:
        t = target(ctx)
        moid, body = t.moid, (t.ctx.body if c.kind == "method" else None)
    path = path_of(c, moid)
    method = c.http_method
    ex = ctx.client.request(method, path, body, headers={SESSION_HEADER: None}, use_session=False)
    _judge(v, ex, "no session header", ctx.client)
    creds = ctx.users.get("admin")
    if creds and ctx.session_factory is not None and c.id != "SessionManager_Logout":
        other = ctx.session_factory()
        try:
            other.login(*creds)
            sid = other.session_id
            other.logout()
            ex = ctx.client.request(method, path, body, headers={SESSION_HEADER: sid}, use_session=False)
            _judge(v, ex, "a logged-out session", ctx.client)
        finally:
            other.close()
    else:
        v.note("logged-out session not tried (no credentials for a second session)")
    return v.result(f"{v.seen} call(s) without a valid session answered NotAuthenticated")
