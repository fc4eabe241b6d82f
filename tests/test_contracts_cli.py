"""``vsphere-harness contracts ...``: exit codes, one-line errors, and the files it writes."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from harness.cli import main
from harness.contract.store import default_contracts_dir

FIXTURES = Path(__file__).parent / "fixtures" / "openapi"
REPO = Path(__file__).resolve().parents[1]


def run(*args: str):
    return CliRunner().invoke(main, ["contracts", *args])


def _one_line_error(result, fragment: str) -> None:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and fragment in lines[0], result.output
    assert "Traceback" not in result.output


def test_list_and_show_still_work() -> None:
    listed = run("list", "--format", "json")
    assert listed.exit_code == 0
    assert len(json.loads(listed.output)) == 101
    assert len(json.loads(run("list", "--format", "json", "-r", "9.1.0.0").output)) == 102
    shown = run("show", "VirtualMachine_RemoveAllSnapshots_Task", "-r", "8.0.2.0")
    assert shown.exit_code == 0
    assert "spec" not in [p["name"] for p in yaml.safe_load(shown.output)["request"]["params"]]


def test_check_clean_repository() -> None:
    result = run("check")
    assert result.exit_code == 0, result.output
    assert result.output.strip().splitlines() == [result.output.strip()]
    assert (
        "contract files OK" in result.output
        and "101 at 8.0.2.0" in result.output
        and "102 at 9.1.0.0" in result.output
    )


def test_check_broken_copy(tmp_path: Path) -> None:
    root = tmp_path / "contracts"
    shutil.copytree(default_contracts_dir(), root)
    path = root / "VirtualMachine" / "PowerOnVM_Task.yaml"
    data = yaml.safe_load(path.read_text())
    data["faults"].append("Foo")
    data["request"]["params"][0]["name"] = "hots"
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    result = run("check", "--contracts-dir", str(root))
    assert result.exit_code == 1
    lines = result.output.splitlines()
    assert (
        "contracts/VirtualMachine/PowerOnVM_Task.yaml: faults[5]: 'Foo' is not a type in releases 8.0.1.0 to "
        "9.1.0.0" in lines
    )
    assert any(
        line.startswith(
            "contracts/VirtualMachine/PowerOnVM_Task.yaml: request.params[0]: 'hots' is not a "
            "parameter of VirtualMachine.PowerOnVM_Task"
        )
        for line in lines
    )
    assert re.fullmatch(r"\d+ problems in \d+ contract files", lines[-1])


def test_check_missing_directory(tmp_path: Path) -> None:
    _one_line_error(run("check", "--contracts-dir", str(tmp_path / "nope")), "no contracts directory")


def test_export_to_file_refuses_to_overwrite(tmp_path: Path) -> None:
    out = tmp_path / "vi.json"
    first = run("export-openapi", "-r", "9.1.0.0", "-o", str(out))
    assert first.exit_code == 0, first.output
    doc = json.loads(out.read_text())
    assert doc["servers"][0]["variables"]["release"]["default"] == "9.1.0.0"
    inferred = run("diff-openapi", str(out))  # the release comes from the document
    assert inferred.exit_code == 0 and "contracts of 9.1.0.0" in inferred.output
    assert run("diff-openapi", str(out), "-r", "8.0.2.0").exit_code == 1
    out.write_text("mine")
    _one_line_error(run("export-openapi", "-o", str(out)), "exists; pass --force")
    assert out.read_text() == "mine"
    assert run("export-openapi", "-o", str(out), "--force").exit_code == 0
    assert json.loads(out.read_text())["info"]["version"] == "8.0.2.0"


def test_export_to_stdout_then_diff_is_empty(tmp_path: Path) -> None:
    result = run("export-openapi")
    assert result.exit_code == 0
    spec = tmp_path / "export.json"
    spec.write_text(result.output)
    diff = run("diff-openapi", str(spec), "--all")
    assert diff.exit_code == 0, diff.output
    assert diff.output.startswith("no differences")


def test_diff_hand_made_documents(tmp_path: Path) -> None:
    root = tmp_path / "contracts"
    for rel in (
        "VirtualMachine/PowerOnVM_Task.yaml",
        "VirtualMachine/MarkAsTemplate.yaml",
        "VirtualMachine/Rename_Task.yaml",
        "VirtualMachine/CreateSnapshot_Task.yaml",
        "VirtualMachine/get/runtime.yaml",
        "VirtualMachine/get/guestHeartbeatStatus.yaml",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(default_contracts_dir() / rel, root / rel)
    # these documents sketch their schemas: their operations are what they are about
    equal = run(
        "diff-openapi",
        str(FIXTURES / "vi_json_equal.json"),
        "--contracts-dir",
        str(root),
        "--operations-only",
    )
    assert equal.exit_code == 0, equal.output
    assert (
        run("diff-openapi", str(FIXTURES / "vi_json_equal.json"), "--contracts-dir", str(root)).exit_code == 1
    )
    different = run(
        "diff-openapi",
        str(FIXTURES / "vi_json_different.json"),
        "--contracts-dir",
        str(root),
        "--format",
        "json",
        "--operations-only",
    )
    assert different.exit_code == 1
    aspects = {d["aspect"] for d in json.loads(different.output)}
    assert aspects == {
        "missing",
        "extra",
        "operationId",
        "method",
        "status",
        "request",
        "response",
        "privileges",
        "faults",
    }
    text = run(
        "diff-openapi",
        str(FIXTURES / "vi_json_different.json"),
        "--contracts-dir",
        str(root),
        "--operations-only",
    )
    assert text.exit_code == 1
    assert "VirtualMachine_MarkAsTemplate: status: contract 204, document 200" in text.output.splitlines()


def test_diff_vmware_document_reports_refinements_and_passes(tmp_path: Path) -> None:
    root = tmp_path / "contracts"
    for rel in (
        "VirtualMachine/PowerOnVM_Task.yaml",
        "VirtualMachine/RepairVmDiskChains_Task.yaml",
        "VirtualMachine/QueryFaultToleranceCompatibility.yaml",
        "VirtualMachine/get/recentTask.yaml",
    ):
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(default_contracts_dir() / rel, root / rel)
    spec = FIXTURES / "vi_json_vmware_9.1.0.0.json"
    quiet = run(
        "diff-openapi", str(spec), "--contracts-dir", str(root)
    )  # the release comes from the document
    assert quiet.exit_code == 0, quiet.output
    assert quiet.output.splitlines() == [
        "9 documented refinements of the contracts, not differences (conditional-privileges: 1, "
        "default-privileges: 1, typed-reference: 7); --refinements lists them",
        f"no differences between the contracts of 9.1.0.0 and {spec}",
    ]
    listed = run("diff-openapi", str(spec), "--contracts-dir", str(root), "--refinements")
    assert listed.exit_code == 0
    assert (
        "VirtualMachine_RepairVmDiskChains_Task: privileges: the document states no required privileges; the "
        "contract requires Datastore.FileManagement on each config.hardware.device[VirtualDisk].backing.datastore "
        "when config.hardware.device present True [refinement: conditional-privileges]"
    ) in listed.output.splitlines()
    as_json = json.loads(
        run("diff-openapi", str(spec), "--contracts-dir", str(root), "--format", "json").output
    )
    assert len(as_json) == 9 and all(d["refinement"] for d in as_json)
    changed = json.loads(spec.read_text())
    changed["components"]["schemas"]["TaskInfo"]["allOf"][1]["properties"]["error"] = {
        "$ref": "#/components/schemas/LocalizedMethodFault"
    }
    (tmp_path / "changed.json").write_text(json.dumps(changed))
    broken = run("diff-openapi", str(tmp_path / "changed.json"), "--contracts-dir", str(root))
    assert broken.exit_code == 1
    assert (
        "TaskInfo: schema: field 'error': release 9.1.0.0 MethodFault, document LocalizedMethodFault"
        in broken.output.splitlines()
    )


@pytest.mark.parametrize(
    "args, fragment",
    [
        (["list", "-r", "7.0.3.0"], "unknown release '7.0.3.0'"),
        (["show", "VirtualMachine_NoSuchThing"], "no contract with id 'VirtualMachine_NoSuchThing'"),
        (
            ["show", "VirtualMachine_RepairVmDiskChains_Task", "-r", "8.0.2.0"],
            "does not exist in release 8.0.2.0",
        ),
        (["export-openapi", "-r", "10"], "unknown release '10'"),
        (["diff-openapi", "/nonexistent/spec.json"], "cannot read"),
        (["diff-openapi", str(FIXTURES / "vi_json_equal.json"), "-r", "6.7"], "unknown release '6.7'"),
    ],
)
def test_one_line_errors(args: list[str], fragment: str) -> None:
    _one_line_error(run(*args), fragment)


def test_diff_non_openapi_file(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text('{"swagger": "2.0"}')
    _one_line_error(run("diff-openapi", str(bad)), "not an OpenAPI 3 document")
    binary = tmp_path / "bin.json"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    _one_line_error(run("diff-openapi", str(binary)), "bin.json")


def test_real_process_exit_codes(tmp_path: Path) -> None:
    exe = Path(sys.executable).parent / "vsphere-harness"
    if not exe.exists():
        exe = REPO / ".venv" / "bin" / "vsphere-harness"
    bad = subprocess.run(
        [str(exe), "contracts", "show", "NoSuch_Id"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2
    assert bad.stdout == "" and bad.stderr.strip() == "error: no contract with id 'NoSuch_Id'"
    out = tmp_path / "x.json"
    out.write_text("{}")
    refused = subprocess.run(
        [str(exe), "contracts", "export-openapi", "-o", str(out)], capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 2 and refused.stderr.count("\n") == 1 and out.read_text() == "{}"
