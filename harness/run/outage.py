"""A bounded wait for an endpoint that stopped answering mid-run (a restart, a network outage).

A check that would fail while the endpoint forgot the run's sessions is ``error`` instead
(:func:`undecided_if_forgotten`).  The sign is the administrator's client logging in again during
the check: the run uses that session all the time, so it is not forgotten by an idle timeout but by
a restart (the limited user's session may well time out between checks: that is no sign).  An
endpoint that drops sessions at random thus gets ``error`` (the gate fails closed), never a pass.  After a check
ends in ``error`` because the network refused or reset the connection, the runner
waits for the endpoint to answer ``ServiceContent`` again, at most ``reconnect_wait`` seconds, so
the remaining items do not all error while it restarts.  When it is back the run's clients log in
again (a restarted endpoint forgot their sessions).  Each wait is recorded in the run's stats
(``outage_waits``: when, how long, whether the endpoint came back); after a wait that ended without
the endpoint, later items do not wait again (the run ends in errors, never in a stall).  The sandbox's
clean-up, when the endpoint went away during it, is done once more after the wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..client import ClientError, TransportError, ViClient
from ..report.model import CheckResult

#: The network errors that mean "the endpoint is not there" (harness.client.session._reason).
DOWN = ("connection refused", "connection reset", "connection failed", "truncated response")
PROBE_EVERY_S = 0.2


def endpoint_down(result: CheckResult) -> bool:
    """Whether a check's result is an error because the endpoint could not be reached."""
    return (
        result.status == "error"
        and result.message.startswith("network:")
        and any(w in result.message for w in DOWN)
    )


def relogins(clients: list[ViClient | None]) -> int:
    """How many times the run's clients logged in again: the endpoint forgot their sessions."""
    return sum(c.relogins for c in clients if c is not None)


def undecided_if_forgotten(result: CheckResult, forgotten: bool) -> CheckResult:
    """A ``failed`` check during which the endpoint forgot the run's sessions (a restart) is
    undecided: what it found may be what the restart lost (a task, a lock), not a broken contract."""
    if result.status == "failed" and forgotten:
        result.status = "error"
        result.message = (
            "undecided: the endpoint forgot the run's session during the check (a restart?), "
            f"so this may be what it lost: {result.message}"
        )
    return result


@dataclass
class OutageWatch:
    """Waits (bounded) for the endpoint after a check found it down; remembers each wait."""

    limit_s: float
    outages: list[dict[str, Any]] = field(default_factory=list)
    gave_up: bool = False

    def after(self, during: str, result: CheckResult, clients: list[ViClient | None]) -> str:
        """After ``result`` (of ``during``): when the endpoint was down, wait for it and log in again.
        ``""`` (not down, or no waiting), ``"up"`` (it answered at once: nothing recorded), ``"back"``
        or ``"gone"`` (recorded)."""
        if self.limit_s <= 0 or self.gave_up or not endpoint_down(result):
            return ""
        start = time.monotonic()
        admin = next(c for c in clients if c is not None)
        probes, back = _wait(admin, self.limit_s)
        if back and probes == 1:
            return "up"
        waited = round(time.monotonic() - start, 2)
        relogged = 0
        if back:
            for client in clients:
                relogged += _relogin(client)
        else:
            self.gave_up = True
        self.outages.append({"after": during, "waited_s": waited, "back": back, "logged_in_again": relogged})
        return "back" if back else "gone"

    def cleaned_again(
        self, leftovers: list[str], cleanup: Callable[[], list[str]], clients: list[ViClient | None]
    ) -> list[str]:
        """The sandbox's clean-up once more when the endpoint went away during it and answers again
        (within the wait); else ``leftovers`` as they are."""
        if not any(w in p for p in leftovers for w in DOWN):
            return leftovers
        down = CheckResult("cleanup", "error", f"network: {DOWN[0]}")
        if self.after("sandbox clean-up", down, clients) not in ("up", "back"):
            return leftovers
        return list(cleanup())

    def summary(self) -> str:
        """One line for the run's stats (empty when the endpoint never went away)."""
        if not self.outages:
            return ""
        back = sum(o["back"] for o in self.outages)
        text = f"{len(self.outages)} times unreachable, back {back} times within {self.limit_s:g} s"
        return text + ("; gave up waiting" if self.gave_up else "")


def _wait(client: ViClient, limit_s: float) -> tuple[int, bool]:
    """``(probes, back)``: whether the endpoint answers ServiceContent (any HTTP answer) within
    ``limit_s`` seconds, and how many probes it took."""
    deadline = time.monotonic() + limit_s
    probes = 0
    while True:
        probes += 1
        try:
            client.request("GET", "/ServiceInstance/ServiceInstance/content", use_session=False)
            return probes, True
        except TransportError:
            pass
        except ClientError:
            return probes, True  # it answered, though not well: that is for the checks to judge
        if time.monotonic() >= deadline:
            return probes, False
        time.sleep(PROBE_EVERY_S)


def _relogin(client: ViClient | None) -> int:
    """Log ``client`` in again when its session is gone (1), else 0."""
    if client is None or not client.user:
        return 0
    before = client.relogins
    try:
        client.get("SessionManager", client.content["sessionManager"]["value"], "currentSession")
    except (ClientError, KeyError, TypeError):
        return 0
    return client.relogins - before
