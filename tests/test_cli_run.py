"""``vsphere-harness run`` and ``report``: exit codes, one-line errors, the files written."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest
import responses
import yaml
from click.testing import CliRunner
from test_run_fakes import PASSWORD, URL, FakeSandbox, fake_endpoint, registry

import harness.run.execute
from harness.cli import main


@pytest.fixture
def fake_checks(monkeypatch):
    monkeypatch.setattr("harness.run.plan.registered", registry)

    monkeypatch.setattr(harness.run.execute, "Sandbox", FakeSandbox)
    for var in ("VSPHERE_USER", "VSPHERE_PASSWORD", "VSPHERE_LIMITED_USER", "VSPHERE_LIMITED_PASSWORD"):
        monkeypatch.delenv(var, raising=False)


def invoke(*args: str, env: dict | None = None):
    return CliRunner().invoke(main, list(args), env=env, catch_exceptions=False)


def one_line_error(result, needle: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.stderr


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--bogus"], "No such option '--bogus'"),
        (["--examples", "0"], "--examples"),
        (["--release", "7.0"], "--release"),
        (["--timeout", "0"], "--timeout"),
        (["--inventory-sample", "-1"], "--inventory-sample"),
        (["--checks", "ok,nope"], "unknown check(s) nope"),
        (["--operations", "Nope_*"], "no operation of release 8.0.2.0 matches Nope_*"),
        (["--endpoint", "ftp://vc"], "not an http(s)://host[:port] URL"),
        (["--endpoint", "https://u:p@vc", "--user", "u", "--password", "p"], "must not carry credentials"),
        (["--endpoint", "https://vc.example"], "--endpoint needs --user and --password"),
    ],
)
def test_bad_options_are_one_line_and_exit_2(fake_checks, args, needle):
    one_line_error(invoke("run", *args), needle)


def test_bad_baseline_and_non_empty_report_dir_are_exit_2(fake_checks, tmp_path):
    bad = tmp_path / "b.yaml"
    bad.write_text("- nope\n")
    one_line_error(
        invoke("run", "--endpoint", URL, "--user", "admin", "--password", PASSWORD, "--baseline", str(bad)),
        "entry 1 needs",
    )
    out = tmp_path / "out"
    out.mkdir()
    (out / "x").write_text("x")
    one_line_error(
        invoke("run", "--endpoint", URL, "--user", "admin", "--password", PASSWORD, "--report-dir", str(out)),
        "not empty (use --force",
    )


def test_unreachable_endpoint_is_exit_3(fake_checks):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    result = invoke(
        "run",
        "--endpoint",
        f"http://127.0.0.1:{port}",
        "--timeout",
        "2",
        "-q",
        env={"VSPHERE_USER": "a", "VSPHERE_PASSWORD": "b"},
    )
    assert result.exit_code == 3
    assert result.stderr.strip() == (
        f"error: endpoint http://127.0.0.1:{port} unreachable: "
        f"GET http://127.0.0.1:{port}/sdk/vim25/8.0.2.0/ServiceInstance/"
        f"ServiceInstance/content: connection refused"
    )


def test_refused_login_is_exit_3(fake_checks):
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake_endpoint(rsps, refuse=True)
        result = invoke("run", "--endpoint", URL, "--user", "admin", "--password", PASSWORD, "-q")
    assert result.exit_code == 3 and "administrator login refused" in result.stderr
    assert PASSWORD not in result.output + result.stderr


def test_run_writes_reports_and_gates_with_a_baseline(fake_checks, tmp_path):
    out = tmp_path / "r1"
    args = [
        "run",
        "--endpoint",
        URL,
        "--user",
        "admin",
        "--password",
        PASSWORD,
        "-q",
        "-o",
        "VirtualMachine_PowerOnVM_Task",
        "-o",
        "VirtualMachine_getName",
        "-c",
        "ok,power",
        "--no-scenarios",
    ]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake_endpoint(rsps)
        first = invoke(*args, "--report-dir", str(out))
        assert first.exit_code == 1, first.output
        assert (
            "2 operations, 4 checks against http://vc.test:8443 (release 8.0.2.0 over VI/JSON): 3 passed, 1 failed"
            in first.stdout
        )
        assert "FAILED VirtualMachine_PowerOnVM_Task::power" in first.stdout
        assert sorted(p.name for p in out.iterdir()) == [
            "junit.xml",
            "report.html",
            "results.json",
            "summary.md",
        ]

        baseline = invoke("report", "baseline", str(out / "results.json"))
        assert yaml.safe_load(baseline.stdout) == [{"id": "VirtualMachine_PowerOnVM_Task", "check": "power"}]
        (tmp_path / "baseline.yaml").write_text(baseline.stdout)
        second = invoke(
            *args, "--report-dir", str(tmp_path / "r2"), "--baseline", str(tmp_path / "baseline.yaml")
        )
        assert second.exit_code == 0, second.output
        assert "1 failed (1 accepted)" in second.stdout
    data = json.loads((tmp_path / "r2" / "results.json").read_text())
    assert data["operations"][0]["checks"][1]["accepted"] is True

    same = invoke("report", "diff", str(out / "results.json"), str(out / "results.json"))
    assert same.exit_code == 0 and same.stdout == "no differences\n"
    data["operations"][1]["checks"][0]["status"] = "failed"
    (tmp_path / "worse.json").write_text(json.dumps(data))
    worse = invoke("report", "diff", str(out / "results.json"), str(tmp_path / "worse.json"))
    assert worse.exit_code == 1 and "new failures (1):" in worse.stdout
    rendered = invoke(
        "report", "render", str(tmp_path / "worse.json"), "--report-dir", str(tmp_path / "html")
    )
    assert rendered.exit_code == 0 and (tmp_path / "html" / "report.html").exists()
    one_line_error(
        invoke("report", "diff", str(tmp_path / "none.json"), str(out / "results.json")), "cannot read"
    )


def test_a_run_that_could_not_decide_fails_closed_with_exit_4(fake_checks, tmp_path):
    args = [
        "run",
        "--endpoint",
        URL,
        "--user",
        "admin",
        "--password",
        PASSWORD,
        "-q",
        "--no-scenarios",
        "-o",
        "VirtualMachine_UnregisterVM",
        "-o",
        "VirtualMachine_getName",
        "-c",
        "ok,boom",
    ]
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake_endpoint(rsps)
        undecided = invoke(*args, "--report-dir", str(tmp_path / "r1"))
        allowed = invoke(*args, "--report-dir", str(tmp_path / "r2"), "--allow-errors")
        old_flag = invoke(*args, "--report-dir", str(tmp_path / "r3"), "--fail-on-error")
    assert undecided.exit_code == 4, undecided.output
    assert "undecided: 1 check(s) and 0 scenario(s) could not decide" in undecided.stderr
    data = json.loads((tmp_path / "r1" / "results.json").read_text())
    assert data["gate"] == {"verdict": "undecided", "exit_code": 4}
    assert (tmp_path / "r1" / "summary.md").read_text().startswith("# vsphere-harness: UNDECIDED")
    junit = (tmp_path / "r1" / "junit.xml").read_text()
    assert "<error " in junit and "<failure " not in junit
    assert allowed.exit_code == 0, allowed.output
    assert json.loads((tmp_path / "r2" / "results.json").read_text())["gate"]["verdict"] == "passed"
    assert old_flag.exit_code == 4  # --fail-on-error is the default now


def test_default_report_dir_is_a_utc_timestamp(fake_checks, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake_endpoint(rsps)
        result = invoke(
            "run",
            "--endpoint",
            URL,
            "--user",
            "admin",
            "--password",
            PASSWORD,
            "-o",
            "VirtualMachine_getName",
            "-c",
            "ok",
            "--no-scenarios",
        )  # with the progress bar
    assert result.exit_code == 0, result.output
    (made,) = (tmp_path / "reports").iterdir()
    assert len(made.name) == len("20261127T141500Z") and made.name.endswith("Z")
    assert (made / "summary.md").read_text().startswith("# vsphere-harness: passed")


def test_subprocess_errors_are_one_line_without_traceback(tmp_path):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    unreachable = [
        "run",
        "--endpoint",
        f"http://127.0.0.1:{port}",
        "--user",
        "u",
        "--password",
        "p",
        "-q",
        "-o",
        "VirtualMachine_getName",
        "-c",
        "shape",
    ]
    for args, code in (
        (["run", "--bogus"], 2),
        (["report", "diff", "a.json", "b.json"], 2),
        (unreachable, 3),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "harness", *args], capture_output=True, text=True, cwd=tmp_path, timeout=60
        )
        assert proc.returncode == code, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
    assert not Path(tmp_path / "reports").exists()
