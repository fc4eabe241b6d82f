"""Faults the simulator raises: a fault type name plus fields, rendered per release."""

from __future__ import annotations

from typing import Any

from ..vmodl.values import DataObject, MoRef
from .build import Builder


class SimFault(Exception):
    """An operation fails with a VMODL fault.

    ``sync`` says where a task method reports it: True in the HTTP response, False in the task's
    error, None to decide by kind (runtime faults in the response, others in the task).
    """

    def __init__(self, type_name: str, message: str = "", sync: bool | None = None, **fields: Any):
        super().__init__(f"{type_name}: {message}" if message else type_name)
        self.type_name = type_name
        self.message = message or type_name
        self.fields = fields
        self.sync = sync

    def render(self, b: Builder) -> DataObject:
        """The fault object, valid in ``b``'s release: the body of an HTTP 500, and what travels in
        every fault position inside data (``TaskInfo.error``, ``faultCause``, the items of
        QueryFaultToleranceCompatibility's result), typed ``MethodFault`` as in VMware's VI/JSON."""
        type_name = self.type_name if b.has_type(self.type_name) else "SystemError"
        fields = {k: _render(v, b) for k, v in self.fields.items()}
        if type_name == "SystemError" and "reason" not in fields:
            fields["reason"] = self.message
        msg = b.obj("LocalizableMessage", key=f"vim.fault.{self.type_name}", message=self.message)
        return b.obj(type_name, faultMessage=[msg], **fields)


def _render(value: Any, b: Builder) -> Any:
    if isinstance(value, SimFault):  # a fault inside data (faultCause ...) is the fault object itself
        return value.render(b)
    if isinstance(value, list):
        return [_render(v, b) for v in value]
    if isinstance(value, DataObject):
        return b.project(value)
    return value


def invalid_power_state(existing: str, requested: str | None = None, message: str = "") -> SimFault:
    return SimFault(
        "InvalidPowerState",
        message or f"The attempted operation cannot be performed in the current state ({existing}).",
        existingState=existing,
        requestedState=requested,
    )


def invalid_state(message: str) -> SimFault:
    return SimFault("InvalidState", message)


def task_in_progress(task: MoRef) -> SimFault:
    return SimFault("TaskInProgress", "Another task is already in progress.", sync=True, task=task)


def not_found_object(ref: MoRef) -> SimFault:
    return SimFault(
        "ManagedObjectNotFound",
        f"The object '{ref.type}:{ref.value}' has already been deleted or has not been completely created",
        sync=True,
        obj=ref,
    )


def invalid_argument(prop: str | None, message: str) -> SimFault:
    return SimFault("InvalidArgument", message, sync=True, invalidProperty=prop)


def invalid_request(message: str) -> SimFault:
    return SimFault("InvalidRequest", message, sync=True)
