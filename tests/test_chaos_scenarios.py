"""The chaos scenarios of scenarios/: each passes on the clean simulator, and each fails against a
simulator that breaks its hypothesis (a misbehaviour switch turned on once the scenario's VM exists)."""

from __future__ import annotations

from pathlib import Path

import pytest

from harness.chaos.scenario import load_scenario, run_scenario
from harness.report.model import ScenarioResult
from harness.run import RunOptions
from harness.run.execute import Runner
from harness.sim import SimConfig, running_simulator

ROOT = Path(__file__).resolve().parents[1]
NEW = [
    "concurrent-power-on-from-sessions",
    "concurrent-power-off-from-sessions",
    "concurrent-snapshots-from-sessions",
    "concurrent-rename-from-sessions",
    "task-slower-than-the-timeout",
    "burst-of-200-requests",
    "large-reads-over-a-narrow-link",
    "session-expires-during-a-task",
]


@pytest.fixture(scope="module")
def sim():
    with running_simulator(SimConfig(vms=12, seed=3, task_delay_ms=100)) as running:
        yield running


@pytest.fixture(scope="module")
def runner(sim):
    options = RunOptions(
        endpoint=sim.url, user=sim.users["admin"][0], password=sim.users["admin"][1], timeout=5
    )
    with Runner(options) as r:
        yield r


def _run(sim, runner, name: str, misbehave: set[str] | None = None) -> ScenarioResult:
    """Run one scenario; ``misbehave`` is switched on once its VM is ready (the sandbox works)."""
    scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
    prepare = runner.sandbox.fresh_vm

    def fresh_then_misbehave(state: str = "poweredOff"):
        vm = prepare(state)
        sim.set_misbehaviour(misbehave or set())
        return vm

    runner.sandbox.fresh_vm = fresh_then_misbehave
    try:
        return run_scenario(scenario, runner.conn, runner.sandbox, timeout=5)
    finally:
        runner.sandbox.fresh_vm = prepare
        sim.set_misbehaviour(set())
        sim.clear_fault_rules()


@pytest.mark.parametrize("name", NEW)
def test_scenario_passes_on_the_clean_simulator(sim, runner, name):
    result = _run(sim, runner, name)
    assert result.status == "passed", (result.message, result.timeline)


@pytest.mark.parametrize(
    "name,switch,words",
    [
        ("concurrent-power-on-from-sessions", "no_task_lock", "concurrent PowerOnVM_Task tasks succeeded"),
        ("concurrent-power-off-from-sessions", "no_task_lock", "concurrent PowerOffVM_Task tasks succeeded"),
        ("concurrent-snapshots-from-sessions", "no_task_lock", "CreateSnapshot_Task tasks succeeded"),
        ("concurrent-rename-from-sessions", "no_task_lock", "concurrent Rename_Task tasks succeeded"),
        ("task-slower-than-the-timeout", "skip_effects", "runtime.powerState"),
        ("burst-of-200-requests", "fault_as_text", "neither a value nor a fault"),
        ("large-reads-over-a-narrow-link", "fault_as_text", "neither a value nor a fault"),
        ("session-expires-during-a-task", "forget_tasks_on_logout", "could not find task"),
    ],
)
def test_scenario_fails_when_the_simulator_breaks_its_hypothesis(sim, runner, name, switch, words):
    result = _run(sim, runner, name, {switch})
    assert result.status == "failed", (result.message, result.timeline)
    assert words in result.message


def test_a_task_slower_than_the_wait_is_undecided_not_failed(sim, runner):
    result = _run(sim, runner, "task-slower-than-the-timeout")
    (action,) = [e for e in result.timeline if e["phase"] == "action"]
    assert "undecided" in action["outcome"] and result.status == "passed"


def test_the_client_logs_in_again_and_follows_its_task_after_the_sessions_expire(sim, runner):
    result = _run(sim, runner, "session-expires-during-a-task")
    outcomes = {e["what"]: e["outcome"] for e in result.timeline}
    assert result.status == "passed", (result.message, result.timeline)
    assert outcomes["expire sessions"].endswith("sessions ended") and not outcomes[
        "expire sessions"
    ].startswith("0")
    (follow,) = [v for k, v in outcomes.items() if k.startswith("follow task")]
    assert follow == "ended success"
    assert "logged in again 1 times" in outcomes["relogin"]
