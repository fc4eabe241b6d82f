"""Refusals by a task, broken by rewriting the clean simulator's TaskInfo: a task that ends in error
must carry a fault (faults, effects, negative), and the clean endpoint passes the same checks."""

from __future__ import annotations

import json
from typing import Any

import pytest

import harness.checks.negative as negative

from .conftest import Rule, edit

TASK_INFO = r"/Task/[^/]+/info$"


def _task_error(value: Any) -> Rule:
    """TaskInfo reads in state error get ``value`` as their error (None: no error at all)."""

    def fn(info: dict[str, Any]) -> None:
        if value is None:
            info.pop("error", None)
        else:
            info["error"] = value

    return edit(
        "GET", TASK_INFO, fn, when=lambda q, r: r.status == 200 and (r.json or {}).get("state") == "error"
    )


NOT_A_FAULT = {"_typeName": "VirtualMachineRuntimeInfo", "powerState": "poweredOn"}


@pytest.fixture
def relocate_to_a_missing_host(monkeypatch):
    """negative sends one case: RelocateVM_Task with ``spec.host`` naming no HostSystem (the clean
    simulator refuses it by the task)."""
    spec = {
        "_typeName": "VirtualMachineRelocateSpec",
        "host": {
            "_typeName": "ManagedObjectReference",
            "type": "HostSystem",
            "value": "host-harness-missing",
        },
    }
    case = ("generated: a missing spec.host", json.dumps({"spec": spec}).encode(), False)
    monkeypatch.setattr(negative, "wire_cases", lambda ctx, body: [])
    monkeypatch.setattr(negative, "generated_cases", lambda ctx, prepared, n: [case])


@pytest.mark.parametrize(
    ("check", "op", "value", "words"),
    [
        (
            "faults",
            "VirtualMachine_PowerOnVM_Task",
            NOT_A_FAULT,
            "VirtualMachineRuntimeInfo is not a fault type",
        ),
        ("effects", "VirtualMachine_PowerOnVM_Task", None, "ended in error without a fault"),
        ("effects", "VirtualMachine_PowerOnVM_Task", NOT_A_FAULT, "not a fault type"),
    ],
)
def test_a_task_error_that_is_no_fault_fails(env, check, op, value, words):
    result = env.run(check, op, [_task_error(value)], timeout=5.0)
    assert result.status == "failed", f"{result.status}: {result.message}"
    assert words in result.message, result.message
    assert result.evidence


def test_negative_a_task_error_that_is_no_fault_fails(env, relocate_to_a_missing_host):
    assert env.run("negative", "VirtualMachine_RelocateVM_Task", []).status == "passed"  # the control
    result = env.run("negative", "VirtualMachine_RelocateVM_Task", [_task_error(None)])
    assert result.status == "failed", f"{result.status}: {result.message}"
    assert "a missing spec.host: task task-" in result.message and "without a fault" in result.message
