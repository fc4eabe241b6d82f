"""report.html in headless Chromium (Debian's ``chromium``, installed by interop/browser/install.sh).

The page is generated from a small real run against the built-in simulator with misbehaviours on
(so there are failures) and one chaos scenario (so there is a timeline). Chromium is driven over the
DevTools protocol (``--remote-debugging-port``, ``websocket-client``): the test types into the text
filter and picks a status like a user, clicks a failure open, asserts on what the page then shows,
and keeps the screenshot as ``reports/screenshots/report.png``.
"""

from __future__ import annotations

import base64
import json
import os
import struct
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
import websocket

from harness.report.writers import write_reports
from harness.run import RunOptions, run_contracts

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = ROOT / "reports" / "screenshots"
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--remote-debugging-port=0",
    "--window-size=1280,1000",
)


def _chromium() -> Path:
    if CHROMIUM.exists():
        return CHROMIUM
    if os.environ.get("VSPHERE_HARNESS_BROWSER_OPTIONAL") == "1":
        pytest.skip(f"{CHROMIUM} missing (VSPHERE_HARNESS_BROWSER_OPTIONAL=1)")
    pytest.fail(f"{CHROMIUM} missing: run interop/browser/install.sh", pytrace=False)


class DevTools:
    """A minimal Chrome DevTools Protocol client over one page's websocket."""

    def __init__(self, ws_url: str) -> None:
        self.ws = websocket.create_connection(ws_url, timeout=30, suppress_origin=True)
        self.next_id = 0

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        """Call ``method`` and return its result (events that arrive meanwhile are dropped)."""
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == self.next_id:
                if "error" in msg:
                    raise AssertionError(f"{method}: {msg['error']}")
                return msg["result"]

    def js(self, expression: str) -> Any:
        """Evaluate ``expression`` in the page and return its value (JSON-able)."""
        out = self.send("Runtime.evaluate", expression=expression, returnByValue=True, awaitPromise=True)
        if "exceptionDetails" in out:
            raise AssertionError(f"{expression}: {out['exceptionDetails']}")
        return out["result"].get("value")

    def wait_for(self, expression: str, timeout: float = 10.0) -> Any:
        """Poll ``expression`` until it is truthy."""
        end = time.monotonic() + timeout
        while True:
            value = self.js(expression)
            if value or time.monotonic() > end:
                return value
            time.sleep(0.05)

    def click(self, selector: str) -> None:
        """Scroll the element into view and click its middle with the mouse."""
        box = self.js(
            f"(() => {{ const e = document.querySelector({json.dumps(selector)}); e.scrollIntoView({{block: 'center'}});"
            " const r = e.getBoundingClientRect(); return [r.x + Math.min(r.width / 2, 40), r.y + r.height / 2]; })()"
        )
        for kind in ("mousePressed", "mouseReleased"):
            self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1], button="left", clickCount=1)

    def close(self) -> None:
        self.ws.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """report.html of a small real run: failures (misbehaving simulator) and a scenario timeline."""
    run = run_contracts(
        RunOptions(
            operations=(
                "VirtualMachine_getRuntime",
                "VirtualMachine_PowerOnVM_Task",
                "VirtualMachine_PowerOffVM_Task",
            ),
            checks=("shape", "faults", "tasks"),
            examples=1,
            inventory_sample=0,
            sim={"misbehave": frozenset({"extra_field", "fault_status_200"})},
            scenarios=(ROOT / "scenarios" / "server-fault-in-a-task.yaml",),
        )
    )
    assert run.gate_failures() and run.scenarios and run.scenarios[0].timeline
    out = tmp_path_factory.mktemp("report")
    write_reports(run, out)
    return out / "report.html"


@pytest.fixture
def page(tmp_path: Path) -> Iterator[DevTools]:
    """A headless Chromium with one blank page, driven over the DevTools protocol."""
    profile = tmp_path / "profile"
    proc = subprocess.Popen(
        [str(_chromium()), *FLAGS, f"--user-data-dir={profile}", "about:blank"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        port_file = profile / "DevToolsActivePort"
        end = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().count("\n") >= 1):
            assert proc.poll() is None, f"chromium exited with {proc.returncode}"
            assert time.monotonic() < end, "chromium did not open its DevTools port in 30 s"
            time.sleep(0.05)
        port = int(port_file.read_text().split()[0])
        http = requests.Session()
        http.trust_env = False  # loopback: never through a proxy
        targets = http.get(f"http://127.0.0.1:{port}/json/list", timeout=10).json()
        ws_url = next(t["webSocketDebuggerUrl"] for t in targets if t.get("type") == "page")
        tools = DevTools(ws_url)
        try:
            tools.send(
                "Emulation.setDeviceMetricsOverride",
                width=1280,
                height=1000,
                deviceScaleFactor=1,
                mobile=False,
            )
            yield tools
        finally:
            tools.close()
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    return struct.unpack(">II", data[16:24])


def test_report_in_chromium_filter_expand_and_screenshot(report: Path, page: DevTools) -> None:
    page.send("Page.enable")
    page.send("Page.navigate", url=report.as_uri())
    assert page.wait_for("document.readyState === 'complete' && !!document.getElementById('f-q')")

    # It opens on what matters: the verdict, a bar per check, failures before errors and the matrix.
    first = page.js(
        """(() => ({
        verdict: document.querySelector('h1').textContent,
        endpoint: document.querySelector('h1 + p').textContent,
        bars: Array.from(document.querySelectorAll('.bars .name')).map(e => e.textContent),
        segments: document.querySelectorAll('.bars .seg.failed').length,
        order: Array.from(document.querySelectorAll('body > section')).map(s => s.id),
        problems: document.querySelectorAll('details.problem').length,
        open: document.querySelectorAll('details.problem[open]').length,
        rows: document.querySelectorAll('table.matrix tbody tr').length,
        timeline: document.querySelectorAll('.scenario .strip .dot').length,
        }))()"""
    )
    assert "FAILED" in first["verdict"] and "over VI/JSON" in first["endpoint"]
    assert first["bars"][0] == "all checks" and {"shape", "faults", "tasks"} <= set(first["bars"])
    assert first["segments"] >= 2
    assert first["order"][:2] == ["totals", "failed-list"] and first["order"].index("matrix") > 1
    assert first["order"].index("scenarios") > first["order"].index("matrix")
    assert first["problems"] >= 3 and first["open"] == 0 and first["rows"] >= 3 and first["timeline"] >= 3

    # Filter like a user: pick a status, type an operation id into the text box.
    page.js(
        "(() => { const s = document.getElementById('f-status'); s.value = 'failed';"
        " s.dispatchEvent(new Event('change')); })()"
    )
    page.click("#f-q")
    page.send("Input.insertText", text="PowerOff")
    assert page.wait_for("document.getElementById('f-count').textContent.includes('of')")
    assert page.wait_for("location.hash.includes('q=PowerOff')")
    shown = page.js(
        """(() => {
        const visible = sel => Array.from(document.querySelectorAll(sel)).filter(e => e.offsetParent !== null);
        return {
          count: document.getElementById('f-count').textContent,
          rows: visible('table.matrix tbody tr').map(r => [r.dataset.op, r.textContent]),
          problems: visible('details.problem').map(d => [d.dataset.op, d.dataset.s, d.textContent]),
          hiddenProblems: document.querySelectorAll('details.problem.hidden').length,
          hiddenRows: document.querySelectorAll('table.matrix tbody tr.hidden').length,
          title: document.querySelector('#failed-list h2').textContent,
        }; })()"""
    )
    assert shown["count"].startswith("showing ") and shown["hiddenProblems"] > 0 and shown["hiddenRows"] > 0
    assert shown["problems"] and shown["rows"], shown
    for op, status, text in shown["problems"]:
        assert status == "failed" and "poweroff" in text.lower(), (op, status)
    assert any(op == "VirtualMachine_PowerOffVM_Task" for op, _ in shown["rows"])
    assert f"{len(shown['problems'])} of " in shown["title"]

    # Expand a failure with the mouse: its message and evidence (request, response, curl) show.
    page.click("details.problem:not(.hidden) > summary")
    opened = page.js(
        """(() => {
        const d = document.querySelector('details.problem[open]');
        const ev = d && d.querySelector('details.ev[open]');
        return d && {id: d.id, msg: d.querySelector('pre.msg').offsetHeight,
                     evidence: ev ? ev.innerText : '', op: d.dataset.op}; })()"""
    )
    assert opened and opened["msg"] > 0, opened
    assert "PowerOff" in opened["op"] or "poweroff" in opened["id"].lower() or opened["evidence"]
    assert (
        "Request" in opened["evidence"] and "Response" in opened["evidence"] and "curl" in opened["evidence"]
    )

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    shot = SCREENSHOTS / "report.png"
    data = base64.b64decode(page.send("Page.captureScreenshot", format="png")["data"])
    shot.write_bytes(data)
    width, height = _png_size(shot.read_bytes())
    assert (width, height) == (1280, 1000) and shot.stat().st_size > 20_000

    # A link can carry a filter and open the n-th failure shown: #check=faults&open=1.
    page.send("Page.navigate", url="about:blank")
    assert page.wait_for("location.href === 'about:blank'")
    page.send("Page.navigate", url=report.as_uri() + "#check=faults&open=1")
    assert page.wait_for("!!document.querySelector('details.problem[open]')")
    linked = page.js(
        """(() => ({
        open: Array.from(document.querySelectorAll('details.problem[open]')).map(d => d.dataset.c),
        check: document.getElementById('f-check').value,
        visible: Array.from(document.querySelectorAll('details.problem:not(.hidden)')).map(d => d.dataset.c),
        }))()"""
    )
    assert linked["check"] == "faults" and linked["open"] == ["faults"]
    assert set(linked["visible"]) == {"faults"}


def test_a_missing_chromium_fails_with_the_install_hint_unless_optional(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(sys.modules[__name__], "CHROMIUM", tmp_path / "no-chromium")
    monkeypatch.delenv("VSPHERE_HARNESS_BROWSER_OPTIONAL", raising=False)
    with pytest.raises(pytest.fail.Exception, match="run interop/browser/install.sh"):
        _chromium()
    monkeypatch.setenv("VSPHERE_HARNESS_BROWSER_OPTIONAL", "1")
    with pytest.raises(pytest.skip.Exception):
        _chromium()
