"""``vsphere-harness scenarios list|run``: the scenarios on their own, with the endpoint options of
``run``; exit codes and one-line errors as ``run``."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from harness.cli import main
from harness.sim import SimConfig, running_simulator

ROOT = Path(__file__).resolve().parents[1]
NAMES = sorted(p.stem for p in (ROOT / "scenarios").glob("*.yaml"))


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def one_line_error(result, needle: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.stderr


def test_list_names_every_scenario_with_its_layers():
    result = invoke("scenarios", "list")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [line.split()[0] for line in lines] == NAMES
    by_name = {line.split()[0]: line for line in lines}
    assert "[proxy,server]" in by_name["large-reads-over-a-narrow-link"]
    assert "[transport]" in by_name["duplicated-clone-requests"]


def test_run_named_scenarios_writes_reports_of_those_only(tmp_path):
    out = tmp_path / "r"
    names = ["concurrent-rename-from-sessions", "server-fault-in-a-task"]
    result = invoke("scenarios", "run", *names, "--report-dir", str(out), "-q")
    assert result.exit_code == 0, result.output
    written = json.loads((out / "results.json").read_text())
    assert [s["name"] for s in written["scenarios"]] == names
    assert all(s["status"] == "passed" for s in written["scenarios"])
    assert written["operations"] == [] and written["gate"]["verdict"] == "passed"
    assert "2 scenarios" in result.stdout and (out / "report.html").exists()


def test_a_broken_hypothesis_on_a_given_endpoint_exits_1(tmp_path):
    with running_simulator(SimConfig(vms=6, task_delay_ms=100, misbehave={"no_task_lock"})) as sim:
        user, password = sim.users["admin"]
        result = invoke(
            "scenarios", "run", "concurrent-rename-from-sessions", "--endpoint", sim.url,
            "--user", user, "--password", password, "--report-dir", str(tmp_path / "r"), "-q",
        )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "scenario concurrent-rename-from-sessions: FAILED" in result.stdout
    assert password not in (tmp_path / "r" / "results.json").read_text()


def test_unknown_names_and_bad_files_are_one_line_errors(tmp_path):
    one_line_error(invoke("scenarios", "run", "no-such-scenario"), "unknown scenario(s) no-such-scenario")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: Bad Name\nactions: []\n")
    one_line_error(invoke("scenarios", "list", "--scenario", str(bad)), "bad.yaml")
    one_line_error(invoke("scenarios", "run", "--scenario", str(tmp_path / "missing")), "does not exist")


def test_run_refuses_to_overwrite_reports(tmp_path):
    (tmp_path / "keep.txt").write_text("mine")
    result = invoke("scenarios", "run", "server-fault-in-a-task", "--report-dir", str(tmp_path), "-q")
    one_line_error(result, "not empty")
    assert (tmp_path / "keep.txt").read_text() == "mine"


def test_nothing_to_run_is_a_usage_error_not_a_pass(tmp_path):
    (tmp_path / "empty").mkdir()
    one_line_error(invoke("scenarios", "run", "--scenario", str(tmp_path / "empty")), "no scenario to run")
