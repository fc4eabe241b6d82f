"""Both sides of a comparison: one plan and seed, two endpoints, run operation by operation.

Each side is a normal run (:class:`harness.run.Runner`: its own connection, sandbox, auditor and
verdicts) with a :class:`~.observe.Recorder` among its exchange observers.  The sides take turns
per operation (A's checks on an operation, then B's), so both endpoints are connected — and an
unreachable one refused — before anything runs.
"""

from __future__ import annotations

import contextlib
import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

from .. import __version__
from ..report.model import RunResult
from ..report.secrets import Scrubber
from ..report.writers import write_reports
from ..run import Plan, PlanItem, RunError, Runner, RunOptions, UsageError, make_plan
from ..run.execute import prepare_report_dir
from .accepted import AcceptedDifference, apply_accepted
from .diff import diff_profiles
from .model import SIDES, Comparison, OperationComparison, Profile
from .observe import Recorder
from .render import write_comparison

#: What both sides must share: together they make the seeded sequence of requests.
SHARED = ("release", "operations", "checks", "examples", "seed", "read_only", "inventory_sample")
CheckStartFn = Callable[[str, str, str], None]  # (side, operation id, check), before each check
ProgressFn = Callable[[int, int], None]  # (plan items done, total) over both sides


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def compare_endpoints(
    a: RunOptions,
    b: RunOptions,
    accepted: tuple[AcceptedDifference, ...] = (),
    report_dir: str | Path | None = None,
    force: bool = False,
    on_check: CheckStartFn | None = None,
    progress: ProgressFn | None = None,
) -> Comparison:
    """Run the same plan and seed against ``a`` and ``b``; compare per operation; write
    ``comparison.{json,md,html}`` (and each side's run reports under ``a/`` and ``b/``) when
    ``report_dir`` is set.  Raises :class:`~harness.run.RunError` (2 usage, 3 a side unreachable,
    the message naming the side) before anything runs."""
    sides = {"a": a, "b": b}
    differ = [name for name in SHARED if getattr(a, name) != getattr(b, name)]
    if differ:
        raise UsageError(f"both sides must share {', '.join(differ)} (the same seeded requests)")
    plans = {s: _side(s, make_plan, o) for s, o in sides.items()}
    if not any(plan.pairs for plan in plans.values()):
        raise UsageError("nothing to compare: no check applies to the chosen operations")
    directory = prepare_report_dir(RunOptions(report_dir=report_dir, force=force))
    recorders = {s: Recorder(o.release) for s, o in sides.items()}
    started = utc_now()
    interrupted = False
    with contextlib.ExitStack() as stack:
        runners = {
            s: _side(s, stack.enter_context, Runner(sides[s], observers=[recorders[s].observe]))
            for s in SIDES
        }
        try:
            steps = _interleaved(plans)
            for n, (side, item) in enumerate(steps, 1):
                runners[side].run_item(item, _on_check(side, on_check))
                if progress:
                    progress(n, len(steps))
        except KeyboardInterrupt:  # stop; both sandboxes are cleaned up and what was seen compared
            interrupted = True
    results = {s: r.result for s, r in runners.items()}
    assert results["a"] is not None and results["b"] is not None
    comparison = Comparison(
        __version__,
        started,
        utc_now(),
        {**{k: v for k, v in a.public().items() if k in SHARED}, "baseline_entries": len(accepted)},
        {s: _side_record(results[s], f"{s}/" if directory else None) for s in SIDES},  # type: ignore[arg-type]
        _operations(plans, recorders, results),  # type: ignore[arg-type]
        interrupted,
    )
    apply_accepted(accepted, comparison.operations)
    if directory is not None:
        secrets: set[str] = set()
        for s, runner in runners.items():
            assert runner.conn is not None and runner.result is not None
            write_reports(runner.result, directory / s, runner.conn.scrubber)
            secrets |= runner.conn.scrubber.secrets
        write_comparison(comparison, directory, Scrubber(secrets))
    return comparison


def _side(side: str, fn: Callable[..., Any], *args: Any) -> Any:
    """``fn(*args)``, a :class:`RunError` naming the side it came from."""
    try:
        return fn(*args)
    except RunError as exc:
        raise type(exc)(f"side {side.upper()}: {exc}") from None


def _interleaved(plans: dict[str, Plan]) -> list[tuple[str, PlanItem]]:
    """Operation by operation (A's plan order, then what only B plans): A's item, then B's."""
    by_id = {s: {item.id: item for item in plan} for s, plan in plans.items()}
    order = list(dict.fromkeys([*by_id["a"], *by_id["b"]]))
    return [(s, by_id[s][op]) for op in order for s in SIDES if op in by_id[s]]


def _on_check(side: str, on_check: CheckStartFn | None) -> Callable[[str, str], None] | None:
    if on_check is None:
        return None
    return lambda op_id, check: on_check(side, op_id, check)


def _side_record(result: RunResult, reports: str | None) -> dict[str, Any]:
    return {
        "endpoint": result.endpoint,
        "options": result.options,
        "summary": result.summary(),
        "gate": result.gate(),
        "stats": result.stats,
        "reports": reports,
    }


def _verdicts(result: RunResult) -> dict[str, dict[str, str]]:
    return {op.id: {c.check: c.status for c in op.checks} for op in result.operations}


def _operations(
    plans: dict[str, Plan], recorders: dict[str, Recorder], results: dict[str, RunResult]
) -> list[OperationComparison]:
    """Planned operations on every aspect; any other operation a run gave a verdict (the auditor's
    findings in answers outside the plan) on verdicts only: answers seen during set-up, polling or
    clean-up follow each endpoint's pace, not the seeded requests."""
    verdicts = {s: _verdicts(r) for s, r in results.items()}
    planned = list(dict.fromkeys(item.id for s in SIDES for item in plans[s]))
    others = [op for op in dict.fromkeys([*verdicts["a"], *verdicts["b"]]) if op not in planned]
    ops = []
    for op_id in [*planned, *others]:
        is_planned = op_id in planned
        pa, pb = (
            Profile.of(recorders[s].seen.get(op_id) if is_planned else None, verdicts[s].get(op_id, {}))
            for s in SIDES
        )
        ops.append(OperationComparison(op_id, is_planned, pa, pb, diff_profiles(pa, pb)))
    return ops
