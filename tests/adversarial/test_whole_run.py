"""Whole runs against the mutating endpoint: an answer that breaks its contract while the harness
prepares a check is a failure on the operation that answered, and the run exits 1 — it never hides
as an `error` of the check that needed it."""

from __future__ import annotations

from harness.run import RunOptions, exit_code, run_contracts

from .conftest import Endpoint, edit


def _exploded(runtime: dict) -> None:
    runtime["powerState"] = "exploded"  # not a VirtualMachinePowerState


def test_a_broken_answer_during_preparation_fails_the_operation_that_answered(endpoint: Endpoint):
    admin, limited = endpoint.users["admin"], endpoint.users["limited"]
    rule = edit("GET", r"^/VirtualMachine/[^/]+/runtime$", _exploded)
    endpoint.mutator.rules = [rule]
    try:
        result = run_contracts(
            RunOptions(
                endpoint=endpoint.url,
                user=admin[0],
                password=admin[1],
                limited_user=limited[0],
                limited_password=limited[1],
                operations=("VirtualMachine_PowerOnVM_Task",),
                checks=("effects", "faults"),
                inventory_sample=0,
                timeout=10,
            )
        )
    finally:
        endpoint.mutator.rules = []
    assert rule.fired
    assert exit_code(result) == 1
    by = {op.id: {c.check: c for c in op.checks} for op in result.operations}
    broken = by["VirtualMachine_getRuntime"]["shape"]
    assert broken.status == "failed", broken.message
    assert '"exploded" is not one of' in broken.message and "answered during" in broken.message
    assert broken.evidence and broken.evidence[0].request["url"].endswith("/runtime")
    assert broken.evidence[0].response["body"]["powerState"] == "exploded"
    # the checks that needed the read could not decide, and say who broke its contract
    for check in by["VirtualMachine_PowerOnVM_Task"].values():
        if check.status == "error":
            assert "VirtualMachine_getRuntime broke its contract" in check.message, check.message
    assert result.to_dict()["gate"] == {"verdict": "failed", "exit_code": 1}


def test_the_same_run_passes_on_the_clean_endpoint(endpoint: Endpoint):
    admin, limited = endpoint.users["admin"], endpoint.users["limited"]
    result = run_contracts(
        RunOptions(
            endpoint=endpoint.url,
            user=admin[0],
            password=admin[1],
            limited_user=limited[0],
            limited_password=limited[1],
            operations=("VirtualMachine_PowerOnVM_Task",),
            checks=("effects", "faults"),
            inventory_sample=0,
            timeout=10,
        )
    )
    assert exit_code(result) == 0, result.summary()
    assert result.stats["answers_judged"] > 10


def test_the_login_and_service_content_are_judged_too(endpoint: Endpoint):
    admin = endpoint.users["admin"]
    rule = edit(
        "POST", r"^/SessionManager/[^/]+/Login$", lambda session: {**session, "loginTime": "yesterday"}
    )
    endpoint.mutator.rules = [rule]
    try:
        result = run_contracts(
            RunOptions(
                endpoint=endpoint.url,
                user=admin[0],
                password=admin[1],
                operations=("VirtualMachine_getName",),
                checks=("shape",),
                inventory_sample=0,
                timeout=10,
            )
        )
    finally:
        endpoint.mutator.rules = []
    assert rule.fired and exit_code(result) == 1
    by = {op.id: {c.check: c for c in op.checks} for op in result.operations}
    login = by["SessionManager_Login"]["shape"]
    assert "loginTime" in login.message and "answered during connection" in login.message, login.message
    assert by["VirtualMachine_getName"]["shape"].status == "passed"
