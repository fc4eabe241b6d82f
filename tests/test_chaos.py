"""Chaos: transport faults, the toxic TCP proxy, scenarios — and that faults never become false failures."""

from __future__ import annotations

import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from harness.chaos.proxy import Toxic, ToxicProxy
from harness.chaos.scenario import (
    Scenario,
    ScenarioError,
    ScenarioRun,
    load_scenario,
    load_scenarios,
    run_scenario,
)
from harness.chaos.transport import TransportFault, install
from harness.client import TransportError, ViClient
from harness.run import RunOptions, run_contracts
from harness.run.execute import Runner
from harness.sandbox import Sandbox
from harness.sim import SimConfig, running_simulator

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def sim():
    with running_simulator(SimConfig(vms=12, seed=3, task_delay_ms=0)) as running:
        yield running


def _client(url: str, sim) -> ViClient:
    client = ViClient(url, timeout=5)
    client.login(*sim.users["admin"])
    return client


# --- transport faults -------------------------------------------------------------------------------
def test_transport_error_and_truncation_raise_transport_errors(sim):
    client = _client(sim.url, sim)
    adapter = install(
        client.http,
        [TransportFault("error", match="/name$"), TransportFault("truncate", match="/summary$")],
        seed=1,
    )
    with pytest.raises(TransportError, match="connection reset"):
        client.get("VirtualMachine", "vm-100", "name")
    with pytest.raises(TransportError, match=r"the body is not JSON \(injected: truncate\)") as cut:
        client.get("VirtualMachine", "vm-100", "summary")
    assert cut.value.exchange.injected == "truncate"  # the harness's damage, never judged as the endpoint's
    assert client.get("VirtualMachine", "vm-100", "runtime").ok  # unmatched paths pass untouched
    assert [e["fault"] for e in adapter.log] == ["error", "truncate"]


def test_dropped_session_header_gets_not_authenticated(sim):
    client = _client(sim.url, sim)
    install(client.http, [TransportFault("drop_session")])
    ex = client.get("VirtualMachine", "vm-100", "name", relogin=False)
    assert ex.status == 500 and ex.fault_type == "NotAuthenticated"


def test_duplicate_send_reaches_the_endpoint_twice(sim):
    client = _client(sim.url, sim)
    vm = "vm-102"
    before = client.get("VirtualMachine", vm, "recentTask").json or []
    install(client.http, [TransportFault("duplicate", match="CreateSnapshot_Task")])
    client.invoke(
        "VirtualMachine", vm, "CreateSnapshot_Task", {"name": "dup", "memory": False, "quiesce": False}
    )
    after = client.get("VirtualMachine", vm, "recentTask").json or []
    assert len(after) >= len(before) + 2 or len(after) == 20  # two tasks (recentTask may be capped)


def test_latency_and_probability_are_seeded():
    def decisions(seed: int) -> list[bool]:
        adapter = install(__import__("requests").Session(), [TransportFault("error", probability=0.5)], seed)
        return [adapter._fires(adapter.faults[0], "/x") for _ in range(40)]

    assert decisions(7) == decisions(7)
    assert decisions(7) != decisions(8)
    with pytest.raises(ValueError, match="unknown transport fault"):
        TransportFault("explode")
    with pytest.raises(ValueError, match="between 0 and 1"):
        TransportFault("error", probability=2)


# --- the TCP proxy ---------------------------------------------------------------------------------
@pytest.fixture()
def proxy(sim):
    parts = urlsplit(sim.url)
    with ToxicProxy((parts.hostname, parts.port), seed=5) as p:
        yield p


def test_proxy_forwards_and_adds_latency(sim, proxy):
    client = _client(proxy.url, sim)
    start = time.perf_counter()
    assert client.get("VirtualMachine", "vm-100", "name").ok
    fast = time.perf_counter() - start
    proxy.add_toxic("latency", latency=150)
    start = time.perf_counter()
    assert client.get("VirtualMachine", "vm-100", "name").ok
    assert time.perf_counter() - start >= 0.15 > fast


@pytest.mark.parametrize(
    "toxic,attributes",
    [
        ("reset_peer", {"timeout": 0}),
        ("limit_data", {"bytes": 64}),
        ("timeout", {"timeout": 100}),
    ],
)
def test_proxy_toxics_become_transport_errors(sim, proxy, toxic, attributes):
    client = _client(proxy.url, sim)
    proxy.add_toxic(toxic, **attributes)
    with pytest.raises(TransportError):
        client.get("VirtualMachine", "vm-100", "summary")
    proxy.reset()
    assert client.get("VirtualMachine", "vm-100", "summary").ok  # the endpoint answers once they end


def test_slicer_and_bandwidth_keep_bodies_whole(sim, proxy):
    client = _client(proxy.url, sim)
    expected = client.get("VirtualMachine", "vm-100", "config").json
    proxy.add_toxic("slicer", average_size=16, size_variation=8, delay=50)
    proxy.add_toxic("bandwidth", rate=2048)
    assert client.get("VirtualMachine", "vm-100", "config").json == expected


def test_toxic_validation():
    with pytest.raises(ValueError, match="unknown toxic"):
        Toxic("x", "melt")
    with pytest.raises(ValueError, match="no attribute"):
        Toxic("x", "latency", attributes={"speed": 1})
    with pytest.raises(ValueError, match="stream"):
        Toxic("x", "latency", stream="sideways")


# --- scenarios ------------------------------------------------------------------------------------------
def test_repository_scenarios_load():
    scenarios = load_scenarios([ROOT / "scenarios"])
    assert len(scenarios) >= 4
    assert {"transport", "proxy", "server"} <= set().union(*(s.layers for s in scenarios))


@pytest.mark.parametrize(
    "text,message",
    [
        ("name: x\nactions: [{invoke: PowerOnVM_Task}]\nbogus: 1\n", "bogus"),
        ("name: x\n", "actions"),
        ("name: x\nactions: [{invoke: PowerOnVM_Task}]\nfaults: [{proxy: {type: melt}}]\n", "unknown toxic"),
        (
            "name: x\nactions: [{invoke: PowerOnVM_Task}]\nfaults: [{transport: {kind: boom}}]\n",
            "unknown transport",
        ),
        ("name: [unclosed\n", "not valid YAML"),
    ],
)
def test_bad_scenarios_get_one_line_errors(tmp_path, text, message):
    path = tmp_path / "bad.yaml"
    path.write_text(text)
    with pytest.raises(ScenarioError, match=message) as info:
        load_scenario(path)
    assert "\n" not in str(info.value) and str(path) in str(info.value)


def _run_scenarios(sim, names: list[str], misbehave: set[str] | None = None):
    sim.set_misbehaviour(misbehave or set())
    try:
        options = RunOptions(
            endpoint=sim.url,
            user=sim.users["admin"][0],
            password=sim.users["admin"][1],
            operations=("VirtualMachine_getName",),
            checks=("shape",),
            scenarios=tuple(ROOT / "scenarios" / f"{n}.yaml" for n in names),
        )
        return run_contracts(options)
    finally:
        sim.set_misbehaviour(set())
        sim.clear_fault_rules()


def test_scenarios_pass_on_the_clean_simulator(sim):
    result = _run_scenarios(
        sim,
        [
            "power-cycle-under-connection-resets",
            "snapshots-over-a-slow-sliced-link",
            "server-fault-in-a-task",
            "duplicated-and-truncated-requests",
        ],
    )
    assert [(s.name, s.status) for s in result.scenarios if s.status != "passed"] == []
    assert all(s.timeline for s in result.scenarios)


def test_a_scenario_fails_when_the_endpoint_breaks_a_hypothesis(sim):
    # once the scenario's VM exists, the endpoint reports success but stops changing state:
    # the state hypothesis (the VM ends powered on) must catch it

    options = RunOptions(endpoint=sim.url, user=sim.users["admin"][0], password=sim.users["admin"][1])
    scenario = load_scenario(ROOT / "scenarios" / "server-fault-in-a-task.yaml")
    with Runner(options) as runner:
        prepare = runner.sandbox.fresh_vm

        def fresh_then_misbehave(state: str = "poweredOff"):
            vm = prepare(state)
            sim.set_misbehaviour({"skip_effects"})
            return vm

        runner.sandbox.fresh_vm = fresh_then_misbehave
        try:
            result = run_scenario(scenario, runner.conn, runner.sandbox)
        finally:
            sim.set_misbehaviour(set())
            sim.clear_fault_rules()
    assert result.status == "failed", result.message
    assert "runtime.powerState" in result.message


def test_a_lost_task_fails_no_task_lost(sim, tmp_path):
    path = tmp_path / "hang.yaml"
    path.write_text(
        "name: hang\nfaults: [{server: {method: PowerOnVM_Task, into: hang}}]\n"
        "actions: [{invoke: PowerOnVM_Task}]\nhypotheses: {recover_within_s: 1}\n"
    )
    sim.set_misbehaviour(set())
    options = RunOptions(
        endpoint=sim.url,
        user=sim.users["admin"][0],
        password=sim.users["admin"][1],
        operations=("VirtualMachine_getName",),
        checks=("shape",),
        scenarios=(path,),
        timeout=2,
    )

    def quick_sandbox(client, release, read_only):  # the hung VM cannot be destroyed: do not wait a minute
        return Sandbox(client, release, read_only=read_only, timeout=2)

    try:
        result = run_contracts(options, sandbox_factory=quick_sandbox)
    finally:
        sim.clear_fault_rules()
    (scenario,) = result.scenarios
    assert scenario.status == "failed" and "never reached a terminal state" in scenario.message


def test_server_faults_are_skipped_on_an_endpoint_that_is_not_the_simulator(sim):
    class Conn:
        simulated = False

    scenario = Scenario(
        name="s", actions=[{"invoke": "PowerOnVM_Task"}], faults=[{"server": {"method": "*"}}]
    )
    result = ScenarioRun(scenario, Conn(), sandbox=None).run()
    assert result.status == "skipped" and "simulator" in result.message


# --- honesty: injected network faults never become failures -------------------------------------------
def test_network_faults_during_a_run_are_errors_never_failures(sim):
    parts = urlsplit(sim.url)
    with ToxicProxy((parts.hostname, parts.port), seed=11) as p:
        p.add_toxic("reset_peer", timeout=0, toxicity=0.25)
        p.add_toxic("limit_data", bytes=300, toxicity=0.1)
        options = RunOptions(
            endpoint=p.url,
            user=sim.users["admin"][0],
            password=sim.users["admin"][1],
            operations=(
                "VirtualMachine_get[NRS]*",
                "VirtualMachine_PowerOnVM_Task",
                "VirtualMachine_Rename_Task",
            ),
            checks=("shape", "faults", "tasks", "effects", "session"),
            timeout=5,
        )
        try:
            result = run_contracts(options)
        except Exception as exc:  # login itself may hit a reset: that is "unreachable", never a failure
            assert type(exc).__name__ == "EndpointError"
            return
    statuses = [c.status for op in result.operations for c in op.checks]
    assert "error" in statuses  # the faults were felt ...
    assert "failed" not in statuses, [
        (op.id, c.check, c.message) for op in result.operations for c in op.checks if c.status == "failed"
    ]


def test_no_duplicate_objects_judges_only_what_the_scenario_created():
    class Answer:
        def __init__(self, json):
            self.ok, self.json = True, json

    class Clean:
        def __init__(self, names):
            self.names = names

        def get(self, type_name, moid, prop):
            if prop == "childEntity":
                return Answer([{"type": "VirtualMachine", "value": m} for m in self.names])
            return Answer(self.names[moid])

    class Sandbox:
        _folder = "group-v1"

    run = ScenarioRun(Scenario(name="s", actions=[{"sleep_ms": 0}]), conn=None, sandbox=Sandbox())
    # an FT pair shares its name (as in vSphere) before the scenario: not the scenario's doing
    run.before = run._children(Clean({"vm-1": "ft", "vm-2": "ft"}))
    assert run._no_duplicates(Clean({"vm-1": "ft", "vm-2": "ft", "vm-3": "clone"})) == []
    dupes = run._no_duplicates(Clean({"vm-1": "ft", "vm-2": "ft", "vm-3": "clone", "vm-4": "clone"}))
    assert dupes == ["vm-4 and vm-3 are both named 'clone'"]
