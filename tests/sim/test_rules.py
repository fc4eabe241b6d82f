"""Server-side fault rules: matching, probability, delay, counts; into the response, a task, or a hang."""

from __future__ import annotations

import time

import pytest
import requests

from harness.sim import SimConfig, running_simulator
from harness.sim.rules import RuleError, load_rules, parse_rule

from .conftest import Vi, fault_of


def _add(sim, rule):
    r = requests.post(f"{sim.url}/_sim/faults", json=rule)
    assert r.status_code == 201, r.text
    return r.json()


def test_rule_into_response_with_counts(sim, admin):
    _add(
        sim,
        {
            "method": "QueryUnownedFiles",
            "object": "vm-10[12]",
            "fault": "NotSupported",
            "skip": 1,
            "max_count": 2,
            "message": "chaos",
        },
    )
    results = [admin.vm("vm-101", "QueryUnownedFiles").status_code for _ in range(5)]
    assert results == [200, 500, 500, 200, 200]
    assert admin.vm("vm-103", "QueryUnownedFiles").status_code == 200  # other object
    listed = requests.get(f"{sim.url}/_sim/faults").json()
    assert listed[0]["fired"] == 2 and listed[0]["matched"] == 3
    assert requests.delete(f"{sim.url}/_sim/faults").status_code == 204
    assert requests.get(f"{sim.url}/_sim/faults").json() == []


def test_rule_on_property_with_filter_by_name(sim, admin):
    _add(
        sim,
        {
            "method": "guest",
            "type": "VirtualMachine",
            "object": "*-on-tools",
            "filter": {"path": "runtime.powerState", "equals": "poweredOn"},
            "fault": "SystemError",
            "fields": {"reason": "injected"},
        },
    )
    r = admin.get("VirtualMachine", "vm-101", "guest")
    assert fault_of(r) == "SystemError" and r.json()["reason"] == "injected"
    assert admin.get("VirtualMachine", "vm-102", "guest").status_code == 200


def test_rule_into_task_and_hang(sim, admin, fresh):
    vm = fresh("poweredOff")
    sim.add_fault_rule(
        {
            "method": "PowerOnVM_Task",
            "object": vm,
            "fault": "InsufficientResourcesFault",
            "into": "task",
            "max_count": 1,
        }
    )
    admin.failed_task(admin.vm(vm, "PowerOnVM_Task"), "InsufficientResourcesFault")
    sim.add_fault_rule(
        {
            "method": "PowerOnVM_Task",
            "object": vm,
            "fault": "TaskInProgress",
            "max_count": 1,
            "fields": {"task": {"type": "Task", "value": "task-1"}},
        }
    )
    r = admin.vm(vm, "PowerOnVM_Task")
    assert fault_of(r) == "TaskInProgress" and r.json()["task"]["value"] == "task-1"
    assert admin.prop(vm, "runtime")["powerState"] == "poweredOff"  # no effect on failure
    sim.clear_fault_rules()
    sim.add_fault_rule({"method": "PowerOnVM_Task", "object": vm, "into": "hang", "max_count": 1})
    task = admin.vm(vm, "PowerOnVM_Task").json()["value"]
    time.sleep(0.1)
    info = admin.prop(task, "info", "Task")
    assert info["state"] in ("queued", "running") and info["cancelable"] is True
    assert fault_of(admin.vm(vm, "PowerOnVM_Task")) == "TaskInProgress"
    assert admin.call("Task", task, "CancelTask").status_code == 204
    assert admin.prop(task, "info", "Task")["error"]["_typeName"] == "RequestCanceled"
    admin.ok_task(admin.vm(vm, "PowerOnVM_Task"))


def test_rule_delay_and_probability(tmp_path):
    rules = tmp_path / "faults.yaml"
    rules.write_text(
        "rules:\n"
        "  - {method: CurrentTime, delay_ms: 150}\n"
        "  - {method: QueryUnownedFiles, fault: SystemError, probability: 0.5}\n"
    )
    outcomes = []
    for _ in range(2):
        with running_simulator(SimConfig(vms=3, seed=7, faults_file=str(rules), task_delay_ms=0)) as sim:
            vi = Vi(sim.url)
            vi.login(*sim.users["admin"])
            t = time.monotonic()
            assert vi.call("ServiceInstance", "ServiceInstance", "CurrentTime").status_code == 200
            assert time.monotonic() - t >= 0.15
            outcomes.append([vi.vm("vm-101", "QueryUnownedFiles").status_code for _ in range(30)])
    assert outcomes[0] == outcomes[1]  # seeded
    assert 5 < outcomes[0].count(500) < 25


def test_bad_rules_are_refused(sim, tmp_path):
    for bad in (
        {"fault": "NotAFault"},
        {"method": "x"},
        {"fault": "SystemError", "probability": 2},
        {"fault": "SystemError", "into": "elsewhere"},
        {"fault": "SystemError", "colour": "red"},
        {"fault": "SystemError", "filter": {"path": "x"}},
        [1],
    ):
        with pytest.raises(RuleError):
            parse_rule(bad) if isinstance(bad, dict) else parse_rule(bad[0])
        assert requests.post(f"{sim.url}/_sim/faults", json=bad).status_code == 400
    assert requests.post(f"{sim.url}/_sim/faults", data=b"{nope").status_code == 400
    path = tmp_path / "f.yaml"
    path.write_text("rules: {a: 1}")
    with pytest.raises(RuleError):
        load_rules(path)
