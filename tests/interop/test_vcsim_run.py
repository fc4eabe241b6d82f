"""The harness over SOAP against govmomi's vcsim, an endpoint nobody here wrote.

One full run (every check, seed 0, a limited user) with ``interop/vcsim-0.24.2.baseline.yaml``: it
exits 0 because every deviation is accepted with its reason; the same results without the baseline
fail the gate (exit 1), with the deviations issue 8 lists on the right operation and check.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness.cli import main
from harness.report.writers import load_results
from harness.run.baseline import load_baseline

from .test_vcsim import launch

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "interop" / "vcsim-0.24.2.baseline.yaml"


@pytest.fixture(scope="module")
def vcsim_run(tmp_path_factory):
    """``(exit code, output, results.json path)`` of the run with the baseline."""
    out = tmp_path_factory.mktemp("vcsim-run")
    with launch.running_vcsim() as url:
        args = [
            "run",
            "--endpoint",
            url.removesuffix("/sdk"),
            "--protocol",
            "soap",
            "--insecure",
            "--user",
            "vsphere-harness",
            "--password",
            "vcsim-password",
            "--limited-user",
            "limited",
            "--limited-password",
            "limited-password",
            "--no-scenarios",
            "--seed",
            "0",
            "--baseline",
            str(BASELINE),
            "--report-dir",
            str(out / "reports"),
            "-q",
        ]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.output, out / "reports" / "results.json"


def _verdicts(run) -> dict[tuple[str, str], object]:
    return {(op.id, c.check): c for op in run.operations for c in op.checks}


def test_the_run_against_vcsim_passes_with_the_explained_baseline(vcsim_run):
    code, output, results = vcsim_run
    assert code == 0, output[-3000:]
    data = json.loads(results.read_text())
    assert data["endpoint"]["protocol"] == "soap" and data["endpoint"]["about"]["apiVersion"] == "6.5"
    assert "older than the release under test" in data["endpoint"]["warnings"][0]
    assert data["gate"] == {"verdict": "passed", "exit_code": 0}
    assert data["summary"]["passed"] > 300 and data["summary"]["accepted"] > 100


def test_without_the_baseline_the_deviations_fail_on_the_right_operation_and_check(vcsim_run):
    _, _, results = vcsim_run
    run = load_results(results)
    for op in run.operations:
        for c in op.checks:
            c.accepted = False
    assert run.gate()["exit_code"] == 1
    by = _verdicts(run)

    def failed(op: str, check: str, words: str) -> None:
        c = by[(f"VirtualMachine_{op}", check)]
        assert c.status == "failed" and words in c.message, (op, check, c.status, c.message)
        assert c.evidence, (op, check)

    # methods it does not implement, every Fault Tolerance method among them
    for op in (
        "MountToolsInstaller",
        "AcquireMksTicket",
        "CreateSecondaryVM_Task",
        "QueryFaultToleranceCompatibility",
    ):
        failed(op, "versions", "does not implement it")
    for op in ("MakePrimaryVM_Task", "TurnOffFaultToleranceForVM_Task", "TerminateFaultTolerantVM_Task"):
        failed(op, "versions", "does not implement it")
    # properties it does not send (pyVmomi's Fetch even drops the connection on some)
    failed("getGuestHeartbeatStatus", "shape", "guestHeartbeatStatus is not optional")
    failed("getRuntime", "shape", "faultToleranceState")
    # privileges are not enforced: nothing can be withheld from the limited user
    failed("PowerOnVM_Task", "privileges", "VirtualMachine.Interact.PowerOn")
    # what vcsim does right passes
    for op, check in (("PowerOnVM_Task", "shape"), ("getConfig", "shape"), ("PowerOffVM_Task", "session")):
        assert by[(f"VirtualMachine_{op}", check)].status == "passed", (op, check)


def test_every_baseline_entry_has_a_reason_and_still_accepts_something(vcsim_run):
    _, _, results = vcsim_run
    run = load_results(results)
    entries = load_baseline(BASELINE).entries
    raw = yaml.safe_load(BASELINE.read_text())["accepted"]
    assert all(str(item.get("reason", "")).strip() for item in raw)
    results_of = [(op.id, c) for op in run.operations for c in op.checks if c.status in ("failed", "error")]
    for entry in entries:
        assert any(entry.matches(op, c.check, c.message, c.status) for op, c in results_of), entry
    assert all(c.accepted for _, c in results_of), [
        (op, c.check, c.message[:120]) for op, c in results_of if not c.accepted
    ]
