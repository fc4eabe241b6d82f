"""A run spread over worker processes (``RunOptions.jobs`` > 1).

Worker *i* of *N* runs shard *i/N* of the plan (:func:`harness.run.plan.shard_pairs`) with a sandbox
of its own, and against the built-in simulator a simulator of its own (the same seed: the same
inventory), so workers never meet on the endpoint and each pair's verdict is the one a single
process gives.  The scenarios are dealt round-robin.  The parent shows the workers' progress, merges
their results (:func:`harness.report.merge.merge_runs`, as ``report merge`` does) and writes the
reports once.  Ctrl-C reaches every worker: each cleans up its sandbox and returns what it found.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import queue
import signal
import time
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from multiprocessing.managers import SyncManager
from typing import Any

from .. import __version__
from ..chaos.scenario import load_scenarios, scenario_files
from ..report.merge import merge_runs
from ..report.model import OperationResult, RunResult
from ..report.secrets import Scrubber
from ..report.writers import write_reports
from .execute import CheckStartFn, ProgressFn, ScenarioProgressFn, execute_plan, prepare_report_dir
from .options import RunOptions, UsageError
from .plan import make_plan

#: How often the parent looks at the workers' progress (seconds).
POLL_S = 0.05


def _ignore_sigint() -> None:
    """The progress queue's server process ignores Ctrl-C (the workers still need it)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _work(options: RunOptions, events: Any) -> tuple[dict[str, Any], list[str]]:
    """One worker: its shard of the plan, sequentially; its result as results.json would hold it
    (secrets redacted) and the secrets, for the parent's last pass over the rendered reports."""

    def send(*event: Any) -> None:
        with contextlib.suppress(OSError, EOFError):  # the parent went away: the result still matters
            events.put(event)

    result, scrubber = execute_plan(
        options,
        progress=lambda op, _done, _total: send("done", op.id),
        on_check=lambda op_id, check: send("check", op_id, check),
        on_scenario=lambda name: send("scenario", name),
    )
    return scrubber.value(result.to_dict()), sorted(scrubber.secrets)


def worker_options(options: RunOptions, index: int, jobs: int) -> RunOptions:
    """What worker ``index`` (1-based) of ``jobs`` runs: its shard, its share of the scenarios, no
    reports of its own."""
    files = scenario_files(list(options.scenarios))
    return replace(
        options,
        shard=(index, jobs),
        jobs=1,
        report_dir=None,
        force=False,
        scenarios=tuple(files[index - 1 :: jobs]),
    )


def run_parallel(
    options: RunOptions,
    progress: ProgressFn | None = None,
    on_check: CheckStartFn | None = None,
    on_scenario: ScenarioProgressFn | None = None,
) -> RunResult:
    """Run the plan over ``options.jobs`` worker processes; one merged result (reports written when
    ``options.report_dir`` is set)."""
    jobs = options.jobs
    if options.shard is not None:
        raise UsageError("--jobs splits the run into shards itself: it cannot run one shard (--shard)")
    total = len(make_plan(options))
    report_dir = prepare_report_dir(options)
    t0 = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    manager = SyncManager(ctx=context)
    manager.start(_ignore_sigint)
    interrupted = False
    try:
        events = manager.Queue()
        with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
            futures = [
                pool.submit(_work, worker_options(options, i, jobs), events) for i in range(1, jobs + 1)
            ]
            interrupted = _follow(futures, events, total, progress, on_check, on_scenario)
            results = _or_empty([_result(f) for f in futures], options)
    finally:
        manager.shutdown()
    merged = merge_runs([(f"worker {i}", run) for i, (run, _) in enumerate(results, 1)])
    _as_one_run(merged, options, time.perf_counter() - t0, interrupted)
    if report_dir is not None:
        scrubber = Scrubber([secret for _, secrets in results for secret in secrets])
        write_reports(merged, report_dir, scrubber)
    return merged


def _follow(
    futures: list[Future],
    events: Any,
    total: int,
    progress: ProgressFn | None,
    on_check: CheckStartFn | None,
    on_scenario: ScenarioProgressFn | None,
) -> bool:
    """Pass the workers' progress on until every worker is done; whether Ctrl-C was pressed (the
    workers, which got it too, clean up and return their partial results)."""
    done = 0
    interrupted = False
    while True:
        try:
            finished = all(f.done() for f in futures)
            while True:
                try:
                    event = events.get(timeout=0 if finished else POLL_S)
                except queue.Empty:
                    break
                if event[0] == "done":
                    done += 1
                    if progress:
                        progress(OperationResult(event[1], []), min(done, total), total)
                elif event[0] == "check" and on_check:
                    on_check(event[1], event[2])
                elif event[0] == "scenario" and on_scenario:
                    on_scenario(event[1])
            if finished:
                return interrupted
        except KeyboardInterrupt:
            interrupted = True


def _result(future: Future) -> tuple[RunResult, list[str]] | None:
    """A worker's result and secrets; None for a worker stopped before it had one (Ctrl-C while it
    started)."""
    try:
        data, secrets = future.result()
    except KeyboardInterrupt:
        return None
    return RunResult.from_dict(data), secrets


def _or_empty(
    results: list[tuple[RunResult, list[str]] | None], options: RunOptions
) -> list[tuple[RunResult, list[str]]]:
    """Every worker's result, an interrupted empty shard for a worker that had none."""
    present = [r for r in results if r is not None]
    if not present:
        raise KeyboardInterrupt
    out = []
    for index, got in enumerate(results, 1):
        if got is None:
            mine = worker_options(options, index, len(results))
            empty = RunResult(
                __version__, present[0][0].endpoint, "", "", options.seed, options=mine.public()
            )
            empty.stats["interrupted"] = True
            got = (empty, [])
        out.append(got)
    return out


def _as_one_run(merged: RunResult, options: RunOptions, wall_s: float, interrupted: bool) -> None:
    """Record the merged shards as one run of ``jobs`` workers: its options, its wall-clock time."""
    merged.options.pop("merged_shards", None)
    merged.options["scenarios"] = [str(s) for s in options.scenarios]
    order = {s.name: n for n, s in enumerate(load_scenarios(list(options.scenarios)))}
    merged.scenarios.sort(key=lambda sc: order.get(sc.name, len(order)))  # as one process runs them
    merged.options["jobs"] = options.jobs
    merged.stats["workers_s"] = merged.stats.pop("duration_s", 0.0)
    merged.stats["duration_s"] = round(wall_s, 2)
    requests = merged.stats.get("requests", 0)
    merged.stats["requests_per_s"] = round(requests / wall_s, 1) if wall_s else 0.0
    if interrupted:
        merged.stats["interrupted"] = True


#: A run with fewer operation x check pairs than this gains less from workers than they cost to start.
AUTO_MIN_PAIRS = 200
#: The most workers a run may ask for.
MAX_JOBS = 32
#: At most this many workers by default (each runs a simulator of its own as well).
AUTO_MAX_JOBS = 4


def auto_jobs(options: RunOptions, pairs: int, cpus: int | None = None) -> int:
    """How many workers ``--jobs auto`` means: two per CPU (at most :data:`AUTO_MAX_JOBS`) for a
    run of at least :data:`AUTO_MIN_PAIRS` pairs on the built-in simulator (a worker spends much of
    its time waiting for tasks, which another one fills); 1 otherwise (a real endpoint is not loaded
    with parallel runs unless asked, and a shard is run as it is)."""
    if options.endpoint is not None or options.shard is not None or pairs < AUTO_MIN_PAIRS:
        return 1
    cpus = cpus if cpus is not None else len(os.sched_getaffinity(0))
    return max(1, min(2 * cpus, AUTO_MAX_JOBS))
