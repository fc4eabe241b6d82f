"""Hostile endpoints: a loopback server that logs in properly (through a real simulator) and then
answers every call with garbage, an HTML error page, a redirect to itself, a huge body, or one
byte at a time.  The run must end in bounded time, write its reports, and never pass the gate:
exit 1 with the failure on the operation that answered where the endpoint broke the contract,
exit 4 where it only was too slow to judge."""

from __future__ import annotations

import json
import socket
import socketserver
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from harness.client import BadAnswer, TransportError, ViClient
from harness.run import RunOptions, exit_code, run_contracts
from harness.sim import SimConfig, running_simulator

PASS_THROUGH = ("/ServiceInstance/ServiceInstance/content", "/Login", "/Logout")
GARBAGE = bytes(range(256)) * 4
HTML = b"<html><head><title>500 Internal Server Error</title></head><body><h1>Oops</h1></body></html>"


def _response(status: str, headers: dict[str, str], body: bytes) -> bytes:
    head = "".join(f"{k}: {v}\r\n" for k, v in headers.items())
    return f"HTTP/1.1 {status}\r\n{head}\r\n".encode() + body


class Hostile(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, mode: str, upstream: str):
        self.mode, self.upstream, self.hostile_answers = mode, upstream, 0
        self.stop = threading.Event()
        super().__init__(("127.0.0.1", 0), _Handler)


class _Handler(socketserver.StreamRequestHandler):
    server: Hostile

    def handle(self) -> None:
        while not self.server.stop.is_set():
            line = self.rfile.readline()
            if not line:
                return
            method, path, _ = line.decode().split(" ", 2)
            headers = {}
            while (h := self.rfile.readline()) not in (b"\r\n", b"\n", b""):
                k, v = h.decode().split(":", 1)
                headers[k.strip().lower()] = v.strip()
            body = self.rfile.read(int(headers.get("content-length", 0) or 0))
            try:
                if path.endswith(PASS_THROUGH):
                    self.relay(method, path, headers, body)
                else:
                    self.server.hostile_answers += 1
                    self.hostile(path)
            except OSError:
                return

    def relay(self, method: str, path: str, headers: dict[str, str], body: bytes) -> None:
        keep = {k: v for k, v in headers.items() if k in ("content-type", "vmware-api-session-id", "accept")}
        r = requests.request(method, self.server.upstream + path, data=body or None, headers=keep, timeout=10)
        out = {
            "Content-Type": r.headers.get("content-type", "application/json"),
            "Content-Length": str(len(r.content)),
        }
        if "vmware-api-session-id" in r.headers:
            out["vmware-api-session-id"] = r.headers["vmware-api-session-id"]
        self.wfile.write(_response(f"{r.status_code} X", out, r.content))

    def hostile(self, path: str) -> None:
        mode, w = self.server.mode, self.wfile
        if mode == "garbage":
            w.write(
                _response(
                    "200 OK",
                    {"Content-Type": "application/json", "Content-Length": str(len(GARBAGE))},
                    GARBAGE,
                )
            )
        elif mode == "html":
            w.write(
                _response(
                    "500 Internal Server Error",
                    {"Content-Type": "text/html", "Content-Length": str(len(HTML))},
                    HTML,
                )
            )
        elif mode == "redirect":
            w.write(_response("302 Found", {"Location": path, "Content-Length": "0"}, b""))
        elif mode == "huge":
            w.write(
                _response(
                    "200 OK",
                    {"Content-Type": "application/json", "Content-Length": str(2 * 1024**3)},
                    b"[" + b"0," * 4096,
                )
            )
            while not self.server.stop.wait(0.05):
                w.write(b"0," * 4096)
        elif mode == "trickle":
            for byte in _response(
                "200 OK", {"Content-Type": "application/json", "Content-Length": "2"}, b"{}"
            ):
                if self.server.stop.wait(0.4):
                    return
                w.write(bytes([byte]))
                w.flush()


@contextmanager
def hostile_endpoint(mode: str) -> Iterator[tuple[str, dict[str, tuple[str, str]], Hostile]]:
    with running_simulator(SimConfig(vms=4, seed=3, task_delay_ms=0)) as sim:
        server = Hostile(mode, sim.url)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}", dict(sim.users), server
        finally:
            server.stop.set()
            server.shutdown()
            server.server_close()


def _run(url: str, users: dict[str, tuple[str, str]], tmp_path: Path, **kw) -> tuple[object, float]:
    admin, limited = users["admin"], users["limited"]
    options = RunOptions(
        endpoint=url,
        user=admin[0],
        password=admin[1],
        limited_user=limited[0],
        limited_password=limited[1],
        operations=("VirtualMachine_getRuntime", "VirtualMachine_PowerOnVM_Task"),
        checks=("shape", "faults"),
        report_dir=tmp_path / "r",
        **kw,
    )
    start = time.monotonic()
    result = run_contracts(options)
    return result, time.monotonic() - start


@pytest.mark.parametrize(
    "mode, needle",
    [
        ("garbage", "the body is not JSON (it begins b'\\x00\\x01"),
        ("html", "HTTP 500: the body is not JSON (it begins b'<html>"),
        ("redirect", "HTTP 302 redirect to /sdk/vim25/8.0.2.0/"),
        ("huge", "a body of 2147483648 bytes announced, over the 1048576-byte limit"),
    ],
)
def test_a_hostile_answer_fails_the_operation_that_answered(mode, needle, tmp_path):
    with hostile_endpoint(mode) as (url, users, server):
        result, took = _run(url, users, tmp_path, timeout=5, max_body=1024 * 1024)
    assert took < 30, f"{mode}: the run took {took:.0f} s"
    assert exit_code(result) == 1
    failed = {(op, c.check): c for op, c in result.gate_failures()}
    assert failed, result.summary()
    messages = " | ".join(c.message for c in failed.values())
    assert needle in messages, messages
    # the failure is recorded on an operation that answered that way, with the exchange as evidence
    ev = next(c for c in failed.values() if needle in c.message).evidence
    assert ev and ev[0].request["url"].startswith(url)
    data = json.loads((tmp_path / "r" / "results.json").read_text())
    assert data["gate"] == {"verdict": "failed", "exit_code": 1}


def test_a_trickling_endpoint_is_bounded_by_the_timeout_and_never_passes(tmp_path):
    with hostile_endpoint("trickle") as (url, users, server):
        result, took = _run(url, users, tmp_path, timeout=2)
        answers = server.hostile_answers
    assert answers >= 1
    # each exchange is cut at the timeout, whatever the server keeps sending
    assert took < 2 * 2 * answers + 10, f"{took:.0f} s for {answers} exchanges"
    assert result.errors() and not result.gate_failures()
    assert exit_code(result) == 4  # too slow to judge: undecided, and the gate fails closed
    assert "timed out" in json.dumps(result.to_dict())


def test_the_deadline_bounds_a_whole_exchange_not_each_read():
    with hostile_endpoint("trickle") as (url, users, server):
        client = ViClient(url, timeout=1.0)
        start = time.monotonic()
        with pytest.raises(TransportError, match="timed out"):
            client.get("VirtualMachine", "vm-1", "runtime")
        assert time.monotonic() - start < 2.5  # a byte arrives every 0.4 s: no single read times out


def test_a_body_over_the_cap_is_not_read():
    with hostile_endpoint("huge") as (url, users, server):
        client = ViClient(url, timeout=5.0, max_body=1_000_000)
        start = time.monotonic()
        with pytest.raises(BadAnswer, match="over the 1000000-byte limit") as err:
            client.get("VirtualMachine", "vm-1", "runtime")
        assert time.monotonic() - start < 2
        assert err.value.exchange.body == b""


def test_no_socket_is_left_to_the_watchdog_after_a_normal_exchange():
    with hostile_endpoint("redirect") as (url, users, server):
        client = ViClient(url, timeout=0.5)
        ex = client.get("VirtualMachine", "vm-1", "runtime")
        assert ex.status == 302 and not ex.ok  # redirects are answers to judge, never followed
        time.sleep(0.7)  # the deadline passes after the exchange ended: the pooled connection survives
        again = client.get("VirtualMachine", "vm-1", "runtime")
        assert again.status == 302
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", server.server_address[1]), timeout=0.5)
