"""Every check passes against the clean simulator and fails against its misbehaviour switch, over real
sockets; an injected network fault is ``error``, never ``failed``."""

from __future__ import annotations

import json
import re

import pytest
import requests
import responses

from harness.checks.base import CheckContext, registered
from harness.sandbox import Sandbox

CHECKS = (
    "shape",
    "faults",
    "privileges",
    "tasks",
    "effects",
    "negative",
    "versions",
    "session",
    "schemathesis",
    "stateful",
)

# (check, operation, release) that each check passes on the clean simulator
CLEAN = [
    ("shape", "VirtualMachine_getRuntime", "8.0.2.0"),
    ("shape", "VirtualMachine_PowerOnVM_Task", "8.0.2.0"),
    ("faults", "VirtualMachine_PowerOnVM_Task", "8.0.2.0"),
    ("faults", "VirtualMachine_MarkAsTemplate", "8.0.2.0"),
    ("privileges", "VirtualMachine_PowerOnVM_Task", "8.0.2.0"),
    ("privileges", "VirtualMachine_AcquireTicket", "8.0.2.0"),
    ("tasks", "VirtualMachine_Rename_Task", "8.0.2.0"),
    ("tasks", "VirtualMachine_CloneVM_Task", "8.0.2.0"),
    ("effects", "VirtualMachine_PowerOnVM_Task", "8.0.2.0"),
    ("effects", "VirtualMachine_Rename_Task", "8.0.2.0"),
    ("negative", "VirtualMachine_ReconfigVM_Task", "8.0.2.0"),
    ("negative", "VirtualMachine_getRuntime", "8.0.2.0"),
    ("versions", "VirtualMachine_RepairVmDiskChains_Task", "9.1.0.0"),
    ("versions", "VirtualMachine_RemoveAllSnapshots_Task", "8.0.2.0"),
    ("versions", "VirtualMachine_ReconfigVM_Task", "8.0.2.0"),
    ("session", "VirtualMachine_getRuntime", "8.0.2.0"),
    ("session", "VirtualMachine_PowerOffVM_Task", "8.0.2.0"),
    ("schemathesis", "VirtualMachine_PowerOnVM_Task", "8.0.2.0"),
    ("stateful", "VirtualMachine_PowerOnVM_Task", "8.0.2.0"),
]

# (check, operation, release, misbehaviour, words the failure message must hold (or one of them))
BROKEN = [
    ("shape", "VirtualMachine_getRuntime", "8.0.2.0", "drop_typename", "_typeName"),
    ("shape", "VirtualMachine_getRuntime", "8.0.2.0", "extra_field", "Additional properties"),
    ("faults", "VirtualMachine_PowerOnVM_Task", "8.0.2.0", "undeclared_fault", "neither declared"),
    ("faults", "VirtualMachine_PowerOnVM_Task", "8.0.2.0", "fault_status_200", "HTTP 200"),
    (
        "privileges",
        "VirtualMachine_PowerOnVM_Task",
        "8.0.2.0",
        "ignore_privileges",
        "instead of NoPermission",
    ),
    (
        "privileges",
        "VirtualMachine_PowerOnVM_Task",
        "8.0.2.0",
        "nopermission_no_privileges",
        "without missingPrivileges",
    ),
    (
        "privileges",
        "VirtualMachine_PowerOnVM_Task",
        "8.0.2.0",
        "empty_privilege_list",
        "is not in the endpoint's privilegeList",
    ),
    # a backwards read may come before the client saw the end: then progress falls (50 < the real one)
    (
        "tasks",
        "VirtualMachine_Rename_Task",
        "8.0.2.0",
        "task_state_backwards",
        ("after the task ended", "progress fell"),
    ),
    ("tasks", "VirtualMachine_Rename_Task", "8.0.2.0", "task_progress_decreases", "progress fell"),
    ("tasks", "VirtualMachine_Rename_Task", "8.0.2.0", "task_no_recent_task", "recentTask"),
    ("effects", "VirtualMachine_PowerOnVM_Task", "8.0.2.0", "skip_effects", "effect not seen"),
    ("effects", "VirtualMachine_PowerOnVM_Task", "8.0.2.0", "effects_on_failure", "after a failure"),
    ("negative", "VirtualMachine_ReconfigVM_Task", "8.0.2.0", "accept_invalid", "accepted with HTTP 2"),
    ("negative", "VirtualMachine_ReconfigVM_Task", "8.0.2.0", "crash_on_invalid", "without a fault object"),
    (
        "versions",
        "VirtualMachine_RepairVmDiskChains_Task",
        "9.1.0.0",
        "serve_all_releases",
        "served with HTTP",
    ),
    # a field 8.0.3.0 added to VirtualMachineConfigSpec, accepted by 8.0.2.0
    ("versions", "VirtualMachine_ReconfigVM_Task", "8.0.2.0", "accept_invalid", "(since 8.0.3.0) sent to"),
    ("session", "VirtualMachine_getRuntime", "8.0.2.0", "no_session_required", "instead of NotAuthenticated"),
    ("schemathesis", "VirtualMachine_PowerOnVM_Task", "8.0.2.0", "crash_on_invalid", "Content-Type"),
    ("stateful", "VirtualMachine_PowerOnVM_Task", "8.0.2.0", "skip_effects", "the model says"),
]


def test_every_check_is_registered_and_tested():
    assert set(registered()) >= set(CHECKS)
    assert {c for c, *_ in CLEAN} == set(CHECKS)
    assert {c for c, *_ in BROKEN} == set(CHECKS)


@pytest.mark.parametrize(("check", "op", "release"), CLEAN, ids=[f"{c}-{o}" for c, o, _ in CLEAN])
def test_passes_on_the_clean_simulator(env, check, op, release):
    result = env.run(check, op, release)
    assert result.status == "passed", result.message
    assert result.check == check


@pytest.mark.parametrize(
    ("check", "op", "release", "switch", "words"), BROKEN, ids=[f"{c}-{m}" for c, _, _, m, _ in BROKEN]
)
def test_fails_against_its_misbehaviour(env, check, op, release, switch, words):
    result = env.run(check, op, release, {switch}, prewarm=switch == "skip_effects")
    assert result.status == "failed", result.message
    assert any(w in result.message for w in ((words,) if isinstance(words, str) else words)), result.message
    assert result.evidence, "a failure carries the exchange that shows it"
    ev = result.evidence[0]
    assert ev.curl.startswith("curl ") and ev.request["url"].startswith(env.running.url)


def test_busy_target_answers_task_in_progress(env):
    """Rename_Task runs long enough for a second call to meet it running: judged, and it passes."""
    result = env.run("tasks", "VirtualMachine_Rename_Task")
    assert result.status == "passed", result.message
    assert "busy target not judged" not in result.message


def test_evidence_has_no_secrets(env):
    result = env.run("session", "VirtualMachine_getRuntime", misbehave={"no_session_required"})
    text = repr(result)
    for _, password in env.users.values():
        assert password not in text
    assert env.admin.session_id not in text


@pytest.mark.parametrize("check", ["shape", "faults", "negative", "session", "privileges", "schemathesis"])
def test_network_fault_is_error_not_failed(env, check):
    """Every call of the operation's path dies with a connection error: the check cannot decide."""
    op = "VirtualMachine_getRuntime" if check != "privileges" else "VirtualMachine_PowerOnVM_Task"
    env.sandbox.target_for(env.contracts.get(op))  # the sandbox itself is reachable
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(env.running.url)
        for method in ("GET", "POST"):
            mock.add(method, _op_url(env, op), body=requests.ConnectionError("connection reset by peer"))
        result = env.run(check, op)
    assert result.status == "error", result.message


def _op_url(env, op: str):
    contract = env.contracts.get(op)
    return re.compile(
        re.escape(env.admin.root) + contract.path.replace("{moId}", "[^/]+").replace("/", r"\/")
    )


def test_checks_skip_where_they_do_not_apply(env):
    assert env.run("tasks", "VirtualMachine_getRuntime").status == "skipped"
    assert env.run("stateful", "VirtualMachine_Rename_Task").status == "skipped"
    result = env.run("versions", "VirtualMachine_PowerOnVM_Task")
    assert result.status == "skipped" and "every release" in result.message
    assert env.run("session", "ServiceInstance_getContent").status == "skipped"
    result = env.run("effects", "VirtualMachine_AcquireTicket")
    assert result.status == "skipped" and "not observable" in result.message


def test_read_only_runs_change_nothing(env):
    sb = Sandbox(env.admin, "8.0.2.0", read_only=True, inventory=env.sandbox.inventory)

    ctx = CheckContext(
        contract=env.contracts.get("VirtualMachine_PowerOnVM_Task"),
        release="8.0.2.0",
        client=env.admin,
        sandbox=sb,
        read_only=True,
        users=dict(env.users),
    )
    assert registered()["shape"].run(ctx).status == "skipped"
    ctx.contract = env.contracts.get("VirtualMachine_getRuntime")
    assert registered()["shape"].run(ctx).status == "passed"
    assert sb.created_vms == [] and sb.created_folders == [] and sb.cleanup() == []


@pytest.mark.parametrize(
    ("drops", "status", "words"), [(99, "failed", "drops the connection"), (1, "error", "not reproducible")]
)
def test_negative_judges_a_dropped_connection_by_its_control(env, drops, status, words):
    """Invalid requests that drop the connection while the valid one is answered: a violation only
    when it happens again."""

    op = "VirtualMachine_PowerOffVM_Task"
    valid = env.sandbox.target_for(env.contracts.get(op)).prepared.body
    left = {"drops": drops}

    def answer(request):
        body = request.body.decode() if isinstance(request.body, bytes) else request.body
        try:
            is_valid = json.loads(body) == valid if body else valid is None
        except ValueError:
            is_valid = False
        if is_valid or left["drops"] <= 0:
            return 500, {}, json.dumps({"_typeName": "InvalidArgument", "faultMessage": []})
        left["drops"] -= 1
        raise requests.ConnectionError("connection reset by peer")

    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(env.running.url)
        mock.add_callback("POST", _op_url(env, op), callback=answer)
        result = env.run("negative", op)
    assert result.status == status, result.message
    assert words in result.message


@pytest.mark.parametrize(
    ("op", "words"),
    [
        ("VirtualMachine_AcquireTicket", "ticketType = 'device'"),  # a param condition (in)
        ("VirtualMachine_ReconfigVM_Task", "spec.name = "),  # a param condition (present)
        (
            "VirtualMachine_MigrateVM_Task",
            "on a poweredOn VM, every privilege but Resource.HotMigrate",
        ),  # target
    ],
)
def test_privileges_shape_requests_for_conditional_privileges(env, op, words):
    assert env.run("privileges", op, examples=5).status == "passed"
    result = env.run("privileges", op, misbehave={"ignore_privileges"}, examples=5)
    assert result.status == "failed" and words in result.message, result.message
