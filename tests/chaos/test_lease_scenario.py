"""The scenario export-lease-aborted-midway passes on the clean simulator and fails when the
simulator ignores the abort (the lease ends done and the VM stays locked); the lease steps' refusals
and a network that keeps a step from its answer are judged apart."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.chaos.scenario import ScenarioError, load_scenario
from harness.chaos.steps_lease import LeaseSteps
from harness.client import TransportError
from harness.report.model import ScenarioResult

from .support import run_misbehaving

ROOT = Path(__file__).resolve().parents[2]
NAME = "export-lease-aborted-midway"


def _run(sim, runner, misbehave: set[str] | None = None, path: Path | None = None) -> ScenarioResult:
    return run_misbehaving(sim, runner, path or NAME, misbehave)


def test_passes_on_the_clean_simulator(sim, runner):
    result = _run(sim, runner)
    assert result.status == "passed", (result.message, result.timeline)
    outcomes = {e["what"]: e["outcome"] for e in result.timeline}
    assert outcomes["lease open"].startswith("ok lease")
    assert outcomes["lease ready 10"] == "state ready"
    assert outcomes["lease progress 40"] == "ok" and outcomes["lease abort"] == "ok"
    assert outcomes["lease_ends"] == "error: holds"
    assert outcomes["state runtime.powerState"].startswith("'poweredOn'")


def test_fails_when_the_abort_is_ignored(sim, runner):
    result = _run(sim, runner, {"lease_abort_ignored"})
    assert result.status == "failed", (result.message, result.timeline)
    assert "ended done, not error" in result.message
    assert "not success" in result.message  # the VM stayed locked: the power-on task failed


def test_a_refused_step_fails_and_a_stuck_lease_is_undecided(sim, runner, tmp_path):
    result = _run(sim, runner, {"lease_stuck_initializing"}, _variant(tmp_path, ready=0.3))
    assert result.status == "error", (result.message, result.timeline)
    assert "still initializing" in result.message
    result = _run(sim, runner, {"lease_complete_refused"}, _variant(tmp_path, last="complete"))
    assert result.status == "failed", (result.message, result.timeline)
    assert "HttpNfcLeaseComplete on lease" in result.message


def _variant(tmp_path: Path, ready: float = 10, last: str = "abort") -> Path:
    text = (ROOT / "scenarios" / f"{NAME}.yaml").read_text()
    text = text.replace("lease: {ready: 10}", f"lease: {{ready: {ready}}}").replace(
        "lease: abort", f"lease: {last}"
    )
    text = text.replace("lease_ends: error", f"lease_ends: {'done' if last == 'complete' else 'error'}")
    path = tmp_path / f"{NAME}-{ready}-{last}.yaml"
    path.write_text(text)
    return path


def test_a_step_the_network_broke_is_undecided():
    class Down:
        def invoke(self, *a, **k):
            raise TransportError("connection reset by peer")

    steps = LeaseSteps("vm-1")
    assert steps.step(Down(), "open").startswith("undecided: transport")
    assert steps.undecided and not steps.broken


def test_lease_steps_are_validated(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nactions: [{lease: {progress: 140}}]\n")
    with pytest.raises(ScenarioError):
        load_scenario(bad)
    bad.write_text("name: bad\nactions: [{lease: open}]\nhypotheses: {lease_ends: maybe}\n")
    with pytest.raises(ScenarioError):
        load_scenario(bad)


class _Lease:
    """A client whose lease answers ``states`` one read after the other."""

    def __init__(self, *states: str):
        self.states = list(states)

    def get(self, *_):
        return SimpleNamespace(ok=True, json=self.states.pop(0) if len(self.states) > 1 else self.states[0])

    def invoke(self, *_a, **_k):
        raise AssertionError("no step may act on a lease that never was ready")


def test_a_lease_that_fails_on_its_own_leaves_the_later_steps_undecided():
    steps = LeaseSteps("vm-1")
    steps.moid = "lease-1"
    client = _Lease("initializing", "error")
    assert steps.step(client, {"ready": 5}).startswith("undecided: the lease ended in error")
    assert steps.step(client, {"progress": 40}) == "not judged: the lease ended before it was ready"
    assert steps.step(client, "abort") == "not judged: the lease ended before it was ready"
    assert steps.undecided and not steps.broken


def test_a_lease_done_without_complete_breaks_the_scenario():
    steps = LeaseSteps("vm-1")
    steps.moid = "lease-1"
    assert steps.step(_Lease("initializing", "done"), {"ready": 5}) == "state done, never ready"
    assert steps.broken == ["lease lease-1 went from initializing to done without HttpNfcLeaseComplete"]
