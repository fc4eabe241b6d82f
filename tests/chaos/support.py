"""Running one chaos scenario with the simulator misbehaving once the scenario's VM exists (so the
sandbox's own set-up is not what the switch breaks)."""

from __future__ import annotations

from pathlib import Path

from harness.chaos.scenario import Scenario, load_scenario, run_scenario
from harness.report.model import ScenarioResult

SCENARIOS = Path(__file__).resolve().parents[2] / "scenarios"


def scenario_named(name: str) -> Scenario:
    return load_scenario(SCENARIOS / f"{name}.yaml")


def run_misbehaving(
    sim,
    runner,
    scenario: str | Path | Scenario,
    misbehave: set[str] | None = None,
    seed: int = 0,
    timeout: float = 5,
) -> ScenarioResult:
    """Run ``scenario`` (a name in scenarios/, a file, or loaded) on the ``runner``'s sandbox; the
    ``misbehave`` switches are on from when its VM is ready until it ends."""
    if isinstance(scenario, str):
        scenario = scenario_named(scenario)
    elif isinstance(scenario, Path):
        scenario = load_scenario(scenario)
    prepare = runner.sandbox.fresh_vm

    def fresh_then_misbehave(state: str = "poweredOff"):
        vm = prepare(state)
        sim.set_misbehaviour(misbehave or set())
        return vm

    runner.sandbox.fresh_vm = fresh_then_misbehave
    try:
        return run_scenario(scenario, runner.conn, runner.sandbox, seed=seed, timeout=timeout)
    finally:
        runner.sandbox.fresh_vm = prepare
        sim.set_misbehaviour(set())
        sim.clear_fault_rules()
