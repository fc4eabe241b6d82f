"""Write the reports of a run: ``results.json``, ``junit.xml``, ``summary.md``, ``report.html``.

Every file goes through the secrets :class:`~harness.report.secrets.Scrubber` before it is
written: the client already redacts headers and bodies; the scrubber is the second line.
"""

from __future__ import annotations

import functools
import json
import re
import xml.etree.ElementTree as ET
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jinja2
import jsonschema_rs

from .model import STATUSES, CheckResult, Evidence, RunResult
from .pages import environment
from .secrets import Scrubber
from .stats import stats_lines

SCHEMA_PATH = Path(__file__).with_name("results.schema.json")
#: Rows per table in summary.md (CI job summaries have a size limit).
MD_ROWS = 200
FILES = ("results.json", "junit.xml", "summary.md", "report.html")
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


class ResultsInvalid(ValueError):
    """A results document does not match ``results.schema.json``."""


@functools.cache
def _validator() -> Any:
    return jsonschema_rs.validator_for(json.loads(SCHEMA_PATH.read_text()))


def validate_results(data: dict[str, Any]) -> None:
    """Raise :class:`ResultsInvalid` (first few errors) when ``data`` breaks the schema."""
    errors = [
        f"{'/'.join(map(str, e.instance_path)) or '<root>'}: {e.message}"
        for e in _validator().iter_errors(data)
    ]
    if errors:
        raise ResultsInvalid("; ".join(errors[:5]))


def load_results(path: str | Path) -> RunResult:
    """Read and validate a ``results.json``."""
    path = Path(path)
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise ResultsInvalid(f"{path}: cannot read: {exc.strerror or exc}") from None
    except ValueError as exc:
        raise ResultsInvalid(f"{path}: not JSON ({exc})") from None
    try:
        validate_results(data)
    except ResultsInvalid as exc:
        raise ResultsInvalid(f"{path}: not a results.json: {exc}") from None
    return RunResult.from_dict(data)


# --- renderers (text in, the scrubber is applied by write_reports) -----------------------------------
def render_json(run: RunResult) -> str:
    data = run.to_dict()
    validate_results(data)
    return json.dumps(data, indent=1, sort_keys=False, default=str) + "\n"


def _evidence_text(evidence: list[Evidence], limit: int = 3) -> str:
    out = []
    for ev in evidence[:limit]:
        req = ev.request or {}
        out.append(f"request: {req.get('method')} {req.get('url')}")
        if req.get("body") is not None:
            out.append("  body: " + json.dumps(req["body"], default=str)[:4000])
        if ev.response is None:
            out.append("response: none")
        else:
            out.append(f"response: HTTP {ev.response.get('status')}")
            if ev.response.get("body") is not None:
                out.append("  body: " + json.dumps(ev.response["body"], default=str)[:4000])
        out.append(f"curl: {ev.curl}")
        if ev.note:
            out.append(f"note: {ev.note}")
    if len(evidence) > limit:
        out.append(f"... and {len(evidence) - limit} more exchanges in results.json")
    return "\n".join(out)


def failure_text(c: CheckResult) -> str:
    """A readable failure: the message, then the requests that caused it."""
    ev = _evidence_text(c.evidence)
    return f"{c.message}\n\n{ev}" if ev else c.message


def _xml(text: str) -> str:
    return _XML_INVALID.sub("\ufffd", text)


def render_junit(run: RunResult) -> str:
    """One ``testcase`` per operation x check; accepted failures are ``skipped`` with the reason."""
    s = run.summary()
    suite = ET.Element(
        "testsuite",
        {
            "name": f"vsphere-harness {run.endpoint.get('release', '')}".strip(),
            "tests": str(s["checks"]),
            "failures": str(len(run.gate_failures())),
            "errors": str(len(run.errors())),
            "skipped": str(s["skipped"] + s["accepted"]),
            "timestamp": run.started_at,
            "time": f"{sum(c.duration_ms for op in run.operations for c in op.checks) / 1000:.3f}",
        },
    )
    props = ET.SubElement(suite, "properties")
    for key in ("url", "release", "protocol", "simulated"):
        ET.SubElement(
            props, "property", {"name": f"endpoint.{key}", "value": _xml(str(run.endpoint.get(key)))}
        )
    ET.SubElement(props, "property", {"name": "seed", "value": str(run.seed)})
    for op in run.operations:
        for c in op.checks:
            case = ET.SubElement(
                suite,
                "testcase",
                {"classname": op.id, "name": c.check, "time": f"{c.duration_ms / 1000:.3f}"},
            )
            first = _xml(c.message.splitlines()[0] if c.message else "")
            if c.accepted:
                ET.SubElement(case, "skipped", {"message": _xml(f"accepted by the baseline: {first}")})
            elif c.status == "failed":
                el = ET.SubElement(case, "failure", {"message": first, "type": "ContractViolation"})
                el.text = _xml(failure_text(c))
            elif c.status == "error":
                el = ET.SubElement(case, "error", {"message": first, "type": "HarnessError"})
                el.text = _xml(failure_text(c))
            elif c.status == "skipped":
                ET.SubElement(case, "skipped", {"message": first})
    suites = ET.Element("testsuites", {k: suite.get(k, "") for k in ("tests", "failures", "errors", "time")})
    suites.append(suite)
    if run.scenarios:
        chaos = ET.SubElement(
            suites,
            "testsuite",
            {
                "name": "chaos scenarios",
                "tests": str(len(run.scenarios)),
                "failures": str(sum(sc.status == "failed" for sc in run.scenarios)),
                "errors": str(sum(sc.status == "error" for sc in run.scenarios)),
                "skipped": str(sum(sc.status == "skipped" for sc in run.scenarios)),
            },
        )
        for sc in run.scenarios:
            case = ET.SubElement(chaos, "testcase", {"classname": "scenario", "name": sc.name})
            first = _xml((sc.message.splitlines() or [""])[0])
            timeline = "\n".join(
                f"{e.get('t')}s {e.get('phase')}: {e.get('what')} -> {e.get('outcome')}" for e in sc.timeline
            )
            if sc.status in ("failed", "error"):
                el = ET.SubElement(
                    case,
                    "failure" if sc.status == "failed" else "error",
                    {
                        "message": first,
                        "type": "ScenarioHypothesis" if sc.status == "failed" else "HarnessError",
                    },
                )
                el.text = _xml(f"{sc.message}\n\n{timeline}")
            elif sc.status == "skipped":
                ET.SubElement(case, "skipped", {"message": first})
    ET.indent(suites)
    return ET.tostring(suites, encoding="unicode", xml_declaration=True) + "\n"


def _md_cell(text: str, limit: int = 160) -> str:
    line = (text.splitlines() or [""])[0]
    line = line if len(line) <= limit else line[: limit - 1] + "…"
    return line.replace("|", "\\|").replace("`", "'")


def protocol_name(endpoint: dict[str, Any]) -> str:
    """How a run spoke to its endpoint, in words (results without the field spoke VI/JSON)."""
    return "SOAP" if endpoint.get("protocol") == "soap" else "VI/JSON"


def render_markdown(run: RunResult) -> str:
    """A short summary for CI: totals, then the failed (and error) checks."""
    s = run.summary()
    ep = run.endpoint
    gate = run.gate_failures()
    verdict = {
        "failed": "FAILED",
        "undecided": f"UNDECIDED ({s['error']} check(s) could not decide)",
        "passed": "passed",
        "interrupted": "INTERRUPTED (partial results)",
    }[run.gate()["verdict"]]
    if run.gate()["verdict"] == "passed" and s["error"]:
        verdict += f" ({s['error']} undecided, allowed)"
    lines = [
        f"# vsphere-harness: {verdict}",
        "",
        f"Endpoint `{ep.get('url')}` release `{ep.get('release')}` over {protocol_name(ep)}"
        f"{' (built-in simulator)' if ep.get('simulated') else ''}, seed {run.seed}, "
        f"{run.started_at} → {run.finished_at}",
        "",
        *[f"**Warning:** {w}\n" for w in ep.get("warnings") or []],
        "| operations | checks | passed | failed | error | skipped | accepted |",
        "|---:|---:|---:|---:|---:|---:|---:|",
        f"| {s['operations']} | {s['checks']} | {s['passed']} | {s['failed']} | {s['error']} | "
        f"{s['skipped']} | {s['accepted']} |",
        "",
    ]
    if run.stats:
        lines += [*(f"- {line}" for line in stats_lines(run)), ""]
    per_check = run.by_check()
    if per_check:
        lines += ["| check | passed | failed | error | skipped |", "|---|---:|---:|---:|---:|"]
        lines += [
            f"| {name} | {n['passed']} | {n['failed']} | {n['error']} | {n['skipped']} |"
            for name, n in per_check.items()
        ] + [""]
    for title, rows in (
        ("Failed checks", gate),
        (
            "Accepted by the baseline",
            [(o, c) for o in run.operations for c in o.checks if c.accepted],
        ),
        ("Errors (the harness could not decide)", run.errors()),
    ):
        if not rows:
            continue
        lines += [f"## {title} ({len(rows)})", "", "| operation | check | message |", "|---|---|---|"]
        for op, c in rows[:MD_ROWS]:
            op_id = op if isinstance(op, str) else op.id
            lines.append(f"| `{op_id}` | {c.check} | {_md_cell(c.message)} |")
        if len(rows) > MD_ROWS:
            lines.append(f"| … | | {len(rows) - MD_ROWS} more in results.json |")
        lines.append("")
    if run.leftovers:
        lines += ["## Not cleaned up", ""] + [f"- {x}" for x in run.leftovers] + [""]
    for sc in run.scenarios:
        lines.append(f"- scenario `{sc.name}`: {sc.status} {_md_cell(sc.message)}")
    return "\n".join(lines).rstrip() + "\n"


def _env() -> jinja2.Environment:
    return environment(Path(__file__).with_name("templates"))


#: Exchanges shown per failure in report.html (the rest stay in results.json).
HTML_EVIDENCE = 5
#: The order of the statuses in the HTML report's bars (``accepted``: a failure or error the baseline accepts).
BAR_STATUSES = ("failed", "error", "accepted", "passed", "skipped")
_TIMELINE_BAD = re.compile(r"\b(broken|lost|duplicated [1-9])|transport:", re.I)


def html_status(c: CheckResult) -> str:
    """The status a check shows in the HTML report: ``accepted`` for what the baseline accepts."""
    return "accepted" if c.accepted else c.status


def _bar(counts: dict[str, int]) -> dict[str, Any]:
    """One bar: its total and, per status with a count, the share of the bar in percent."""
    total = sum(counts.values())
    parts = [(s, counts[s], 100.0 * counts[s] / total) for s in BAR_STATUSES if total and counts.get(s)]
    return {"total": total, "counts": counts, "parts": parts}


def html_bars(run: RunResult) -> tuple[dict[str, Any], list[tuple[str, dict[str, Any]]]]:
    """The totals as bars: one for the whole run, one per check (worst first, then by name)."""
    per: dict[str, dict[str, int]] = {}
    for op in run.operations:
        for c in op.checks:
            per.setdefault(c.check, dict.fromkeys(BAR_STATUSES, 0))[html_status(c)] += 1
    overall = dict.fromkeys(BAR_STATUSES, 0)
    for counts in per.values():
        for s, n in counts.items():
            overall[s] += n
    order = sorted(per, key=lambda name: (-per[name]["failed"], -per[name]["error"], name))
    return _bar(overall), [(name, _bar(per[name])) for name in order]


def html_timeline(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """A scenario's timeline for the page: each event with its place on the strip (percent of the
    scenario's duration), the extra attributes in one line, and whether its outcome looks bad."""
    times = [float(e["t"]) if isinstance(e.get("t"), int | float) else 0.0 for e in events]
    span = max(times, default=0.0) or 1.0
    out = []
    for e, t in zip(events, times, strict=True):
        outcome = str(e.get("outcome", ""))
        extra = {k: v for k, v in e.items() if k not in ("t", "phase", "what", "outcome")}
        out.append(
            {
                "t": t,
                "pos": round(100.0 * t / span, 2),
                "phase": str(e.get("phase", "")),
                "what": str(e.get("what", "")),
                "outcome": outcome,
                "extra": json.dumps(extra, default=str) if extra else "",
                "bad": bool(_TIMELINE_BAD.search(outcome)),
            }
        )
    return out


def render_html(run: RunResult) -> str:
    """A self-contained page that opens on what matters: the verdict, the totals as bars (per check),
    the failures with their evidence, then the errors, the accepted deviations, the operation x check
    matrix and the scenario timelines; plain-JS filters by status, check and text."""
    checks = sorted({c.check for op in run.operations for c in op.checks})
    matrix = [(op, {c.check: c for c in op.checks}) for op in run.operations]
    problems = {
        kind: [(op.id, c) for op in run.operations for c in op.checks if html_status(c) == kind]
        for kind in ("failed", "error", "accepted")
    }
    overall, per_check = html_bars(run)
    scenario_counts = {s: sum(sc.status == s for sc in run.scenarios) for s in STATUSES}
    return (
        _env()
        .get_template("report.html.j2")
        .render(
            run=run,
            protocol=protocol_name(run.endpoint),
            summary=run.summary(),
            verdict=run.gate()["verdict"],
            checks=checks,
            matrix=matrix,
            problems=problems,
            overall=overall,
            per_check=per_check,
            statuses=BAR_STATUSES,
            stats=stats_lines(run),
            evidence_limit=HTML_EVIDENCE,
            timelines=[(sc, html_timeline(sc.timeline)) for sc in run.scenarios],
            scenario_counts=scenario_counts,
            status_of=html_status,
        )
    )


RENDERERS: dict[str, Callable[[RunResult], str]] = {
    "results.json": render_json,
    "junit.xml": render_junit,
    "summary.md": render_markdown,
    "report.html": render_html,
}


def write_reports(
    run: RunResult, directory: str | Path, scrubber: Scrubber | None = None, files: tuple[str, ...] = FILES
) -> list[Path]:
    """Write every report of ``run`` into ``directory`` (created); returns the paths written."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    scrub = scrubber or Scrubber()
    clean = RunResult.from_dict(scrub.value(run.to_dict()))  # structured first: keeps every format valid
    written = []
    for name in files:
        path = directory / name
        path.write_text(scrub(RENDERERS[name](clean)), encoding="utf-8")
        written.append(path)
    return written
