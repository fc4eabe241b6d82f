"""Benchmark: the default run against the built-in simulator (every check, then the repository's
chaos scenarios, as ``vsphere-harness run`` does), and schemathesis alone on the same exported OpenAPI
against the same simulator (same settings); prints wall time, requests per second and their ratio.

    .venv/bin/python bench/bench_run.py [--examples N] [--operations GLOB] [--release R] [--no-scenarios]

Not part of the test suite.  The goal (issue 4): at least as fast per request as schemathesis
while checking more.
"""

from __future__ import annotations

import argparse
import fnmatch
import time
import warnings
from pathlib import Path

import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from harness.client import SESSION_HEADER, ViClient
from harness.contract import load_contracts
from harness.contract.openapi import export_openapi
from harness.run import RunOptions, run_contracts
from harness.run.endpoint import BUILTIN_SIM
from harness.sim import SimConfig, running_simulator

SCENARIOS = Path(__file__).resolve().parents[1] / "scenarios"


def bench_harness(release: str, examples: int, operations: tuple[str, ...], scenarios: bool = True) -> dict:
    start = time.perf_counter()
    chosen = (SCENARIOS,) if scenarios and not operations and any(SCENARIOS.glob("*.yaml")) else ()
    result = run_contracts(
        RunOptions(release=release, examples=examples, operations=operations, scenarios=chosen)
    )
    wall = time.perf_counter() - start
    s = result.summary()
    return {
        "wall_s": wall,
        "requests": result.stats["requests"],
        "checks": s["checks"],
        "summary": s,
        "run_s": result.stats["duration_s"],
    }


def bench_schemathesis(release: str, examples: int, operations: tuple[str, ...]) -> dict:
    doc = export_openapi(load_contracts(), release)
    schema = schemathesis.openapi.from_dict(doc)
    globs = operations or ("VirtualMachine_*",)
    with running_simulator(SimConfig(**BUILTIN_SIM)) as sim:  # the simulator the run starts
        client = ViClient(sim.url, release)
        client.login(*sim.users["admin"])
        base_url = f"{sim.url}/sdk/vim25/{release}"
        session = requests.Session()
        session.headers[SESSION_HEADER] = client.session_id or ""
        counts = {"requests": 0, "violations": 0, "operations": 0}
        session.hooks["response"].append(
            lambda r, *a, **k: counts.__setitem__("requests", counts["requests"] + 1)
        )
        start = time.perf_counter()
        for res in schema.get_all_operations():
            op = res.ok()
            op_id = op.definition.raw.get("operationId", "")
            if not any(fnmatch.fnmatchcase(op_id, g) for g in globs):
                continue
            counts["operations"] += 1

            @settings(
                max_examples=examples,
                derandomize=True,
                database=None,
                deadline=None,
                suppress_health_check=list(HealthCheck),
            )
            @given(case=op.as_strategy())
            def drive(case) -> None:
                response = case.call(base_url=base_url, session=session)
                try:
                    case.validate_response(response)
                except (Exception, BaseExceptionGroup):  # noqa: BLE001 - a violation: count it, go on
                    counts["violations"] += 1

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                drive()
        wall = time.perf_counter() - start
        client.logout()
    return {"wall_s": wall, **counts}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=5)
    parser.add_argument("--operations", action="append", default=[])
    parser.add_argument("--release", default="8.0.2.0")
    parser.add_argument("--no-scenarios", action="store_true", help="the checks only, no chaos scenario")
    args = parser.parse_args()
    ops = tuple(args.operations)

    h = bench_harness(args.release, args.examples, ops, scenarios=not args.no_scenarios)
    h_rps = h["requests"] / h["run_s"] if h["run_s"] else 0.0
    print(
        f"harness run:     {h['wall_s']:6.2f} s wall ({h['run_s']:.2f} s run), {h['requests']} requests, "
        f"{h_rps:8.1f} requests/s, {h['checks']} checks: {h['summary']}"
    )

    st = bench_schemathesis(args.release, args.examples, ops)
    st_rps = st["requests"] / st["wall_s"] if st["wall_s"] else 0.0
    print(
        f"schemathesis:    {st['wall_s']:6.2f} s wall, {st['requests']} requests, {st_rps:8.1f} requests/s, "
        f"{st['operations']} operations, {st['violations']} responses it flagged"
    )
    if st_rps:
        print(f"ratio (harness requests/s / schemathesis requests/s): {h_rps / st_rps:.2f}")


if __name__ == "__main__":
    main()
