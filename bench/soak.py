"""Soak: the full default run once per seed, each against a fresh simulator, one line per seed.

    .venv/bin/python bench/soak.py --seeds 0-20 [--checks shape,negative] [--examples N] [--jobs J]
                                   [--no-scenarios] [--sim-seed N] [--task-delay MS] [--keep DIR]

For every seed a real ``vsphere-harness sim`` process is started on a free loopback port (its own
inventory, tasks and sessions: nothing one seed does can change another's verdict), then
``vsphere-harness run --endpoint ... --seed N`` runs against it with the simulator's administrator
and limited user, as a release engineer would run it against a vCenter.  The simulator is stopped
(SIGTERM to its own process) when the run ends.

Each line: the seed, how many checks and scenarios ran, passed/failed/error/skipped counts (checks
and scenarios together), the failed and error items in brief, the duration.  A total follows.
Exit status 1 when any seed had a ``failed`` or ``error`` (or its run did not finish), else 0.

Not part of the test suite (tests/test_soak.py drives the generating checks over many seeds
in-process instead).
"""

from __future__ import annotations

import argparse
import concurrent.futures
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STATUSES = ("passed", "failed", "error", "skipped")


def harness_command() -> list[str]:
    """The ``vsphere-harness`` console script next to this Python, else ``python -m harness``."""
    script = Path(sys.executable).with_name("vsphere-harness")
    return [str(script)] if script.exists() else [sys.executable, "-m", "harness"]


def parse_seeds(text: str) -> list[int]:
    """``3``, ``0-20``, ``1,4,7-9`` -> the seeds, in order, without repeats."""
    out: list[int] = []
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        m = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not m:
            raise argparse.ArgumentTypeError(
                f"not a seed or a range of seeds: {part!r} (e.g. 0-20 or 1,4,7-9)"
            )
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo:
            raise argparse.ArgumentTypeError(f"empty range {part!r}")
        out.extend(s for s in range(lo, hi + 1) if s not in out)
    if not out:
        raise argparse.ArgumentTypeError("no seeds")
    return out


@dataclass
class SeedResult:
    seed: int
    checks: int = 0
    scenarios: int = 0
    counts: dict[str, int] = field(default_factory=lambda: dict.fromkeys(STATUSES, 0))
    problems: list[str] = field(default_factory=list)  # "failed X::check: message" ...
    duration_s: float = 0.0
    exit_code: int | None = None
    broken: str = ""  # the run did not finish with results (its own message)

    @property
    def bad(self) -> bool:
        return bool(self.broken or self.counts["failed"] or self.counts["error"])

    def line(self, width: int = 160) -> str:
        c = self.counts
        head = (
            f"seed {self.seed:>3}: {self.checks} checks + {self.scenarios} scenarios: "
            f"{c['passed']} passed, {c['failed']} failed, {c['error']} error, {c['skipped']} skipped "
            f"in {self.duration_s:.1f} s"
        )
        if self.broken:
            head += f"; RUN BROKEN (exit {self.exit_code}): {self.broken}"
        for p in self.problems:
            head += "\n    " + (p if len(p) <= width else p[: width - 3] + "...")
        return head


class Simulator:
    """A ``vsphere-harness sim`` process on a free loopback port."""

    def __init__(self, seed: int, task_delay: int, vms: int | None, log: Path):
        cmd = [
            *harness_command(),
            "sim",
            "--host",
            "127.0.0.1",
            "--port",
            "0",
            "--seed",
            str(seed),
            "--task-delay",
            str(task_delay),
        ]
        if vms is not None:
            cmd += ["--vms", str(vms)]
        self._err = open(log, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=self._err, text=True, start_new_session=True
        )
        self.url = ""
        self.users: dict[str, tuple[str, str]] = {}
        lines: list[str] = []
        deadline = time.monotonic() + 60
        assert self.proc.stdout is not None
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line:
                break
            lines.append(line.rstrip())
            if m := re.match(r"base URL: (\S+)", line):
                self.url = m.group(1)
            elif m := re.match(r"user (\w+): (\S+) password: (.*)$", line.rstrip()):
                self.users[m.group(1)] = (m.group(2), m.group(3))
            if self.url and {"admin", "limited"} <= set(self.users):
                break
        if not self.url or "admin" not in self.users:
            self.stop()
            raise RuntimeError("the simulator did not start: " + " | ".join(lines[-5:]))
        # keep reading its stdout so that it never blocks on a full pipe
        threading.Thread(target=self.proc.stdout.read, daemon=True).start()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)  # this process only, never by name
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        self._err.close()


def soak_one(seed: int, args: argparse.Namespace, workdir: Path) -> SeedResult:
    res = SeedResult(seed)
    start = time.monotonic()
    out = workdir / f"seed-{seed}"
    out.mkdir(parents=True, exist_ok=True)
    sim_seed = seed if args.sim_seed is None else args.sim_seed
    try:
        sim = Simulator(sim_seed, args.task_delay, args.vms, out / "sim.log")
    except (OSError, RuntimeError) as exc:
        res.broken, res.duration_s = str(exc), time.monotonic() - start
        return res
    try:
        admin, limited = sim.users["admin"], sim.users.get("limited")
        cmd = [
            *harness_command(),
            "run",
            "--endpoint",
            sim.url,
            "--user",
            admin[0],
            "--password",
            admin[1],
            "--seed",
            str(seed),
            "--examples",
            str(args.examples),
            "--report-dir",
            str(out / "report"),
            "--force",
            "--quiet",
        ]
        if limited:
            cmd += ["--limited-user", limited[0], "--limited-password", limited[1]]
        if args.checks:
            cmd += ["--checks", args.checks]
        for glob in args.operations or ():
            cmd += ["--operations", glob]
        if args.no_scenarios:
            cmd.append("--no-scenarios")
        if args.timeout:
            cmd += ["--timeout", str(args.timeout)]
        env = {**os.environ, "NO_COLOR": "1"}
        with open(out / "run.log", "wb") as log:
            proc = subprocess.run(
                cmd, stdout=log, stderr=subprocess.STDOUT, env=env, timeout=args.run_timeout
            )
        res.exit_code = proc.returncode
        results = out / "report" / "results.json"
        if not results.exists():
            tail = (out / "run.log").read_text(errors="replace").strip().splitlines()[-3:]
            res.broken = "no results.json; " + " | ".join(tail)
        else:
            _count(res, json.loads(results.read_text()))
    except subprocess.TimeoutExpired:
        res.broken = f"the run did not finish within {args.run_timeout} s"
    finally:
        sim.stop()
    res.duration_s = time.monotonic() - start
    return res


def _count(res: SeedResult, data: dict) -> None:
    for op in data.get("operations", []):
        for c in op.get("checks", []):
            res.checks += 1
            status = c.get("status", "error")
            if c.get("accepted") and status == "failed":
                status = "passed"  # a baseline-accepted deviation (none without --baseline)
            res.counts[status] = res.counts.get(status, 0) + 1
            if status in ("failed", "error"):
                res.problems.append(
                    f"{status} {op.get('id')}::{c.get('check')}: {_first(c.get('message', ''))}"
                )
    for sc in data.get("scenarios", []):
        res.scenarios += 1
        status = sc.get("status", "error")
        res.counts[status] = res.counts.get(status, 0) + 1
        if status in ("failed", "error"):
            res.problems.append(f"{status} scenario {sc.get('name')}: {_first(sc.get('message', ''))}")
    for leftover in data.get("leftovers", []) or []:
        res.problems.append(f"leftover: {leftover}")


def _first(message: str) -> str:
    return " ".join(message.split())


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument(
        "--seeds",
        type=parse_seeds,
        default=parse_seeds("0-20"),
        help="seeds to run: 0-20, 3, or 1,4,7-9 (default 0-20)",
    )
    p.add_argument("--checks", default="", help="only these checks (comma-separated; default: every check)")
    p.add_argument("-o", "--operations", action="append", help="only operations matching (repeatable)")
    p.add_argument(
        "--examples", type=int, default=5, help="generated requests per operation and check (default 5)"
    )
    p.add_argument("--jobs", "-j", type=int, default=1, help="seeds run at the same time (default 1)")
    p.add_argument("--no-scenarios", action="store_true", help="run no chaos scenario")
    p.add_argument(
        "--sim-seed",
        type=int,
        default=None,
        help="inventory seed of every simulator (default: the run's seed)",
    )
    p.add_argument("--task-delay", type=int, default=15, help="simulator task duration in ms (default 15)")
    p.add_argument("--vms", type=int, default=None, help="VMs in each simulator's inventory")
    p.add_argument(
        "--timeout", type=float, default=None, help="--timeout of each run (seconds per task/request)"
    )
    p.add_argument("--run-timeout", type=float, default=1800, help="bound of one seed's run in seconds")
    p.add_argument(
        "--keep", type=Path, default=None, help="keep every seed's reports and logs in this directory"
    )
    args = p.parse_args(argv)
    if args.jobs < 1 or args.examples < 1:
        p.error("--jobs and --examples are at least 1")

    workdir = args.keep or Path(tempfile.mkdtemp(prefix="vsphere-harness-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    what = args.checks or "every check"
    print(
        f"soak: seeds {_ranges(args.seeds)}, {what}, {args.examples} examples, "
        f"{'no scenarios' if args.no_scenarios else 'scenarios'}, {args.jobs} job(s)",
        flush=True,
    )
    start = time.monotonic()
    results: dict[int, SeedResult] = {}
    try:
        with concurrent.futures.ThreadPoolExecutor(max_workers=args.jobs) as pool:
            futures = {pool.submit(soak_one, seed, args, workdir): seed for seed in args.seeds}
            for fut in concurrent.futures.as_completed(futures):
                r = fut.result()
                results[r.seed] = r
                print(r.line(), flush=True)
    finally:
        if args.keep is None:
            shutil.rmtree(workdir, ignore_errors=True)
    total = {s: sum(r.counts.get(s, 0) for r in results.values()) for s in STATUSES}
    bad = sorted(r.seed for r in results.values() if r.bad)
    print(
        f"total: {len(results)} seeds, {sum(r.checks for r in results.values())} checks + "
        f"{sum(r.scenarios for r in results.values())} scenarios: {total['passed']} passed, "
        f"{total['failed']} failed, {total['error']} error, {total['skipped']} skipped in "
        f"{time.monotonic() - start:.1f} s; "
        + (f"seeds with failed/error: {', '.join(map(str, bad))}" if bad else "every seed clean")
    )
    if args.keep is not None:
        print(f"reports and logs: {workdir}/seed-N/")
    return 1 if bad else 0


def _ranges(seeds: list[int]) -> str:
    return (
        f"{seeds[0]}-{seeds[-1]}"
        if seeds == list(range(seeds[0], seeds[-1] + 1)) and len(seeds) > 1
        else ",".join(map(str, seeds))
    )


if __name__ == "__main__":
    sys.exit(main())
