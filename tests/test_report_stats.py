"""A run's stats read as sentences in summary.md and report.html (results.json keeps the data)."""

from __future__ import annotations

from harness.report.model import RunResult
from harness.report.stats import stats_lines
from harness.report.writers import render_html, render_markdown


def _run(**stats) -> RunResult:
    run = RunResult(
        "0.1.0", {"url": "http://127.0.0.1:1", "release": "8.0.2.0", "simulated": True}, "a", "b", 0
    )
    run.stats = stats
    return run


def test_every_stat_is_said_once_and_nothing_is_dropped():
    run = _run(
        requests=18787,
        duration_s=26.2,
        requests_per_s=717.9,
        answers_judged=18730,
        workers_s=95.2,
        slowest_shard_s=24.7,
        inventory_sample={"size": 2, "vms": ["vm-100 (template)", "vm-101 (poweredOn)"], "kinds": {}},
        endpoint_outages="1 times unreachable, back 1 times within 60 s",
        outage_waits=[{"after": "x", "back": 1}],
        something_new={"a": [1, 2]},
    )
    run.options = {"jobs": 4}
    lines = stats_lines(run)
    assert lines[0] == "18,787 requests in 26.2 s (717.9/s); 18,730 answers judged"
    assert "4 worker processes: 95.2 s together, the slowest 24.7 s" in lines
    assert "inventory sample: 2 existing VMs (vm-100 (template), vm-101 (poweredOn))" in lines
    assert "endpoint outages: 1 times unreachable, back 1 times within 60 s" in lines
    assert 'something_new: {"a": [1, 2]}' in lines  # a stat no sentence knows is still shown
    assert not any("{'size'" in line or "outage_waits" in line for line in lines)


def test_one_process_says_no_workers_and_the_reports_carry_the_lines():
    run = _run(requests=10, duration_s=1.5, interrupted=True, sandbox="sandbox could not be set up: x")
    run.options = {"jobs": 1}
    lines = stats_lines(run)
    assert lines == [
        "10 requests in 1.5 s",
        "sandbox: sandbox could not be set up: x",
        "interrupted: the results are partial",
    ]
    markdown, html = render_markdown(run), render_html(run)
    assert all(f"- {line}" in markdown for line in lines)
    assert all(f"<li>{line}</li>" in html for line in lines)
