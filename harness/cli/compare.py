"""``vsphere-harness compare``: the same seeded requests against two endpoints, compared per operation.

Each side is built like ``run``'s options: what makes the sequence of requests is shared
(``--release``, ``--operations``, ``--checks``, ``--examples``, ``--seed``, ``--read-only``,
``--inventory-sample``), how to reach an endpoint is per side (:data:`SIDE_OPTIONS`: ``--a-X`` /
``--b-X``, and for some a shared ``--X`` both sides default to): VI/JSON against SOAP is
``--b-protocol soap``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from ..compare import Comparison, compare_endpoints, load_accepted
from ..run import RunError, RunOptions
from ..run.options import PROTOCOLS
from ..vmodl.registry import DEFAULT_RELEASE, RELEASES
from .common import (
    HarnessUsageError,
    checks_option,
    examples_option,
    force_option,
    quiet_option,
    read_only_option,
)
from .group import main
from .run import OneLineErrors, default_report_dir

#: A positional A or B naming the built-in simulator rather than a URL.
BUILTIN = ("builtin", "sim")
MIB = 1024 * 1024


@dataclass(frozen=True)
class SideOption:
    """A ``RunOptions`` field each side sets on its own (``--a-<name>``, ``--b-<name>``)."""

    field: str
    help: str
    type: Any = str
    flag: bool = False
    shared_default: Any = None  # with ``shared``: the shared option's default
    shared: bool = False  # also a shared ``--<name>`` both sides default to
    secret: bool = False
    env: bool = False  # per side from VSPHERE_A_<NAME> / VSPHERE_B_<NAME>
    metavar: str | None = None

    @property
    def dashed(self) -> str:
        return self.field.replace("_", "-")


SIDE_OPTIONS: tuple[SideOption, ...] = (
    SideOption("endpoint", "scheme://host[:port]; default: the built-in simulator.", metavar="URL"),
    SideOption("user", "Administrator user name.", env=True),
    SideOption("password", "Administrator password.", secret=True, env=True),
    SideOption("limited_user", "A user without privileges on the sandbox (privileges check).", env=True),
    SideOption("limited_password", "The limited user's password.", secret=True, env=True),
    SideOption("insecure", "Do not verify the TLS certificate.", flag=True, shared=True),
    SideOption(
        "timeout",
        "Seconds per task and per HTTP exchange.",
        click.FloatRange(min=0, min_open=True),
        shared=True,
        shared_default=30.0,
    ),
    SideOption(
        "max_body",
        "Largest answer body read (bytes).",
        click.IntRange(min=1),
        shared=True,
        shared_default=64 * MIB,
    ),
    SideOption(
        "protocol",
        "Protocol: json, soap, or auto (VI/JSON, else SOAP).",
        click.Choice(PROTOCOLS),
        shared=True,
    ),
)


def _side_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Add ``--a-X``/``--b-X`` (and the shared ``--X``) for every row of :data:`SIDE_OPTIONS`."""
    for opt in reversed(SIDE_OPTIONS):
        for side in ("b", "a"):
            env = f"VSPHERE_{side.upper()}_{opt.field.upper()}" if opt.env else None
            fn = click.option(
                f"--{side}-{opt.dashed}",
                f"{side}_{opt.field}",
                is_flag=opt.flag,
                type=None if opt.flag else opt.type,
                default=False if opt.flag else None,
                envvar=env,
                show_envvar=bool(env),
                metavar=opt.metavar,
                help=f"Side {side.upper()}: {opt.help[0].lower()}{opt.help[1:]}",
            )(fn)
        if opt.shared:
            fn = click.option(
                f"--{opt.dashed}",
                opt.field,
                is_flag=opt.flag,
                type=None if opt.flag else opt.type,
                default=False if opt.flag else opt.shared_default,
                show_default=opt.shared_default is not None,
                help=f"Both sides (unless --a-{opt.dashed}/--b-{opt.dashed}): {opt.help[0].lower()}{opt.help[1:]}",
            )(fn)
    return fn


def side_values(kw: dict[str, Any], side: str) -> dict[str, Any]:
    """The per-side ``RunOptions`` fields of ``side`` from the parsed options (the side's own value,
    else the shared one; a flag is set when either is)."""
    out: dict[str, Any] = {}
    for opt in SIDE_OPTIONS:
        value = kw.get(f"{side}_{opt.field}")
        if opt.flag:
            value = bool(value) or bool(kw.get(opt.field))
        elif value is None and opt.shared:
            value = kw.get(opt.field)
        if value is not None:
            out[opt.field] = value
    return out


def _endpoint(positional: str | None, option: str | None, side: str) -> str | None:
    if positional and option:
        raise HarnessUsageError(
            f"side {side.upper()}: give the endpoint as argument {side.upper()} or --{side}-endpoint, not both"
        )
    value = positional or option
    return None if value in BUILTIN else value


@main.command("compare", cls=OneLineErrors)
@click.argument("a_arg", metavar="[A]", required=False)
@click.argument("b_arg", metavar="[B]", required=False)
@_side_options
@click.option("--release", "-r", default=DEFAULT_RELEASE, show_default=True, type=click.Choice(RELEASES))
@click.option(
    "--operations", "-o", multiple=True, metavar="GLOB", help="Only operations whose id matches (repeatable)."
)
@checks_option
@examples_option
@click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="The one seed of both sides."
)
@read_only_option
@click.option(
    "--inventory-sample",
    type=click.IntRange(min=0),
    default=0,
    show_default=True,
    metavar="N",
    help="Also judge read-only operations on N existing VMs (they differ between endpoints: off by default).",
)
@click.option(
    "--baseline",
    type=click.Path(path_type=Path),
    default=None,
    help="YAML/JSON list of accepted differences {id, aspect, match, reason}.",
)
@click.option(
    "--report-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write [default: reports/<UTC timestamp>/].",
)
@force_option
@quiet_option
def compare_cmd(a_arg: str | None, b_arg: str | None, **kw: Any) -> None:
    """Run the same seeded requests against A and B and compare them per operation: answers (HTTP
    status, fault type), shape of 2xx bodies, task outcomes, and each check's verdict.

    A and B are endpoint URLs (or --a-endpoint/--b-endpoint); a side without one, or given as
    'builtin', is the built-in simulator.  Writes comparison.json, comparison.md and
    comparison.html, and each side's run reports under a/ and b/.

    Exit codes: 0 no difference beyond the baseline; 1 differences; 2 usage or configuration error;
    3 a side unreachable or its login refused; 130 interrupted.
    """
    shared = {
        "release": kw["release"],
        "operations": kw["operations"],
        "checks": kw["checks"],
        "examples": kw["examples"],
        "seed": kw["seed"],
        "read_only": kw["read_only"],
        "inventory_sample": kw["inventory_sample"],
    }
    sides = {}
    for side, positional in (("a", a_arg), ("b", b_arg)):
        values = side_values(kw, side)
        values["endpoint"] = _endpoint(positional, values.get("endpoint"), side)
        sides[side] = RunOptions(**shared, **values)
    report_dir = kw["report_dir"] or default_report_dir()
    err = Console(stderr=True)
    try:
        accepted = load_accepted(kw["baseline"]) if kw["baseline"] else ()
        with _Bar(err, kw["quiet"]) as bar:
            comparison = compare_endpoints(
                sides["a"],
                sides["b"],
                accepted,
                report_dir=report_dir,
                force=kw["force"],
                on_check=bar.starting if bar else None,
                progress=bar.advance if bar else None,
            )
    except RunError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(exc.exit_code)
    _print_summary(comparison, report_dir)
    sys.exit(comparison.exit_code())


class _Bar:
    """A rich progress bar over both sides' plan items (nothing when quiet)."""

    def __init__(self, console: Console, quiet: bool):
        self.bar = (
            None
            if quiet
            else Progress(
                TextColumn("[bold]compare"),
                BarColumn(),
                MofNCompleteColumn(),
                TimeElapsedColumn(),
                TextColumn("{task.description}"),
                console=console,
                transient=True,
            )
        )

    def __enter__(self) -> _Bar | None:
        if self.bar is None:
            return None
        self.bar.start()
        self.task = self.bar.add_task("", total=None)
        return self

    def starting(self, side: str, op_id: str, check: str) -> None:
        self.bar.update(self.task, description=f"{side.upper()} {op_id}::{check}")  # type: ignore[union-attr]

    def advance(self, done: int, total: int) -> None:
        self.bar.update(self.task, completed=done, total=total)  # type: ignore[union-attr]

    def __exit__(self, *exc: object) -> None:
        if self.bar is not None:
            self.bar.stop()


def _print_summary(c: Comparison, report_dir: Path) -> None:
    s = c.summary()
    click.echo(
        f"{s['operations']} operations compared, A {_where(c, 'a')} vs B {_where(c, 'b')}: "
        f"{s['same']} same, {s['different']} different, {s['accepted']} accepted "
        f"({s['differences']} differences, {s['accepted_differences']} accepted)"
    )
    for side, rec in c.sides.items():
        n = rec["summary"]
        click.echo(
            f"  {side.upper()}: {n['passed']} passed, {n['failed']} failed, {n['error']} error, "
            f"{n['skipped']} skipped in {rec['stats'].get('duration_s', 0)} s"
        )
    rows = c.differences(accepted=False)
    for op_id, d in rows[:25]:
        click.echo(f"  DIFF {op_id} {d.aspect} {d.key[:150]}: A {d.a or '-'}, B {d.b or '-'}")
    if len(rows) > 25:
        click.echo(f"  ... and {len(rows) - 25} more differences (see comparison.md)")
    if c.interrupted:
        click.echo("interrupted: the comparison is partial (both sandboxes were cleaned up)", err=True)
    click.echo(f"reports: {report_dir}/ (comparison.json, comparison.md, comparison.html; a/, b/)")


def _where(c: Comparison, side: str) -> str:
    rec = c.sides[side]
    return (
        "built-in simulator" if rec["options"].get("builtin_simulator") else str(rec["endpoint"].get("url"))
    )
