"""Every operation of every release answers per its contract: a valid response body, and only
declared or runtime faults (in the response or in the task's error) — on targets in every state."""

from __future__ import annotations

import json

import pytest

from harness.contract import load_contracts
from harness.sim import SimConfig
from harness.sim.simulator import Simulator
from harness.vmodl.registry import release
from harness.vmodl.schema import validator

from .bodies import neutral_body


def _conforms(rel: str, fault: dict, declared: list[str]) -> bool:
    r = release(rel)
    name = fault["_typeName"]
    return r.is_runtime_fault(name) or any(r.is_subtype(name, d) for d in declared)


@pytest.mark.parametrize("rel", ["8.0.1.0", "8.0.2.0", "9.1.0.0"])
def test_every_vm_operation_on_every_kind_of_vm(rel):
    sim = Simulator(SimConfig(vms=10, seed=11, task_delay_ms=0))
    try:
        login = sim.handle(
            "POST",
            f"/sdk/vim25/{rel}/SessionManager/SessionManager/Login",
            {},
            b'{"userName": "administrator@vsphere.local", "password": "VMware1!"}',
        )
        headers = {"vmware-api-session-id": login.headers["vmware-api-session-id"]}
        fault_schema = validator("MethodFault", rel)
        info_schema = validator("TaskInfo", rel)
        outcomes: dict[str, set[str]] = {}
        contracts = [c for c in load_contracts().virtual_machine(rel) if c.kind == "method"]
        contracts.sort(key=lambda c: c.name in ("Destroy_Task", "UnregisterVM"))  # destructive ones last
        for contract in contracts:
            spec = sim.tables[rel][("VirtualMachine", contract.name)]
            declared = list(spec.declared_faults)
            for target in [f"vm-{100 + i}" for i in range(9)]:
                if sim.inv.get(target) is None:
                    continue
                body = neutral_body(sim, contract, rel, target)
                resp = sim.handle(
                    "POST", f"/sdk/vim25/{rel}/VirtualMachine/{target}/{contract.name}", headers, body
                )
                seen = outcomes.setdefault(contract.name, set())
                if resp.status == 500:
                    fault = json.loads(resp.body)
                    assert fault_schema.is_valid(fault), (contract.name, target, fault_schema.errors(fault))
                    assert _conforms(rel, fault, declared), (contract.name, target, fault["_typeName"])
                    seen.add(fault["_typeName"])
                    continue
                assert resp.status == (200 if spec.response is not None else 204), (contract.name, resp.body)
                if spec.response is None:
                    seen.add("ok")
                    continue
                value = json.loads(resp.body)
                assert validator(str(spec.response), rel).is_valid(value), (contract.name, value)
                if contract.is_task:
                    r = sim.handle("GET", f"/sdk/vim25/{rel}/Task/{value['value']}/info", headers, b"")
                    info = json.loads(r.body)
                    assert info_schema.is_valid(info), (contract.name, info_schema.errors(info))
                    assert info["state"] in ("success", "error")
                    if info["state"] == "error":
                        assert _conforms(rel, info["error"], declared), (contract.name, info["error"])
                        seen.add("task:" + info["error"]["_typeName"])
                    else:
                        seen.add("task:success")
                else:
                    seen.add("ok")
        # every operation succeeded on some target, or was refused for a documented reason
        methods = [c for c in load_contracts().virtual_machine(rel) if c.kind == "method"]
        assert len(outcomes) == len(methods) >= 64
        succeeded = {name for name, seen in outcomes.items() if seen & {"ok", "task:success"}}
        assert len(succeeded) >= 40, sorted(set(outcomes) - succeeded)  # the rest need real parameters
    finally:
        sim.close()
