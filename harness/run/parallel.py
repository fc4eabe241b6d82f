"""A run spread over worker processes (``RunOptions.jobs`` > 1).

Worker *i* of *N* (a process forked from a fork server) runs shard *i/N* of the plan (:func:`harness.run.plan.shard_pairs`) with a sandbox
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
import time
import uuid
from dataclasses import replace
from multiprocessing.connection import Connection, wait
from typing import Any

from .. import __version__
from ..chaos.scenario import load_scenarios, scenario_files
from ..client import ClientError
from ..report.merge import merge_runs
from ..report.model import OperationResult, RunResult
from ..report.secrets import Scrubber
from ..report.writers import write_reports
from ..sandbox.recover import clean_up_after
from .endpoint import open_endpoint
from .execute import CheckStartFn, ProgressFn, ScenarioProgressFn, execute_plan, prepare_report_dir
from .options import RunError, RunOptions, UsageError
from .plan import make_plan

#: How often the parent looks at the workers' progress (seconds).
POLL_S = 0.05


class WorkerFailed(RunError):
    """A worker process ended without a result (killed, out of memory, a harness bug): the run could
    not decide (exit 4), and says which."""

    exit_code = 4


def _work(options: RunOptions, index: int, events: Connection) -> None:
    """One worker (a process of its own): its shard of the plan, sequentially.  It sends its progress,
    then its result as results.json would hold it (secrets redacted) with the secrets, for the
    parent's last pass over the rendered reports; or why it has none."""

    def send(*event: Any) -> None:
        with contextlib.suppress(OSError, ValueError):  # the parent went away: nothing to tell
            events.send(event)

    try:
        result, scrubber = execute_plan(
            options,
            progress=lambda op, _done, _total: send("done", index, op.id),
            on_check=lambda op_id, check: send("check", index, op_id, check),
            on_scenario=lambda name: send("scenario", index, name),
        )
    except KeyboardInterrupt:  # Ctrl-C before the run had anything (execute_plan keeps the rest)
        send("interrupted", index)
    except RunError as exc:
        send("run-error", index, str(exc), exc.exit_code)
    except Exception as exc:  # noqa: BLE001 - a harness bug: the parent says it in one line
        send("failed", index, f"{type(exc).__name__}: {exc}")
    else:
        send("result", index, scrubber.value(result.to_dict()), sorted(scrubber.secrets))


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


class _Workers:
    """The worker processes of a run and what they reported."""

    def __init__(self, options: RunOptions):
        self.options = options
        # forked from one server that imported the harness once: faster than spawning each worker
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["harness.run.execute"])
        # a pipe per worker: one that dies mid-message ends its own pipe (EOF), never a shared one
        self.pipes = [context.Pipe(duplex=False) for _ in range(options.jobs)]
        # each worker's sandbox is named here, so that the run can clean up after one that dies
        run = uuid.uuid4().hex[:6]
        self.run_ids = {i: f"{run}w{i}" for i in range(1, options.jobs + 1)}
        self.procs = [
            context.Process(
                target=_work,
                args=(
                    replace(worker_options(options, i, options.jobs), run_id=self.run_ids[i]),
                    i,
                    self.pipes[i - 1][1],
                ),
                name=f"vsphere-harness-worker-{i}",
            )
            for i in range(1, options.jobs + 1)
        ]
        self.results: dict[int, tuple[RunResult, list[str]]] = {}
        self.errors: dict[int, tuple[str, int]] = {}  # worker -> (message, exit code)
        self.interrupted = False
        self.done = 0

    def follow(
        self,
        total: int,
        progress: ProgressFn | None,
        on_check: CheckStartFn | None,
        on_scenario: ScenarioProgressFn | None,
    ) -> None:
        """Start the workers and pass their progress on until every one has ended.  Ctrl-C reaches
        them too: each cleans up its sandbox and reports what it found (a second Ctrl-C here is
        ignored until they have)."""
        for proc, (_, writer) in zip(self.procs, self.pipes, strict=True):
            proc.start()
            writer.close()  # the worker's end: its death closes the pipe
        readers = [reader for reader, _ in self.pipes]
        while readers:
            try:
                for reader in wait(readers, timeout=POLL_S):
                    try:
                        event = reader.recv()
                    except (EOFError, OSError):  # the worker ended (a result sent, or none)
                        readers.remove(reader)
                        reader.close()
                        continue
                    self._event(event, total, progress, on_check, on_scenario)
            except KeyboardInterrupt:
                self.interrupted = True
        for proc in self.procs:
            proc.join()

    def _event(self, event: tuple, total: int, progress, on_check, on_scenario) -> None:
        kind, index, *rest = event
        if kind == "done":
            self.done += 1
            if progress:
                progress(OperationResult(rest[0], []), min(self.done, total), total)
        elif kind == "check" and on_check:
            on_check(rest[0], rest[1])
        elif kind == "scenario" and on_scenario:
            on_scenario(rest[0])
        elif kind == "result":
            self.results[index] = (RunResult.from_dict(rest[0]), rest[1])
        elif kind == "run-error":
            self.errors[index] = (rest[0], rest[1])
        elif kind == "failed":
            self.errors[index] = (f"worker {index} failed: {rest[0]}", WorkerFailed.exit_code)
        elif kind == "interrupted":
            self.interrupted = True

    def outcome(self) -> list[tuple[RunResult, list[str]]]:
        """Every worker's result in order: a worker's run error is the run's (the first one); a
        worker that ended without a result fails the run (:class:`WorkerFailed`) unless Ctrl-C was
        pressed, when it counts as an interrupted, empty shard."""
        if self.errors:
            message, code = self.errors[min(self.errors)]
            error = RunError(message)
            error.exit_code = code
            raise error
        missing = [i for i in range(1, len(self.procs) + 1) if i not in self.results]
        leftovers = self._clean_up_after(missing)
        if missing and not self.interrupted:
            codes = ", ".join(f"{i} (exit code {self.procs[i - 1].exitcode})" for i in missing)
            left = [x for i in missing for x in leftovers.get(i, [])]
            said = (
                f"; left on the endpoint: {'; '.join(left)}"
                if left
                else "; the run cleaned up its sandbox"
                if self.options.endpoint is not None
                else ""
            )
            raise WorkerFailed(
                f"worker process(es) {codes} ended without a result (killed, or out of memory){said}"
            )
        if len(missing) == len(self.procs):
            raise KeyboardInterrupt
        endpoint = next(iter(self.results.values()))[0].endpoint
        out = []
        for index in range(1, len(self.procs) + 1):
            if index not in self.results:
                mine = worker_options(self.options, index, len(self.procs))
                empty = RunResult(__version__, endpoint, "", "", self.options.seed, options=mine.public())
                empty.stats["interrupted"] = True
                empty.leftovers = leftovers.get(index, [])
                self.results[index] = (empty, [])
            out.append(self.results[index])
        return out

    def _clean_up_after(self, missing: list[int]) -> dict[int, list[str]]:
        """On an endpoint of one's own, remove the sandboxes of the workers that ended without
        cleaning up (the built-in simulator of such a worker went with it); what is left, per worker."""
        if not missing or self.options.endpoint is None:
            return {}
        out: dict[int, list[str]] = {}
        try:
            with open_endpoint(self.options) as conn:
                for index in missing:
                    out[index] = clean_up_after(conn.admin, self.options.release, self.run_ids[index])
        except (RunError, ClientError) as exc:
            for index in missing:
                out.setdefault(
                    index, [f"the sandbox of worker {index} (vsphere-harness-{self.run_ids[index]}): {exc}"]
                )
        return out


def run_parallel(
    options: RunOptions,
    progress: ProgressFn | None = None,
    on_check: CheckStartFn | None = None,
    on_scenario: ScenarioProgressFn | None = None,
) -> RunResult:
    """Run the plan over ``options.jobs`` worker processes; one merged result (reports written when
    ``options.report_dir`` is set)."""
    if options.shard is not None:
        raise UsageError("--jobs splits the run into shards itself: it cannot run one shard (--shard)")
    if options.endpoint is not None and options.scenarios:
        # one process runs them after every check; workers sharing an endpoint would run them while
        # the others still check (a scenario restarts the endpoint, faults a host, ends sessions)
        raise UsageError(
            "on an endpoint of your own, chaos scenarios run with --jobs 1 only: add --no-scenarios, "
            "or run them alone with `vsphere-harness scenarios run`"
        )
    total = len(make_plan(options))
    report_dir = prepare_report_dir(options)
    t0 = time.perf_counter()
    workers = _Workers(options)
    workers.follow(total, progress, on_check, on_scenario)
    results = workers.outcome()
    merged = merge_runs([(f"worker {i}", run) for i, (run, _) in enumerate(results, 1)])
    _as_one_run(merged, options, time.perf_counter() - t0, workers.interrupted)
    if report_dir is not None:
        scrubber = Scrubber([secret for _, secrets in results for secret in secrets])
        write_reports(merged, report_dir, scrubber)
    return merged


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
