"""Calls a check makes: its target from the sandbox, the prepared request, tasks followed to their end."""

from __future__ import annotations

import contextlib
from typing import Any

from ..client import ClientError, Exchange, path_segment
from ..contract.model import Contract
from ..outcomes import Skip
from ..sandbox import Prepared, Target
from .base import CheckContext
from .rules import task_fault


def target(ctx: CheckContext, **kw: Any) -> Target:
    """The sandbox target of the contract (``Target(moid, prepared)``); Skip without a sandbox."""
    if ctx.sandbox is None:
        raise Skip("no sandbox (the run has no objects to call)")
    limited = ctx.users.get("limited")
    if limited and getattr(ctx.sandbox, "principal", "") is None:
        ctx.sandbox.principal = limited[0]
    return ctx.sandbox.target_for(ctx.contract, **kw)


def call(
    client: Any,
    contract: Contract,
    prepared: Prepared,
    body: Any = "default",
    wait_idle: bool = True,
    timeout: float = 30.0,
) -> Exchange:
    """Send the contract's request to the prepared target (``body`` overrides the prepared one).

    With ``wait_idle`` a ``TaskInProgress`` answer naming another task (one an earlier check left
    running on a shared sandbox object) waits for that task and sends once more."""
    payload = prepared.body if body == "default" else body
    if getattr(prepared, "existing", None) and contract.changes_state:
        raise ValueError(
            f"refusing to send {contract.id}, which changes state, to {prepared.existing}: "
            "the harness never changes an object it did not create"
        )
    if contract.kind == "property":
        return client.get(prepared.managed_type, prepared.moid, contract.name)
    ex = client.invoke(prepared.managed_type, prepared.moid, contract.name, payload)
    busy = (ex.fault or {}).get("task") if wait_idle and ex.fault_type == "TaskInProgress" else None
    if isinstance(busy, dict) and busy.get("value"):
        try:
            client.wait_task(busy, timeout=timeout)
        except ClientError:
            return ex
        ex = client.invoke(prepared.managed_type, prepared.moid, contract.name, payload)
    return ex


def settle(client: Any, ex: Exchange, timeout: float) -> None:
    """Wait for the task an answer started (so that no task outlives the check that started it)."""
    if ex.ok and isinstance(ex.json, dict) and ex.json.get("type") == "Task" and ex.json.get("value"):
        with contextlib.suppress(ClientError):
            client.wait_task(ex.json, timeout=timeout)


def may_generate(ctx: CheckContext, prepared: Any) -> bool:
    """Whether generated (random) requests may be sent to the prepared target: on a simulator, for
    an operation that changes nothing, or when the target is the sandbox's own object.  Anything
    else (roles, permissions, hosts, folders the harness did not create) only gets prepared requests."""
    if ctx.simulated or not ctx.contract.changes_state:
        return True
    sb = ctx.sandbox
    if sb is None or not hasattr(sb, "owns"):
        return False
    owner = prepared.vm if prepared.managed_type == "VirtualMachineSnapshot" else prepared.moid
    return (
        bool(owner)
        and prepared.managed_type in ("VirtualMachine", "VirtualMachineSnapshot", "Folder")
        and sb.owns(owner)
    )


def sample_targets(ctx: CheckContext) -> Any:
    """The contract's prepared request on each sampled existing VM (``--inventory-sample``): only for
    operations that change nothing; none without a sandbox that samples."""
    sb = ctx.sandbox
    if sb is None or ctx.contract.changes_state or not hasattr(sb, "sample_targets"):
        return iter(())
    return sb.sample_targets(ctx.contract)


def safe_pool(ctx: CheckContext) -> Any:
    sb = ctx.sandbox
    return sb.safe_pool() if sb is not None and hasattr(sb, "safe_pool") else None


def path_of(contract: Contract, moid: str) -> str:
    return contract.path.replace("{moId}", path_segment(moid))


def outcome(
    client: Any, contract: Contract, ex: Exchange, timeout: float, polls: list[Exchange] | None = None
) -> tuple[str, dict[str, Any] | None, list[dict[str, Any]]]:
    """``(kind, fault, infos)`` of a call: ``ok``, ``fault`` (sync), ``task-ok`` or ``task-fault``
    (the task's error), following the task when the contract has one."""
    if ex.fault is not None or not 200 <= ex.status < 300:
        return "fault", ex.fault, []
    if contract.is_task and isinstance(ex.json, dict) and ex.json.get("type") == "Task":
        infos = client.wait_task(ex.json, timeout=timeout, exchanges=polls)
        last = infos[-1]
        if last.get("state") == "success":
            return "task-ok", None, infos
        return "task-fault", task_fault(last), infos
    return "ok", None, []
