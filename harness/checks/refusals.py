"""Refusals as VMware promises them: synchronous (HTTP 500 with a fault) or a task ending in error."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..client import Exchange
from ..contract.model import Contract
from .rules import is_fault_type, task_fault


@dataclass
class Refusal:
    """How an endpoint answered a call that it must refuse (see :func:`refusal`).

    ``kind``: ``sync`` (HTTP 500 with a fault object), ``task`` (a task that ended in ``error`` with a
    fault), ``accepted`` (2xx, or a task that succeeded), ``bad`` (an answer that is no refusal and
    no acceptance either: a non-fault error body, a fault with another status, a ``_typeName`` that is
    no fault type, a task in error without a fault).  ``message`` describes it for a verdict."""

    kind: str
    message: str
    fault: dict[str, Any] | None = None
    task: str | None = None

    @property
    def refused(self) -> bool:
        return self.kind in ("sync", "task")

    @property
    def fault_type(self) -> str | None:
        name = (self.fault or {}).get("_typeName")
        return name if isinstance(name, str) else None


def refusal(client: Any, contract: Contract, release_name: str, ex: Exchange, timeout: float) -> Refusal:
    """Classify the answer to a call that must be refused, as VMware promises refusals.

    vCenter checks many arguments inside the method, and a task method reports what it finds in its
    task: a refusal is either synchronous (HTTP 500 with a fault object) or a task that ends in
    ``error`` with a fault.  The task is followed to its end (a task that does not end raises
    :class:`TaskTimeout`; a task that cannot be read, :class:`ClientError`)."""
    if ex.fault is not None:
        name = ex.fault_type
        if not is_fault_type(release_name, name):
            return Refusal("bad", f"refused with a {name}, which is not a fault type", ex.fault)
        if ex.status != 500:
            return Refusal("bad", f"fault {name} with HTTP {ex.status} (expected 500)", ex.fault)
        return Refusal("sync", f"refused with {name}", ex.fault)
    if not 200 <= ex.status < 300:
        return Refusal("bad", f"HTTP {ex.status} without a fault object (a crash?)")
    ref = ex.json
    if (
        contract.is_task
        and isinstance(ref, dict)
        and ref.get("type") == "Task"
        and isinstance(ref.get("value"), str)
    ):
        task = ref["value"]
        last = client.wait_task(ref, timeout=timeout)[-1]
        if last.get("state") == "success":
            return Refusal("accepted", f"accepted with HTTP {ex.status}: task {task} succeeded", task=task)
        fault = task_fault(last)
        name = (fault or {}).get("_typeName")
        if fault is None:
            return Refusal("bad", f"task {task} ended in error without a fault in TaskInfo.error", task=task)
        if not is_fault_type(release_name, name):
            return Refusal(
                "bad", f"task {task} ended in error with a {name}, which is not a fault type", fault, task
            )
        return Refusal("task", f"refused by task {task}, which ended in error with {name}", fault, task)
    return Refusal("accepted", f"accepted with HTTP {ex.status}")
