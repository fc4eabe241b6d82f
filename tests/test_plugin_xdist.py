"""The pytest plugin under pytest-xdist: ``-n 2`` gives the verdicts of one process, and no answer's
violation is lost between workers."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from test_run_fakes import PASSWORD, SID

from harness import pytest_items
from harness.report.model import CheckResult, OperationResult, RunResult

pytest_plugins = ["pytester"]

TESTS = Path(__file__).parent

SMALL_PLAN = [
    "--vsphere-harness",
    "--vsphere-operations",
    "VirtualMachine_Power*",
    "--vsphere-checks",
    "shape,faults",
    "--vsphere-examples",
    "2",
    "-p",
    "xdist",
    "-p",
    "no:cacheprovider",
]

#: Every process of the session (the controller and each xdist worker) talks to the fake endpoint of
#: tests/test_plugin.py with its fake checks; ``BAD_RUNTIME`` makes the runtime read answer a fault
#: outside the schema (a violation of VirtualMachine_getRuntime, which no item judges).
FAKE_CONFTEST = f"""
import os, sys
sys.path.insert(0, {str(TESTS)!r})
import responses
import harness.run.execute, harness.run.plan
from test_run_fakes import URL, FakeSandbox, fake_endpoint, registry

harness.run.plan.registered = registry
harness.run.execute.Sandbox = FakeSandbox
_rsps = responses.RequestsMock(assert_all_requests_are_fired=False)
_rsps.start()
fake_endpoint(_rsps)
if os.environ.get("BAD_RUNTIME"):
    _rsps.replace(
        responses.GET,
        f"{{URL}}/sdk/vim25/8.0.2.0/VirtualMachine/vm-1/runtime",
        status=500,
        json={{"_typeName": "InvalidState", "faultMessage": [], "note": "x"}},
    )
"""

FAKE_ARGS = [
    "--vsphere-harness",
    "--vsphere-endpoint",
    "http://vc.test:8443",
    "--vsphere-user",
    "admin",
    "--vsphere-password",
    PASSWORD,
    "--vsphere-operations",
    "VirtualMachine_PowerOnVM_Task",
    "--vsphere-operations",
    "VirtualMachine_MarkAsTemplate",
    "--vsphere-operations",
    "VirtualMachine_UnregisterVM",
    "-p",
    "xdist",
    "-p",
    "no:cacheprovider",
]


def outcomes(junit: Path) -> dict[str, str]:
    """Each test case's outcome by node id (``classname::name``) from a JUnit file."""
    out = {}
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = [c.tag for c in case if c.tag in ("failure", "error", "skipped")]
        out[f"{case.get('classname')}::{case.get('name')}"] = kinds[0] if kinds else "passed"
    return out


def verdicts(report_dir: Path) -> dict[tuple[str, str], str]:
    data = json.loads((report_dir / "results.json").read_text())
    return {(op["id"], c["check"]): c["status"] for op in data["operations"] for c in op["checks"]}


def run_both(pytester: pytest.Pytester, args: list[str]) -> tuple[Any, Any, Path]:
    """The same session without xdist and with ``-n 2``: (one result, two-worker result, tmp dir)."""
    out = pytester.path
    one = pytester.runpytest_subprocess(
        *args, "-n", "0", "--junitxml", str(out / "one.xml"), "--vsphere-report-dir", str(out / "one")
    )
    two = pytester.runpytest_subprocess(
        *args, "-n", "2", "--junitxml", str(out / "two.xml"), "--vsphere-report-dir", str(out / "two")
    )
    return one, two, out


@pytest.mark.slow
def test_two_workers_give_the_verdicts_of_one_on_the_builtin_simulator(pytester):
    one, two, out = run_both(pytester, SMALL_PLAN)
    assert one.ret == two.ret == pytest.ExitCode.OK, two.stdout.str()
    assert "2 workers" in two.stdout.str()
    first, second = outcomes(out / "one.xml"), outcomes(out / "two.xml")
    assert first == second
    assert len(first) == 5 and first["vsphere::every-answer"] == "passed"
    assert verdicts(out / "one") == verdicts(out / "two")
    merged = json.loads((out / "two" / "results.json").read_text())
    assert merged["stats"]["xdist_workers"] == ["gw0", "gw1"]
    assert "merged_shards" not in merged["options"] and "shard" not in merged["options"]


def test_two_workers_lose_no_violation_of_other_answers(pytester, monkeypatch):
    """A violation only a worker's auditor saw (an operation no item judges) fails the controller's
    ``vsphere::every-answer``, rendered and scrubbed, exactly as without xdist."""
    pytester.makeconftest(FAKE_CONFTEST)
    monkeypatch.setenv("BAD_RUNTIME", "1")
    one, two, out = run_both(pytester, FAKE_ARGS)
    assert one.ret == two.ret == pytest.ExitCode.TESTS_FAILED
    first, second = outcomes(out / "one.xml"), outcomes(out / "two.xml")
    assert first == second
    assert "2 workers" in two.stdout.str() and first["vsphere::every-answer"] == "failure"
    assert {"passed", "failure", "skipped", "error"} <= set(first.values())
    for result in (one, two):
        text = result.stdout.str()
        assert "FAILED vsphere::every-answer" in text
        assert "VirtualMachine_getRuntime::shape: contract violation" in text
        assert "answered during VirtualMachine_PowerOnVM_Task::power" in text
        assert SID not in text and PASSWORD not in text
    assert verdicts(out / "one") == verdicts(out / "two")
    assert SID not in (out / "two" / "results.json").read_text()


def test_a_finding_on_an_item_another_worker_ran_is_reported(pytester):
    """A worker judges findings against the items *it* ran: a pair collected everywhere but run by
    the other worker is still reported by the worker whose auditor found it."""
    state = pytest_items._State(options=None)
    state.ran = {("A", "shape")}
    failed = {name: CheckResult("shape", "failed", f"{name} broke") for name in "ABC"}
    result = RunResult("0", {}, "now")
    result.operations = [OperationResult(n, [c]) for n, c in failed.items()]
    runner = SimpleNamespace(result=result, late=[("C", failed["C"])])
    assert [op for op, _ in state.unreported(runner)] == ["B", "C"]
    state.ran.add(("C", "shape"))  # ran here, but the violation came after it passed: still reported
    assert [op for op, _ in state.unreported(runner)] == ["B", "C"]


def test_bad_options_are_usage_errors_before_workers_start(pytester):
    result = pytester.runpytest_subprocess(*SMALL_PLAN, "--vsphere-checks", "nope", "-n", "2")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "vsphere-harness: unknown check(s) nope" in result.stderr.str()
    assert "created: 2/2 workers" not in result.stdout.str()
