"""The contracts' curated preconditions are honoured: wherever one does not hold on a seeded VM, the
call answers that precondition's fault, where it says (response or task error).

Subjects are read over the API (property GETs, the request body), independently of the
simulator's own evaluator.
"""

from __future__ import annotations

import json
from typing import Any

from harness.contract import load_contracts
from harness.sim import SimConfig
from harness.sim.simulator import Simulator

from .bodies import neutral_body

REL = "8.0.2.0"


def _plain(value: Any) -> Any:
    if isinstance(value, dict) and value.get("_typeName") == "ManagedObjectReference":
        return value["value"]
    if isinstance(value, dict) and "_value" in value:
        return value["_value"]
    return value


def _holds(value: Any, pre: dict) -> bool:
    value = _plain(value)
    if "equals" in pre:
        return value == pre["equals"]
    if "not_equals" in pre:
        return value != pre["not_equals"]
    if "in" in pre:
        return value in pre["in"]
    if "not_in" in pre:
        return value not in pre["not_in"]
    if "present" in pre:
        return (value not in (None, [], "", {})) == bool(pre["present"])
    return True


def _walk(value: Any, path: str) -> Any:
    for part in path.split(".") if path else ():
        value = value.get(part) if isinstance(value, dict) else None
    return value


def test_curated_preconditions_are_honoured():
    sim = Simulator(SimConfig(vms=10, seed=4, task_delay_ms=0))
    try:
        login = sim.handle(
            "POST",
            f"/sdk/vim25/{REL}/SessionManager/SessionManager/Login",
            {},
            b'{"userName": "administrator@vsphere.local", "password": "VMware1!"}',
        )
        headers = {"vmware-api-session-id": login.headers["vmware-api-session-id"]}

        def prop(target: str, path: str) -> Any:
            head, _, rest = path.partition(".")
            r = sim.handle("GET", f"/sdk/vim25/{REL}/VirtualMachine/{target}/{head}", headers, b"")
            return _walk(json.loads(r.body) if r.status == 200 else None, rest)

        covered, checked = set(), 0
        for contract in load_contracts().virtual_machine(REL):
            pres = [p for p in contract.preconditions if p.get("fault") and ("target" in p or "param" in p)]
            if contract.kind != "method" or not pres or len(pres) != len(contract.preconditions):
                continue
            for target in [f"vm-{100 + i}" for i in range(9)]:
                body = neutral_body(sim, contract, REL, target)
                params = json.loads(body)
                failing = None
                for pre in pres:
                    value = prop(target, pre["target"]) if "target" in pre else _walk(params, pre["param"])
                    if not _holds(value, pre):
                        failing = pre
                        break
                if failing is None:
                    continue
                r = sim.handle(
                    "POST", f"/sdk/vim25/{REL}/VirtualMachine/{target}/{contract.name}", headers, body
                )
                answer = json.loads(r.body)
                if r.status == 500:
                    got, where = answer["_typeName"], "sync"
                else:
                    info = json.loads(
                        sim.handle("GET", f"/sdk/vim25/{REL}/Task/{answer['value']}/info", headers, b"").body
                    )
                    got, where = (info.get("error") or {}).get("_typeName"), "task"
                if got == "InvalidArgument" and where == "sync" and failing["fault"] != "InvalidArgument":
                    continue  # a neutral parameter value was refused before the precondition was reached
                assert got == failing["fault"], (contract.name, target, failing["id"], got)
                if "reported" in failing:
                    assert where == failing["reported"], (contract.name, target, failing["id"], where)
                covered.add((contract.name, failing["id"]))
                checked += 1
        assert len(covered) >= 30, sorted(covered)
    finally:
        sim.close()
