"""report.html: what it opens on (bars, failures first), its filters' hooks, scenario timelines, size."""

from __future__ import annotations

import re
import time
from html.parser import HTMLParser

from click.testing import CliRunner

from harness.cli import main
from harness.report.matrix import build_matrix, render_matrix_html, render_matrix_markdown
from harness.report.model import CheckResult, Evidence, OperationResult, RunResult, ScenarioResult
from harness.report.writers import HTML_EVIDENCE, html_bars, html_timeline, render_html, write_reports

VOID = {"meta", "br", "input", "img", "hr", "link"}


class Balance(HTMLParser):
    """Every element closed in order, every id unique; counts elements per tag."""

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[str] = []
        self.ids: set[str] = set()
        self.problems: list[str] = []
        self.tags: dict[str, int] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags[tag] = self.tags.get(tag, 0) + 1
        for key, value in attrs:
            if key == "id":
                if value in self.ids:
                    self.problems.append(f"duplicate id {value}")
                self.ids.add(value or "")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.problems.append(f"</{tag}> closes <{self.stack[-1] if self.stack else None}>")
            return
        self.stack.pop()


def check_valid(page: str) -> Balance:
    b = Balance()
    b.feed(page)
    b.close()
    assert not b.problems and not b.stack, (b.problems[:5], b.stack)
    return b


def ev(n: int = 0, response: bool = True) -> Evidence:
    return Evidence(
        {"method": "POST", "url": f"http://sim/sdk/vim25/8.0.2.0/VirtualMachine/vm-{n}/PowerOnVM_Task"},
        {"status": 500, "body": {"_typeName": "InvalidState"}} if response else None,
        f"curl -X POST http://sim/{n}",
        "" if response else "no answer",
    )


def run_of(
    ops: list[OperationResult], scenarios: list[ScenarioResult] | None = None, **endpoint
) -> RunResult:
    run = RunResult(
        "0.1.0",
        {"url": "http://sim", "release": "8.0.2.0", "simulated": True, **endpoint},
        "2026-12-01T10:00:00Z",
        "2026-12-01T10:01:00Z",
        seed=3,
    )
    run.operations = ops
    run.scenarios = scenarios or []
    return run


def mixed() -> RunResult:
    return run_of(
        [
            OperationResult(
                "VirtualMachine_PowerOnVM_Task",
                [
                    CheckResult("shape", "passed"),
                    CheckResult("faults", "failed", "HTTP 200 <script>alert(1)</script>", [ev(1)]),
                    CheckResult("tasks", "error", "timeout", [ev(2, response=False)]),
                ],
            ),
            OperationResult(
                "VirtualMachine_getRuntime",
                [
                    CheckResult("shape", "failed", "accepted deviation", accepted=True),
                    CheckResult("faults", "skipped", "no faults declared"),
                ],
            ),
        ],
        [
            ScenarioResult(
                "latency",
                "failed",
                "hypothesis broken",
                [
                    {"t": 0.0, "phase": "steady", "what": "probe", "outcome": "HTTP 200"},
                    {
                        "t": 0.5,
                        "phase": "inject",
                        "what": "proxy toxic latency",
                        "outcome": "on",
                        "latency": 300,
                    },
                    {
                        "t": 2.0,
                        "phase": "verify",
                        "what": "state runtime.powerState",
                        "outcome": "'x': broken",
                    },
                ],
            )
        ],
        protocol="soap",
        warnings=["apiVersion 7.0.3.0 is older than 8.0.2.0"],
    )


def test_bars_count_per_check_with_accepted_apart_worst_first():
    overall, per_check = html_bars(mixed())
    assert overall["total"] == 5
    assert overall["counts"] == {"failed": 1, "error": 1, "accepted": 1, "passed": 1, "skipped": 1}
    assert [name for name, _ in per_check] == ["faults", "tasks", "shape"]
    shape = dict(per_check)["shape"]
    assert [(s, n) for s, n, _ in shape["parts"]] == [("accepted", 1), ("passed", 1)]
    assert sum(pct for _, _, pct in overall["parts"]) == 100.0


def test_page_opens_on_verdict_bars_then_failures_errors_accepted_matrix_scenarios():
    page = render_html(mixed())
    check_valid(page)
    assert '<h1>vsphere-harness: <span class="verdict-failed">FAILED</span></h1>' in page
    assert "over SOAP" in page and "<strong>Warning:</strong> apiVersion 7.0.3.0" in page
    marks = ['id="totals"', 'id="filters"', 'id="failed-list"', 'id="error-list"', 'id="accepted-list"']
    marks += ['id="matrix"', 'id="scenarios"']
    positions = [page.index(m) for m in marks]
    assert positions == sorted(positions)
    assert page.count('<div class="bar big">') == 1 and page.count('<div class="bar">') == 3
    assert 'class="seg accepted"' in page and 'href="#status=failed&amp;check=faults"' in page
    # failures collapsed, evidence inside; the failure's id is the matrix cell's link
    assert '<details class="problem failed" id="VirtualMachine_PowerOnVM_Task--faults"' in page
    assert 'href="#VirtualMachine_PowerOnVM_Task--faults"' in page
    assert "HTTP 200 &lt;script&gt;alert(1)&lt;/script&gt;" in page and "<script>alert" not in page
    assert "→ no answer — no answer" in page and "curl -X POST http://sim/1" in page
    assert '<details class="problem accepted" id="VirtualMachine_getRuntime--shape"' in page


def test_filter_hooks_on_matrix_cells_and_failures():
    page = render_html(mixed())
    assert '<td class="st failed" data-c="faults" data-s="failed"' in page
    assert '<td class="st accepted" data-c="shape" data-s="accepted"' in page
    assert '<tr data-op="VirtualMachine_getRuntime">' in page
    for control in ('id="f-status"', 'id="f-check"', 'id="f-q"', 'id="f-clear"'):
        assert control in page
    assert '<option value="problem">failed or error</option>' in page
    assert '<option value="tasks">tasks</option>' in page
    assert "hashchange" in page and "replaceState" in page


def test_self_contained_no_network():
    page = render_html(mixed())
    assert "<script src" not in page and "<link" not in page and "@import" not in page
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", page)
    assert "url(" not in page


def test_scenario_timeline_is_a_strip_and_a_list():
    events = html_timeline(mixed().scenarios[0].timeline)
    assert [e["pos"] for e in events] == [0.0, 25.0, 100.0]
    assert [e["bad"] for e in events] == [False, False, True]
    assert events[1]["extra"] == '{"latency": 300}'
    page = render_html(mixed())
    assert page.count('<span class="dot ph-') == 3 and 'style="left:25.0%"' in page
    assert '<li class="bad">' in page and "3 events over 2.00 s" in page
    assert html_timeline([{"what": "no time", "outcome": "ok"}])[0]["pos"] == 0.0


def test_evidence_is_capped_and_the_verdict_says_undecided():
    run = run_of(
        [
            OperationResult(
                "VirtualMachine_ResetVM_Task", [CheckResult("tasks", "error", "x", [ev(i) for i in range(9)])]
            )
        ]
    )
    page = render_html(run)
    check_valid(page)
    assert page.count('<details class="ev"') == HTML_EVIDENCE
    assert f"… and {9 - HTML_EVIDENCE} more exchanges in results.json" in page
    assert 'verdict-undecided">UNDECIDED' in page and "No failures" not in page


def test_a_large_run_renders_fast_and_stays_valid():
    checks = ("shape", "faults", "privileges", "tasks", "effects", "negative", "versions", "session")
    ops = []
    for i in range(102):
        statuses = ["passed"] * 8
        if i % 5 == 0:
            statuses[i % 8] = "failed"
        if i % 17 == 0:
            statuses[(i + 3) % 8] = "error"
        ops.append(
            OperationResult(
                f"VirtualMachine_Op{i:03d}",
                [
                    CheckResult(name, s, f"message {i} {name}", [ev(i), ev(i + 1)] if s != "passed" else [])
                    for name, s in zip(checks, statuses, strict=True)
                ],
            )
        )
    run = run_of(ops)
    started = time.perf_counter()
    page = render_html(run)
    elapsed = time.perf_counter() - started
    assert run.summary()["checks"] == 816
    b = check_valid(page)
    assert b.tags["tr"] == 103 and page.count('<td class="op">') == 102
    assert b.tags["details"] == 3 * (21 + 6)  # each problem and its two exchanges
    assert elapsed < 3.0, elapsed
    assert len(page) < 1_500_000


def releases() -> list[RunResult]:
    old = run_of([OperationResult("VirtualMachine_getRuntime", [CheckResult("shape", "passed")])])
    new = mixed()
    new.endpoint["release"] = "9.1.0.0"
    return [old, new]


def test_matrix_by_release_with_absent_accepted_and_differences():
    m = build_matrix(releases())
    assert m.by == "release" and m.columns == ["8.0.2.0", "9.1.0.0"]
    assert m.rows == ["VirtualMachine_PowerOnVM_Task", "VirtualMachine_getRuntime"]
    assert m.cell("VirtualMachine_PowerOnVM_Task", 0).status == "absent"
    power = m.cell("VirtualMachine_PowerOnVM_Task", 1)
    assert power.status == "failed" and power.problems == [
        "faults: HTTP 200 <script>alert(1)</script>",
        "tasks: timeout",
    ]
    assert m.cell("VirtualMachine_getRuntime", 1).status == "accepted" and m.differs(
        "VirtualMachine_getRuntime"
    )
    assert m.totals(1) == {"failed": 1, "error": 0, "accepted": 1, "passed": 0, "skipped": 0, "absent": 0}
    same = build_matrix([releases()[0], releases()[0]], ["a/results.json", "b/results.json"])
    assert same.by == "endpoint" and same.columns == [
        "built-in simulator (8.0.2.0) [a/results.json]",
        "built-in simulator (8.0.2.0) [b/results.json]",
    ]
    page = render_matrix_html(m)
    check_valid(page)
    assert '<tr class="differs"><td class="op">VirtualMachine_getRuntime</td>' in page
    assert "&lt;script&gt;alert(1)" in page and "<script>alert" not in page
    md = render_matrix_markdown(m)
    assert "| `VirtualMachine_PowerOnVM_Task` | absent | **failed** |" in md and "| absent | 1 | 0 |" in md


def test_report_matrix_command(tmp_path):
    paths = []
    for i, run in enumerate(releases()):
        write_reports(run, tmp_path / f"r{i}", files=("results.json",))
        paths.append(str(tmp_path / f"r{i}" / "results.json"))
    out = CliRunner().invoke(main, ["report", "matrix", *paths])
    assert out.exit_code == 0 and "| operation | 8.0.2.0 | 9.1.0.0 |" in out.output
    out = CliRunner().invoke(main, ["report", "matrix", *paths, "-o", str(tmp_path / "m" / "matrix.html")])
    assert out.exit_code == 0 and "2 operations x 2 runs" in out.output
    assert (tmp_path / "m" / "matrix.html").read_text().startswith("<!DOCTYPE html>")
    out = CliRunner().invoke(main, ["report", "matrix", str(tmp_path / "none.json")])
    assert out.exit_code == 2 and "cannot read" in out.output
