"""What one side of a comparison saw: an observer on every exchange of a run, summarised per
operation into answers (HTTP status and fault type), shape (of 2xx bodies) and task outcomes.

Nothing an endpoint may legitimately choose on its own (moIds, names, times, keys, counts of
polls) enters a summary: answers are classes (``HTTP 500 InvalidPowerState``), shapes are
``path: kind`` lines (:mod:`.shape`), task outcomes are ``success``/``error <fault>`` with the
result's kind.  A task's outcome is its first terminal ``TaskInfo`` the harness read, once per task,
credited to the operation that started it.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from ..checks.audit import Auditor
from ..client import Exchange
from .shape import NO_BODY, result_kind, shape_of

_NUMBER = re.compile(r"\d+")


@dataclass
class Observed:
    """What one side saw of one operation."""

    answers: Counter[str] = field(default_factory=Counter)  # answer class -> count
    shape: set[str] = field(default_factory=set)  # path: kind lines of every 2xx body
    effects: Counter[str] = field(default_factory=Counter)  # task outcome -> number of tasks


def answer_class(ex: Exchange) -> str:
    """``HTTP <status>`` and what the answer was: a fault type, a defect, or nothing more."""
    head = f"HTTP {ex.status}"
    if ex.defect:
        return f"{head} defect: {_NUMBER.sub('N', ex.defect)}"
    fault = ex.fault_type
    if fault:
        return f"{head} fault {fault}"
    if ex.status >= 300:
        return f"{head} (no fault object)"
    return head


def task_outcome(info: dict[str, Any]) -> str | None:
    """``success[: <result kind>]`` or ``error <fault type>`` of a finished TaskInfo; None while running."""
    state = info.get("state")
    if state == "success":
        result = info.get("result")
        return "success" if result is None else f"success: {result_kind(result)}"
    if state == "error":
        error = info.get("error")
        fault = error.get("_typeName") if isinstance(error, dict) else None
        return f"error {fault or '(no fault type)'}"
    return None


class Recorder:
    """An exchange observer (``Runner(observers=[recorder.observe])``) summarising per operation."""

    def __init__(self, release: str):
        self._contract_of = Auditor(release).contract_of
        self._lock = threading.Lock()
        self.seen: dict[str, Observed] = {}
        self._task_owner: dict[str, str] = {}  # task moId -> operation id
        self._task_done: set[str] = set()

    def observe(self, ex: Exchange) -> None:
        if ex.injected:  # the harness's own chaos damaged it: not the endpoint's answer
            return
        contract = self._contract_of(ex)
        if contract is None:
            return
        with self._lock:
            seen = self.seen.setdefault(contract.id, Observed())
            seen.answers[answer_class(ex)] += 1
            if not ex.ok:
                return
            seen.shape |= shape_of(ex.json) if ex.body else {NO_BODY}
            body = ex.json if isinstance(ex.json, dict) else {}
            if contract.is_task and body.get("type") == "Task" and isinstance(body.get("value"), str):
                self._task_owner[body["value"]] = contract.id
            elif contract.managed_type == "Task" and contract.name == "info":
                self._task_info(body)

    def _task_info(self, info: dict[str, Any]) -> None:
        task = info.get("task")
        moid = task.get("value") if isinstance(task, dict) else info.get("key")
        owner = self._task_owner.get(str(moid))
        outcome = task_outcome(info)
        if owner is None or outcome is None or moid in self._task_done:
            return
        self._task_done.add(str(moid))
        self.seen.setdefault(owner, Observed()).effects[outcome] += 1
