"""The pytest plugin: items per operation x check, readable failures, inactive by default."""

from __future__ import annotations

import json

import pytest
import requests
import responses
from test_run_fakes import PASSWORD, SID, URL, FakeSandbox, fake_endpoint, registry

import harness.run.execute

pytest_plugins = ["pytester"]

ARGS = [
    "--vsphere-harness",
    "--vsphere-endpoint",
    URL,
    "--vsphere-user",
    "admin",
    "--vsphere-password",
    PASSWORD,
    "--vsphere-operations",
    "VirtualMachine_PowerOnVM_Task",
    "--vsphere-operations",
    "VirtualMachine_MarkAsTemplate",
    "-p",
    "no:cacheprovider",
]


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setattr("harness.run.plan.registered", registry)

    monkeypatch.setattr(harness.run.execute, "Sandbox", FakeSandbox)
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        fake_endpoint(rsps)
        yield rsps


def test_inactive_without_the_option(pytester, fake):
    pytester.makepyfile("def test_x():\n    pass\n")
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    assert not fake.calls


def test_inactive_plugin_imports_nothing_of_the_harness(pytester):
    """Every pytest session where the harness is installed loads the plugin; without the option it
    must not import the harness (nor hypothesis settings, schemathesis, the simulator)."""
    pytester.makepyfile(
        "import sys\n"
        "def test_x():\n"
        "    loaded = sorted(m for m in sys.modules if m.startswith('harness.'))\n"
        "    assert loaded == ['harness.pytest_plugin'], loaded\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")  # the plugin loads by its entry point
    result.assert_outcomes(passed=1)


def test_collects_one_item_per_operation_and_check(pytester, fake):
    result = pytester.runpytest_inprocess(*ARGS, "--collect-only", "-q")
    lines = [x for x in result.outlines if x.startswith("vsphere::")]
    assert "vsphere::VirtualMachine_PowerOnVM_Task::shape" not in lines  # only registered checks
    checks = ("ok", "power", "boom", "writes", "versions")
    assert lines == [
        f"vsphere::VirtualMachine_{op}::{c}" for op in ("MarkAsTemplate", "PowerOnVM_Task") for c in checks
    ] + ["vsphere::every-answer"]
    assert not fake.calls  # collecting does not connect


def test_shards_split_the_items_between_them(pytester, fake):
    """``--vsphere-shard I/N``: each operation x check item in exactly one shard (CI fans out)."""
    seen = []
    for shard in ("1/2", "2/2"):
        result = pytester.runpytest_inprocess(*ARGS, "--vsphere-shard", shard, "--collect-only", "-q")
        seen.append(
            {x for x in result.outlines if x.startswith("vsphere::") and x != "vsphere::every-answer"}
        )
    assert seen[0] and seen[1] and not seen[0] & seen[1] and len(seen[0] | seen[1]) == 10
    bad = pytester.runpytest_inprocess(*ARGS, "--vsphere-shard", "3/2")
    assert bad.ret == pytest.ExitCode.USAGE_ERROR and "shard must be I/N" in bad.stderr.str()


def test_runs_with_readable_failures_and_reports(pytester, fake, tmp_path):
    out = tmp_path / "r"
    result = pytester.runpytest_inprocess(*ARGS, "--vsphere-report-dir", str(out), "-k", "power or boom")
    result.assert_outcomes(passed=5, failed=1, skipped=1, deselected=4)  # -k also matches PowerOn...
    text = result.stdout.str()
    assert "VirtualMachine_PowerOnVM_Task::power: contract violation" in text
    assert "request: GET http://vc.test:8443/sdk/vim25/8.0.2.0/VirtualMachine/vm-1/runtime" in text
    assert "response: HTTP 500" in text and "curl -sS -X GET" in text
    assert SID not in text and PASSWORD not in text
    data = json.loads((out / "results.json").read_text())
    assert data["summary"]["checks"] == 7 and data["summary"]["failed"] == 1


def test_inventory_sample_option_reaches_the_run(pytester, fake, tmp_path):
    out = tmp_path / "r"
    result = pytester.runpytest_inprocess(
        *ARGS, "--vsphere-checks", "ok", "--vsphere-inventory-sample", "3", "--vsphere-report-dir", str(out)
    )
    result.assert_outcomes(passed=3)
    assert json.loads((out / "results.json").read_text())["options"]["inventory_sample"] == 3


def test_baseline_turns_accepted_failures_into_xfail(pytester, fake, tmp_path):
    base = tmp_path / "b.yaml"
    base.write_text("- {id: VirtualMachine_PowerOnVM_Task, check: power}\n")
    result = pytester.runpytest_inprocess(*ARGS, "--vsphere-baseline", str(base), "--vsphere-checks", "power")
    result.assert_outcomes(passed=2, xfailed=1)


def test_a_check_that_could_not_decide_is_an_error_unless_allowed(pytester, fake):
    args = [
        *ARGS[:-6],
        "--vsphere-operations",
        "VirtualMachine_UnregisterVM",
        "-p",
        "no:cacheprovider",
        "--vsphere-checks",
        "boom",
    ]
    result = pytester.runpytest_inprocess(*args)
    result.assert_outcomes(passed=1, errors=1)
    assert "VirtualMachine_UnregisterVM::boom: error (the harness could not decide)" in result.stdout.str()
    assert "could not tell" in result.stdout.str()
    allowed = pytester.runpytest_inprocess(*args, "--vsphere-allow-errors")
    allowed.assert_outcomes(passed=1, skipped=1)


def test_violations_in_other_answers_fail_the_last_item(pytester, fake):
    # the runtime read the "power" check makes answers a fault outside the schema: no collected item
    # judges VirtualMachine_getRuntime, so the last item reports it
    fake.replace(
        responses.GET,
        f"{URL}/sdk/vim25/8.0.2.0/VirtualMachine/vm-1/runtime",
        status=500,
        json={"_typeName": "InvalidState", "faultMessage": [], "note": "x"},
    )
    result = pytester.runpytest_inprocess(*ARGS, "--vsphere-checks", "power")
    result.assert_outcomes(passed=1, failed=2)
    text = result.stdout.str()
    assert "FAILED vsphere::every-answer" in text
    assert "VirtualMachine_getRuntime::shape: contract violation" in text
    assert "'note' was unexpected" in text and "answered during VirtualMachine_PowerOnVM_Task::power" in text


def test_unreachable_endpoint_fails_every_item_with_one_line(pytester, fake):
    fake.replace(
        responses.GET,
        f"{URL}/sdk/vim25/8.0.2.0/ServiceInstance/ServiceInstance/content",
        body=requests.ConnectionError("Connection refused"),
    )
    result = pytester.runpytest_inprocess(*ARGS, "--vsphere-checks", "ok")
    result.assert_outcomes(errors=2, failed=1)
    assert "vsphere-harness: endpoint http://vc.test:8443 unreachable" in result.stdout.str()


def test_bad_options_are_usage_errors(pytester, fake):
    result = pytester.runpytest_inprocess(*ARGS, "--vsphere-checks", "nope")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    assert "vsphere-harness: unknown check(s) nope" in result.stderr.str()


def test_reconnect_wait_reaches_the_run(pytester, fake, tmp_path):
    """``--vsphere-reconnect-wait`` is run's ``--reconnect-wait`` (recorded in results.json)."""
    out = tmp_path / "r"
    result = pytester.runpytest_inprocess(
        *ARGS, "--vsphere-reconnect-wait", "7", "--vsphere-report-dir", str(out), "-k", "power"
    )
    assert result.ret in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED)
    assert json.loads((out / "results.json").read_text())["options"]["reconnect_wait"] == 7.0
