"""``vsphere-harness scenarios list|run``: the chaos scenarios on their own, without the checks."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import click
from rich.console import Console

from ..chaos.scenario import Scenario, ScenarioError, load_scenarios
from ..run import RunError, RunOptions, run_contracts
from ..run.plan import Plan
from .common import (
    HarnessUsageError,
    allow_errors_option,
    endpoint_options,
    force_option,
    max_body_option,
    quiet_option,
    report_dir_option,
    seed_option,
    timeout_option,
)
from .group import main
from .run import SCENARIO_DIR, OneLineErrors, Progressbar, default_report_dir, finish_run

scenario_dir_option = click.option(
    "--scenario",
    "paths",
    multiple=True,
    type=click.Path(path_type=Path),
    metavar="PATH",
    help="Scenario file or directory (repeatable) [default: the repository's scenarios/].",
)


@main.group("scenarios")
def scenarios_group() -> None:
    """Chaos scenarios: list them, run some (the same endpoint options as `run`)."""


def _load(paths: tuple[Path, ...]) -> list[Scenario]:
    for path in paths:
        if not path.exists():
            raise HarnessUsageError(f"scenario path {path} does not exist")
    try:
        return load_scenarios(list(paths or (SCENARIO_DIR,)))
    except ScenarioError as exc:
        raise HarnessUsageError(str(exc)) from None


@scenarios_group.command("list", cls=OneLineErrors)
@scenario_dir_option
def list_cmd(paths: tuple[Path, ...]) -> None:
    """Every scenario: its name, the layers it injects faults on, what it shows."""
    scenarios = _load(paths)
    width = max((len(s.name) for s in scenarios), default=0)
    for s in scenarios:
        layers = ",".join(sorted(s.layers)) or "-"
        about = " ".join(s.description.split())
        click.echo(f"{s.name:<{width}}  [{layers}]  {about}")


@scenarios_group.command("run", cls=OneLineErrors)
@click.argument("names", nargs=-1)
@scenario_dir_option
@endpoint_options
@seed_option
@report_dir_option
@force_option
@timeout_option
@max_body_option
@allow_errors_option
@quiet_option
def run_cmd(
    names: tuple[str, ...],
    paths: tuple[Path, ...],
    target: dict[str, Any],
    seed: int,
    report_dir: Path | None,
    force: bool,
    timeout: float,
    max_body: int,
    allow_errors: bool,
    quiet: bool,
) -> None:
    """Run the scenarios NAMES (every one when none is named) and write the reports.

    Exit codes as `run`: 0 every scenario passed; 1 a hypothesis broke; 2 usage error (an unknown
    name); 3 endpoint unreachable; 4 a scenario could not decide; 130 interrupted.
    """
    known = {s.name: s for s in _load(paths)}
    unknown = [n for n in names if n not in known]
    if unknown:
        raise HarnessUsageError(f"unknown scenario(s) {', '.join(unknown)}; known: {', '.join(known)}")
    chosen = [known[n] for n in dict.fromkeys(names)] or list(known.values())
    if not chosen:
        where = ", ".join(map(str, paths or (SCENARIO_DIR,)))
        raise HarnessUsageError(f"no scenario to run: no *.yaml in {where}")
    options = RunOptions(
        **target,
        seed=seed,
        timeout=timeout,
        max_body=max_body,
        allow_errors=allow_errors,
        report_dir=report_dir or default_report_dir(),
        force=force,
        inventory_sample=0,
        scenarios=tuple(s.source for s in chosen),
    )
    try:
        with Progressbar(Console(stderr=True), len(chosen), quiet, label="scenarios") as bar:
            started = iter(range(len(chosen)))
            result = run_contracts(
                options,
                plan=Plan(target["release"], ()),
                on_scenario=(lambda name: bar.at(next(started), f"chaos scenario {name}")) if bar else None,
            )
    except RunError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    finish_run(result, Path(options.report_dir))  # type: ignore[arg-type]
