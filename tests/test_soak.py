"""The same verdict for every seed: the generating checks (shape, negative, faults, schemathesis,
stateful) on every operation, for ten seeds, against the clean built-in simulator (its inventory
seeded with the same seed) — nothing may fail and nothing may be left undecided.

Each seed runs in a process of its own (``spawn``: no thread of this test session is copied), a few
at a time: a run spends about half of its time waiting for tasks, so two cores carry three runs.
``bench/soak.py`` does the same for the full default run against ``vsphere-harness sim`` processes.
"""

from __future__ import annotations

import concurrent.futures
import multiprocessing
import os
import time

import pytest

from harness.run import RunOptions, run_contracts

SEEDS = tuple(range(10))
CHECKS = ("shape", "negative", "faults", "schemathesis", "stateful")
EXAMPLES = 3
JOBS = max(2, min(3, os.cpu_count() or 2))


def run_seed(seed: int) -> tuple[int, int, list[str], float]:
    """(seed, checks run, "status op::check: message" of every result that did not pass or skip, seconds)."""

    start = time.monotonic()
    result = run_contracts(RunOptions(seed=seed, examples=EXAMPLES, checks=CHECKS, scenarios=()))
    bad, total = [], 0
    for op in result.operations:
        for c in op.checks:
            total += 1
            if c.status not in ("passed", "skipped"):
                bad.append(f"{c.status} {op.id}::{c.check}: {c.message[:400]}")
    bad += [f"leftover: {x}" for x in result.leftovers]
    return seed, total, bad, time.monotonic() - start


@pytest.mark.slow
def test_generating_checks_pass_for_every_seed():
    ctx = multiprocessing.get_context("spawn")
    with concurrent.futures.ProcessPoolExecutor(max_workers=JOBS, mp_context=ctx) as pool:
        outcomes = sorted(pool.map(run_seed, SEEDS))
    problems = {seed: bad for seed, _, bad, _ in outcomes if bad}
    assert not problems, "\n".join(f"seed {s}: {line}" for s, bad in problems.items() for line in bad)
    for seed, total, _, _ in outcomes:
        # every operation of the release, every generating check (stateful once per run)
        assert total >= 4 * 100 + 1, f"seed {seed}: only {total} checks ran"
