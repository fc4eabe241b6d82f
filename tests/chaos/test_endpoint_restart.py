"""The endpoint restarts mid-run: the scenario endpoint-restarts-mid-run on the built-in simulator
(and its fail-proof), and a whole run against a ``vsphere-harness sim`` process killed with SIGKILL
and started again on the same port."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import requests

from harness.chaos.steps_restart import restart_endpoint
from harness.client import TransportError, ViClient
from harness.report.model import ScenarioResult
from harness.run import run_contracts
from harness.run.execute import exit_code
from harness.run.options import RunOptions

from .support import run_misbehaving

ROOT = Path(__file__).resolve().parents[2]
SCENARIO = ROOT / "scenarios" / "endpoint-restarts-mid-run.yaml"
ADMIN = ("administrator@vsphere.local", "VMware1!")


def _run(sim, runner, misbehave: set[str] | None = None) -> ScenarioResult:
    return run_misbehaving(sim, runner, SCENARIO, misbehave)


def test_the_run_recovers_from_a_restart_and_the_lost_task_is_undecided(sim, runner):
    restarts = sim.sim.restarts
    result = _run(sim, runner)
    assert result.status == "passed", (result.message, result.timeline)
    outcomes = {(e["phase"], e["what"]): e["outcome"] for e in result.timeline}
    assert outcomes[("action", "restart endpoint")].startswith("restarting, down 500 ms")
    assert outcomes[("action", "runtime")] == "ok"  # the last read, after the restart
    outage = [e for e in result.timeline if e["what"] == "runtime" and e["outcome"].startswith("transport")]
    assert outage and "connection refused" in outage[0]["outcome"]
    follow = next(v for (p, w), v in outcomes.items() if w.startswith("follow task"))
    assert follow.startswith("undecided: lost by the endpoint's restart")
    assert "undecided" in result.message
    assert "logged in again 1 times" in outcomes[("verify", "relogin")]
    assert "still named" in outcomes[("verify", "inventory")]
    assert sim.sim.restarts == restarts + 1
    assert runner.conn.admin.get("VirtualMachine", "vm-100", "name").ok  # the run's client goes on


def test_the_scenario_fails_when_the_restart_loses_the_inventory(sim, runner):
    result = _run(sim, runner, {"restart_loses_inventory"})
    assert result.status == "failed", (result.message, result.timeline)
    assert "did not survive the restart" in result.message


def test_the_step_is_skipped_and_says_so_elsewhere():
    run = SimpleNamespace(conn=SimpleNamespace(simulated=False))
    assert restart_endpoint(run, {"down_ms": 100}).startswith("skipped: restarting the endpoint needs")


# --- a real process killed with SIGKILL -----------------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_sim(port: int, state: Path) -> subprocess.Popen:
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "sim", "--port", str(port), "--state-file", str(state)]
        + ["--task-delay", "20", "--vms", "12"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
    )
    line = proc.stdout.readline()  # "... serving VI/JSON at ..." once it listens
    assert "serving" in line, line
    return proc


def test_a_run_survives_the_simulator_process_killed_and_started_again(tmp_path):
    port, state = _free_port(), tmp_path / "sim.state"
    proc = _start_sim(port, state)
    done = threading.Event()

    def progress(op, n, total) -> None:
        if n == 3:
            done.set()

    options = RunOptions(
        endpoint=f"http://127.0.0.1:{port}",
        user=ADMIN[0],
        password=ADMIN[1],
        operations=("VirtualMachine_Power*", "VirtualMachine_Reset*", "VirtualMachine_*Snapshot*"),
        checks=("shape", "tasks"),
        seed=1,
        timeout=5,
        reconnect_wait=20,
        report_dir=tmp_path / "report",
    )
    box: dict = {}
    thread = threading.Thread(target=lambda: box.update(result=run_contracts(options, progress=progress)))
    try:
        thread.start()
        assert done.wait(30), "the run did not get going"
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(5)
        proc = _start_sim(port, state)  # SO_REUSEADDR: the same port at once
        thread.join(60)
        assert not thread.is_alive(), "the run did not finish"
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    result = box["result"]
    summary = result.summary()
    assert summary["failed"] == 0, [
        (op.id, c.message) for op in result.operations for c in op.checks if c.status == "failed"
    ]
    assert summary["passed"] > 0
    errors = [c.message for op in result.operations for c in op.checks if c.status == "error"]
    assert errors and all(m.startswith(("network:", "could not decide")) for m in errors), errors
    assert any("connection" in m for m in errors), errors
    assert exit_code(result) == 4  # errors, no failure: the gate is undecided
    (outage, *_) = result.stats["outage_waits"]
    assert outage["back"] is True and outage["logged_in_again"] >= 1
    assert result.leftovers == []  # the sandbox cleaned up after the restart
    written = json.loads((tmp_path / "report" / "results.json").read_text())
    assert written["gate"] == {"verdict": "undecided", "exit_code": 4}
    assert "endpoint outages: " in (tmp_path / "report" / "summary.md").read_text()


def test_a_sim_process_restarts_in_place_on_the_control_route(tmp_path):
    port = _free_port()
    proc = _start_sim(port, tmp_path / "sim.state")
    url = f"http://127.0.0.1:{port}"
    try:
        client = ViClient(url, timeout=5)
        client.login(*ADMIN)
        task = client.invoke("VirtualMachine", "vm-102", "PowerOnVM_Task").json["value"]
        resp = requests.post(f"{url}/_sim/restart", params={"down_ms": 600}, timeout=5)
        assert resp.status_code == 202
        seen_down = False
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline:
            try:
                answered = client.get("VirtualMachine", "vm-102", "name")
            except TransportError:
                seen_down = True
                time.sleep(0.05)
                continue
            if seen_down:
                break
            time.sleep(0.02)
        assert seen_down and answered.ok and client.relogins == 1
        assert client.task_info(task).fault_type in ("ManagedObjectNotFound", None)
        assert requests.get(f"{url}/_sim/about", timeout=5).json()["restarts"] == 1
        assert proc.poll() is None  # the same process serves again
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(10)
    assert proc.returncode == 0


def test_a_state_file_the_sim_cannot_read_is_a_one_line_error(tmp_path):
    bad = tmp_path / "state"
    bad.write_bytes(b"garbage")
    out = subprocess.run(
        [sys.executable, "-m", "harness", "sim", "--port", "0", "--state-file", str(bad)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert out.returncode == 2 and out.stderr.strip().startswith("error:") and "state file" in out.stderr


def test_sigterm_while_the_sim_process_is_down_stops_it(tmp_path):
    port = _free_port()
    proc = _start_sim(port, tmp_path / "sim.state")
    try:
        url = f"http://127.0.0.1:{port}"
        assert requests.post(f"{url}/_sim/restart", params={"down_ms": 20000}, timeout=5).status_code == 202
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                requests.get(f"{url}/_sim/about", timeout=1)
                time.sleep(0.05)
            except requests.ConnectionError:
                break
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(5) == 0  # not after the 20 s down time
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(5)


def test_a_restart_the_simulator_refuses_makes_the_scenario_an_error(sim, runner):
    hook, sim.sim.restart_hook = sim.sim.restart_hook, None
    try:
        result = _run(sim, runner)
    finally:
        sim.sim.restart_hook = hook
    assert result.status == "error", (result.message, result.timeline)
    assert "could not be restarted" in result.message and "HTTP 409" in result.message
