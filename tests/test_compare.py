"""``vsphere-harness compare``: two endpoints, one seeded plan, compared per operation.

The end-to-end tests compare the built-in simulator with a second instance of our simulator (other
seed and inventory: other moIds and names, the same behaviour -> no difference, exit 0) and with one
that misbehaves (the difference shows on the operation that misbehaves -> exit 1; a baseline
accepting it -> exit 0).  Restricted to two operations and three checks, each takes a few seconds.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner
from requests.structures import CaseInsensitiveDict

from harness.cli import main
from harness.client import Exchange
from harness.compare import (
    AcceptedDifference,
    Profile,
    Recorder,
    answer_class,
    apply_accepted,
    compare_endpoints,
    diff_profiles,
    load_accepted,
    load_comparison,
    shape_of,
)
from harness.run import RunOptions, UsageError
from harness.sim import SimConfig, running_simulator

RUNTIME, POWER_ON = "VirtualMachine_getRuntime", "VirtualMachine_PowerOnVM_Task"
SHARED = {"operations": (RUNTIME, POWER_ON), "checks": ("shape", "faults", "effects"), "examples": 2}
CLI_SHARED = ["-q", "-o", RUNTIME, "-o", POWER_ON, "-c", "shape,faults,effects", "--examples", "2"]


@pytest.fixture(autouse=True)
def no_env_credentials(monkeypatch):
    for var in ("VSPHERE_USER", "VSPHERE_PASSWORD", "VSPHERE_LIMITED_USER", "VSPHERE_LIMITED_PASSWORD"):
        monkeypatch.delenv(var, raising=False)


def invoke(*args: str):
    return CliRunner().invoke(main, ["compare", *args], catch_exceptions=False)


def exchange(status: int, body: object, method: str = "GET", path: str = "VirtualMachine/vm-1/runtime"):
    raw = b"" if body is None else (body if isinstance(body, bytes) else json.dumps(body).encode())
    try:
        decoded, is_json = (json.loads(raw), True) if raw else (None, False)
    except ValueError:
        decoded, is_json = None, False
    ex = Exchange(
        method,
        f"http://h/sdk/vim25/8.0.2.0/{path}",
        {},
        None,
        status,
        CaseInsensitiveDict(),
        raw,
        1.0,
        "8.0.2.0",
        decoded,
        is_json,
    )
    if raw and not is_json:
        ex.defect = "the body is not JSON"
    return ex


# --- what is compared, and what is not ----------------------------------------------------------------
def test_a_shape_keeps_structure_and_drops_values():
    one = {
        "_typeName": "VirtualMachineRuntimeInfo",
        "host": {"_typeName": "ManagedObjectReference", "type": "HostSystem", "value": "host-10"},
        "bootTime": "2024-01-01T00:00:00Z",
        "device": [{"_typeName": "VirtualMachineDeviceRuntimeInfo", "key": 4000}],
        "numMksConnections": 1,
    }
    other = {  # other moIds, times, keys, counters, more array elements: the same shape
        **one,
        "host": {"_typeName": "ManagedObjectReference", "type": "HostSystem", "value": "host-99"},
        "bootTime": "2030-05-05T12:00:00Z",
        "device": [{"_typeName": "VirtualMachineDeviceRuntimeInfo", "key": k} for k in (1, 2, 3)],
        "numMksConnections": 7,
    }
    assert shape_of(one) == shape_of(other)
    assert "$.device[].key: number" in shape_of(one) and "$: VirtualMachineRuntimeInfo" in shape_of(one)
    assert shape_of({**one, "extra": True}) - shape_of(one) == {"$.extra: boolean"}
    assert shape_of({**one, "numMksConnections": "1"}) != shape_of(one)
    untyped = {k: v for k, v in one.items()}
    untyped["host"] = {"type": "HostSystem", "value": "host-10"}
    assert "$.host: object" in shape_of(untyped)


def test_answer_classes_are_status_and_fault_type():
    assert answer_class(exchange(200, {"_typeName": "VirtualMachineRuntimeInfo"})) == "HTTP 200"
    assert answer_class(exchange(204, None)) == "HTTP 204"
    fault = {"_typeName": "InvalidPowerState", "faultMessage": [], "existingState": "poweredOn"}
    assert answer_class(exchange(500, fault)) == "HTTP 500 fault InvalidPowerState"
    assert answer_class(exchange(200, fault)) == "HTTP 200 fault InvalidPowerState"
    assert answer_class(exchange(500, {"faultMessage": []})) == "HTTP 500 (no fault object)"
    assert answer_class(exchange(500, b"Traceback ...")) == "HTTP 500 defect: the body is not JSON"


def test_the_recorder_credits_task_outcomes_to_the_operation_that_started_the_task():
    rec = Recorder("8.0.2.0")
    task = {"_typeName": "ManagedObjectReference", "type": "Task", "value": "task-7"}
    rec.observe(exchange(200, task, "POST", "VirtualMachine/vm-1/PowerOnVM_Task"))
    ref = {"_typeName": "ManagedObjectReference", "type": "Task", "value": "task-7"}
    running = {"_typeName": "TaskInfo", "key": "task-7", "task": ref, "state": "running", "progress": 50}
    error = {**running, "state": "error", "error": {"_typeName": "InvalidPowerState", "faultMessage": []}}
    for info in (running, error, error):  # polled three times: one task, one outcome
        rec.observe(exchange(200, info, "GET", "Task/task-7/info"))
    rec.observe(exchange(200, {"x": 1}, "GET", "Nothing/x/y"))  # no contract: not recorded
    assert dict(rec.seen[POWER_ON].effects) == {"error InvalidPowerState": 1}
    assert dict(rec.seen[POWER_ON].answers) == {"HTTP 200": 1}
    assert set(rec.seen) == {POWER_ON, "Task_getInfo"}


def test_differences_are_sets_not_counts():
    a = Profile({"HTTP 200": 40, "HTTP 500 fault NotFound": 1}, ["$: X"], {"success": 3}, {"shape": "passed"})
    b = Profile({"HTTP 200": 3, "HTTP 500 fault NotFound": 9}, ["$: X"], {"success": 1}, {"shape": "passed"})
    assert diff_profiles(a, b) == []
    b.answers["HTTP 500 fault OutOfBounds"] = 2
    b.shape.append("$.extra: string")
    b.verdicts["shape"] = "failed"
    got = {(d.aspect, d.key, d.a, d.b) for d in diff_profiles(a, b)}
    assert got == {
        ("answers", "HTTP 500 fault OutOfBounds", None, "2 answers"),
        ("shape", "$.extra: string", None, "present"),
        ("verdicts", "shape", "passed", "failed"),
    }


def test_a_baseline_entry_needs_a_reason_and_a_known_aspect(tmp_path):
    path = tmp_path / "accepted.yaml"
    path.write_text(
        "- {id: 'VirtualMachine_*', aspect: shape, match: simUndefined, reason: vendor extension}\n"
    )
    (entry,) = load_accepted(path)
    assert entry.accepts(RUNTIME, "shape", "$.simUndefinedField: boolean")
    assert not entry.accepts(RUNTIME, "answers", "$.simUndefinedField: boolean")
    for bad, needle in (
        ("- {id: x}\n", "'reason'"),
        ("- {id: x, reason: r, aspect: colour}\n", "aspect"),
        ("- {id: x, reason: r, check: shape}\n", "unknown field"),
        ("{accepted: 3}\n", "expected a list"),
    ):
        path.write_text(bad)
        with pytest.raises(UsageError, match=needle):
            load_accepted(path)


def test_the_sides_must_share_what_makes_the_requests():
    with pytest.raises(UsageError, match="seed"):
        compare_endpoints(RunOptions(**SHARED, seed=1), RunOptions(**SHARED, seed=2))


# --- end to end ------------------------------------------------------------------------------------
def test_two_simulators_compare_equal(tmp_path):
    """Another instance of the simulator (other seed and inventory size: other moIds and names) is
    no difference; the reports are written, valid, and carry no password."""
    with running_simulator(SimConfig(seed=3, vms=10, task_delay_ms=15)) as sim:
        user, password = sim.users["admin"]
        result = invoke(
            *CLI_SHARED,
            "builtin",
            sim.url,
            "--b-user",
            user,
            "--b-password",
            password,
            "--report-dir",
            str(tmp_path / "out"),
        )
    assert result.exit_code == 0, result.output
    assert "2 operations compared" in result.stdout and "2 same, 0 different" in result.stdout
    out = tmp_path / "out"
    comparison = load_comparison(out / "comparison.json")  # validated against the schema
    by_id = {op.id: op for op in comparison.operations}
    assert set(by_id) == {RUNTIME, POWER_ON}
    runtime = by_id[RUNTIME]
    assert (
        runtime.a.answers
        and runtime.a.shape
        and runtime.a.verdicts == {"shape": "passed", "faults": "passed"}
    )
    assert by_id[POWER_ON].a.effects  # tasks followed to their end
    assert comparison.sides["b"]["endpoint"]["url"] == sim.url
    for name in ("comparison.json", "comparison.md", "comparison.html", "a/results.json", "b/results.json"):
        assert password not in (out / name).read_text(), name
    assert "vsphere-harness compare: same" in (out / "comparison.md").read_text()


@pytest.fixture(scope="module")
def misbehaving():
    """A comparison of the built-in simulator with one that answers undeclared faults."""
    with running_simulator(SimConfig(task_delay_ms=15, misbehave=frozenset({"undeclared_fault"}))) as sim:
        user, password = sim.users["admin"]
        yield (
            sim,
            compare_endpoints(
                RunOptions(**SHARED), RunOptions(endpoint=sim.url, user=user, password=password, **SHARED)
            ),
        )


def test_a_misbehaving_endpoint_differs_on_the_right_operation(misbehaving):
    _, comparison = misbehaving
    assert comparison.exit_code() == 1
    by_id = {op.id: op for op in comparison.operations}
    assert by_id[RUNTIME].status == "same"
    power_on = by_id[POWER_ON]
    assert power_on.status == "different"
    diffs = {(d.aspect, d.key): (d.a, d.b) for d in power_on.differences}
    assert diffs[("verdicts", "faults")] == ("passed", "failed")
    undeclared = [k for (aspect, k), (a, b) in diffs.items() if aspect == "effects" and a is None and b]
    assert undeclared, diffs  # B's tasks end in a fault A's never do
    assert ("effects", "error InvalidPowerState") in diffs  # ... where A's end in the declared one


def test_a_baseline_accepts_the_difference(misbehaving, tmp_path):
    _, comparison = misbehaving
    apply_accepted(
        (AcceptedDifference(POWER_ON, "vendor answers OutOfBounds (ticket 1)"),), comparison.operations
    )
    assert comparison.exit_code() == 0
    assert comparison.summary()["accepted"] == 1
    assert all(d.reason == "vendor answers OutOfBounds (ticket 1)" for _, d in comparison.differences())


def test_the_cli_exits_1_on_differences_and_0_with_a_baseline(misbehaving, tmp_path):
    sim, _ = misbehaving
    user, password = sim.users["admin"]
    args = [*CLI_SHARED, "--b-endpoint", sim.url, "--b-user", user, "--b-password", password]
    baseline = tmp_path / "accepted.yaml"
    baseline.write_text(f"- id: {POWER_ON}\n  reason: answers undeclared faults (known)\n")
    accepted = invoke(*args, "--baseline", str(baseline), "--report-dir", str(tmp_path / "ok"))
    assert accepted.exit_code == 0, accepted.output
    md = (tmp_path / "ok" / "comparison.md").read_text()
    assert "Accepted differences" in md and "answers undeclared faults (known)" in md
    html = (tmp_path / "ok" / "comparison.html").read_text()
    assert html.index(POWER_ON) < html.index(RUNTIME)  # differences first


# --- errors ------------------------------------------------------------------------------------------
def one_line_error(result, code: int, needle: str) -> None:
    assert result.exit_code == code, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.stderr


def test_an_unreachable_side_exits_3_naming_it(tmp_path):
    result = invoke(
        *CLI_SHARED,
        "--b-endpoint",
        "http://127.0.0.1:9",
        "--b-user",
        "u",
        "--b-password",
        "p",
        "--report-dir",
        str(tmp_path / "r"),
    )
    one_line_error(result, 3, "side B")


@pytest.mark.parametrize(
    "args, needle",
    [
        (["http://x", "--a-endpoint", "http://y"], "not both"),
        (["--baseline", "/nonexistent/accepted.yaml"], "cannot read"),
        (["-c", "nosuchcheck"], "unknown check"),
        (["--a-protocol-typo", "x"], "No such option"),
    ],
)
def test_usage_errors_are_one_line(args, needle, tmp_path):
    one_line_error(invoke(*CLI_SHARED, *args, "--report-dir", str(tmp_path / "r")), 2, needle)


def test_a_non_empty_report_dir_needs_force(tmp_path):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "x").write_text("")
    one_line_error(invoke(*CLI_SHARED, "--report-dir", str(tmp_path / "r")), 2, "--force")


def test_the_schema_ships_with_the_package():
    assert (Path(__file__).resolve().parents[1] / "harness" / "compare" / "comparison.schema.json").is_file()
