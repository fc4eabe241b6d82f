"""The test items of ``pytest --vsphere-harness`` (registered by :mod:`harness.pytest_plugin` only
when the option is given): one per operation x check, and a last one judging every other answer."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

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
        baseline=o("--vsphere-baseline"),
        report_dir=o("--vsphere-report-dir"),
        force=True,
        inventory_sample=o("--vsphere-inventory-sample"),
        max_body=o("--vsphere-max-body"),
        shard=parse_shard(o("--vsphere-shard")) if o("--vsphere-shard") else None,
        allow_errors=o("--vsphere-allow-errors"),
    )


class _State:
    """The session's run: started on the first item, closed at the end of the session."""

    def __init__(self, options: Any):
        self.options = options
        self.runner: Any = None
        self.closed: Any = None  # the runner, once closed
        self.error: str | None = None

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

    def close(self) -> None:
        if self.runner is None:
            return
        runner, self.runner = self.runner, None
        self.closed = runner
        runner.__exit__(None, None, None)
        if self.options.report_dir:
            write_reports(runner.result, self.options.report_dir, runner.conn.scrubber)


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
    kind = "contract violation" if result.status == "failed" else "error (the harness could not decide)"
    text = f"{name}: {kind}\n{failure_text(result)}"
    state: _State = config.stash[_STATE]
    runner = state.runner or state.closed
    return runner.conn.scrubber(text) if runner is not None else text


class AnswersItem(pytest.Item):
    """The last item: closes the run (sandbox clean-up, reports) and fails when the run's auditor
    found violations no other item reported: answers of operations outside the collected items, or
    found after that operation's item had passed (set-up, clean-up, other checks' requests)."""

    def __init__(self, *, pairs: set[tuple[str, str]], **kw: Any):
        super().__init__(**kw)
        self.pairs = pairs
        self.add_marker(pytest.mark.vsphere_harness)

    def runtest(self) -> None:
        state: _State = self.config.stash[_STATE]
        runner = state.runner_or_fail()
        state.close()
        late = {(op, c.check) for op, c in runner.late}
        unreported = [
            (op, c)
            for op, c in runner.result.gate_failures()
            if (op, c.check) not in self.pairs or (op, c.check) in late
        ]
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
        pairs = {(i.id, spec.name) for i in self.plan for spec in i.checks}
        return AnswersItem.from_parent(self, name="every-answer", pairs=pairs)


_STATE = pytest.StashKey[_State]()


def configure(config: pytest.Config) -> None:
    """Start the harness's part of the session (``--vsphere-harness`` was given)."""
    try:
        config.stash[_STATE] = _State(_options(config))
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
    added = [item for op in root.collect() for item in op.collect()] + [root.answers_item()]
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
    if _active(session.config):
        session.config.stash[_STATE].close()
