"""Service objects: the clock (ServiceInstance), sessions (SessionManager), task cancellation."""

from __future__ import annotations

from ..faults import SimFault
from ..model import Task, now
from .base import Call, op


@op("ServiceInstance", "CurrentTime")
def current_time(call: Call):
    return lambda: now()


@op("SessionManager", "Login")
def login(call: Call):
    sim = call.sim
    session = sim.auth.login(
        call.p("userName", ""), call.p("password", ""), call.client, call.headers.get("user-agent", "")
    )
    if session is None:
        raise SimFault(
            "InvalidLogin", "Cannot complete login due to an incorrect user name or password.", sync=True
        )
    if call.p("locale") not in (None, "", "en", "en_US", "C"):
        sim.auth.logout(session.key)
        raise SimFault("InvalidLocale", f"unknown locale {call.p('locale')!r}", sync=True)
    call.new_session = session
    return lambda: sim.session_info(session, call.b)


@op("SessionManager", "Logout")
def logout(call: Call):
    def apply() -> None:
        if call.session is not None:
            call.sim.auth.logout(call.session.key)

    return apply


@op("Task", "CancelTask")
def cancel_task(call: Call):
    task: Task = call.obj  # type: ignore[assignment]
    return lambda: call.sim.tasks.cancel(task)
