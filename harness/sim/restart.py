"""A restart of the simulated endpoint: what a vCenter keeps in its database survives, what lives in
vpxd's memory does not.

Kept: the inventory (VMs, hosts, folders, snapshots, custom fields), roles and permissions, the
fault rules and misbehaviour switches (the harness's instruments, not the endpoint's state).
Lost: every session (the next call answers ``NotAuthenticated``), every Task object (a read of one
answers ``ManagedObjectNotFound``), the entities' ``recentTask`` lists and the locks tasks held.  A
task running at the moment of the restart is not completed: its effect is not applied (the VM
keeps the state it had before the task) -- it is lost, never silently completed.  Task numbers go
on from where they were, so a new task never takes the moId of a lost one.

``restart_loses_inventory`` (a misbehaviour) also loses every VM made at run time (not by the seed).
"""

from __future__ import annotations

import itertools
import re
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from .lifecycle import remove_vm
from .model import Inventory, Task
from .tasks import TaskRunner

if TYPE_CHECKING:
    from .simulator import Simulator

#: The longest down time the control route accepts (milliseconds).
MAX_DOWN_MS = 60_000

RestartHook = Callable[[float], None]  # (seconds down) -> None; stops, waits, serves again
_TASK_ID = re.compile(r"task-(\d+)$")


def next_task_number(inv: Inventory) -> int:
    """One more than the highest ``task-N`` the inventory holds (1 when it holds none)."""
    numbers = [int(m[1]) for m in (_TASK_ID.match(k) for k in list(inv.objects)) if m]
    return max(numbers, default=0) + 1


def forget_tasks(inv: Inventory) -> int:
    """Take every Task out of the inventory, empty the ``recentTask`` lists and free the objects
    tasks held; how many tasks were forgotten."""
    tasks = [o for o in list(inv.objects.values()) if isinstance(o, Task)]
    for task in tasks:
        inv.remove(task)
    for obj in list(inv.objects.values()):
        changed = bool(obj.recent_tasks)
        obj.recent_tasks = []
        if getattr(obj, "busy_task", None) is not None:
            obj.busy_task = None  # type: ignore[attr-defined]
            changed = True
        if changed:
            obj.touch()
    return len(tasks)


def lose_run_time_vms(inv: Inventory) -> int:
    """The ``restart_loses_inventory`` misbehaviour: every VM not made by the seed disappears."""
    lost = [vm for vm in inv.vms() if not vm.seeded]
    for vm in lost:
        if vm.moid in inv.objects:
            remove_vm(inv, vm)
    return len(lost)


def forget_memory(sim: Simulator) -> dict[str, int]:
    """What a restart loses, applied to a running simulator (its task scheduler is replaced)."""
    sim.tasks.stop()
    first = next_task_number(sim.inv)
    with sim.auth.lock:
        sessions = len(sim.auth.sessions)
        sim.auth.sessions.clear()
    tasks = forget_tasks(sim.inv)
    lost_vms = lose_run_time_vms(sim.inv) if "restart_loses_inventory" in sim.misbehave else 0
    fresh = TaskRunner(sim)
    fresh._numbers = itertools.count(first)
    sim.tasks = fresh
    fresh.start()
    sim.restarts += 1
    return {"sessions": sessions, "tasks": tasks, "lost_vms": lost_vms}


def restart_route(sim: Simulator) -> Callable[[Request], Any]:
    """``POST /_sim/restart?down_ms=N``: answer 202, then stop serving, keep the port closed ``N``
    ms (default 500) and serve again on the same port with the state a restart keeps."""

    async def restart(request: Request) -> Response:
        hook: RestartHook | None = getattr(sim, "restart_hook", None)
        if hook is None:
            return JSONResponse({"error": "this simulator is not served by a server that can restart"}, 409)
        text = request.query_params.get("down_ms", "500")
        if not text.isdigit() or int(text) > MAX_DOWN_MS:
            return JSONResponse({"error": f"down_ms must be a whole number from 0 to {MAX_DOWN_MS}"}, 400)
        down_s = int(text) / 1000

        def later() -> None:  # after the answer is sent, and off the server's own loop
            threading.Thread(target=hook, args=(down_s,), name="sim-restart", daemon=True).start()

        alive = len(sim.auth.sessions)  # the restart ends them all
        return JSONResponse(
            {"restarting": True, "down_ms": int(text), "sessions": alive},
            202,
            background=BackgroundTask(later),
        )

    return restart
