"""``run --shard I/N`` and ``report merge``: the split, the merge, and shards merged = one run."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner

from harness.cli import main
from harness.report.merge import MergeError, combine, merge_runs
from harness.report.model import CheckResult, OperationResult, RunResult
from harness.report.writers import ResultsInvalid, validate_results
from harness.run import RunOptions, UsageError, make_plan, run_contracts
from harness.run.options import parse_shard, shard_scenarios
from harness.run.plan import shard_pairs

#: A small plan on the built-in simulator (a few seconds a run).
SMALL = [
    "-o",
    "VirtualMachine_Power*",
    "-o",
    "VirtualMachine_getRuntime",
    "-c",
    "shape,faults,negative,session",
    "--examples",
    "2",
    "--no-scenarios",
    "-q",
]
SMALL_OPTIONS = {
    "operations": ("VirtualMachine_Power*", "VirtualMachine_getRuntime"),
    "checks": ("shape,faults,negative,session",),
    "examples": 2,
}


def invoke(*args: str):
    return CliRunner().invoke(main, list(args), catch_exceptions=False)


def one_line_error(result, needle: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.stderr


def pairs_of(plan) -> list[tuple[str, str]]:
    return [(item.id, spec.name) for item in plan for spec in item.checks]


def verdicts(run: RunResult) -> dict[tuple[str, str], str]:
    return {(op.id, c.check): c.status for op in run.operations for c in op.checks}


# --- the split ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_every_pair_lands_in_exactly_one_shard(n):
    whole = make_plan(RunOptions())
    everything = pairs_of(whole)
    shards = [make_plan(RunOptions(shard=(i, n))) for i in range(1, n + 1)]
    seen = Counter(pair for plan in shards for pair in pairs_of(plan))
    assert set(seen) == set(everything) and set(seen.values()) == {1}
    sizes = [plan.pairs for plan in shards]
    assert max(sizes) - min(sizes) <= 1 and sum(sizes) == whole.pairs
    for check in {c for _, c in everything}:  # every check (a costly one too) spreads evenly
        per_shard = [sum(c == check for _, c in pairs_of(plan)) for plan in shards]
        assert max(per_shard) - min(per_shard) <= 1, check
    for i, plan in enumerate(shards, 1):
        assert plan.shard == (i, n)
        assert pairs_of(plan) == [p for p in everything if p in set(pairs_of(plan))]  # plan order kept
        assert pairs_of(make_plan(RunOptions(shard=(i, n)))) == pairs_of(plan)  # deterministic


def test_the_split_depends_on_the_pairs_only():
    pairs = [("Op_b", "shape"), ("Op_a", "faults"), ("Op_a", "shape"), ("Op_c", "faults")]
    assert shard_pairs(pairs, 2) == shard_pairs(list(reversed(pairs)), 2)
    assert shard_pairs(pairs, 2) == {
        ("Op_a", "faults"): 1,
        ("Op_c", "faults"): 2,
        ("Op_a", "shape"): 1,
        ("Op_b", "shape"): 2,
    }


@pytest.mark.parametrize("text", ["0/3", "4/3", "x/y", "1/0", "-1/3", "3", "", "1/3/5", "1.5/3"])
def test_bad_shard_values_are_usage_errors(text):
    with pytest.raises(UsageError, match="shard must be I/N"):
        parse_shard(text)


@pytest.mark.parametrize("text", ["0/3", "4/3", "x/y"])
def test_bad_shard_on_the_command_line_is_one_line_exit_2(text, tmp_path):
    one_line_error(invoke("run", "--shard", text, "--report-dir", str(tmp_path / "r")), "shard must be I/N")


def test_shard_parsing_and_scenarios():
    assert parse_shard("2/3") == (2, 3) and parse_shard(" 1 / 1 ") == (1, 1)
    with pytest.raises(UsageError, match="shard must be"):
        make_plan(RunOptions(shard=(0, 3)))
    assert shard_scenarios(None, ("s",)) == ("s",)
    assert shard_scenarios((1, 3), ("s",)) == ("s",)
    assert shard_scenarios((2, 3), ("s",)) == ()
    assert RunOptions(shard=(2, 3)).public()["shard"] == "2/3"
    assert "shard" not in RunOptions().public()


def test_the_schema_allows_a_shard_and_only_a_well_formed_one():
    data = RunResult("0", {"url": "http://h", "release": "8.0.2.0", "simulated": True}, "t").to_dict()
    validate_results({**data, "options": {"shard": "2/3"}})
    validate_results({**data, "options": {"merged_shards": ["1/2", "2/2"]}})
    with pytest.raises(ResultsInvalid):
        validate_results({**data, "options": {"shard": "two of three"}})


# --- the merge ---------------------------------------------------------------------------------------
def shard(i: int, n: int, checks: list[tuple[str, CheckResult]], **options) -> tuple[str, RunResult]:
    run = RunResult(
        "1.0",
        {"url": f"http://127.0.0.1:{9000 + i}", "release": "8.0.2.0", "simulated": True, "protocol": "json"},
        f"2025-01-01T00:00:0{i}Z",
        f"2025-01-01T00:01:0{i}Z",
        seed=0,
        options={"examples": 2, "builtin_simulator": True, "scenarios": [], "shard": f"{i}/{n}", **options},
        stats={"requests": 10 * i, "duration_s": float(i), "answers_judged": i},
    )
    for op_id, c in checks:
        op = next((o for o in run.operations if o.id == op_id), None)
        if op is None:
            op = OperationResult(op_id)
            run.operations.append(op)
        op.checks.append(c)
    return f"s{i}.json", run


def test_merge_unites_checks_recomputes_the_gate_and_sums_the_stats():
    one = shard(1, 2, [("A", CheckResult("shape", "passed")), ("B", CheckResult("shape", "passed"))])
    two = shard(
        2,
        2,
        [
            ("A", CheckResult("faults", "error", "timed out")),
            ("B", CheckResult("shape", "failed", "bad body (answered during A::faults)")),
        ],
    )
    two[1].leftovers = ["vm-9"]
    one[1].stats["sandbox"] = two[1].stats["sandbox"] = "sandbox could not be set up: x"
    merged = merge_runs([two, one])  # any order
    assert verdicts(merged) == {("A", "shape"): "passed", ("A", "faults"): "error", ("B", "shape"): "failed"}
    assert [op.id for op in merged.operations] == ["A", "B"]
    assert merged.gate() == {"verdict": "failed", "exit_code": 1}
    assert merged.stats["requests"] == 30 and merged.stats["duration_s"] == 3.0
    assert merged.stats["answers_judged"] == 3 and merged.stats["slowest_shard_s"] == 2.0
    assert merged.started_at.endswith("01Z") and merged.finished_at.endswith("1:02Z")
    assert merged.leftovers == ["vm-9"] and merged.stats["sandbox"] == "sandbox could not be set up: x"
    assert "shard" not in merged.options and merged.options["merged_shards"] == ["1/2", "2/2"]
    validate_results(merged.to_dict())


def test_a_pair_two_shards_report_is_combined_like_the_runner_does():
    passed, failed = CheckResult("shape", "passed", duration_ms=1), CheckResult("shape", "failed", "x", [], 2)
    assert combine(passed, failed).status == "failed" and combine(failed, passed).message == "x"
    assert combine(passed, failed).duration_ms == 3
    a = CheckResult("shape", "failed", "bad A (answered during X::shape)")
    b = CheckResult("shape", "failed", "bad A (answered during Y::faults); bad B", accepted=True)
    both = combine(a, b)
    assert both.message == "bad A (answered during X::shape); bad B"  # found again: not repeated
    assert both.accepted  # the baseline matched a part of the joined message
    assert combine(CheckResult("shape", "error", "e"), passed).status == "error"


@pytest.mark.parametrize(
    "inputs, needle",
    [
        ([shard(1, 2, []), shard(2, 2, [], examples=5)], "options.examples (2 vs 5)"),
        ([shard(1, 2, []), shard(1, 2, [])], "both shard 1/2"),
        ([shard(1, 3, []), shard(2, 3, [])], "shard(s) 3/3 missing"),
        ([shard(1, 2, []), shard(2, 3, [])], "is shard 2/3"),
        ([shard(1, 1, []), ("plain.json", RunResult("1.0", {"release": "8.0.2.0"}, "t"))], "is not a shard"),
    ],
)
def test_merge_refuses_what_is_not_the_shards_of_one_run(inputs, needle):
    with pytest.raises(MergeError, match=needle.replace("(", r"\(").replace(")", r"\)")):
        merge_runs(inputs)


def test_merge_refuses_another_release_or_seed():
    other = shard(2, 2, [])
    other[1].endpoint["release"] = "9.1.0.0"
    with pytest.raises(MergeError, match="endpoint.release"):
        merge_runs([shard(1, 2, []), other])
    other = shard(2, 2, [])
    other[1].seed = 7
    with pytest.raises(MergeError, match="seed"):
        merge_runs([shard(1, 2, []), other])


def write(tmp_path: Path, name: str, run: RunResult) -> str:
    path = tmp_path / name
    path.write_text(json.dumps(run.to_dict()))
    return str(path)


def test_merge_on_the_command_line_refuses_mismatches_in_one_line(tmp_path):
    a = write(tmp_path, "a.json", shard(1, 2, [])[1])
    b = write(tmp_path, "b.json", shard(2, 2, [], examples=5)[1])
    one_line_error(invoke("report", "merge", a, b, "-o", str(tmp_path / "m")), "options.examples")
    one_line_error(
        invoke("report", "merge", a, str(tmp_path / "nope.json"), "-o", str(tmp_path / "m")), "nope"
    )
    full = tmp_path / "full"
    full.mkdir()
    (full / "x").write_text("")
    c = write(tmp_path, "c.json", shard(2, 2, [])[1])
    one_line_error(invoke("report", "merge", a, c, "-o", str(full)), "not empty")
    assert invoke("report", "merge", a, c, "-o", str(full), "--force").exit_code == 0


# --- shards 1/3, 2/3, 3/3 merged = the unsharded run ------------------------------------------------
def test_three_shards_merged_equal_the_unsharded_run_end_to_end(tmp_path):
    whole = invoke("run", *SMALL, "--report-dir", str(tmp_path / "whole"))
    assert whole.exit_code == 0, whole.output
    for i in (1, 2, 3):
        part = invoke("run", *SMALL, "--shard", f"{i}/3", "--report-dir", str(tmp_path / f"s{i}"))
        assert part.exit_code == 0, part.output
        assert json.loads((tmp_path / f"s{i}" / "results.json").read_text())["options"]["shard"] == f"{i}/3"
    inputs = [str(tmp_path / f"s{i}" / "results.json") for i in (3, 1, 2)]
    merged = invoke("report", "merge", *inputs, "-o", str(tmp_path / "merged"))
    assert merged.exit_code == 0, merged.output
    assert {p.name for p in (tmp_path / "merged").iterdir()} >= {
        "results.json",
        "junit.xml",
        "summary.md",
        "report.html",
    }
    a = json.loads((tmp_path / "whole" / "results.json").read_text())
    b = json.loads((tmp_path / "merged" / "results.json").read_text())

    def key(data: dict) -> set[tuple[str, str, str, str]]:
        return {
            (op["id"], c["check"], c["status"], c["message"] if c["status"] == "failed" else "")
            for op in data["operations"]
            for c in op["checks"]
        }

    assert key(a) == key(b) and a["summary"] == b["summary"] and a["gate"] == b["gate"]
    assert b["options"]["merged_shards"] == ["1/3", "2/3", "3/3"] and "shard" not in b["options"]
    assert b["stats"]["requests"] > a["stats"]["requests"] // 2


def test_shards_of_a_misbehaving_endpoint_merged_give_the_same_verdicts(tmp_path):
    """Violations the auditor finds land on operations of other shards too: the merge unites them."""
    sim = {"misbehave": "extra_field,fault_status_200"}
    whole = run_contracts(RunOptions(**SMALL_OPTIONS, sim=sim))
    paths = []
    for i in (1, 2, 3):
        run_contracts(RunOptions(**SMALL_OPTIONS, sim=sim, shard=(i, 3), report_dir=tmp_path / f"s{i}"))
        paths.append(str(tmp_path / f"s{i}" / "results.json"))
    result = invoke("report", "merge", *paths, "-o", str(tmp_path / "merged"))
    assert result.exit_code == 1, result.output  # the merged gate's exit code
    merged = RunResult.from_dict(json.loads((tmp_path / "merged" / "results.json").read_text()))
    assert verdicts(merged) == verdicts(whole) and "failed" in verdicts(whole).values()
    assert merged.gate() == whole.gate()


def test_a_shard_with_no_pair_runs_nothing_and_passes(tmp_path):
    args = ["-o", "VirtualMachine_getRuntime", "-c", "shape", "--no-scenarios", "-q"]
    empty = invoke("run", *args, "--shard", "2/2", "--report-dir", str(tmp_path / "s2"))
    assert empty.exit_code == 0, empty.output
    assert json.loads((tmp_path / "s2" / "results.json").read_text())["summary"]["checks"] == 0
    assert invoke("run", *args, "--shard", "1/2", "--report-dir", str(tmp_path / "s1")).exit_code == 0
    paths = [str(tmp_path / f"s{i}" / "results.json") for i in (1, 2)]
    assert invoke("report", "merge", *paths, "-o", str(tmp_path / "m")).exit_code == 0
    merged = json.loads((tmp_path / "m" / "results.json").read_text())
    assert merged["summary"]["checks"] == 1 and merged["gate"]["verdict"] == "passed"
