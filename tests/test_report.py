"""Report writers: schema-valid results.json, parseable JUnit, Markdown, HTML, diff, scrubbing."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET

import pytest

from harness.report.diff import diff_runs
from harness.report.model import CheckResult, Evidence, OperationResult, RunResult, ScenarioResult
from harness.report.secrets import Scrubber, redact_body, redact_headers, strip_url_credentials_in_text
from harness.report.writers import (
    ResultsInvalid,
    load_results,
    render_html,
    render_json,
    render_junit,
    render_markdown,
    validate_results,
    write_reports,
)

SID = "0123456789abcdef0123456789abcdef"


def evidence(status: int = 500, body=None) -> Evidence:
    return Evidence(
        request={
            "method": "POST",
            "url": "http://127.0.0.1:1/sdk/vim25/8.0.2.0/VirtualMachine/vm-1/PowerOnVM_Task",
            "headers": {"vmware-api-session-id": "<redacted>"},
            "body": {"host": None},
        },
        response={
            "status": status,
            "headers": {},
            "body": body or {"_typeName": "InvalidState"},
            "elapsed_ms": 1.5,
        },
        curl="curl -sS -X POST 'http://127.0.0.1:1/...' -H \"vmware-api-session-id: $VSPHERE_SESSION_ID\"",
    )


def sample(failed_message: str = "declared faults: InvalidPowerState; got InvalidState <b>&") -> RunResult:
    run = RunResult(
        "0.1.0",
        {"url": "http://127.0.0.1:1", "release": "8.0.2.0", "simulated": True, "about": {"name": "sim"}},
        "2026-11-27T14:00:00Z",
        "2026-11-27T14:01:00Z",
        seed=7,
    )
    run.operations = [
        OperationResult(
            "VirtualMachine_PowerOnVM_Task",
            [
                CheckResult("shape", "passed", duration_ms=3.0),
                CheckResult("faults", "failed", failed_message, [evidence()], 12.5),
                CheckResult(
                    "tasks",
                    "error",
                    "TransportError: connection reset\x00",
                    [Evidence({"method": "GET", "url": "http://127.0.0.1:1/x"}, None, "curl x", "no answer")],
                ),
            ],
        ),
        OperationResult(
            "VirtualMachine_getRuntime",
            [
                CheckResult("shape", "passed"),
                CheckResult("faults", "skipped", "no faults declared"),
                CheckResult("effects", "failed", "accepted one", [], accepted=True),
            ],
        ),
    ]
    run.scenarios = [ScenarioResult("latency", "passed", "ok", [{"t": 0, "event": "start"}])]
    run.leftovers = ["VirtualMachine vm-9"]
    run.stats = {"requests": 10, "duration_s": 1.0}
    return run


def test_results_json_is_schema_valid_and_round_trips():
    run = sample()
    data = json.loads(render_json(run))
    validate_results(data)
    assert data["summary"] == {
        "operations": 2,
        "checks": 6,
        "passed": 2,
        "failed": 2,
        "error": 1,
        "skipped": 1,
        "accepted": 1,
    }
    assert [op["status"] for op in data["operations"]] == ["failed", "failed"]
    again = RunResult.from_dict(data)
    assert again.to_dict() == data
    assert again.gate_failures()[0][1].check == "faults" and len(again.gate_failures()) == 1


@pytest.mark.parametrize(
    "mutate, where",
    [
        (lambda d: d.pop("seed"), "seed"),
        (lambda d: d["operations"][0]["checks"][0].update(status="weird"), "operations/0/checks/0/status"),
        (lambda d: d["endpoint"].update(url="https://user:pw@vc"), "endpoint/url"),
        (lambda d: d["summary"].update(bogus=1), "summary"),
    ],
)
def test_schema_rejects_broken_results(mutate, where):
    data = sample().to_dict()
    mutate(data)
    with pytest.raises(ResultsInvalid, match=where):
        validate_results(data)


def test_junit_has_one_testcase_per_operation_and_check():
    root = ET.fromstring(render_junit(sample()))
    suite = root.find("testsuite")
    cases = suite.findall("testcase")
    assert len(cases) == 6
    assert (suite.get("tests"), suite.get("failures"), suite.get("errors"), suite.get("skipped")) == (
        "6",
        "1",
        "1",
        "2",
    )
    failure = next(c for c in cases if c.find("failure") is not None)
    assert (failure.get("classname"), failure.get("name")) == ("VirtualMachine_PowerOnVM_Task", "faults")
    text = failure.find("failure").text
    assert "got InvalidState <b>&" in text and "request: POST http://127.0.0.1:1/" in text
    assert "curl -sS -X POST" in text and "response: HTTP 500" in text
    accepted = next(c for c in cases if c.get("name") == "effects")
    assert accepted.find("skipped").get("message").startswith("accepted by the baseline")
    error = next(c for c in cases if c.find("error") is not None)
    assert "response: none" in error.find("error").text


def test_markdown_summary_lists_failed_checks():
    md = render_markdown(sample("a | pipe"))
    assert md.startswith("# vsphere-harness: FAILED")
    assert "| 2 | 6 | 2 | 2 | 1 | 1 | 1 |" in md
    assert "| faults | 0 | 1 | 0 | 1 |" in md
    assert "## Failed checks (1)" in md and "| `VirtualMachine_PowerOnVM_Task` | faults | a \\| pipe |" in md
    assert "## Accepted by the baseline (1)" in md and "## Errors" in md and "- VirtualMachine vm-9" in md
    clean = sample()
    clean.operations = clean.operations[1:]
    clean.operations[0].checks[2].accepted = True
    assert render_markdown(clean).startswith("# vsphere-harness: passed")


def test_html_is_self_contained_with_matrix_and_evidence():
    page = render_html(sample())
    assert "<script src" not in page and "<link" not in page and "<style>" in page
    assert page.count('<td class="op">') == 2
    assert 'href="#VirtualMachine_PowerOnVM_Task--faults"' in page
    assert "got InvalidState &lt;b&gt;&amp;" in page  # escaped
    assert "$VSPHERE_SESSION_ID" in page and "InvalidState" in page and "latency" in page
    assert "accepted" in page and "VirtualMachine vm-9" in page


def test_write_reports_scrubs_every_file(tmp_path):
    run = sample(failed_message=f"session {SID} and password Hunter2-Secret in https://root:pw@vc.example/x")
    run.operations[0].checks[1].evidence[0].response["body"] = {"key": SID}
    paths = write_reports(run, tmp_path / "r", Scrubber([SID, "Hunter2-Secret", None, "ab"]))
    assert sorted(p.name for p in paths) == ["junit.xml", "report.html", "results.json", "summary.md"]
    for p in paths:
        text = p.read_text()
        assert SID not in text and "Hunter2-Secret" not in text and "root:pw@" not in text, p.name
    ET.parse(tmp_path / "r" / "junit.xml")
    loaded = load_results(tmp_path / "r" / "results.json")
    assert loaded.summary() == run.summary()


def test_redaction_helpers():
    assert redact_headers({"vmware-api-session-id": SID, "Set-Cookie": "x", "Accept": "a"}) == {
        "vmware-api-session-id": "<redacted>",
        "Set-Cookie": "<redacted>",
        "Accept": "a",
    }
    assert redact_body(
        {
            "userName": "u",
            "password": "p",
            "spec": [{"guestPassword": "g", "n": 1}],
            "sessionId": "s",
            "newPassword": "",
        }
    ) == {
        "userName": "u",
        "password": "<redacted>",
        "spec": [{"guestPassword": "<redacted>", "n": 1}],
        "sessionId": "<redacted>",
        "newPassword": "",
    }
    assert (
        strip_url_credentials_in_text("see https://a:b@h/x and http://u@h") == "see https://h/x and http://h"
    )


def test_load_results_errors(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    with pytest.raises(ResultsInvalid, match="not JSON"):
        load_results(bad)
    bad.write_text("{}")
    with pytest.raises(ResultsInvalid, match="not a results.json"):
        load_results(bad)
    with pytest.raises(ResultsInvalid, match="cannot read"):
        load_results(tmp_path / "none.json")


def test_diff_new_failures_fixed_and_changed():
    before, after = sample(), sample()
    after.operations[0].checks[1].status = "passed"  # faults fixed
    after.operations[0].checks[0].status = "failed"  # shape newly failing
    after.operations[1].checks[1].status = "passed"  # skipped -> passed
    after.operations[1].checks.append(CheckResult("tasks", "failed", "new"))  # a new check failing
    d = diff_runs(before, after)
    assert d.new_failures == [
        (("VirtualMachine_PowerOnVM_Task", "shape"), "passed"),
        (("VirtualMachine_getRuntime", "tasks"), None),
    ]
    assert d.fixed == [(("VirtualMachine_PowerOnVM_Task", "faults"), "passed")]
    assert d.changed == [(("VirtualMachine_getRuntime", "faults"), "skipped", "passed")]
    text = d.render()
    assert "new failures (2):" in text and "VirtualMachine_getRuntime::tasks  absent -> failed" in text
    assert diff_runs(before, sample()).empty and diff_runs(before, sample()).render() == "no differences\n"


def test_secrets_with_markup_characters_are_scrubbed_in_every_format(tmp_path):
    secret = 'pa<ss>&"wörd\\x'
    run = sample(failed_message=f"echo {secret}")
    run.operations[0].checks[1].evidence[0].request["body"] = {"note": secret}
    scrub = Scrubber([secret])
    for name, render in (
        ("json", render_json),
        ("xml", render_junit),
        ("md", render_markdown),
        ("html", render_html),
    ):
        text = scrub(render(run))
        for variant in (secret, json.dumps(secret)[1:-1], "pa&lt;ss&gt;&amp;"):
            assert variant not in text, name
    write_reports(run, tmp_path, scrub)
    ET.parse(tmp_path / "junit.xml")
    validate_results(json.loads((tmp_path / "results.json").read_text()))


def test_a_short_password_is_redacted_where_it_stands_alone_and_leaves_words_alone(tmp_path):
    """vcsim accepts any password, and ``pass`` is a common one: every ``passed`` of the reports must
    survive, every ``pass`` standing for the password must go."""
    run = sample(failed_message='login {"userName": "u", "password": "pass"} then -u u:pass')
    write_reports(run, tmp_path, Scrubber(["pass"]))
    data = json.loads((tmp_path / "results.json").read_text())
    validate_results(data)
    assert data["summary"]["passed"] == run.summary()["passed"] > 0
    for name in ("results.json", "junit.xml", "summary.md", "report.html"):
        text = (tmp_path / name).read_text()
        assert "redacted>ed" not in text and "redacted]ed" not in text, name
        assert name == "junit.xml" or "passed" in text, name
        assert '"pass"' not in text and "u:pass" not in text, name
