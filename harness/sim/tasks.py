"""Tasks: queued -> running -> success | error, with progress, delays, cancel and hangs.

A task's timeline is fixed when it is created (start after a tenth of its duration, complete at
its end).  A scheduler thread completes tasks on time; a read of a task that is due completes it
first, so no reader ever sees a task still running after its end.  Effects are applied at
completion, under the locks of the objects the task holds.
"""

from __future__ import annotations

import collections
import contextlib
import heapq
import itertools
import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..vmodl.values import AnyValue, DataObject, MoRef
from .build import Builder
from .faults import SimFault
from .model import Managed, Task, now

if TYPE_CHECKING:
    from .simulator import Simulator

RECENT_TASKS = 10
KEEP_FINISHED = 20000  # finished tasks kept readable; older ones are forgotten, as vCenter does


class TaskRunner:
    """Creates, advances, completes and cancels tasks."""

    def __init__(self, sim: Simulator):
        self.sim = sim
        self._numbers = itertools.count(1)
        self._heap: list[tuple[float, int, Task]] = []
        self._cond = threading.Condition()
        self._stop = False
        self._thread: threading.Thread | None = None
        self.timeline: dict[str, tuple[float, float, float]] = {}  # moid -> (created, start, end) monotonic
        self.work: dict[str, Callable[[], Any]] = {}
        self.finished: collections.deque[Task] = collections.deque()

    # lifecycle ------------------------------------------------------------------------------------
    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="sim-tasks", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        with self._cond:
            self._stop = True
            self._cond.notify_all()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._stop and (not self._heap or self._heap[0][0] > time.monotonic()):
                    timeout = None if not self._heap else max(0.0, self._heap[0][0] - time.monotonic())
                    self._cond.wait(timeout)
                if self._stop:
                    return
                _, _, task = heapq.heappop(self._heap)
            with contextlib.suppress(Exception):  # a broken task must not stop the scheduler
                self.advance(task)

    # creation -------------------------------------------------------------------------------------
    def create(
        self,
        entity: Managed | None,
        description_id: str,
        user: str,
        *,
        cancelable: bool,
        delay_s: float,
        work: Callable[[], Any] | None,
        result_type: str | None,
        error: SimFault | None = None,
        hang: bool = False,
        locks: list[Managed] = (),
        method: str = "",
    ) -> Task:
        """A new task; ``method`` is the wire name of the method that created it (TaskInfo.name)."""
        inv = self.sim.inv
        number = next(self._numbers)
        task = Task(f"task-{number}", f"task-{number}", entity, description_id, user, cancelable)
        task.method = method
        session = self.sim.current_session()
        task.session_key = session.key if session is not None else None  # type: ignore[attr-defined]
        task.result_type = result_type
        task.event_chain_id = number
        task.locked = list(locks)
        task.pending_error = error  # type: ignore[attr-defined]
        task.hang = hang  # type: ignore[attr-defined]
        inv.add(task)
        for obj in task.locked:
            obj.busy_task = task.ref  # type: ignore[attr-defined]
            obj.touch()
        if entity is not None and "task_no_recent_task" not in self.sim.misbehave:
            with entity.lock:
                entity.recent_tasks = [*entity.recent_tasks[-(RECENT_TASKS - 1) :], task.ref]
                entity.touch()
        if work is not None:
            self.work[task.moid] = work
        created = time.monotonic()
        self.timeline[task.moid] = (created, created + delay_s * 0.1, created + delay_s)
        if delay_s <= 0 and not hang:
            self.advance(task)
        else:
            with self._cond:
                heapq.heappush(self._heap, (created + delay_s * 0.1, number, task))
                if not hang:
                    heapq.heappush(self._heap, (created + delay_s, number, task))
                self._cond.notify_all()
        return task

    # progress ---------------------------------------------------------------------------------------
    def advance(self, task: Task) -> None:
        """Move a task along its timeline up to now (start it, update progress, complete it)."""
        if task.done:
            return
        created, start, end = self.timeline.get(task.moid, (0.0, 0.0, 0.0))
        t = time.monotonic()
        with task.lock:
            if task.done:
                return
            if task.state == "queued" and t >= start:
                task.state = "running"
                task.start_time = now()
                task.progress = 0
                task.touch()
            if task.state == "running" and not getattr(task, "hang", False):
                if t >= end:
                    self._complete(task)
                elif end > start:
                    progress = min(99, int((t - start) / (end - start) * 100))
                    if task.progress is None or progress > task.progress:
                        task.progress = progress
                        task.touch()

    def _complete(self, task: Task, error: SimFault | None = None) -> None:
        work = self.work.pop(task.moid, None)
        error = error or getattr(task, "pending_error", None)
        with self.sim.inv.locked(*task.locked, task.entity):
            if task.start_time is None:
                task.start_time = now()
            result: Any = None
            if error is None and work is not None:
                try:
                    result = work()
                except SimFault as fault:
                    error = fault
            elif error is not None and work is not None and "effects_on_failure" in self.sim.misbehave:
                with contextlib.suppress(SimFault):
                    work()
            if error is not None:
                task.state = "error"
                task.error = error  # rendered per release when read
                task.result = None
            else:
                task.state = "success"
                task.result = result
                task.progress = 100
            task.complete_time = now()
            for obj in task.locked:
                if getattr(obj, "busy_task", None) == task.ref:
                    obj.busy_task = None  # type: ignore[attr-defined]
                obj.touch()
            if task.entity is not None:
                task.entity.touch()
            task.touch()
        self._forget_old(task)
        persist = getattr(self.sim, "persist", None)
        if persist is not None:  # the state file holds the effect before any reader sees success
            persist()

    def _forget_old(self, task: Task) -> None:
        self.finished.append(task)
        while len(self.finished) > KEEP_FINISHED:
            old = self.finished.popleft()
            self.sim.inv.remove(old)
            self.timeline.pop(old.moid, None)

    def cancel(self, task: Task) -> None:
        """Cancel a running or queued task (RequestCanceled); raises when it cannot be cancelled."""
        self.advance(task)
        with task.lock:
            if task.done:
                raise SimFault("InvalidState", "The task has already completed.", sync=True)
            if not task.cancelable:
                raise SimFault("NotSupported", "The task cannot be cancelled.", sync=True)
            task.cancelled = True
            self.work.pop(task.moid, None)
            self._complete(task, SimFault("RequestCanceled", "The task was canceled by a user."))

    # rendering --------------------------------------------------------------------------------------
    def info(self, task: Task, b: Builder) -> DataObject:
        self.advance(task)
        mis = self.sim.misbehave
        task.reads += 1
        state, progress = task.state, task.progress
        if "task_state_backwards" in mis and task.done and task.reads % 2 == 0:
            state, progress = "running", 50
        if "task_progress_decreases" in mis and task.state == "running" and task.reads % 2 == 0:
            progress = 0 if (progress or 0) > 0 else None
        if "task_progress_decreases" in mis and task.state == "running" and task.reads % 2 == 1:
            progress = max(progress or 0, 60)
        result = None
        if state == "success" and task.result is not None:
            result = _any(task.result, task.result_type)
        error = task.error.render(b) if isinstance(task.error, SimFault) and state == "error" else None
        return b.obj(
            "TaskInfo",
            key=task.key,
            task=task.ref,
            name=task.method or task.description_id.split(".")[-1],
            descriptionId=task.description_id,
            entity=task.entity.ref if task.entity is not None else None,
            entityName=task.entity_name,
            locked=[o.ref for o in task.locked] or None,
            state=state,
            cancelled=task.cancelled,
            cancelable=task.cancelable and not task.done,
            error=error,
            result=result,
            progress=progress if state == "running" else (100 if state == "success" else None),
            reason=b.obj("TaskReasonUser", userName=task.user),
            queueTime=task.queue_time,
            startTime=task.start_time if state != "queued" else None,
            completeTime=task.complete_time if state in ("success", "error") else None,
            eventChainId=task.event_chain_id,
        )


def _any(value: Any, result_type: str | None) -> Any:
    """A task result in TaskInfo.result's anyType position."""
    if isinstance(value, DataObject) or value is None:
        return value
    if isinstance(value, MoRef):
        return value
    if isinstance(value, list):
        if value and isinstance(value[0], DataObject):
            item = value[0].type_name
            return AnyValue("ArrayOf" + item[0].upper() + item[1:], value)
        name = (result_type or "string[]").removesuffix("[]")
        return AnyValue("ArrayOf" + name[0].upper() + name[1:], value)
    return AnyValue(result_type or "string", value)
