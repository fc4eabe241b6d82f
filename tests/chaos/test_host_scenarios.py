"""The host scenarios (host-enters-maintenance-mid-sequence, ft-failover-with-faulted-host): each
passes on the clean simulator and fails against a simulator that breaks its hypothesis (a
misbehaviour switch turned on once the scenario's VM exists); the steps they use, one by one."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import pytest

from harness.chaos.scenario import Scenario, ScenarioError, ScenarioRun, load_scenario
from harness.chaos.steps_host import _failovers
from harness.client import TransportError
from harness.report.model import ScenarioResult

from .support import run_misbehaving

ROOT = Path(__file__).resolve().parents[2]
MAINTENANCE = "host-enters-maintenance-mid-sequence"
FAILOVER = "ft-failover-with-faulted-host"


def _run(sim, runner, scenario: str | Scenario, misbehave: set[str] | None = None) -> ScenarioResult:
    """Run one scenario (see :func:`run_misbehaving`), then put back every host it may have left."""
    try:
        return run_misbehaving(sim, runner, scenario, misbehave)
    finally:
        for host in sim.sim.inv.hosts:  # whatever a failed scenario left behind
            host.connection_state = "connected"
            host.maintenance = host.moid == "host-13"
            host.touch()


def _outcomes(result: ScenarioResult) -> dict[str, str]:
    return {e["what"]: e["outcome"] for e in result.timeline if e["phase"] == "action"}


@pytest.mark.parametrize("name", [MAINTENANCE, FAILOVER])
def test_scenario_passes_on_the_clean_simulator(sim, runner, name):
    result = _run(sim, runner, name)
    assert result.status == "passed", (result.message, result.timeline)


@pytest.mark.parametrize(
    "name,switch,words",
    [
        (MAINTENANCE, "ignore_maintenance_mode", "PowerOnVM_Task task"),
        (MAINTENANCE, "maintenance_half_done", "runtime.inMaintenanceMode of host-14 = True"),
        (FAILOVER, "ft_double_swap", "the roles swapped not exactly once"),
    ],
)
def test_scenario_fails_when_the_simulator_breaks_its_hypothesis(sim, runner, name, switch, words):
    result = _run(sim, runner, name, {switch})
    assert result.status == "failed", (result.message, result.timeline)
    assert words in result.message


def test_the_maintenance_scenario_uses_the_empty_host_and_leaves_it_as_it_was(sim, runner):
    result = _run(sim, runner, MAINTENANCE)
    outcomes = _outcomes(result)
    assert result.status == "passed", (result.message, result.timeline)
    assert outcomes["EnterMaintenanceMode_Task on host-14"].endswith("ended success, as expected")
    assert "ended Timedout, as expected" in [
        e["outcome"].split("; ")[-1] for e in result.timeline if "EnterMaintenance" in e["what"]
    ]
    assert sim.sim.inv.get("host-14").maintenance is False  # the scenario took it out again


def test_the_ft_scenario_faults_the_primarys_host_and_restores_it(sim, runner):
    result = _run(sim, runner, FAILOVER)
    events = [(e["phase"], e["what"], e["outcome"]) for e in result.timeline]
    assert result.status == "passed", (result.message, result.timeline)
    (faulted,) = [w for p, w, _ in events if p == "action" and w.startswith("host ")]
    host = faulted.split()[1]
    assert faulted == f"host {host} notResponding"
    assert ("verify", "MakePrimaryVM_Task winners", "1 of 1 tasks succeeded") in events
    assert sim.sim.inv.get(host).connection_state == "connected"


def test_ignoring_maintenance_mode_powers_the_vm_on_and_the_checks_say_so(sim, runner):
    result = _run(sim, runner, MAINTENANCE, {"ignore_maintenance_mode"})
    assert "expected one of InvalidState" in result.message
    assert "runtime.powerState of" in result.message and "poweredOn" in result.message


def test_a_task_that_outlives_its_wait_is_undecided_not_failed(sim, runner):
    scenario = Scenario(
        name="slow-end",
        vm="poweredOff",
        faults=[{"server": {"method": "PowerOnVM_Task", "into": "task", "delay_ms": 1500}}],
        actions=[{"invoke": "PowerOnVM_Task", "ends": ["success"], "wait_s": 0.2}],
        rollback=[{"invoke": "PowerOffVM_Task"}],
    )
    result = _run(sim, runner, scenario)
    assert result.status == "error", (result.message, result.timeline)
    assert "undecided" in result.message


def test_an_end_a_server_rule_may_have_injected_is_not_held_against_the_endpoint(sim, runner):
    scenario = Scenario(
        name="injected-end",
        vm="poweredOff",
        faults=[{"server": {"method": "PowerOnVM_Task", "into": "task", "fault": "SystemError"}}],
        actions=[{"invoke": "PowerOnVM_Task", "ends": ["success"]}],
    )
    result = _run(sim, runner, scenario)
    assert result.status == "error", (result.message, result.timeline)
    assert "server rule may have injected" in result.message


def test_a_broken_check_fails_and_a_held_one_passes(sim, runner):
    def scenario(state: str) -> Scenario:
        return Scenario(
            name="check", vm="poweredOff", actions=[{"check": {"runtime.powerState": {"equals": state}}}]
        )

    assert _run(sim, runner, scenario("poweredOff")).status == "passed"
    broken = _run(sim, runner, scenario("poweredOn"))
    assert broken.status == "failed" and "checked mid-sequence" in broken.message


def test_a_host_step_is_skipped_where_the_endpoint_is_not_the_simulator(sim, runner, monkeypatch):
    monkeypatch.setattr(runner.conn, "simulated", False)
    scenario = Scenario(name="host-only", actions=[{"host": {"connection": "notResponding"}}])
    result = _run(sim, runner, scenario)
    assert result.status == "skipped" and "no API to fault a host" in result.message


def test_the_maintenance_scenario_changes_no_host_of_a_real_endpoint(sim, runner, monkeypatch):
    """It changes a host, which the harness never created: skipped on anything but our simulator,
    before the sandbox or any host is touched."""
    monkeypatch.setattr(runner.conn, "simulated", False)
    sent: list[str] = []
    monkeypatch.setattr(
        runner.conn.admin, "observers", [*runner.conn.admin.observers, lambda ex: sent.append(ex.url)]
    )
    result = _run(sim, runner, MAINTENANCE)
    assert result.status == "skipped" and "changes no host it did not create" in result.message
    assert not [url for url in sent if "/HostSystem/" in url and "MaintenanceMode" in url]


def test_the_rollback_runs_when_the_harness_fails_mid_way(sim, runner, monkeypatch):
    """A harness error right after the host entered maintenance mode still takes it out (the
    rollback runs in a finally), so nothing is left as the scenario made it."""
    scenario = Scenario(
        name="enter-then-fail",
        vm="poweredOff",
        actions=[
            {
                "invoke": "EnterMaintenanceMode_Task",
                "target": "$free_host",
                "body": {"timeout": 0},
                "wait_s": 5,
            }
        ],
        rollback=[{"invoke": "ExitMaintenanceMode_Task", "target": "$free_host", "body": {"timeout": 0}}],
    )
    act = ScenarioRun._act

    def act_then_fail(self, client, action, phase):
        act(self, client, action, phase)
        if phase == "action":
            raise RuntimeError("a harness bug after the host entered maintenance mode")

    monkeypatch.setattr(ScenarioRun, "_act", act_then_fail)
    try:
        with pytest.raises(RuntimeError, match="harness bug"):
            run_misbehaving(sim, runner, scenario)  # no clean-up of the hosts after it
        left = [host.moid for host in sim.sim.inv.hosts if host.maintenance and host.moid != "host-13"]
    finally:
        monkeypatch.setattr(ScenarioRun, "_act", act)
        _run(sim, runner, Scenario(name="reset-hosts", actions=[{"sleep_ms": 1}]))
    assert left == []


@pytest.mark.parametrize(
    "text,words",
    [
        ("name: x\nactions: [{host: {connection: crashed}}]\n", "actions/0"),
        ("name: x\nactions: [{check: {runtime.powerState: {bigger: 1}}}]\n", "actions/0"),
        ("name: x\nactions: [{invoke: PowerOnVM_Task, ends: []}]\n", "actions/0/ends"),
        ("name: x\nactions: [{invoke: PowerOnVM_Task, target: $nowhere}]\n", "actions/0/target"),
    ],
)
def test_malformed_host_steps_are_refused_with_their_place(tmp_path, text, words):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=words):
        load_scenario(path)


def test_the_harness_powers_off_its_own_vms_to_free_a_host_but_no_one_elses(sim, runner):
    leftover = runner.sandbox.fresh_vm("poweredOn")["value"]  # as a check may leave one
    inv = sim.sim.inv
    inv.get(leftover).host = inv.get("host-14")
    inv.get(leftover).touch()
    result = _run(sim, runner, MAINTENANCE)
    assert result.status == "passed", (result.message, result.timeline)
    setup = [e["outcome"] for e in result.timeline if e["phase"] == "setup"]
    assert setup == [f"powered off the harness's own VMs on host-14: {leftover}"]
    assert inv.get(leftover).power_state == "poweredOff"

    seeded = inv.get("vm-101")  # powered on, not the harness's
    home = seeded.host
    seeded.host = inv.get("host-14")
    seeded.touch()
    try:
        result = _run(sim, runner, MAINTENANCE)
    finally:
        seeded.host = home
        seeded.touch()
    assert result.status == "skipped" and "without a powered-on VM" in result.message
    assert seeded.power_state == "poweredOn"


def test_failovers_that_cannot_be_read_are_not_counted_as_no_swap():
    """A task the clean client cannot read (the network) leaves roles_swap_once undecided: it must
    not count as "0 MakePrimaryVM_Task tasks succeeded" (a failure the harness made)."""

    class Flaky:
        def get(self, *_):
            raise TransportError("connection reset by peer")

    run = SimpleNamespace(tasks={"task-1"}, step_errors=[], timeline=SimpleNamespace(add=lambda *a: None))
    assert _failovers(run, Flaky()) is None
    assert run.step_errors and "could not be read" in run.step_errors[0]
