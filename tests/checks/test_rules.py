"""The answer rules that need no other request (:mod:`harness.checks.rules`)."""

from __future__ import annotations

import json

from requests.structures import CaseInsensitiveDict

from harness.checks.rules import answer_problems
from harness.client import Exchange
from harness.contract import load_contracts

CONTRACTS = {c.id: c for c in load_contracts()}
METHOD_NOT_FOUND = {
    "_typeName": "MethodNotFound",
    "receiver": {"_typeName": "ManagedObjectReference", "type": "VirtualMachine", "value": "vm-1"},
    "method": "x",
}


def fault_answer(path: str, fault: dict, release: str = "8.0.2.0") -> Exchange:
    body = json.dumps(fault).encode()
    return Exchange(
        "POST",
        f"http://h/sdk/vim25/{release}/{path}",
        {},
        None,
        500,
        CaseInsensitiveDict({"content-type": "application/json"}),
        body,
        1.0,
        release,
        fault,
        True,
    )


def test_method_not_found_from_an_operation_of_the_release_fails_versions():
    """vcsim answers MethodNotFound for 49 VirtualMachine methods of every release: not implementing
    an operation of the release under test is a violation, though MethodNotFound is a runtime fault."""
    ex = fault_answer("VirtualMachine/vm-1/MountToolsInstaller", METHOD_NOT_FOUND)
    problems = answer_problems(CONTRACTS["VirtualMachine_MountToolsInstaller"], "8.0.2.0", ex)
    assert [check for check, _ in problems] == ["versions"]
    assert "does not implement it" in problems[0][1]


def test_method_not_found_from_an_operation_the_release_lacks_is_the_right_answer():
    ex = fault_answer("VirtualMachine/vm-1/RepairVmDiskChains_Task", METHOD_NOT_FOUND)
    assert answer_problems(CONTRACTS["VirtualMachine_RepairVmDiskChains_Task"], "8.0.2.0", ex) == []


def test_another_runtime_fault_is_no_violation():
    ex = fault_answer("VirtualMachine/vm-1/MountToolsInstaller", {"_typeName": "SystemError", "reason": "x"})
    assert answer_problems(CONTRACTS["VirtualMachine_MountToolsInstaller"], "8.0.2.0", ex) == []


def test_system_error_from_a_property_read_is_the_endpoints_crash():
    """The SOAP façade once answered every string[] property with SystemError (AttributeError): a
    runtime fault, so no rule caught it until reads were held to never crash."""
    crash = {"_typeName": "SystemError", "reason": "AttributeError"}
    ex = fault_answer("VirtualMachine/vm-1/disabledMethod", crash)
    problems = answer_problems(CONTRACTS["VirtualMachine_getDisabledMethod"], "8.0.2.0", ex)
    assert [check for check, _ in problems] == ["faults"] and "internal error" in problems[0][1]
