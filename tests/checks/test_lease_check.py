"""The lease check over real sockets: it passes on the clean simulator, fails against each lease switch
(the endpoint's doing), and is an error, never a failure, when the network breaks; the lease it opened
never stays open."""

from __future__ import annotations

import json
import re

import pytest
import requests
import responses
from requests.structures import CaseInsensitiveDict

from harness.checks.rules import answer_problems
from harness.client import Exchange
from harness.contract import load_contracts
from harness.run import RunOptions, run_contracts
from harness.sandbox.leases import Leases
from harness.sim import SimConfig, running_simulator

OP = "VirtualMachine_ExportVm"


def _lease_state(env, moid: str) -> str:
    return env.admin.get("HttpNfcLease", moid, "state").json


def _last_lease(env) -> str:
    seen = [k for k, o in env.running.sim.inv.objects.items() if o.type_name == "HttpNfcLease"]
    return max(seen, key=lambda k: int(k.rsplit("-", 1)[1]))


def test_passes_on_the_clean_simulator(env):
    result = env.run("lease", OP)
    assert result.status == "passed", result.message
    assert "became ready" in result.message and "completed" in result.message
    assert _lease_state(env, _last_lease(env)) == "done"
    assert not env.sandbox.leases.release(env.admin)  # nothing left open


@pytest.mark.parametrize(
    ("switch", "words", "kw"),
    [
        ("lease_stuck_initializing", "never left initializing", {"timeout": 1.0}),
        ("lease_info_malformed", "is not a valid HttpNfcLeaseInfo", {}),
        ("lease_complete_refused", "HttpNfcLeaseComplete on ready lease", {}),
    ],
)
def test_fails_against_each_lease_switch(env, switch, words, kw):
    result = env.run("lease", OP, misbehave={switch}, **kw)
    assert result.status == "failed", result.message
    assert words in result.message, result.message
    assert result.evidence and "HttpNfcLease" in result.evidence[0].request["url"]
    # the lease stays open after a refused complete or a stuck start: the sandbox aborts it
    assert not env.sandbox.leases.release(env.admin)
    assert _lease_state(env, _last_lease(env)) in ("done", "error")


def test_a_network_failure_is_an_error_not_a_failure(env):
    """The lease's info cannot be read (the connection resets): the check cannot decide."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(env.running.url)
        info = re.compile(re.escape(env.admin.root) + r"/HttpNfcLease/[^/]+/info")
        mock.add("GET", info, body=requests.ConnectionError("connection reset by peer"))
        result = env.run("lease", OP)
    assert result.status == "error", result.message
    assert len(env.sandbox.leases) == 1  # left open by the check: the sandbox aborts it
    assert env.sandbox.leases.release(env.admin) == [] and len(env.sandbox.leases) == 0
    assert _lease_state(env, _last_lease(env)) == "error"


def test_the_sandbox_notes_leases_in_answers_and_forgets_closed_ones():
    leases = Leases()

    class Ex:
        def __init__(self, url, status, json):
            self.url, self.status, self.json = url, status, json

    ref = {"_typeName": "ManagedObjectReference", "type": "HttpNfcLease", "value": "lease-7"}
    leases.observe(Ex("http://h/sdk/vim25/8.0.2.0/VirtualMachine/vm-1/ExportVm", 200, ref))
    leases.observe(Ex("http://h/sdk/vim25/8.0.2.0/VirtualMachine/vm-1/ExportVm", 500, ref))
    assert len(leases) == 1
    leases.observe(Ex("http://h/sdk/vim25/8.0.2.0/HttpNfcLease/lease-7/HttpNfcLeaseProgress", 204, None))
    assert len(leases) == 1
    leases.observe(Ex("http://h/sdk/vim25/8.0.2.0/HttpNfcLease/lease-7/HttpNfcLeaseComplete", 204, None))
    assert len(leases) == 0


def _answer(status: int, body: dict) -> Exchange:
    return Exchange(
        "GET",
        "http://h/sdk/vim25/8.0.2.0/HttpNfcLease/lease-1/error",
        {},
        None,
        status,
        CaseInsensitiveDict({"content-type": "application/json"}),
        json.dumps(body).encode(),
        1.0,
        "8.0.2.0",
        body,
        True,
    )


def test_a_property_whose_value_is_a_fault_is_judged_as_a_value():
    """HttpNfcLease.error is a MethodFault: a 200 carrying one is its value, not a fault sent with 200;
    a value outside the schema still breaks it, and a real fault still needs HTTP 500."""
    contract = next(c for c in load_contracts() if c.id == "HttpNfcLease_getError")
    value = {"_typeName": "RequestCanceled", "faultMessage": []}
    assert answer_problems(contract, "8.0.2.0", _answer(200, value)) == []
    broken = answer_problems(contract, "8.0.2.0", _answer(200, {**value, "faultMessage": 7}))
    assert [check for check, _ in broken] == ["shape"]
    refused = answer_problems(contract, "8.0.2.0", _answer(200, {"_typeName": "NotAuthenticated"}))
    assert refused == []  # a fault type is a valid MethodFault value here: only the status tells
    assert answer_problems(contract, "8.0.2.0", _answer(500, {"_typeName": "SystemError", "reason": "x"}))


def test_the_lease_operations_get_a_ready_lease_of_the_sandbox(env):
    """`-o 'HttpNfcLease*'`: the sandbox opens a lease on a VM of its own; effects of Abort hold on
    the clean simulator and fail when the abort is ignored (the lease ends done, not error)."""
    contract = env.contracts.get("HttpNfcLease_HttpNfcLeaseAbort")
    target = env.sandbox.target_for(contract)
    assert target.prepared.managed_type == "HttpNfcLease" and _lease_state(env, target.moid) == "ready"
    assert env.sandbox.target_for(contract).moid == target.moid  # reused while open
    result = env.run("effects", "HttpNfcLease_HttpNfcLeaseAbort")
    assert result.status == "passed", result.message
    assert _lease_state(env, target.moid) == "error"
    assert env.run("shape", "HttpNfcLease_getInfo").status == "passed"
    # last: an ignored abort leaves the sandbox's lease VM locked for good
    result = env.run("effects", "HttpNfcLease_HttpNfcLeaseAbort", misbehave={"lease_abort_ignored"})
    assert result.status == "failed" and "effect not seen" in result.message, result.message


def test_a_run_leaves_no_lease_open():
    """Every check that calls ExportVm opens a lease; the runner aborts each one the check left open
    (the VM is free for the next check), and the run ends with no lease open and nothing left over."""
    with running_simulator(SimConfig(vms=4, seed=1, task_delay_ms=10)) as sim:
        admin = sim.users["admin"]
        options = RunOptions(
            endpoint=sim.url,
            user=admin[0],
            password=admin[1],
            operations=("VirtualMachine_ExportVm",),
            checks=("shape", "faults", "negative", "lease", "schemathesis"),
            examples=2,
            timeout=5,
            inventory_sample=0,
        )
        result = run_contracts(options)
        leases = [o for o in sim.sim.inv.objects.values() if o.type_name == "HttpNfcLease"]
        locked = [vm.moid for vm in sim.sim.inv.vms() if getattr(vm, "export_lease", None) is not None]
    checks = {c.check: c.status for o in result.operations for c in o.checks}
    assert set(checks.values()) == {"passed"}, checks
    assert len(leases) >= 4 and all(lease.state in ("done", "error") for lease in leases)
    assert locked == [] and result.leftovers == []
