"""Simulator benchmark: requests per second for a property GET and a method POST, against the
simulator and against a bare Starlette app on the same uvicorn setup, with the same load generator
(threads, one ``requests.Session`` each), in the same run; then startup time and memory with
10,000 VMs.  Servers run in their own processes so the load generator does not share their GIL.

    .venv/bin/python bench/bench_sim.py [--seconds 3] [--threads 4]

Not part of the test suite.
"""

from __future__ import annotations

import argparse
import os
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import requests
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from harness.sim.config import SimConfig
from harness.sim.server import _Server, _uvicorn_config, bind

ROOT = Path(__file__).resolve().parents[1]
REL = "8.0.2.0"


# --- the bare app (served by this file with --serve-bare) ----------------------------------------
def serve_bare() -> None:
    body = b'{"_typeName":"string","_value":"ok"}'

    async def endpoint(request: Request) -> Response:
        await request.body()
        return Response(body, media_type="application/json")

    app = Starlette(routes=[Route("/sdk/vim25/{rest:path}", endpoint, methods=["GET", "POST"])])
    cfg = SimConfig(vms=0)
    server = _Server(_uvicorn_config(app, cfg))
    sock = bind("127.0.0.1", 0)
    print(f"base URL: http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
    server.run(sockets=[sock])


# --- process helpers -------------------------------------------------------------------------------------
def start(args: list[str]) -> tuple[subprocess.Popen, str, float]:
    t = time.monotonic()
    proc = subprocess.Popen(
        [sys.executable, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    while True:
        line = proc.stdout.readline()
        if not line:
            raise SystemExit(f"server did not start: {args}")
        if line.startswith("base URL:"):
            return proc, line.split()[-1], time.monotonic() - t


def stop(proc: subprocess.Popen) -> None:
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=10)


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# --- load ------------------------------------------------------------------------------------------------
def load(
    url: str, method: str, body: bytes | None, headers: dict[str, str], seconds: float, threads: int
) -> float:
    """Requests per second over ``seconds`` with ``threads`` clients; every answer must be 200."""
    counts = [0] * threads
    errors: list[str] = []
    stop_at = time.monotonic() + seconds

    def worker(i: int) -> None:
        s = requests.Session()
        s.headers.update(headers)
        n = 0
        while time.monotonic() < stop_at:
            r = s.request(
                method, url, data=body, headers={"content-type": "application/json"} if body else None
            )
            if r.status_code != 200:
                errors.append(f"{r.status_code} {r.text[:100]}")
                break
            n += 1
        counts[i] = n

    pool = [threading.Thread(target=worker, args=(i,)) for i in range(threads)]
    t = time.monotonic()
    for th in pool:
        th.start()
    for th in pool:
        th.join()
    if errors:
        raise SystemExit(f"load against {url} failed: {errors[0]}")
    return sum(counts) / (time.monotonic() - t)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0)
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--serve-bare", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve_bare:
        serve_bare()
        return

    sim, sim_url, _ = start(["-m", "harness", "sim", "--port", "0", "--vms", "200", "--task-delay", "0"])
    bare, bare_url, _ = start([__file__, "--serve-bare"])
    try:
        r = requests.post(
            f"{sim_url}/sdk/vim25/{REL}/SessionManager/SessionManager/Login",
            json={"userName": "administrator@vsphere.local", "password": "VMware1!"},
        )
        headers = {"vmware-api-session-id": r.headers["vmware-api-session-id"]}
        cases = [
            ("property GET  VirtualMachine/runtime", "GET", "VirtualMachine/vm-150/runtime", None),
            (
                "method POST   VirtualMachine/AcquireMksTicket",
                "POST",
                "VirtualMachine/vm-150/AcquireMksTicket",
                None,
            ),
            (
                "method POST   VirtualMachine/AcquireTicket (body)",
                "POST",
                "VirtualMachine/vm-150/AcquireTicket",
                b'{"ticketType": "mks"}',
            ),
        ]
        requests.post(f"{sim_url}/sdk/vim25/{REL}/VirtualMachine/vm-150/PowerOnVM_Task", headers=headers)
        print(f"{'case':52} {'sim req/s':>10} {'bare req/s':>11} {'ratio':>6}")
        for label, method, path, body in cases:
            sims, bares = [], []
            for _ in range(args.rounds):  # alternate, and take medians: the machine is shared
                sims.append(
                    load(
                        f"{sim_url}/sdk/vim25/{REL}/{path}", method, body, headers, args.seconds, args.threads
                    )
                )
                bares.append(
                    load(
                        f"{bare_url}/sdk/vim25/{REL}/{path}",
                        method,
                        body,
                        headers,
                        args.seconds,
                        args.threads,
                    )
                )
            sim_rps, bare_rps = statistics.median(sims), statistics.median(bares)
            ratio = sim_rps / bare_rps
            print(
                f"{label:52} {sim_rps:10.0f} {bare_rps:11.0f} {ratio:6.2f}{'' if ratio >= 0.5 else '  (< 0.5)'}"
            )
    finally:
        stop(sim)
        stop(bare)

    big, big_url, startup = start(["-m", "harness", "sim", "--port", "0", "--vms", "10000"])
    try:
        about = requests.get(f"{big_url}/_sim/about").json()
        r = requests.post(
            f"{big_url}/sdk/vim25/{REL}/SessionManager/SessionManager/Login",
            json={"userName": "administrator@vsphere.local", "password": "VMware1!"},
        )
        headers = {"vmware-api-session-id": r.headers["vmware-api-session-id"]}
        t = time.monotonic()
        for i in range(0, 10000, 100):
            assert (
                requests.get(
                    f"{big_url}/sdk/vim25/{REL}/VirtualMachine/vm-{100 + i}/summary", headers=headers
                ).status_code
                == 200
            )
        per_get = (time.monotonic() - t) / 100 * 1000
        print(
            f"\n10,000 VMs: startup {startup:.2f} s (process start to listening), {about['vms']} VMs, "
            f"RSS {rss_mib(big.pid):.0f} MiB; first summary GET {per_get:.2f} ms each"
        )
    finally:
        stop(big)


if __name__ == "__main__":
    main()
