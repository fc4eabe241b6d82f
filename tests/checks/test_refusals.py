"""Refusals judged as VMware promises them (negative, effects): an invalid value nested in a data
object may be refused synchronously or by a task that ends in error; a wire-level malformation only
synchronously; acceptance, or a refusal that changed a watched property, fails."""

from __future__ import annotations

import json

import pytest

import harness.checks.negative as negative
from harness.checks.refusals import refusal

RELOCATE = "VirtualMachine_RelocateVM_Task"
MISSING_HOST = {
    "_typeName": "ManagedObjectReference",
    "type": "HostSystem",
    "value": "host-harness-missing-object",
}
LABEL = "a body with `spec.host` referring to a nonexistent HostSystem"


@pytest.fixture
def nested_case(env, monkeypatch):
    """negative sends one case only: RelocateVM_Task to another resource pool on a host that does not
    exist (``spec.host``, nested in the spec: vCenter may refuse it in the task)."""

    def cases(ctx, prepared, n):
        pool = ctx.client.get("VirtualMachine", prepared.moid, "resourcePool").json["value"]
        other = "resgroup-9" if pool != "resgroup-9" else "resgroup-8"
        spec = {
            "_typeName": "VirtualMachineRelocateSpec",
            "pool": {"_typeName": "ManagedObjectReference", "type": "ResourcePool", "value": other},
            "host": MISSING_HOST,
        }
        return [(f"generated: {LABEL}", json.dumps({"spec": spec}).encode(), False)]

    monkeypatch.setattr(negative, "wire_cases", lambda ctx, body: [])
    monkeypatch.setattr(negative, "generated_cases", cases)


def test_a_nested_missing_reference_refused_by_the_task_passes(env, nested_case):
    result = env.run("negative", RELOCATE)
    assert result.status == "passed", result.message
    assert "1 invalid request(s) refused" in result.message


def test_a_nested_missing_reference_accepted_by_a_succeeding_task_fails(env, nested_case):
    result = env.run("negative", RELOCATE, misbehave={"accept_invalid"})
    assert result.status == "failed", result.message
    assert LABEL in result.message and "succeeded" in result.message, result.message
    assert result.evidence and result.evidence[0].request["url"].endswith("/RelocateVM_Task")


def test_a_task_refusal_that_still_changed_a_watched_property_fails(env, nested_case):
    # effects_on_failure: the task ends in error (ManagedObjectNotFound), yet the VM moved to the pool
    result = env.run("negative", RELOCATE, misbehave={"effects_on_failure"})
    assert result.status == "failed", result.message
    assert "were refused, yet resourcePool changed" in result.message, result.message


def test_a_wire_level_malformation_refused_only_by_a_task_fails(env):
    # invalid_in_task: a body that is no ReconfigVMRequestType gets a task that ends in error
    result = env.run("negative", "VirtualMachine_ReconfigVM_Task", misbehave={"invalid_in_task"})
    assert result.status == "failed", result.message
    assert "a malformed request is refused before any task exists" in result.message, result.message
    assert "body is not JSON" in result.message


def test_wire_level_is_the_top_of_the_body():
    assert negative.wire_level("malformed_json", "")
    assert negative.wire_level("wrong_json_type", "spec")
    assert negative.wire_level("wrong_json_type", "vm[0]")  # an item of a top-level array parameter
    assert negative.wire_level("bad_typename", "spec")
    assert negative.wire_level("unknown_param", "harnessUnknownParameter")
    assert not negative.wire_level("wrong_json_type", "spec.numCPUs")  # inside a data object
    assert not negative.wire_level("missing_moref", "host")  # well formed: only the inventory knows
    assert not negative.wire_level("bad_enum", "priority")


class _Ex:
    def __init__(self, status, body):
        self.status, self.json = status, body
        is_fault = (
            isinstance(body, dict) and "_typeName" in body and (status >= 300 or "Fault" in body["_typeName"])
        )
        self.fault = body if is_fault else None
        self.fault_type = body["_typeName"] if self.fault else None


class _Client:
    def __init__(self, info):
        self.info = info

    def wait_task(self, ref, timeout=None):
        return [self.info]


def _task_answer(info):
    ref = {"_typeName": "ManagedObjectReference", "type": "Task", "value": "task-7"}
    return _Ex(200, ref), _Client({"state": "running"} if info is None else info)


@pytest.mark.parametrize(
    ("info", "kind", "words"),
    [
        ({"state": "success"}, "accepted", "task task-7 succeeded"),
        (
            {"state": "error", "error": {"_typeName": "InvalidArgument"}},
            "task",
            "ended in error with InvalidArgument",
        ),
        # VI/JSON sends the fault itself in TaskInfo.error: a LocalizedMethodFault wrapper is no fault
        (
            {
                "state": "error",
                "error": {"_typeName": "LocalizedMethodFault", "fault": {"_typeName": "NotFound"}},
            },
            "bad",
            "with a LocalizedMethodFault, which is not a fault type",
        ),
        ({"state": "error"}, "bad", "without a fault"),
        ({"state": "error", "error": {"_typeName": "VirtualMachineRuntimeInfo"}}, "bad", "not a fault type"),
    ],
)
def test_refusal_follows_the_task(env, info, kind, words):
    contract = env.contracts.get(RELOCATE)
    ex, client = _task_answer(info)
    answer = refusal(client, contract, "8.0.2.0", ex, 1.0)
    assert answer.kind == kind and words in answer.message, answer


def test_refusal_of_synchronous_answers(env):
    contract = env.contracts.get(RELOCATE)
    sync = refusal(None, contract, "8.0.2.0", _Ex(500, {"_typeName": "InvalidArgument"}), 1.0)
    assert sync.kind == "sync" and sync.refused
    assert refusal(None, contract, "8.0.2.0", _Ex(400, {"_typeName": "InvalidArgument"}), 1.0).kind == "bad"
    assert refusal(None, contract, "8.0.2.0", _Ex(500, {"error": "x"}), 1.0).kind == "bad"
    getter = env.contracts.get("VirtualMachine_getRuntime")
    assert refusal(
        None, getter, "8.0.2.0", _Ex(200, {"_typeName": "VirtualMachineRuntimeInfo"}), 1.0
    ).kind == ("accepted")
