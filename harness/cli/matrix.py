"""``vsphere-harness report matrix R1 R2 …``: a release (or endpoint) x operation matrix."""

from __future__ import annotations

from pathlib import Path

import click

from ..report.matrix import build_matrix, render_matrix_html, render_matrix_markdown
from ..report.secrets import Scrubber
from ..report.writers import ResultsInvalid, load_results
from .common import HarnessUsageError
from .run import OneLineErrors, report


@report.command("matrix", cls=OneLineErrors)
@click.argument("results", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option(
    "--by",
    type=click.Choice(["auto", "release", "endpoint"]),
    default="auto",
    show_default=True,
    help="Column labels: release, endpoint (and release); auto: release when every run has its own.",
)
@click.option(
    "--output",
    "-o",
    type=click.Path(path_type=Path),
    default=None,
    help="Write the matrix to this file: HTML, or Markdown for a .md name [default: Markdown on stdout].",
)
def matrix_cmd(results: tuple[Path, ...], by: str, output: Path | None) -> None:
    """One column per RESULTS (results.json files), one row per operation: each operation's status."""
    runs = []
    for path in results:
        try:
            runs.append(load_results(path))
        except ResultsInvalid as exc:
            raise HarnessUsageError(str(exc)) from None
    names = [str(p.parent.name if p.name == "results.json" else p.name) for p in results]
    m = build_matrix(runs, names, by)  # type: ignore[arg-type]
    scrub = Scrubber()
    if output is None:
        click.echo(scrub(render_matrix_markdown(m)), nl=False)
        return
    text = render_matrix_markdown(m) if output.suffix.lower() == ".md" else render_matrix_html(m)
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(scrub(text), encoding="utf-8")
    click.echo(f"{output}: {len(m.rows)} operations x {len(m.columns)} runs")
