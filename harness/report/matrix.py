"""A release x operation (or endpoint x operation) matrix from several ``results.json``.

One column per run, one row per operation any run judged; a cell is the operation's status in that
run (its worst check, ``accepted`` when every failure there is one the baseline accepts, ``absent``
when the run did not judge it) and the checks that failed or could not decide. Rendered as a
self-contained HTML page (``vsphere-harness report matrix R1 R2 … -o matrix.html``) or Markdown.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import jinja2

from .model import RunResult
from .pages import environment

By = Literal["auto", "release", "endpoint"]
#: Worst first, as in the HTML report (``accepted`` between ``error`` and ``passed``).
CELL_SEVERITY = {"failed": 4, "error": 3, "accepted": 2, "passed": 1, "skipped": 0}
ABSENT = "absent"


@dataclass
class Cell:
    """One operation in one run."""

    status: str  # failed, error, accepted, passed, skipped, or absent
    problems: list[str] = field(default_factory=list)  # "check: first line of the message"
    checks: int = 0


@dataclass
class Matrix:
    """Columns (one per run, labelled), rows (operation ids) and their cells."""

    by: str
    columns: list[str]
    rows: list[str]
    cells: dict[tuple[str, int], Cell]
    runs: list[RunResult]

    def cell(self, op: str, column: int) -> Cell:
        return self.cells.get((op, column), Cell(ABSENT))

    def differs(self, op: str) -> bool:
        """Whether the columns disagree on this operation."""
        return len({self.cell(op, i).status for i in range(len(self.columns))}) > 1

    def totals(self, column: int) -> dict[str, int]:
        """Operations per status in one column."""
        out = dict.fromkeys((*CELL_SEVERITY, ABSENT), 0)
        for op in self.rows:
            out[self.cell(op, column).status] += 1
        return out


def _label(run: RunResult, by: str) -> str:
    ep = run.endpoint
    if by == "release":
        return str(ep.get("release", "?"))
    name = "built-in simulator" if ep.get("simulated") else str(ep.get("url", "?"))
    return f"{name} ({ep.get('release', '?')})"


def _unique(labels: list[str], names: list[str]) -> list[str]:
    """Labels made unique with the run's file name where two are equal."""
    return [
        f"{label} [{name}]" if labels.count(label) > 1 else label
        for label, name in zip(labels, names, strict=True)
    ]


def build_matrix(runs: list[RunResult], names: list[str] | None = None, by: By = "auto") -> Matrix:
    """The matrix of ``runs`` (``names``: where each came from, to tell equal labels apart).

    ``by="auto"`` labels columns by release when the runs' releases differ, else by endpoint."""
    names = names or [f"#{i + 1}" for i in range(len(runs))]
    if by == "auto":
        releases = [r.endpoint.get("release") for r in runs]
        by = "release" if len(set(releases)) == len(releases) else "endpoint"
    columns = _unique([_label(r, by) for r in runs], names)
    cells: dict[tuple[str, int], Cell] = {}
    for i, run in enumerate(runs):
        for op in run.operations:
            statuses = ["accepted" if c.accepted else c.status for c in op.checks]
            status = max(statuses, key=CELL_SEVERITY.__getitem__, default="skipped")
            problems = [
                f"{c.check}: {(c.message.splitlines() or [''])[0][:200]}"
                for c in op.checks
                if c.status in ("failed", "error") and not c.accepted
            ]
            cells[(op.id, i)] = Cell(status, problems, len(op.checks))
    rows = sorted({op for op, _ in cells}, key=lambda op: (not op.startswith("VirtualMachine_"), op))
    return Matrix(by, columns, rows, cells, list(runs))


def _env() -> jinja2.Environment:
    return environment(Path(__file__).with_name("templates"))


def render_matrix_html(m: Matrix) -> str:
    """A self-contained page: the matrix, rows that differ first-class (a filter), a text filter."""
    return _env().get_template("matrix.html.j2").render(m=m, statuses=(*CELL_SEVERITY, ABSENT))


def render_matrix_markdown(m: Matrix) -> str:
    """The matrix as a Markdown table (statuses only), with the totals per column."""
    lines = [
        f"# vsphere-harness matrix ({m.by} × operation)",
        "",
        "| operation | " + " | ".join(c.replace("|", "\\|") for c in m.columns) + " |",
        "|---|" + "---|" * len(m.columns),
    ]
    for op in m.rows:
        marks = []
        for i in range(len(m.columns)):
            cell = m.cell(op, i)
            marks.append(("**" + cell.status + "**") if cell.status in ("failed", "error") else cell.status)
        lines.append(f"| `{op}` | " + " | ".join(marks) + " |")
    lines += ["", "| totals | " + " | ".join(m.columns) + " |", "|---|" + "---|" * len(m.columns)]
    for status in (*CELL_SEVERITY, ABSENT):
        counts = [m.totals(i)[status] for i in range(len(m.columns))]
        if any(counts):
            lines.append(f"| {status} | " + " | ".join(map(str, counts)) + " |")
    return "\n".join(lines) + "\n"
