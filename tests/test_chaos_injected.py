"""Chaos never blames the endpoint for an injected fault: an answer the harness cut, corrupted or
duplicated is judged on what the endpoint really sent — and what the endpoint really sent still fails
a hypothesis when it is wrong."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from chaos.support import run_misbehaving

from harness.chaos.proxy import ToxicProxy
from harness.chaos.scenario import Scenario, ScenarioRun
from harness.chaos.transport import CHAOS_HEADER, TransportFault, install
from harness.client import Exchange, TransportError, ViClient
from harness.run import RunOptions
from harness.run.execute import Runner
from harness.sim import SimConfig, running_simulator


@pytest.fixture(scope="module")
def sim():
    with running_simulator(SimConfig(vms=8, seed=5, task_delay_ms=20)) as running:
        yield running


def _client(sim) -> ViClient:
    client = ViClient(sim.url, timeout=5)
    client.login(*sim.users["admin"])
    return client


def test_the_adapter_marks_its_damage_and_keeps_what_the_endpoint_sent(sim):
    client = _client(sim)
    adapter = install(client.http, [TransportFault("truncate", match="/(runtime|name)$")], seed=2)
    with pytest.raises(TransportError) as info:  # a 2xx cut in half: no usable answer
        client.get("VirtualMachine", "vm-101", "runtime")
    cut = info.value.exchange
    assert cut is not None and cut.headers[CHAOS_HEADER].startswith("truncate; id=")
    kept = adapter.injected(cut.headers)
    assert kept.kinds == ["truncate"] and kept.status == 200
    assert json.loads(kept.body)["_typeName"] == "VirtualMachineRuntimeInfo"
    # a fault cut in half arrives as a 500 that is no fault; the endpoint sent a whole fault
    ex = client.get("VirtualMachine", "vm-harness-gone", "name", relogin=False)
    assert ex.status == 500 and ex.fault is None
    kept = adapter.injected(ex.headers)
    assert json.loads(kept.body)["_typeName"] == "ManagedObjectNotFound"
    # an answer the adapter left alone carries no mark
    assert adapter.injected(client.get("VirtualMachine", "vm-101", "config").headers) is None


def test_the_adapter_keeps_the_answer_to_the_first_copy_of_a_duplicated_send(sim):
    client = _client(sim)
    adapter = install(client.http, [TransportFault("duplicate", match="PowerOnVM_Task$")])
    vm = "vm-103"
    ex = client.invoke("VirtualMachine", vm, "PowerOnVM_Task")
    kept = adapter.injected(ex.headers)
    assert kept.kinds == ["duplicate"] and kept.body is None  # the caller's answer is unchanged
    first = json.loads(kept.first_body)
    assert kept.first_status == 200 and first["type"] == "Task"
    clean = _client(sim)
    assert clean.wait_task(first["value"], timeout=5)[-1]["state"] == "success"
    clean.wait_task(clean.invoke("VirtualMachine", vm, "PowerOffVM_Task").json, timeout=5)


def _scenario(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "s.yaml"
    path.write_text(text)
    return path


# ShutdownGuest of a powered-off VM is refused at once (HTTP 500, InvalidPowerState): the harness cuts it
TRUNCATED_FAULT = """\
name: truncated-fault
vm: poweredOff
faults:
  - transport: {kind: truncate, probability: 1.0, match: "ShutdownGuest$"}
actions: [{invoke: ShutdownGuest}, {invoke: ShutdownGuest}]
hypotheses: {answers_well_formed: true, state: {runtime.powerState: {equals: poweredOff}}}
"""


def _run(sim, path: Path, after_vm: set[str] | None = None):
    """Run one scenario; ``after_vm``: misbehaviour switched on once the scenario's VM exists."""

    options = RunOptions(endpoint=sim.url, user=sim.users["admin"][0], password=sim.users["admin"][1])
    with Runner(options) as runner:
        return run_misbehaving(sim, runner, path, after_vm, seed=1, timeout=10)


def test_a_fault_cut_by_the_harness_is_judged_on_what_the_endpoint_sent(sim, tmp_path):
    result = _run(sim, _scenario(tmp_path, TRUNCATED_FAULT))
    assert result.status == "passed", result.message
    actions = [e["outcome"] for e in result.timeline if e["phase"] == "action"]
    assert actions and all(o.startswith("fault InvalidPowerState [truncate injected") for o in actions), (
        actions
    )


def test_a_fault_the_endpoint_itself_garbled_still_fails(sim, tmp_path):
    # the endpoint sends its faults as text: cut by the harness or not, that is the endpoint's doing
    result = _run(sim, _scenario(tmp_path, TRUNCATED_FAULT), after_vm={"fault_as_text"})
    assert result.status == "failed", result.message
    assert "neither a value nor a fault" in result.message and "ShutdownGuest" in result.message


def test_the_task_of_a_first_copy_is_followed(sim, tmp_path):
    path = _scenario(
        tmp_path,
        """\
name: duplicated-power-on
vm: poweredOff
faults:
  - transport: {kind: duplicate, probability: 1.0, match: "PowerOnVM_Task$"}
  - transport: {kind: corrupt, probability: 1.0, match: "PowerOnVM_Task$"}
actions: [{invoke: PowerOnVM_Task}]
hypotheses: {answers_well_formed: true, no_task_lost: true, state: {runtime.powerState: {equals: poweredOn}}}
rollback: [{invoke: PowerOffVM_Task}]
""",
    )
    result = _run(sim, path)
    assert result.status == "passed", result.message
    (action,) = [e["outcome"] for e in result.timeline if e["phase"] == "action"]
    assert "duplicated; first copy: ok task task-" in action and "corrupt injected" in action, action
    followed = [e for e in result.timeline if e["phase"] == "verify" and e["what"].startswith("task ")]
    assert followed and all(e["outcome"] in ("success", "error") for e in followed)


def _exchange(status: int, body: bytes) -> Exchange:
    return Exchange(
        "POST",
        "http://127.0.0.1/sdk/vim25/8.0.2.0/VirtualMachine/vm-1/PowerOnVM_Task",
        {},
        None,
        status,
        {},
        body,
        1.0,
        "8.0.2.0",
        None,
        False,
    )


def test_the_proxy_logs_its_cuts_and_a_garbled_answer_through_a_cut_is_not_judged(sim):
    parts = urlsplit(sim.url)
    with ToxicProxy((parts.hostname, parts.port), seed=1) as proxy:
        proxy.add_toxic("limit_data", bytes=40)
        client = ViClient(proxy.url, timeout=5)
        # cut within the headers: the client may even see a complete-looking answer without a body
        with contextlib.suppress(TransportError):
            client.request("GET", "/ServiceInstance/ServiceInstance/content", use_session=False)
        assert any(e["toxic"] == "limit_data" and e["stream"] == "downstream" for e in proxy.log)
        run = ScenarioRun(Scenario(name="s", actions=[{"sleep_ms": 0}]), conn=None, sandbox=None)
        run.proxy = proxy
        garbage = _exchange(500, b"<html>cut")
        assert "not judged" in run._record("PowerOnVM_Task", garbage, 0, "")  # the proxy cut a connection
        assert run.garbled == []
        assert "without a fault body" in run._record("PowerOnVM_Task", garbage, len(proxy.log), "")
        assert run.garbled == ["PowerOnVM_Task: HTTP 500 without a fault body"]
