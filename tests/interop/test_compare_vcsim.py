"""``vsphere-harness compare``: our simulator against govmomi's vcsim, both over SOAP.

Every difference is either fixed in our simulator or accepted, with its reason, by
``interop/vcsim-0.24.2.compare-baseline.yaml`` (described in docs/vcsim.md): the comparison exits 0
with it and 1 without, and the differences show on the right operations.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main

from .test_vcsim import launch

ROOT = Path(__file__).resolve().parents[2]
BASELINE = ROOT / "interop" / "vcsim-0.24.2.compare-baseline.yaml"
OPERATIONS = (
    "VirtualMachine_PowerOnVM_Task",
    "VirtualMachine_PowerOffVM_Task",
    "VirtualMachine_getRuntime",
    "VirtualMachine_getConfig",
    "VirtualMachine_CreateSnapshot_Task",
    "VirtualMachine_MountToolsInstaller",
    "VirtualMachine_getName",
)


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("compare-vcsim") / "reports"
    with launch.running_vcsim() as url:
        args = ["compare", "builtin", url.removesuffix("/sdk"), "--protocol", "soap", "--b-insecure"]
        args += ["--b-user", "vsphere-harness", "--b-password", "vcsim-password"]
        args += ["--b-limited-user", "limited", "--b-limited-password", "limited-password"]
        for op in OPERATIONS:
            args += ["-o", op]
        args += ["--examples", "2", "--baseline", str(BASELINE), "--report-dir", str(out), "-q"]
        result = CliRunner().invoke(main, args, catch_exceptions=False)
    return result.exit_code, result.output, json.loads((out / "comparison.json").read_text())


def test_every_difference_from_vcsim_is_explained(comparison):
    code, output, data = comparison
    assert code == 0, output[-3000:]
    unexplained = [
        (op["id"], d["aspect"], d["key"])
        for op in data["operations"]
        for d in op["differences"]
        if not d["accepted"] or not d["reason"].strip()
    ]
    assert not unexplained, unexplained


def test_without_the_baseline_the_differences_show_on_the_right_operations(comparison):
    _, _, data = comparison
    different = {op["id"]: op for op in data["operations"] if op["differences"]}
    assert data["summary"]["accepted"] >= 5  # operations that differ only as accepted
    mount = {(d["aspect"], d["key"]) for d in different["VirtualMachine_MountToolsInstaller"]["differences"]}
    assert ("answers", "HTTP 500 fault MethodNotFound") in mount
    runtime = {d["key"] for d in different["VirtualMachine_getRuntime"]["differences"]}
    assert "$.faultToleranceState: string" in runtime
    power_on = {d["key"] for d in different["VirtualMachine_PowerOnVM_Task"]["differences"]}
    assert "HTTP 500 fault NoPermission" in power_on  # only our simulator enforces privileges
    assert data["sides"]["a"]["endpoint"]["protocol"] == data["sides"]["b"]["endpoint"]["protocol"] == "soap"
