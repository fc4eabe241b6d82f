"""The library's entry point: a whole run, in this process or over worker processes."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from ..checks.base import CheckSpec
from ..client import Exchange
from ..report.model import RunResult
from ..report.writers import write_reports
from .execute import (
    CheckStartFn,
    ProgressFn,
    SandboxFactory,
    ScenarioProgressFn,
    execute_plan,
    prepare_report_dir,
)
from .options import RunOptions, UsageError
from .parallel import run_parallel
from .plan import Plan


def run_contracts(
    options: RunOptions,
    registry: dict[str, CheckSpec] | None = None,
    progress: ProgressFn | None = None,
    plan: Plan | None = None,
    sandbox_factory: SandboxFactory | None = None,
    on_check: CheckStartFn | None = None,
    on_scenario: ScenarioProgressFn | None = None,
    observers: Sequence[Callable[[Exchange], None]] = (),
) -> RunResult:
    """Plan and run; write the reports when ``options.report_dir`` is set.  ``options.jobs`` > 1
    spreads the plan over that many worker processes (:mod:`harness.run.parallel`; the plan is then
    the options', no custom registry, plan, sandbox or observers).  Raises :class:`RunError` (exit 2
    for usage, 3 for an unreachable endpoint) before anything runs."""
    if options.jobs > 1:
        if registry is not None or plan is not None or sandbox_factory is not None or observers:
            raise UsageError("a run over several jobs takes its plan from the options alone")
        return run_parallel(options, progress, on_check, on_scenario)
    report_dir = prepare_report_dir(options)
    result, scrubber = execute_plan(
        options, registry, progress, plan, sandbox_factory, on_check, on_scenario, observers
    )
    if report_dir is not None:
        write_reports(result, report_dir, scrubber)
    return result
