"""Speed of the default run's parts, before and after, with their ratio, in one run (issue 10).

    .venv/bin/python bench/bench_speed.py [--part schemathesis,cleanup,startup,inventory,run]
                                          [--all-operations] [--repeat N]

- ``schemathesis``: drawing ``--examples`` (5) cases per operation from the exported OpenAPI document
  as it is (``allOf`` inheritance, open objects) and from the flattened one the check uses
  (:func:`harness.contract.openapi.flatten_openapi`); the body-heavy operations by default, every
  VirtualMachine operation with ``--all-operations``.
- ``cleanup``: the sandbox's clean-up of 12 VMs (half powered on), one at a time
  (``CLEANUP_WORKERS = 1``) and as the run does it.
- ``startup``: ``Simulator(SimConfig(vms=N))`` for 1,000 and 100,000 VMs.
- ``inventory``: ``-o VirtualMachine_PowerOnVM_Task -c shape --no-scenarios`` against the built-in
  simulator with 1,000 and with 100,000 VMs, with ``--inventory-sample 0`` and the default sample.
- ``run``: the default run (every check, the scenarios) in one process and with ``--jobs auto``
  (what ``vsphere-harness run`` does), wall time and ratio.

Best of ``--repeat`` (default 1; the machine is shared, so note the spread).  Not part of the test
suite.
"""

from __future__ import annotations

import argparse
import copy
import time
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import Any

import schemathesis
from schemathesis.config import SchemathesisConfig

from harness.client import ViClient
from harness.contract import load_contracts
from harness.contract.openapi import export_openapi, flatten_openapi
from harness.gen.draw import draw
from harness.run import RunOptions, make_plan, run_contracts
from harness.run.endpoint import BUILTIN_SIM
from harness.run.parallel import auto_jobs
from harness.sandbox import Sandbox, cleanup
from harness.sim import SimConfig, running_simulator
from harness.sim.simulator import Simulator

R = "8.0.2.0"
SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"
#: the operations whose bodies are large (most of the generation time before flattening)
BODY_HEAVY = (
    "VirtualMachine_CloneVM_Task",
    "VirtualMachine_InstantClone_Task",
    "VirtualMachine_ReconfigVM_Task",
    "VirtualMachine_PromoteDisks_Task",
    "VirtualMachine_CustomizeVM_Task",
    "VirtualMachine_CheckCustomizationSpec",
    "VirtualMachine_RelocateVM_Task",
    "VirtualMachine_CreateSecondaryVMEx_Task",
)


def best(fn: Callable[[], Any], repeat: int) -> float:
    """The shortest wall time of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def line(
    label: str,
    before: float,
    after: float,
    names: tuple[str, str] = ("before", "after"),
    growth: bool = False,
) -> None:
    """One result: both times and ``before/after`` (a speed-up), or ``after/before`` for ``growth``
    (how much longer the larger size takes)."""
    ratio = (
        (after / before if before else float("inf"))
        if growth
        else (before / after if after else float("inf"))
    )
    what = f"{names[1]}/{names[0]}" if growth else "speed-up"
    print(
        f"{label:<44} {names[0]} {before:7.2f} s   {names[1]} {after:7.2f} s   {what} {ratio:5.2f}x",
        flush=True,
    )


# --- schemathesis generation ------------------------------------------------------------------------
def generation_time(document: dict[str, Any], operations: list[str], examples: int, seed: int = 0) -> float:
    """Seconds to load ``document`` into schemathesis and draw ``examples`` cases per operation."""
    start = time.perf_counter()
    doc = copy.copy(document)
    doc["servers"] = [{"url": f"http://127.0.0.1:1/sdk/vim25/{R}"}]
    schema = schemathesis.openapi.from_dict(doc, config=SchemathesisConfig.from_dict({"seed": seed}))
    for op_id in operations:
        op = schema.find_operation_by_id(op_id)
        draw(op.as_strategy(path_parameters={"moId": "vm-1"}), examples, seed)
    return time.perf_counter() - start


def bench_schemathesis(all_operations: bool, repeat: int, examples: int = 5) -> None:
    exported = export_openapi(load_contracts(), R)
    flat = flatten_openapi(exported)
    ops = [c.id for c in load_contracts().virtual_machine(R)] if all_operations else list(BODY_HEAVY)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        before = best(lambda: generation_time(exported, ops, examples), repeat)
        after = best(lambda: generation_time(flat, ops, examples), repeat)
    line(f"schemathesis: {examples} cases x {len(ops)} operations", before, after, ("exported", "flattened"))


# --- sandbox clean-up -------------------------------------------------------------------------------
def cleanup_time(workers: int, vms: int = 12) -> float:
    """Seconds the clean-up of ``vms`` sandbox VMs (half powered on) takes with ``workers``."""
    with running_simulator(SimConfig(**{**BUILTIN_SIM, "vms": 50})) as sim:
        admin = ViClient(sim.url, R)
        admin.login(*sim.users["admin"])
        sb = Sandbox(admin, R, run_id=f"bench-{workers}", timeout=30)
        for i in range(vms):
            vm = sb.create_vm()
            if i % 2:
                sb.run_task("VirtualMachine", vm, "PowerOnVM_Task")
        saved = cleanup.CLEANUP_WORKERS
        cleanup.CLEANUP_WORKERS = workers
        try:
            start = time.perf_counter()
            problems = sb.cleanup()
            took = time.perf_counter() - start
        finally:
            cleanup.CLEANUP_WORKERS = saved
        assert problems == [], problems
        admin.logout()
        return took


def bench_cleanup(repeat: int) -> None:
    before = best(lambda: cleanup_time(1), repeat)
    after = best(lambda: cleanup_time(cleanup.CLEANUP_WORKERS), repeat)
    line(
        f"clean-up of 12 VMs (1 vs {cleanup.CLEANUP_WORKERS} at a time)",
        before,
        after,
        ("sequential", "parallel"),
    )


# --- simulator start-up and inventory size ----------------------------------------------------------
def startup_time(vms: int) -> float:
    """Seconds ``Simulator(SimConfig(vms=vms))`` takes (after a first one loaded contracts and types)."""
    start = time.perf_counter()
    Simulator(SimConfig(vms=vms)).close()
    return time.perf_counter() - start


def bench_startup(repeat: int) -> None:
    startup_time(0)  # warm-up: contracts, type registry, imports
    small = best(lambda: startup_time(1_000), repeat)
    large = best(lambda: startup_time(100_000), repeat)
    line("simulator start-up: 1,000 vs 100,000 VMs", small, large, ("1k", "100k"), growth=True)
    print(f"{'':<44} 100,000 VMs {'within' if large <= 2.0 else 'ABOVE'} 2 s", flush=True)


def run_time(vms: int, sample: int) -> float:
    """Seconds of ``-o VirtualMachine_PowerOnVM_Task -c shape --no-scenarios`` with ``vms`` VMs (the
    simulator's start-up included, as ``vsphere-harness run`` pays it)."""
    start = time.perf_counter()
    result = run_contracts(
        RunOptions(
            release=R,
            operations=("VirtualMachine_PowerOnVM_Task",),
            checks=("shape",),
            inventory_sample=sample,
            sim={"vms": vms},
        )
    )
    took = time.perf_counter() - start
    assert result.summary()["failed"] == 0, result.summary()
    return took


def bench_inventory(repeat: int) -> None:
    run_time(0, 0)  # warm-up: imports, contracts, schemas
    start = {n: best(lambda n=n: startup_time(n), repeat) for n in (1_000, 100_000)}
    for sample in (0, RunOptions().inventory_sample):
        small = best(lambda s=sample: run_time(1_000, s), repeat)
        large = best(lambda s=sample: run_time(100_000, s), repeat)
        label = f"run PowerOn shape, sample {sample}: 1k vs 100k"
        line(label, small, large, ("1k", "100k"), growth=True)
        line(
            "  the same without the simulator's start-up",
            small - start[1_000],
            large - start[100_000],
            ("1k", "100k"),
            growth=True,
        )


# --- the default run --------------------------------------------------------------------------------
def _default_run(jobs: int) -> tuple[float, Any]:
    start = time.perf_counter()
    result = run_contracts(RunOptions(release=R, scenarios=(SCENARIOS,), jobs=jobs))
    wall = time.perf_counter() - start
    s = result.summary()
    print(
        f"{f'default run, {jobs} process(es)':<44} wall {wall:7.2f} s   {s['checks']} checks, "
        f"{len(result.scenarios)} scenarios, {result.stats['requests']} requests, failed {s['failed']}, "
        f"error {s['error']}",
        flush=True,
    )
    return wall, result


def bench_run(repeat: int) -> None:
    """The default run (every check, the scenarios) in one process and as ``run`` does it by default
    (``--jobs auto``: a worker per CPU), with the same verdicts."""
    jobs = auto_jobs(RunOptions(), make_plan(RunOptions()).pairs)
    one = min(_default_run(1)[0] for _ in range(repeat))
    spread, result = min((_default_run(jobs) for _ in range(repeat)), key=lambda x: x[0])
    line(f"default run: 1 process vs --jobs auto ({jobs})", one, spread, ("jobs=1", f"jobs={jobs}"))


PARTS = {
    "schemathesis": lambda a: bench_schemathesis(a.all_operations, a.repeat),
    "cleanup": lambda a: bench_cleanup(a.repeat),
    "startup": lambda a: bench_startup(a.repeat),
    "inventory": lambda a: bench_inventory(a.repeat),
    "run": lambda a: bench_run(a.repeat),
}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--part", default=",".join(PARTS), help=f"comma-separated: {', '.join(PARTS)}")
    ap.add_argument(
        "--all-operations", action="store_true", help="schemathesis: every VirtualMachine operation"
    )
    ap.add_argument("--repeat", type=int, default=1, help="best of N (default 1)")
    args = ap.parse_args()
    for part in args.part.split(","):
        PARTS[part.strip()](args)


if __name__ == "__main__":
    main()
