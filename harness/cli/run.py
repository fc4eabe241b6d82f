"""``vsphere-harness run`` (the contract run) and ``vsphere-harness report ...`` (diff, render, baseline,
merge)."""

from __future__ import annotations

import datetime as dt
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import yaml
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..report.diff import diff_runs
from ..report.merge import MergeError, merge_runs
from ..report.model import RunResult
from ..report.writers import ResultsInvalid, load_results, protocol_name, write_reports
from ..run import RunError, RunOptions, UsageError, exit_code, make_plan, run_contracts
from ..run.baseline import Baseline
from ..run.options import Shard, parse_shard, shard_scenarios
from ..run.parallel import MAX_JOBS, auto_jobs
from .common import (
    EXIT_OK,
    EXIT_VIOLATIONS,
    HarnessUsageError,
    allow_errors_option,
    checks_option,
    endpoint_options,
    examples_option,
    force_option,
    max_body_option,
    quiet_option,
    read_only_option,
    report_dir_option,
    seed_option,
    timeout_option,
)
from .group import main


class OneLineErrors(click.Command):
    """Bad options are one line (``error: ...``) and exit 2, never the usage text."""

    def parse_args(self, ctx: click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, args)
        except click.UsageError as exc:
            raise HarnessUsageError(exc.format_message()) from None


def _shard_option(ctx: click.Context, param: click.Parameter, value: str | None) -> Shard | None:
    """``--shard I/N`` as ``(I, N)``; a bad value is a one-line usage error."""
    if value is None:
        return None
    try:
        return parse_shard(value)
    except UsageError as exc:
        raise click.BadParameter(str(exc)) from None


def _jobs_option(ctx: click.Context, param: click.Parameter, value: str) -> int | None:
    """``--jobs N`` as N, ``auto`` as None (decided once the plan is known)."""
    if value == "auto":
        return None
    if not value.isdigit() or not 1 <= int(value) <= MAX_JOBS:
        raise click.BadParameter(f"must be 'auto' or a whole number from 1 to {MAX_JOBS}, not {value!r}")
    return int(value)


def default_report_dir() -> Path:
    """``reports/<UTC timestamp>/`` (a suffix when that exists already)."""
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    path, n = Path("reports") / stamp, 1
    while path.exists() and any(path.iterdir()):
        n += 1
        path = Path("reports") / f"{stamp}-{n}"
    return path


@main.command("run", cls=OneLineErrors)
@endpoint_options
@click.option(
    "--operations",
    "-o",
    multiple=True,
    metavar="GLOB",
    help="Only operations whose id matches (repeatable), e.g. 'VirtualMachine_Power*'.",
)
@checks_option
@examples_option
@seed_option
@report_dir_option
@force_option
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    default=None,
    help="YAML/JSON list of accepted deviations {id, check[, message]}.",
)
@read_only_option
@timeout_option
@click.option(
    "--reconnect-wait",
    type=click.FloatRange(min=0),
    default=60.0,
    show_default=True,
    metavar="SECONDS",
    help="When the endpoint stops answering mid-run (a restart), wait this long for it to come back "
    "before the next check (0: never wait); each wait is in the report's stats.",
)
@max_body_option
@click.option(
    "--inventory-sample",
    type=click.IntRange(min=0),
    default=20,
    show_default=True,
    metavar="N",
    help="Also judge read-only operations on N existing VMs and templates, sampled across power "
    "states, templates, snapshots, devices and FT roles (never changed; 0: off).",
)
@click.option(
    "--scenario",
    "scenarios",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="Chaos scenario file or directory, run after the checks (repeatable) "
    "[default: the repository's scenarios/ unless --read-only].",
)
@click.option("--no-scenarios", is_flag=True, help="Run no chaos scenario.")
@click.option(
    "--shard",
    metavar="I/N",
    callback=_shard_option,
    help="Run only the I-th of N deterministic parts of the operation x check pairs (scenarios: in "
    "shard 1 only); merge the results with `vsphere-harness report merge`.",
)
@click.option(
    "--jobs",
    default="auto",
    show_default=True,
    callback=_jobs_option,
    metavar="N|auto",
    help="Worker processes the run is spread over (each runs a shard of the plan with a sandbox, and "
    "for the built-in simulator a simulator, of its own; one merged result). auto: two per CPU (at "
    "most 4) for a full run on the built-in simulator, else 1.",
)
@allow_errors_option
@click.option(
    "--fail-on-error",
    is_flag=True,
    hidden=True,
    help="The default now (exit 4 on error); kept for old scripts.",
)
@quiet_option
def run_cmd(
    target: dict[str, Any],
    operations: tuple[str, ...],
    checks: tuple[str, ...],
    examples: int,
    seed: int,
    report_dir: Path | None,
    force: bool,
    baseline: Path | None,
    read_only: bool,
    timeout: float,
    reconnect_wait: float,
    max_body: int,
    inventory_sample: int,
    scenarios: tuple[Path, ...],
    no_scenarios: bool,
    shard: Shard | None,
    jobs: int | None,
    allow_errors: bool,
    fail_on_error: bool,
    quiet: bool,
) -> None:
    """Run every check on every operation and write the reports.

    Exit codes: 0 every check passed (failures only as the baseline accepts); 1 contract
    violations; 2 usage or configuration error; 3 endpoint unreachable or login refused; 4 no
    violation, but some check could not decide (the gate fails closed; --allow-errors: 0); 130
    interrupted (Ctrl-C: the sandbox is cleaned up and the partial reports written).
    """

    options = RunOptions(
        **target,
        operations=operations,
        checks=checks,
        examples=examples,
        seed=seed,
        read_only=read_only,
        timeout=timeout,
        reconnect_wait=reconnect_wait,
        max_body=max_body,
        allow_errors=allow_errors,
        baseline=baseline,
        report_dir=report_dir or default_report_dir(),
        force=force,
        inventory_sample=inventory_sample,
        scenarios=shard_scenarios(shard, _scenarios(scenarios, no_scenarios, read_only)),
        shard=shard,
    )
    err = Console(stderr=True)
    try:
        plan = make_plan(options)
        if not plan.pairs and not (shard and make_plan(replace(options, shard=None)).pairs):
            raise HarnessUsageError("nothing to run: no check applies to the chosen operations")
        options = replace(options, jobs=auto_jobs(options, plan.pairs) if jobs is None else jobs)
        with Progressbar(err, len(plan), quiet) as bar:
            result = run_contracts(
                options,
                plan=plan if options.jobs == 1 else None,  # workers plan their own shards
                progress=bar.advance if bar else None,
                on_check=bar.starting if bar else None,
                on_scenario=bar.scenario if bar else None,
            )
    except RunError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    finish_run(result, Path(options.report_dir))  # type: ignore[arg-type]


def finish_run(result: RunResult, report_dir: Path) -> None:
    """Print the summary of a finished run and exit with the gate's exit code."""
    _print_summary(result, report_dir)
    if result.stats.get("interrupted"):
        click.echo("interrupted: the results are partial (the sandbox was cleaned up)", err=True)
    if result.gate()["verdict"] == "undecided":
        scenarios = sum(sc.status == "error" for sc in result.scenarios)
        click.echo(
            f"undecided: {len(result.errors())} check(s) and {scenarios} scenario(s) could not decide; "
            "the gate fails closed (exit 4; --allow-errors to pass it)",
            err=True,
        )
    sys.exit(exit_code(result))


#: The repository's chaos scenarios (the default of ``run`` and ``scenarios``).
SCENARIO_DIR = Path(__file__).resolve().parents[2] / "scenarios"


def _scenarios(given: tuple[Path, ...], none: bool, read_only: bool) -> tuple[Path, ...]:
    """The scenarios to run: those given, else the repository's scenarios/ (not in read-only runs)."""
    if none:
        return ()
    if given:
        return given
    return () if read_only or not any(SCENARIO_DIR.glob("*.yaml")) else (SCENARIO_DIR,)


class Progressbar:
    """A rich progress bar of operations (or scenarios) done; nothing when quiet."""

    def __init__(self, console, total: int, quiet: bool, label: str = "operations"):
        self.bar = (
            None
            if quiet
            else Progress(
                TextColumn(f"[bold]{label}"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=console,
                transient=True,
            )
        )
        self.total = total

    def __enter__(self) -> Progressbar | None:
        if self.bar is None:
            return None
        self.bar.start()
        self.task = self.bar.add_task("", total=self.total)
        return self

    def starting(self, op_id: str, check: str) -> None:
        self.bar.update(self.task, description=f"{op_id}::{check}")

    def scenario(self, name: str) -> None:
        self.bar.update(self.task, description=f"chaos scenario {name}")

    def advance(self, op, done: int, total: int) -> None:
        self.bar.update(self.task, completed=done)

    def at(self, done: int, description: str) -> None:
        self.bar.update(self.task, completed=done, description=description)

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _print_summary(result: RunResult, report_dir: Path) -> None:
    s = result.summary()
    ep = result.endpoint
    where = (
        "built-in simulator" if ep.get("simulated") and result.options.get("builtin_simulator") else ep["url"]
    )
    if not result.operations and result.scenarios:  # `scenarios run`
        outcomes = [sc.status for sc in result.scenarios]
        click.echo(
            f"{len(outcomes)} scenarios against {where} (release {ep['release']} over {protocol_name(ep)}): "
            f"{outcomes.count('passed')} passed, {outcomes.count('failed')} failed, "
            f"{outcomes.count('error')} error, {outcomes.count('skipped')} skipped in "
            f"{result.stats.get('duration_s', 0)} s, {result.stats.get('requests', 0)} requests"
        )
    else:
        click.echo(
            f"{s['operations']} operations, {s['checks']} checks against {where} "
            f"(release {ep['release']} over {protocol_name(ep)}): "
            f"{s['passed']} passed, {s['failed']} failed ({s['accepted']} accepted), {s['error']} error, "
            f"{s['skipped']} skipped in {result.stats.get('duration_s', 0)} s, "
            f"{result.stats.get('requests', 0)} requests"
        )
    per_check = result.by_check()
    if per_check:
        click.echo(f"  {'check':<14}{'passed':>8}{'failed':>8}{'error':>8}{'skipped':>8}")
        for name, n in per_check.items():
            click.echo(f"  {name:<14}{n['passed']:>8}{n['failed']:>8}{n['error']:>8}{n['skipped']:>8}")
    gate = result.gate_failures()
    for op_id, c in gate[:25]:
        click.echo(f"  FAILED {op_id}::{c.check}: {(c.message.splitlines() or [''])[0][:200]}")
    if len(gate) > 25:
        click.echo(f"  ... and {len(gate) - 25} more failures (see summary.md)")
    errors = result.errors()
    for op_id, c in errors[:10]:
        click.echo(f"  ERROR  {op_id}::{c.check}: {(c.message.splitlines() or [''])[0][:200]}")
    if len(errors) > 10:
        click.echo(f"  ... and {len(errors) - 10} more errors")
    for sc in result.scenarios:
        click.echo(
            f"  scenario {sc.name}: {sc.status.upper() if sc.status == 'failed' else sc.status}"
            f" - {(sc.message.splitlines() or [''])[0][:200]}"
        )
    for x in result.leftovers:
        click.echo(f"  not cleaned up: {x}")
    click.echo(f"reports: {report_dir}/ (results.json, junit.xml, summary.md, report.html)")


# --- vsphere-harness report ... ----------------------------------------------------------------------
@main.group()
def report() -> None:
    """Work with results.json files: diff two runs, render reports, make a baseline, merge shards."""


def _load(path: Path) -> RunResult:
    try:
        return load_results(path)
    except ResultsInvalid as exc:
        raise HarnessUsageError(str(exc)) from None


@report.command("diff", cls=OneLineErrors)
@click.argument("before", type=click.Path(path_type=Path))
@click.argument("after", type=click.Path(path_type=Path))
def diff_cmd(before: Path, after: Path) -> None:
    """What changed from BEFORE to AFTER (results.json files); exit 1 when there are new failures."""

    d = diff_runs(_load(before), _load(after))
    click.echo(d.render(), nl=False)
    sys.exit(EXIT_VIOLATIONS if d.new_failures else EXIT_OK)


@report.command("render", cls=OneLineErrors)
@click.argument("results", type=click.Path(path_type=Path))
@click.option(
    "--report-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write [default: next to RESULTS].",
)
def render_cmd(results: Path, report_dir: Path | None) -> None:
    """Write junit.xml, summary.md and report.html again from a results.json."""

    run = _load(results)
    paths = write_reports(run, report_dir or results.parent, files=("junit.xml", "summary.md", "report.html"))
    click.echo("\n".join(str(p) for p in paths))


@report.command("baseline", cls=OneLineErrors)
@click.argument("results", type=click.Path(path_type=Path))
def baseline_cmd(results: Path) -> None:
    """Print a baseline (YAML) accepting every failure of RESULTS, to start from."""
    click.echo(yaml.safe_dump(Baseline.from_run(_load(results)).to_list(), sort_keys=False), nl=False)


@report.command("merge", cls=OneLineErrors)
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--report-dir",
    "-o",
    type=click.Path(path_type=Path),
    required=True,
    metavar="DIR",
    help="Where to write the merged reports.",
)
@click.option("--force", is_flag=True, help="Write into a non-empty DIR.")
def merge_cmd(results: tuple[Path, ...], report_dir: Path, force: bool) -> None:
    """Merge the results.json of the shards of one run (`run --shard I/N`, every shard once) and
    write every report from the merged result.

    Exit codes: the merged gate's (0 passed, 1 failed, 4 undecided, 130 a shard was interrupted),
    so CI can gate on the merge; 2 the inputs are not the shards of one run, or DIR is not empty.
    """
    if report_dir.exists() and not report_dir.is_dir():
        raise HarnessUsageError(f"report directory {report_dir} exists and is not a directory")
    if report_dir.is_dir() and any(report_dir.iterdir()) and not force:
        raise HarnessUsageError(f"report directory {report_dir} is not empty (use --force to overwrite)")
    try:
        merged = merge_runs([(str(path), _load(path)) for path in results])
    except MergeError as exc:
        raise HarnessUsageError(str(exc)) from None
    write_reports(merged, report_dir)
    _print_summary(merged, report_dir)
    sys.exit(exit_code(merged))
