"""The comparison's reports: ``comparison.json`` (validated against ``comparison.schema.json``),
``comparison.md`` (for a CI job summary) and ``comparison.html`` (operations x aspects, A and B side
by side, differences first).  Every file goes through the secrets scrubber."""

from __future__ import annotations

import functools
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import jsonschema_rs

from ..report.pages import environment
from ..report.secrets import Scrubber
from .model import ASPECTS, Comparison, OperationComparison

SCHEMA_PATH = Path(__file__).with_name("comparison.schema.json")
FILES = ("comparison.json", "comparison.md", "comparison.html")
MD_ROWS = 200


class ComparisonInvalid(ValueError):
    """A comparison document does not match ``comparison.schema.json``."""


@functools.cache
def _validator() -> Any:
    return jsonschema_rs.validator_for(json.loads(SCHEMA_PATH.read_text()))


def validate_comparison(data: dict[str, Any]) -> None:
    errors = [
        f"{'/'.join(map(str, e.instance_path)) or '<root>'}: {e.message}"
        for e in _validator().iter_errors(data)
    ]
    if errors:
        raise ComparisonInvalid("; ".join(errors[:5]))


def render_json(comparison: Comparison) -> str:
    data = comparison.to_dict()
    validate_comparison(data)
    return json.dumps(data, indent=1) + "\n"


def side_label(comparison: Comparison, side: str) -> str:
    """``built-in simulator`` or the endpoint's URL (with its protocol, when the run states one)."""
    rec = comparison.sides[side]
    where = "built-in simulator" if rec["options"].get("builtin_simulator") else rec["endpoint"].get("url")
    protocol = rec["options"].get("protocol") or rec["endpoint"].get("protocol")
    return f"{where} ({protocol})" if protocol else str(where)


def _cell(text: str | None, limit: int = 120) -> str:
    if text is None:
        return "—"
    line = text if len(text) <= limit else text[: limit - 1] + "…"
    return line.replace("|", "\\|").replace("`", "'").replace("\n", " ")


def render_markdown(comparison: Comparison) -> str:
    s = comparison.summary()
    verdict = comparison.verdict()["verdict"]
    title = {"same": "same", "different": "DIFFERENT", "interrupted": "INTERRUPTED (partial)"}[verdict]
    lines = [
        f"# vsphere-harness compare: {title}",
        "",
        f"A: `{side_label(comparison, 'a')}` — B: `{side_label(comparison, 'b')}`; "
        f"release `{comparison.options.get('release')}`, seed {comparison.options.get('seed')}, "
        f"{comparison.started_at} → {comparison.finished_at}",
        "",
        "| operations | same | different | accepted | differences | accepted differences |",
        "|---:|---:|---:|---:|---:|---:|",
        f"| {s['operations']} | {s['same']} | {s['different']} | {s['accepted']} | {s['differences']} | "
        f"{s['accepted_differences']} |",
        "",
        "| side | passed | failed | error | skipped | gate |",
        "|---|---:|---:|---:|---:|---|",
    ]
    for side, rec in comparison.sides.items():
        n = rec["summary"]
        lines.append(
            f"| {side.upper()} | {n['passed']} | {n['failed']} | {n['error']} | {n['skipped']} | "
            f"{rec['gate']['verdict']} |"
        )
    lines.append("")
    for title, rows in (
        ("Differences", comparison.differences(accepted=False)),
        ("Accepted differences", comparison.differences(accepted=True)),
    ):
        if not rows:
            continue
        lines += [
            f"## {title} ({len(rows)})",
            "",
            "| operation | aspect | what | A | B |",
            "|---|---|---|---|---|",
        ]
        for op_id, d in rows[:MD_ROWS]:
            what = _cell(d.key) + (f" (accepted: {_cell(d.reason)})" if d.accepted else "")
            lines.append(f"| `{op_id}` | {d.aspect} | {what} | {_cell(d.a)} | {_cell(d.b)} |")
        if len(rows) > MD_ROWS:
            lines.append(f"| … | | {len(rows) - MD_ROWS} more in comparison.json | | |")
        lines.append("")
    return "\n".join(lines).rstrip() + "\n"


def _answers(counts: dict[str, int]) -> list[str]:
    return [f"{k} ×{n}" for k, n in counts.items()]


def _row(op: OperationComparison) -> dict[str, Any]:
    """Per aspect: whether it differs, and each side's lines (a differing shape shows only its
    differing lines: a whole shape is hundreds)."""
    only = {aspect: {d.key for d in op.of(aspect)} for aspect in ASPECTS}
    cells: dict[str, Any] = {}
    for side in ("a", "b"):
        p = getattr(op, side)
        shape_lines = [line for line in p.shape if line in only["shape"]]
        cells[side] = {
            "answers": _answers(p.answers),
            "shape": ([f"{len(p.shape)} lines"] if p.shape else ["—"])
            + [f"only here: {line}" for line in shape_lines],
            "effects": _answers(p.effects),
            "verdicts": [f"{check}: {status}" for check, status in p.verdicts.items()],
        }
    return {
        "op": op,
        "differs": {aspect: bool(only[aspect]) for aspect in ASPECTS},
        "cells": cells,
    }


def _env() -> jinja2.Environment:
    return environment(Path(__file__).with_name("templates"))


def render_html(comparison: Comparison) -> str:
    return (
        _env()
        .get_template("comparison.html.j2")
        .render(
            c=comparison,
            summary=comparison.summary(),
            verdict=comparison.verdict()["verdict"],
            labels={s: side_label(comparison, s) for s in ("a", "b")},
            aspects=ASPECTS,
            rows=[_row(op) for op in comparison.ordered()],
        )
    )


RENDERERS: dict[str, Callable[[Comparison], str]] = {
    "comparison.json": render_json,
    "comparison.md": render_markdown,
    "comparison.html": render_html,
}


def write_comparison(
    comparison: Comparison, directory: str | Path, scrubber: Scrubber | None = None
) -> list[Path]:
    """Write the comparison's reports into ``directory``; returns the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    scrub = scrubber or Scrubber()
    clean = Comparison.from_dict(scrub.value(comparison.to_dict()))  # structured first: keeps JSON valid
    written = []
    for name in FILES:
        path = directory / name
        path.write_text(scrub(RENDERERS[name](clean)), encoding="utf-8")
        written.append(path)
    return written


def load_comparison(path: str | Path) -> Comparison:
    """Read and validate a ``comparison.json``."""
    path = Path(path)
    try:
        data = json.loads(Path(path).read_text())
        validate_comparison(data)
    except (OSError, ValueError) as exc:
        raise ComparisonInvalid(f"{path}: not a comparison.json: {exc}") from None
    return Comparison.from_dict(data)
