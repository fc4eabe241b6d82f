"""A run over worker processes (``--jobs``): the same verdicts as one process, one set of reports,
no secret in them, Ctrl-C cleans up and writes what was found."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from harness.client.exchange import SESSION_HEADER
from harness.report.secrets import REDACTED
from harness.run import RunOptions, UsageError, make_plan, run_contracts
from harness.run.parallel import AUTO_MAX_JOBS, AUTO_MIN_PAIRS, WorkerFailed, auto_jobs, worker_options
from harness.sim import SimConfig, running_simulator
from harness.sim.auth import DEFAULT_USERS

ROOT = Path(__file__).resolve().parents[1]
SCENARIOS = (
    ROOT / "scenarios" / "concurrent-rename-from-sessions.yaml",
    ROOT / "scenarios" / "server-fault-in-a-task.yaml",
    ROOT / "scenarios" / "duplicated-clone-requests.yaml",
)
SUBSET = ("VirtualMachine_PowerOnVM_Task", "VirtualMachine_Rename_Task", "VirtualMachine_getRuntime")


def _verdicts(result) -> dict[tuple[str, str], str]:
    return {(op.id, c.check): c.status for op in result.operations for c in op.checks}


def test_auto_jobs_uses_the_cpus_only_for_a_full_run_on_the_builtin_simulator():
    full = RunOptions()
    assert auto_jobs(full, AUTO_MIN_PAIRS, cpus=1) == 2  # a worker waiting for a task leaves the CPU
    assert auto_jobs(full, AUTO_MIN_PAIRS, cpus=2) == 4
    assert auto_jobs(full, AUTO_MIN_PAIRS, cpus=64) == AUTO_MAX_JOBS
    assert auto_jobs(full, AUTO_MIN_PAIRS - 1, cpus=8) == 1  # too small to gain
    assert auto_jobs(RunOptions(endpoint="https://vc.example"), 10_000, cpus=8) == 1  # a real endpoint
    assert auto_jobs(RunOptions(shard=(1, 2)), 10_000, cpus=8) == 1
    assert len(make_plan(full)) and make_plan(full).pairs >= AUTO_MIN_PAIRS  # the default run gains


def test_workers_share_the_plan_and_deal_the_scenarios():
    options = RunOptions(scenarios=SCENARIOS, report_dir="somewhere", jobs=2)
    first, second = worker_options(options, 1, 2), worker_options(options, 2, 2)
    assert (first.shard, second.shard) == ((1, 2), (2, 2))
    assert first.jobs == second.jobs == 1 and first.report_dir is None is second.report_dir
    assert sorted(first.scenarios + second.scenarios) == sorted(SCENARIOS)
    assert not set(first.scenarios) & set(second.scenarios)
    deal = worker_options(RunOptions(scenarios=(ROOT / "scenarios",)), 1, 3).scenarios
    assert deal and all(Path(p).suffix == ".yaml" for p in deal)  # a directory is dealt file by file


def test_two_workers_give_the_verdicts_of_one_process(tmp_path):
    common = dict(operations=SUBSET, scenarios=SCENARIOS, seed=3, inventory_sample=2)
    one = run_contracts(RunOptions(**common))
    two = run_contracts(RunOptions(**common, jobs=2, report_dir=tmp_path / "r"))
    assert _verdicts(two) == _verdicts(one)
    assert sorted((s.name, s.status) for s in two.scenarios) == sorted(
        (s.name, s.status) for s in one.scenarios
    )
    assert len(two.scenarios) == len(SCENARIOS)
    assert two.options["jobs"] == 2 and "merged_shards" not in two.options and "shard" not in two.options
    assert two.stats["duration_s"] <= two.stats["workers_s"] + 1.0
    assert two.gate() == one.gate()
    written = json.loads((tmp_path / "r" / "results.json").read_text())
    assert written["summary"] == two.summary() and written["options"]["jobs"] == 2


def test_a_misbehaving_simulator_fails_the_same_pairs_with_two_workers(tmp_path):
    common = dict(operations=SUBSET, seed=1, inventory_sample=0, sim={"misbehave": {"task_state_backwards"}})
    one = run_contracts(RunOptions(**common))
    two = run_contracts(RunOptions(**common, jobs=2, report_dir=tmp_path))
    assert one.gate()["verdict"] == "failed"
    assert _verdicts(two) == _verdicts(one)
    # the evidence of the failures: every worker's session id redacted, in every report
    written = json.loads((tmp_path / "results.json").read_text())
    sessions = [
        e["request"]["headers"][SESSION_HEADER]
        for op in written["operations"]
        for c in op["checks"]
        for e in c["evidence"]
        if SESSION_HEADER in e["request"]["headers"]
    ]
    assert sessions and set(sessions) == {REDACTED}


def test_jobs_refuse_what_only_one_process_can_do():
    with pytest.raises(UsageError, match="cannot run one shard"):
        run_contracts(RunOptions(operations=SUBSET, jobs=2, shard=(1, 2)))
    with pytest.raises(UsageError, match="plan from the options alone"):
        run_contracts(RunOptions(operations=SUBSET, jobs=2), observers=[print])


def _cli(*args: str, **kw) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "harness", "run", *args],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )


def test_cli_jobs_reports_once_without_secrets(tmp_path):
    out = tmp_path / "r"
    proc = _cli(
        "--jobs", "2", "-o", "VirtualMachine_Power*", "--no-scenarios", "--report-dir", str(out), "-q"
    )
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err
    assert sorted(p.name for p in out.iterdir()) == ["junit.xml", "report.html", "results.json", "summary.md"]
    text = "".join(p.read_text() for p in out.iterdir())
    for user in DEFAULT_USERS:  # the built-in simulator's users log in
        assert user.password not in text
    assert json.loads((out / "results.json").read_text())["options"]["jobs"] == 2


def test_cli_jobs_bad_values_are_one_line_usage_errors():
    proc = _cli("--jobs", "0")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and err.strip().count("\n") == 0 and "--jobs" in err
    proc = _cli("--jobs", "2", "--shard", "1/2", "--report-dir", "/nonexistent/never")
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 2 and "cannot run one shard" in err and "Traceback" not in err


def test_ctrl_c_stops_every_worker_and_writes_the_partial_reports(tmp_path):
    out = tmp_path / "r"
    proc = _cli("--jobs", "2", "--no-scenarios", "--report-dir", str(out), "-q", start_new_session=True)
    time.sleep(8)  # the workers are running checks
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    result = json.loads((out / "results.json").read_text())
    assert result["stats"]["interrupted"] is True
    assert 0 < result["summary"]["checks"] < 815
    assert result["leftovers"] == []


def _processes() -> dict[int, tuple[int, bytes]]:
    """Every process: pid -> (parent pid, command line)."""
    out = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
                out[int(entry.name)] = (ppid, (entry / "cmdline").read_bytes())
            except (OSError, IndexError, ValueError):
                continue
    return out


def _workers_of(pid: int) -> list[int]:
    """The worker processes a run started: forked by its fork server (a child of the run)."""
    procs = _processes()
    servers = {p for p, (ppid, cmd) in procs.items() if ppid == pid and b"forkserver" in cmd}
    return sorted(p for p, (ppid, _) in procs.items() if ppid in servers)


def test_a_worker_killed_mid_run_is_a_one_line_undecided_error(tmp_path):
    out = tmp_path / "r"
    proc = _cli("--jobs", "2", "--no-scenarios", "--report-dir", str(out), "-q")
    deadline = time.monotonic() + 60
    while len(workers := _workers_of(proc.pid)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    assert len(workers) == 2, "the run did not start two workers"
    time.sleep(4)  # both are running checks
    os.kill(workers[0], signal.SIGKILL)
    _, err = proc.communicate(timeout=240)
    assert proc.returncode == 4, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: worker process(es) 1") and "Traceback" not in err
    assert not _workers_of(proc.pid)  # the other worker finished (and cleaned up) before the run ended


def test_workers_sharing_an_endpoint_run_no_scenarios():
    """One process runs the scenarios after every check; workers on one endpoint would run them while
    the others still check (a restart, a faulted host), so that is refused, with what to do."""
    with pytest.raises(UsageError, match="--no-scenarios"):
        run_contracts(RunOptions(endpoint="http://127.0.0.1:1", jobs=2, scenarios=SCENARIOS[:1]))


def _names(sim, prefix: str) -> list[str]:
    """The names of the simulator's objects that start with ``prefix``."""
    return sorted(
        n for obj in list(sim.sim.inv.objects.values()) if (n := getattr(obj, "name", "")).startswith(prefix)
    )


def test_the_run_cleans_up_after_a_worker_killed_on_an_endpoint_of_ones_own():
    """On a real endpoint a dead worker's sandbox would stay: the run removes it (its folder and every
    VM in it, named after the worker's run id), then ends undecided saying so."""
    with running_simulator(SimConfig(vms=6, seed=2, task_delay_ms=20)) as sim:
        user, password = sim.users["admin"]
        options = RunOptions(
            endpoint=sim.url, user=user, password=password, jobs=2, inventory_sample=0,
            operations=("VirtualMachine_*Snapshot*", "VirtualMachine_Power*", "VirtualMachine_Rename_Task"),
        )  # fmt: skip
        outcome: list[BaseException] = []
        thread = threading.Thread(target=lambda: _capture(outcome, run_contracts, options))
        thread.start()
        deadline = time.monotonic() + 60
        while not _names(sim, "vsphere-harness-") and time.monotonic() < deadline:
            time.sleep(0.1)
        workers = _workers_of(os.getpid())
        assert len(workers) == 2 and _names(sim, "vsphere-harness-")
        time.sleep(1)  # the workers made VMs in their sandboxes
        os.kill(workers[0], signal.SIGKILL)
        thread.join(180)
        assert not thread.is_alive()
        assert outcome and isinstance(outcome[0], WorkerFailed), outcome
        assert "the run cleaned up its sandbox" in str(outcome[0])
        assert _names(sim, "vsphere-harness-") == []  # no folder, no VM of either worker left


def _capture(into: list[BaseException], fn, *args) -> None:
    try:
        fn(*args)
    except BaseException as exc:  # noqa: BLE001 - the test looks at it
        into.append(exc)
