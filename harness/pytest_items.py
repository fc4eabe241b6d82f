"""The test items of ``pytest --vsphere-harness`` (registered by :mod:`harness.pytest_plugin` only
when the option is given): one per operation x check, and a last one judging every other answer.

Under pytest-xdist (``-n N``) each worker runs its items with a Runner of its own (its own sandbox;
without ``--vsphere-endpoint`` its own built-in simulator).  The workers collect no
``vsphere::every-answer`` item: each judges what its own auditor found that none of *its* items
reported when its session ends, and sends that, with its result, to the controller
(``workeroutput``); the controller reports ``vsphere::every-answer`` from every worker's findings
once all workers are done, and writes ``--vsphere-report-dir`` from the workers' results merged
with :func:`harness.report.merge.merge_runs`.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from pathlib import Path
from typing import Any

import pytest

from .report.merge import merge_runs
from .report.model import RunResult
from .report.writers import failure_text, write_reports
from .run import RunError, Runner, RunOptions, load_baseline, make_plan
from .run.options import parse_shard
from .vmodl.registry import DEFAULT_RELEASE


def _active(config: pytest.Config) -> bool:
    return bool(config.getoption("--vsphere-harness", default=False))


def _options(config: pytest.Config) -> Any:
    o = config.getoption
    return RunOptions(
        endpoint=o("--vsphere-endpoint"),
        user=o("--vsphere-user"),
        password=o("--vsphere-password"),
        limited_user=o("--vsphere-limited-user"),
        limited_password=o("--vsphere-limited-password"),
        insecure=o("--vsphere-insecure"),
        protocol=o("--vsphere-protocol"),
        release=o("--vsphere-release") or DEFAULT_RELEASE,
        operations=tuple(o("--vsphere-operations")),
        checks=tuple(o("--vsphere-checks")),
        examples=o("--vsphere-examples"),
        seed=o("--vsphere-seed"),
        read_only=o("--vsphere-read-only"),
        timeout=o("--vsphere-timeout"),
        reconnect_wait=o("--vsphere-reconnect-wait"),
        baseline=o("--vsphere-baseline"),
        report_dir=o("--vsphere-report-dir"),
        force=True,
        inventory_sample=o("--vsphere-inventory-sample"),
        max_body=o("--vsphere-max-body"),
        shard=parse_shard(o("--vsphere-shard")) if o("--vsphere-shard") else None,
        allow_errors=o("--vsphere-allow-errors"),
    )


#: The key of a worker's payload in xdist's ``workeroutput``.
WORKER_OUTPUT = "vsphere_harness"
#: The node id of the item (or, under xdist, the controller's report) judging every other answer.
EVERY_ANSWER = "vsphere::every-answer"


def worker_id(config: pytest.Config) -> str | None:
    """This process's xdist worker id (``gw0`` …), or None outside a worker."""
    workerinput = getattr(config, "workerinput", None)
    return str(workerinput["workerid"]) if workerinput else None


def distributing(config: pytest.Config) -> bool:
    """This process is an xdist controller: workers run the items."""
    return config.pluginmanager.getplugin("dsession") is not None


class _State:
    """The session's run (one per process: under xdist, one per worker): started on the first
    item, closed at the end of the session."""

    def __init__(self, options: Any):
        self.options = options
        self.runner: Any = None
        self.closed: Any = None  # the runner, once closed
        self.error: str | None = None
        self.ran: set[tuple[str, str]] = set()  # (operation, check) pairs an item of ours reported
        self.workers: dict[str, dict[str, Any]] = {}  # the controller: each worker's payload
        self.lost: dict[str, str] = {}  # the controller: workers that went down without one

    def runner_or_fail(self) -> Any:
        if self.error is not None:
            pytest.fail(self.error, pytrace=False)
        if self.runner is None:
            try:
                baseline = load_baseline(self.options.baseline) if self.options.baseline else None
                runner = Runner(self.options, baseline)
                runner.__enter__()
            except RunError as exc:
                self.error = f"vsphere-harness: {exc}"
                pytest.fail(self.error, pytrace=False)
            self.runner = runner
        return self.runner

    def close(self, write: bool = True) -> None:
        """End the run (sandbox clean-up, logout); write the reports unless ``write`` is False."""
        if self.runner is None:
            return
        runner, self.runner = self.runner, None
        self.closed = runner
        runner.__exit__(None, None, None)
        if write and self.options.report_dir:
            write_reports(runner.result, self.options.report_dir, runner.conn.scrubber)

    def unreported(self, runner: Any) -> list[tuple[str, Any]]:
        """Gate failures no item of this process reported: answers of operations whose item did not
        run here (outside the selection, or on another xdist worker), or found after it passed."""
        late = {(op, c.check) for op, c in runner.late}
        return [
            (op, c)
            for op, c in runner.result.gate_failures()
            if (op, c.check) not in self.ran or (op, c.check) in late
        ]

    def worker_payload(self, worker: str) -> dict[str, Any]:
        """What a worker sends the controller at its end: its scrubbed result, and its unreported
        findings rendered (its runner, closed; none when it ran no item)."""
        self.close(write=False)
        runner = self.closed
        if runner is None:
            return {"worker": worker, "error": self.error, "result": None, "unreported": []}
        scrub = runner.conn.scrubber
        return {
            "worker": worker,
            "error": None,
            "result": json.dumps(scrub.value(runner.result.to_dict())),
            "unreported": [_render_with(scrub, f"{op}::{c.check}", c) for op, c in self.unreported(runner)],
        }


class CheckFailed(Exception):
    """A check failed or could not decide; ``repr_failure`` renders the result."""

    def __init__(self, result: Any):
        super().__init__(result.message)
        self.result = result


class VsphereItem(pytest.Item):
    """One operation x check.  The check runs in the item's setup: a check that could not decide
    is an *error* of the item (a setup error), a contract violation a *failure*."""

    def __init__(self, *, contract: Any, spec: Any, **kw: Any):
        super().__init__(**kw)
        self.contract = contract
        self.spec = spec
        self.result: Any = None
        self.add_marker(pytest.mark.vsphere_harness)

    def setup(self) -> None:
        state: _State = self.config.stash[_STATE]
        self.result = result = state.runner_or_fail().run_one(self.contract, self.spec)
        state.ran.add((self.contract.id, self.spec.name))
        self.user_properties.append(("status", result.status))
        if result.status == "skipped":
            raise pytest.skip.Exception(result.message or "not applicable", _use_item_location=True)
        if result.status == "error":
            if state.options.allow_errors:
                raise pytest.skip.Exception(
                    f"could not decide (allowed): {result.message}", _use_item_location=True
                )
            raise CheckFailed(result)

    def runtest(self) -> None:
        result = self.result
        if result.status == "failed" and result.accepted:
            pytest.xfail(f"accepted by the baseline: {result.message}")
        if result.status == "failed":
            raise CheckFailed(result)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, CheckFailed):
            return _render(
                self.config, f"{self.contract.id}::{excinfo.value.result.check}", excinfo.value.result
            )
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        """Located at the contract file (skip and failure lines point there)."""
        where = Path(self.contract.source_file) if self.contract.source_file else self.path
        return where, 0, f"{self.contract.id}::{self.spec.name}"


def _render(config: pytest.Config, name: str, result: Any) -> str:
    state: _State = config.stash[_STATE]
    runner = state.runner or state.closed
    return _render_with(runner.conn.scrubber if runner is not None else None, name, result)


def _render_with(scrubber: Any, name: str, result: Any) -> str:
    kind = "contract violation" if result.status == "failed" else "error (the harness could not decide)"
    text = f"{name}: {kind}\n{failure_text(result)}"
    return scrubber(text) if scrubber is not None else text


class AnswersItem(pytest.Item):
    """The last item: closes the run (sandbox clean-up, reports) and fails when the run's auditor
    found violations no other item reported: answers of operations whose item did not run
    (outside the selection), or found after that operation's item had passed (set-up, clean-up,
    other checks' requests).  Not collected by xdist workers (see the module's doc)."""

    def __init__(self, **kw: Any):
        super().__init__(**kw)
        self.add_marker(pytest.mark.vsphere_harness)

    def runtest(self) -> None:
        state: _State = self.config.stash[_STATE]
        runner = state.runner_or_fail()
        state.close()
        unreported = state.unreported(runner)
        if unreported:
            raise AuditFailed(unreported)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> Any:
        if isinstance(excinfo.value, AuditFailed):
            return "\n\n".join(
                _render(self.config, f"{op}::{c.check}", c) for op, c in excinfo.value.failures
            )
        return super().repr_failure(excinfo, style)

    def reportinfo(self) -> tuple[Any, int | None, str]:
        return self.path, 0, "every answer judged"


class AuditFailed(Exception):
    def __init__(self, failures: list[tuple[str, Any]]):
        super().__init__(f"{len(failures)} contract violation(s) found in other answers")
        self.failures = failures


class OperationCollector(pytest.Collector):
    def __init__(self, *, item: Any, **kw: Any):
        super().__init__(**kw)
        self.plan_item = item

    def collect(self) -> list[pytest.Item]:
        return [
            VsphereItem.from_parent(self, name=spec.name, contract=self.plan_item.contract, spec=spec)
            for spec in self.plan_item.checks
        ]


class HarnessCollector(pytest.Collector):
    def __init__(self, *, plan: Any, **kw: Any):
        super().__init__(**kw)
        self.plan = plan

    def collect(self) -> list[pytest.Collector]:
        return [OperationCollector.from_parent(self, name=i.id, item=i) for i in self.plan]

    def answers_item(self) -> AnswersItem:
        return AnswersItem.from_parent(self, name="every-answer")


_STATE = pytest.StashKey[_State]()


def configure(config: pytest.Config) -> None:
    """Start the harness's part of the session (``--vsphere-harness`` was given).  Under xdist,
    ``--dist load`` (the default of ``-n``) becomes ``loadscope``: the checks of one operation stay
    on one worker, in plan order, in one sandbox (a check may need what an earlier one did there)."""
    if config.getoption("dist", default="no") == "load":
        config.option.dist = "loadscope"
    try:
        config.stash[_STATE] = _State(_options(config))
    except RunError as exc:
        raise pytest.UsageError(f"vsphere-harness: {exc}") from None


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session: pytest.Session) -> None:
    """An xdist controller collects nothing: bad options are its usage error, before any worker
    starts (and fails the same way)."""
    config = session.config
    if _active(config) and distributing(config):
        try:
            make_plan(config.stash[_STATE].options)
        except RunError as exc:
            raise pytest.UsageError(f"vsphere-harness: {exc}") from None


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    if not _active(config):
        return

    state = config.stash[_STATE]
    try:
        plan = make_plan(state.options)
    except RunError as exc:
        raise pytest.UsageError(f"vsphere-harness: {exc}") from None
    root = HarnessCollector.from_parent(session, name="vsphere", nodeid="vsphere", plan=plan)
    added: list[pytest.Item] = [item for op in root.collect() for item in op.collect()]
    if worker_id(config) is None:  # an xdist worker judges the other answers at its end instead
        added.append(root.answers_item())
    items.extend(added)
    # count them in "collected N items" like file-collected tests
    config.hook.pytest_collectreport(report=pytest.CollectReport(root.nodeid, "passed", None, added))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Any:
    """A check that could not decide fails in the item's setup (an error): render it like a failure."""
    report = yield
    if call.excinfo is not None and isinstance(call.excinfo.value, CheckFailed) and call.when == "setup":
        report.longrepr = item.repr_failure(call.excinfo)
    return report


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    config = session.config
    if not _active(config):
        return
    worker = worker_id(config)
    if worker is None:
        config.stash[_STATE].close()
    else:  # read by xdist's own sessionfinish wrapper, which sends it to the controller
        config.workeroutput[WORKER_OUTPUT] = config.stash[_STATE].worker_payload(worker)  # type: ignore[attr-defined]


# --- the xdist controller ------------------------------------------------------------------------


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node: Any, error: Any) -> None:
    """A worker is done (or crashed): keep its payload; a worker without one lost its findings."""
    config: pytest.Config = node.config
    if not _active(config):
        return
    state: _State = config.stash[_STATE]
    name = str(node.gateway.id)
    payload = getattr(node, "workeroutput", {}).get(WORKER_OUTPUT)
    if payload is None:
        state.lost[name] = f"worker {name} ended without its results ({error or 'no output'})"
    else:
        state.workers[name] = payload


@pytest.hookimpl(wrapper=True)
def pytest_runtestloop(session: pytest.Session) -> Generator[None, object, object]:
    """On an xdist controller, once every worker is done: report ``vsphere::every-answer`` from the
    workers' findings and write the merged reports."""
    config = session.config
    try:
        return (yield)
    finally:
        if _active(config) and distributing(config):
            _finish_controller(session, config.stash[_STATE])


def _finish_controller(session: pytest.Session, state: _State) -> None:
    payloads = [state.workers[w] for w in sorted(state.workers)]
    problems = [p["error"] for p in payloads if p["error"]] + [state.lost[w] for w in sorted(state.lost)]
    texts = [t for p in payloads for t in p["unreported"]]
    results = [(p["worker"], RunResult.from_dict(json.loads(p["result"]))) for p in payloads if p["result"]]
    if state.options.report_dir and results:
        write_reports(merge_workers(results), state.options.report_dir)
    _log_every_answer(session, problems + texts)


def merge_workers(results: list[tuple[str, RunResult]]) -> RunResult:
    """One result from the workers' results (each ran part of the plan, like a shard: the worst
    verdict on a pair wins); options as the run was asked for.  ``stats``: ``duration_s`` and
    ``requests`` summed over the workers, ``slowest_worker_s``, ``xdist_workers`` (their ids)."""
    shard = results[0][1].options.get("shard")  # --vsphere-shard: every worker's, the same
    n = len(results)
    for i, (_, run) in enumerate(results, 1):
        run.options["shard"] = f"{i}/{n}"
    merged = merge_runs(results)
    merged.options.pop("merged_shards", None)
    if shard:
        merged.options["shard"] = shard
    if "slowest_shard_s" in merged.stats:
        merged.stats["slowest_worker_s"] = merged.stats.pop("slowest_shard_s")
    merged.stats["xdist_workers"] = [name for name, _ in results]
    return merged


def _log_every_answer(session: pytest.Session, failures: list[str]) -> None:
    """Report the controller's ``vsphere::every-answer`` as if an item had run (setup, call,
    teardown), counted among the collected items."""
    hook = session.config.hook
    location = (".", None, "every answer judged")
    session.testscollected += 1
    hook.pytest_runtest_logstart(nodeid=EVERY_ANSWER, location=location)
    for when in ("setup", "call", "teardown"):
        failed = when == "call" and bool(failures)
        report = pytest.TestReport(
            EVERY_ANSWER,
            location,
            {"vsphere_harness": 1},
            "failed" if failed else "passed",
            "\n\n".join(failures) if failed else None,
            when,  # type: ignore[arg-type]
        )
        hook.pytest_runtest_logreport(report=report)
    hook.pytest_runtest_logfinish(nodeid=EVERY_ANSWER, location=location)
