"""The run: planning, execution (never crashing), baseline, exit codes, report directory, secrets."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest
import responses
from test_run_fakes import (
    ABOUT,
    LIMITED_PASSWORD,
    LIMITED_SID,
    PASSWORD,
    SID,
    URL,
    FakeSandbox,
    fake_endpoint,
    registry,
    spec,
)

from harness.contract import load_contracts
from harness.run import (
    EndpointError,
    RunOptions,
    UsageError,
    exit_code,
    load_baseline,
    make_plan,
    run_contracts,
)

OPTS = dict(endpoint=URL, user="admin", password=PASSWORD)


@pytest.fixture
def endpoint():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake_endpoint(rsps)
        yield rsps


def run(tmp_path: Path | None = None, **kw):
    options = RunOptions(**{**OPTS, **kw})
    return run_contracts(options, registry=registry(), sandbox_factory=FakeSandbox)


# --- planning -------------------------------------------------------------------------------------------
def test_plan_covers_every_vm_operation_and_absent_ones_only_for_versions():
    plan = make_plan(RunOptions(), registry())
    vm_ops = load_contracts().virtual_machine("8.0.2.0")
    present = [i for i in plan if i.present]
    assert [i.id for i in present] == [c.id for c in vm_ops] and len(present) == 101
    absent = [i for i in plan if not i.present]
    assert absent and all([s.name for s in i.checks] == ["versions"] for i in absent)
    assert all(not i.contract.in_release("8.0.2.0") for i in absent)
    power_on = next(i for i in plan if i.id == "VirtualMachine_PowerOnVM_Task")
    assert [s.name for s in power_on.checks] == ["ok", "power", "boom", "writes", "versions"]
    runtime = next(i for i in plan if i.id == "VirtualMachine_getRuntime")
    assert "boom" not in [s.name for s in runtime.checks]  # applies() filters


def test_plan_filters_operations_checks_and_read_only():
    plan = make_plan(
        RunOptions(operations=("VirtualMachine_Power*", "VirtualMachine_getRuntime"), checks=("ok,writes",)),
        registry(),
    )
    assert {i.id for i in plan} == {
        "VirtualMachine_PowerOnVM_Task",
        "VirtualMachine_PowerOffVM_Task",
        "VirtualMachine_getRuntime",
    }
    assert all([s.name for s in i.checks] == ["ok", "writes"] for i in plan)
    ro = make_plan(RunOptions(read_only=True), registry())
    assert ro.items and all(not i.contract.changes_state for i in ro)
    assert all("writes" not in [s.name for s in i.checks] for i in ro)
    assert "VirtualMachine_getRuntime" in {i.id for i in ro}
    support = make_plan(RunOptions(operations=("SessionManager_*",)), registry())
    assert "SessionManager_Login" in {i.id for i in support}


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"checks": ("ok,nope",)}, "unknown check(s) nope"),
        ({"operations": ("Nothing_*",)}, "no operation of release 8.0.2.0 matches Nothing_*"),
        ({"release": "7.0.0.0"}, "unknown release"),
        ({"inventory_sample": -1}, "inventory sample must be a whole number from 0 on"),
    ],
)
def test_plan_usage_errors(kw, message):
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")) as err:
        make_plan(RunOptions(**kw), registry())
    assert err.value.exit_code == 2


# --- execution --------------------------------------------------------------------------------------------
def test_run_records_every_outcome_and_never_crashes(endpoint):
    result = run(
        operations=(
            "VirtualMachine_PowerOnVM_Task",
            "VirtualMachine_ResetVM_Task",
            "VirtualMachine_Rename_Task",
            "VirtualMachine_UnregisterVM",
            "VirtualMachine_MarkAsTemplate",
        )
    )
    by = {op.id: {c.check: c for c in op.checks} for op in result.operations}
    assert by["VirtualMachine_PowerOnVM_Task"]["power"].status == "failed"
    assert by["VirtualMachine_PowerOnVM_Task"]["power"].evidence[0].response["status"] == 500
    reset = by["VirtualMachine_ResetVM_Task"]["boom"]
    assert reset.status == "error" and "harness error: RuntimeError: bug in a check" in reset.message
    assert "run_fakes.py" in reset.message
    rename = by["VirtualMachine_Rename_Task"]["boom"]
    assert rename.status == "error" and rename.message == "network: GET x: connection reset"
    assert by["VirtualMachine_UnregisterVM"]["boom"].status == "error"
    mark = by["VirtualMachine_MarkAsTemplate"]["boom"]
    assert mark.status == "skipped" and mark.message == "no template here"
    assert {op.id: op.status for op in result.operations} == {
        "VirtualMachine_PowerOnVM_Task": "failed",
        "VirtualMachine_ResetVM_Task": "error",
        "VirtualMachine_Rename_Task": "error",
        "VirtualMachine_UnregisterVM": "error",
        "VirtualMachine_MarkAsTemplate": "passed",
    }
    assert all(c.duration_ms >= 0 for op in result.operations for c in op.checks)
    assert result.endpoint == {
        "url": URL,
        "release": "8.0.2.0",
        "protocol": "json",
        "simulated": False,
        "about": ABOUT,
    }
    assert result.leftovers == ["VirtualMachine vm-77 (Destroy_Task: TaskInProgress)"]
    assert result.stats["requests"] >= 4
    assert exit_code(result) == 1
    assert any(c.request.url.endswith("/Logout") for c in endpoint.calls)


def test_check_context_carries_clients_and_settings(endpoint):
    seen = {}

    def spy(ctx, v):
        seen.update(
            release=ctx.release,
            examples=ctx.examples,
            seed=ctx.seed,
            timeout=ctx.timeout,
            limited=ctx.limited_client.session_id,
            admin=ctx.client.session_id,
            fresh=ctx.session_factory().session_id,
            sandbox=type(ctx.sandbox).__name__,
            endpoint=ctx.extras["endpoint"],
            users=ctx.users,
        )
        return "spied"

    run_contracts(
        RunOptions(
            **OPTS,
            limited_user="limited",
            limited_password=LIMITED_PASSWORD,
            examples=7,
            seed=3,
            timeout=4,
            operations=("VirtualMachine_PowerOnVM_Task",),
        ),
        registry={"spy": spec("spy", spy)},
        sandbox_factory=FakeSandbox,
    )
    assert seen == {
        "release": "8.0.2.0",
        "examples": 7,
        "seed": 3,
        "timeout": 4,
        "limited": LIMITED_SID,
        "admin": SID,
        "fresh": None,
        "sandbox": "FakeSandbox",
        "endpoint": URL,
        "users": {"admin": ("admin", PASSWORD), "limited": ("limited", LIMITED_PASSWORD)},
    }


def test_credentials_from_the_environment(endpoint, monkeypatch):
    monkeypatch.setenv("VSPHERE_USER", "admin")
    monkeypatch.setenv("VSPHERE_PASSWORD", PASSWORD)
    result = run_contracts(
        RunOptions(endpoint=URL, operations=("VirtualMachine_getRuntime",), checks=("ok",)),
        registry=registry(),
        sandbox_factory=FakeSandbox,
    )
    assert result.summary()["passed"] == 1


def test_baseline_accepts_failures(endpoint, tmp_path):
    base = tmp_path / "baseline.yaml"
    base.write_text(
        "- id: VirtualMachine_PowerOn*\n  check: power\n  message: InvalidArgument\n  reason: known\n"
    )
    result = run(operations=("VirtualMachine_PowerOnVM_Task",), checks=("power",), baseline=base)
    (c,) = result.operations[0].checks
    assert c.status == "failed" and c.accepted
    assert result.summary()["accepted"] == 1 and exit_code(result) == 0
    base.write_text(
        '{"accepted": [{"id": "VirtualMachine_PowerOnVM_Task", "check": "power", '
        '"message": "something else"}]}'
    )
    result = run(operations=("VirtualMachine_PowerOnVM_Task",), checks=("power",), baseline=base)
    assert not result.operations[0].checks[0].accepted and exit_code(result) == 1


def test_baseline_accepts_a_check_that_could_not_decide_only_when_it_says_error(endpoint, tmp_path):
    """``status: error`` accepts an undecided check (exit 0 instead of 4); a failure entry does not."""
    opts = {"operations": ("VirtualMachine_UnregisterVM",), "checks": ("boom",)}
    base = tmp_path / "baseline.yaml"
    base.write_text("- {id: VirtualMachine_UnregisterVM, check: boom, reason: flaky endpoint}\n")
    result = run(**opts, baseline=base)
    assert result.operations[0].checks[0].status == "error" and exit_code(result) == 4
    base.write_text(
        "- {id: VirtualMachine_UnregisterVM, check: boom, status: error, reason: drops the call}\n"
    )
    result = run(**opts, baseline=base)
    (c,) = result.operations[0].checks
    assert c.status == "error" and c.accepted and not result.errors()
    assert result.summary()["accepted"] == 1 and exit_code(result) == 0


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not: [valid", "not valid YAML"),
        ("- {id: x, check: y, status: skipped}\n", "status is failed or error"),
        ("- id: x\n", "entry 1 needs string fields 'id' and 'check'"),
        ("- {id: x, check: y, colour: red}\n", "unknown field(s) colour"),
        ("42\n", "expected a list"),
    ],
)
def test_bad_baselines_are_usage_errors(tmp_path, text, message):
    path = tmp_path / "b.yaml"
    path.write_text(text)
    with pytest.raises(UsageError, match=message.replace("(", r"\(").replace(")", r"\)")):
        load_baseline(path)
    with pytest.raises(UsageError, match="cannot read"):
        load_baseline(tmp_path / "missing.yaml")


# --- endpoint problems ---------------------------------------------------------------------------------
def test_unreachable_endpoint_is_exit_3():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(EndpointError, match=f"endpoint http://127.0.0.1:{port} unreachable") as err:
        run_contracts(
            RunOptions(endpoint=f"http://127.0.0.1:{port}", user="a", password="b", timeout=2),
            registry=registry(),
            sandbox_factory=FakeSandbox,
        )
    assert err.value.exit_code == 3


def test_refused_login_is_exit_3(endpoint):
    with pytest.raises(EndpointError, match="administrator login refused.*InvalidLogin"):
        run(password="wrong")
    with pytest.raises(EndpointError, match="limited user login refused"):
        run(limited_user="limited", limited_password="wrong")


@pytest.mark.parametrize(
    "kw, message",
    [
        ({"user": None, "password": None}, "--endpoint needs --user and --password"),
        ({"limited_user": "limited"}, "--limited-user needs --limited-password"),
        ({"endpoint": "ftp://x"}, "is not an http"),
    ],
)
def test_missing_or_bad_settings_are_usage_errors(kw, message, monkeypatch):
    for var in ("VSPHERE_USER", "VSPHERE_PASSWORD", "VSPHERE_LIMITED_PASSWORD"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(UsageError, match=message):
        run(**kw)


# --- reports ------------------------------------------------------------------------------------------
def test_report_dir_is_never_overwritten_without_force(endpoint, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "old.txt").write_text("keep")
    with pytest.raises(UsageError, match="not empty"):
        run(report_dir=out, operations=("VirtualMachine_getRuntime",))
    run(report_dir=out, force=True, operations=("VirtualMachine_getRuntime",))
    assert (out / "results.json").exists() and (out / "old.txt").read_text() == "keep"


def test_no_secret_reaches_any_written_file(endpoint, tmp_path):
    out = tmp_path / "reports"
    result = run(
        report_dir=out,
        limited_user="limited",
        limited_password=LIMITED_PASSWORD,
        operations=("VirtualMachine_PowerOn*", "VirtualMachine_getRuntime"),
    )
    assert result.gate_failures()
    files = sorted(out.iterdir())
    assert [f.name for f in files] == ["junit.xml", "report.html", "results.json", "summary.md"]
    for f in files:
        text = f.read_text()
        for secret in (PASSWORD, LIMITED_PASSWORD, SID, LIMITED_SID):
            assert secret not in text, f"{secret} in {f.name}"
    data = json.loads((out / "results.json").read_text())
    assert data["summary"]["failed"] == 1 and "<redacted>" in (out / "results.json").read_text()


def test_bad_builtin_simulator_settings_are_usage_errors():
    with pytest.raises(UsageError, match="bad simulator settings: vms must be"):
        run_contracts(
            RunOptions(sim={"vms": -1}, operations=("VirtualMachine_getName",)), registry=registry()
        )
    with pytest.raises(UsageError, match="bad simulator settings"):
        run_contracts(
            RunOptions(sim={"colour": 1}, operations=("VirtualMachine_getName",)), registry=registry()
        )


def test_progress_callbacks(endpoint):
    started, done = [], []
    run_contracts(
        RunOptions(
            **OPTS, operations=("VirtualMachine_getName", "VirtualMachine_getRuntime"), checks=("ok", "power")
        ),
        registry=registry(),
        sandbox_factory=FakeSandbox,
        progress=lambda op, n, total: done.append((op.id, n, total)),
        on_check=lambda op_id, check: started.append(f"{op_id}::{check}"),
    )
    assert started == [
        "VirtualMachine_getName::ok",
        "VirtualMachine_getName::power",
        "VirtualMachine_getRuntime::ok",
        "VirtualMachine_getRuntime::power",
    ]
    assert done == [("VirtualMachine_getName", 1, 2), ("VirtualMachine_getRuntime", 2, 2)]


def test_an_interrupted_run_cleans_up_and_keeps_partial_results(endpoint, tmp_path):
    def interrupt(ctx, v):
        raise KeyboardInterrupt

    sandboxes = []

    def factory(*a):
        sandboxes.append(FakeSandbox(*a))
        return sandboxes[-1]

    reg = {**registry(), "stop": spec("stop", interrupt, applies=lambda c: c.name == "runtime")}
    result = run_contracts(
        RunOptions(
            **OPTS,
            operations=("VirtualMachine_getName", "VirtualMachine_getRuntime", "VirtualMachine_getSummary"),
            checks=("ok", "stop"),
            report_dir=tmp_path / "r",
        ),
        registry=reg,
        sandbox_factory=factory,
    )
    assert sandboxes[0].cleaned and result.stats["interrupted"] is True and exit_code(result) == 130
    assert [op.id for op in result.operations] == ["VirtualMachine_getName", "VirtualMachine_getRuntime"]
    assert json.loads((tmp_path / "r" / "results.json").read_text())["stats"]["interrupted"] is True
