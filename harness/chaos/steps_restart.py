"""The scenario step ``restart_endpoint`` and the hypothesis ``inventory_survives``.

``- restart_endpoint: {down_ms: 500}`` asks our simulator (``POST /_sim/restart``) to stop, keep
its port closed ``down_ms`` and serve again with what a vCenter keeps over a restart (the inventory;
not the sessions nor the tasks: :mod:`harness.sim.restart`); the step returns once the endpoint has
gone down, so the next actions meet the outage.  Elsewhere it is skipped, and says so; a restart
the simulator refuses (or cannot be asked for) makes the scenario an ``error``.

A task started before a restart that the endpoint no longer knows afterwards
(``ManagedObjectNotFound``) was lost *by the restart*: the endpoint's documented behaviour, so it is
undecided (reported, never ``failed``).  A task the endpoint still lists but never finishes stays
a failure (``no_task_lost``).  ``inventory_survives: true``: the scenario's VM still exists after
the restart with the name it had before.
"""

from __future__ import annotations

import time
from typing import Any

import requests

from ..client import ClientError, Fault, TransportError, ViClient

#: How long the step waits to see the endpoint go down (seconds).
GONE_WITHIN_S = 10.0


def restart_endpoint(run: Any, spec: dict[str, Any]) -> str:
    """Restart the simulator behind ``run.conn``; the timeline outcome."""
    conn = run.conn
    if not conn.simulated:
        return "skipped: restarting the endpoint needs the built-in simulator (or `vsphere-harness sim`)"
    down_ms = int(spec.get("down_ms", 500))
    before = _name(conn.admin, run.vm)
    if before is not None:
        run.vm_name = before
    run.before_restart |= set(run.tasks)
    try:
        resp = requests.post(
            f"{conn.url}/_sim/restart", params={"down_ms": down_ms}, timeout=10, verify=conn.admin.verify
        )
    except requests.RequestException as exc:
        return _not_done(run, f"{type(exc).__name__}: {exc}")
    if resp.status_code != 202:
        return _not_done(run, f"the simulator answered HTTP {resp.status_code} {resp.text[:200]}")
    gone = _gone(conn.admin, GONE_WITHIN_S)
    run.restarted = (run.restarted or 0) + 1
    sessions = (
        resp.json().get("sessions", 0)
        if resp.headers.get("content-type", "").startswith("application/json")
        else 0
    )
    run.expired = (run.expired or 0) + int(sessions)  # the relogin hypothesis judges them
    return f"restarting, down {down_ms} ms" + ("" if gone else " (not seen down: it came back at once)")


def _not_done(run: Any, why: str) -> str:
    run.not_done.append(f"the endpoint could not be restarted: {why}")
    return f"not done: {why}"


def not_followed(run: Any, task: str, exc: ClientError) -> str | None:
    """The undecided outcome of a task that could not be followed for a reason that is not the
    endpoint's fault (no answer from the network; a restart made the endpoint forget it), else None."""
    if isinstance(exc, TransportError):
        run.undecided.append(task)
        return f"undecided: not followed, no answer ({exc})"
    if (
        task in run.before_restart
        and isinstance(exc, Fault)
        and exc.exchange.fault_type == "ManagedObjectNotFound"
    ):
        run.undecided.append(task)
        return "undecided: lost by the endpoint's restart (its tasks live in memory), not judged"
    return None


def inventory_survived(run: Any, clean: ViClient) -> list[str]:
    """After a restart the scenario's VM still exists with its name (what a vCenter keeps)."""
    name = getattr(run, "vm_name", None)
    if not run.restarted or name is None:
        run.timeline.add("verify", "inventory", "not judged: no restart")
        return []
    try:
        ex = clean.get("VirtualMachine", run.vm, "name")
    except TransportError as exc:
        run.timeline.add("verify", "inventory", f"not judged: {exc}")
        run.undecided.append(f"inventory: {exc}")
        return []
    if ex.ok and ex.json == name:
        run.timeline.add("verify", "inventory", f"{run.vm} still named {name!r}")
        return []
    seen = ex.fault_type or f"HTTP {ex.status} {ex.json!r}"
    run.timeline.add("verify", "inventory", f"{run.vm}: {seen}")
    return [f"the scenario's VM {run.vm} ({name!r}) did not survive the restart: {seen}"]


def _name(client: ViClient, vm: str) -> str | None:
    try:
        ex = client.get("VirtualMachine", vm, "name")
    except ClientError:
        return None
    return ex.json if ex.ok and isinstance(ex.json, str) else None


def _gone(client: ViClient, limit: float) -> bool:
    """Whether the endpoint stops answering within ``limit`` seconds."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        try:
            client.request("GET", "/ServiceInstance/ServiceInstance/content", use_session=False)
        except TransportError:
            return True
        time.sleep(0.02)
    return False
