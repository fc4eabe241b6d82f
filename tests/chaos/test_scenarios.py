"""The chaos scenarios of scenarios/: each passes on the clean simulator, and each fails against a
simulator that breaks its hypothesis (a misbehaviour switch turned on once the scenario's VM exists)."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import run_misbehaving

ROOT = Path(__file__).resolve().parents[2]
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


@pytest.mark.parametrize("name", NEW)
def test_scenario_passes_on_the_clean_simulator(sim, runner, name):
    result = run_misbehaving(sim, runner, name)
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
    result = run_misbehaving(sim, runner, name, {switch})
    assert result.status == "failed", (result.message, result.timeline)
    assert words in result.message


def test_a_task_slower_than_the_wait_is_undecided_not_failed(sim, runner):
    result = run_misbehaving(sim, runner, "task-slower-than-the-timeout")
    (action,) = [e for e in result.timeline if e["phase"] == "action"]
    assert "undecided" in action["outcome"] and result.status == "passed"


def test_the_client_logs_in_again_and_follows_its_task_after_the_sessions_expire(sim, runner):
    result = run_misbehaving(sim, runner, "session-expires-during-a-task")
    outcomes = {e["what"]: e["outcome"] for e in result.timeline}
    assert result.status == "passed", (result.message, result.timeline)
    assert outcomes["expire sessions"].endswith("sessions ended") and not outcomes[
        "expire sessions"
    ].startswith("0")
    (follow,) = [v for k, v in outcomes.items() if k.startswith("follow task")]
    assert follow == "ended success"
    assert "logged in again 1 times" in outcomes["relogin"]
