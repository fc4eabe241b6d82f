"""A *mutating endpoint*: the clean simulator behind an ASGI wrapper that rewrites chosen requests and
responses, served by uvicorn on 127.0.0.1.  Each adversarial test installs a few :class:`Rule` s that
break the VI/JSON contract in one new way and runs one check against it."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
import uvicorn

from harness.checks.base import CheckContext, Skip, registered
from harness.client import ViClient
from harness.contract import load_contracts
from harness.sandbox import Sandbox
from harness.sim import SimConfig, create_app
from harness.sim.server import _uvicorn_config, bind
from harness.sim.simulator import Simulator

RELEASE = "8.0.2.0"
DELAYS = {"Rename_Task": 12.0, "CloneVM_Task": 12.0}
#: session ids of the test clients (``admin``, ``limited``), for rules that act as another user
SESSIONS: dict[str, str | None] = {}
#: (user, password) by role of the endpoint
USERS: dict[str, tuple[str, str]] = {}


@dataclass
class Req:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def as_user(self, key: str) -> Req:
        """The same request sent with the session of the test client ``key``."""
        return Req(
            self.method, self.path, {**self.headers, "vmware-api-session-id": SESSIONS[key] or ""}, self.body
        )


@dataclass
class Resp:
    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        try:
            return json.loads(self.body) if self.body else None
        except ValueError:
            return None

    def with_json(self, value: Any, status: int | None = None) -> Resp:
        body = b"" if value is None else json.dumps(value).encode()
        headers = {k: v for k, v in self.headers.items() if k != "content-type"}
        if body:
            headers["content-type"] = "application/json"
        return Resp(self.status if status is None else status, headers, body)


@dataclass
class Rule:
    """Where (HTTP method, path regex on the part after ``/sdk/vim25/<release>``) and what: ``before``
    may answer in place of the simulator (or edit the request), ``after`` may replace its answer (None:
    unchanged), ``shadow`` may name one more request the simulator gets behind the client's back (its
    answer is dropped: the endpoint does what it says it did not)."""

    method: str = "*"
    path: str = ".*"
    before: Callable[[Req], Resp | None] | None = None
    after: Callable[[Req, Resp], Resp | None] | None = None
    shadow: Callable[[Req, Resp], Req | None] | None = None
    delay: Callable[[Req], float] | None = None  # seconds to stall before answering (a slow network)
    fired: int = 0

    def matches(self, req: Req) -> bool:
        tail = re.sub(r"^/sdk/vim25/[^/]+", "", req.path)
        return self.method in ("*", req.method) and re.search(self.path, tail) is not None


def edit(
    method: str,
    path: str,
    fn: Callable[[Any], Any],
    when: Callable[[Req, Resp], bool] | None = None,
    status: int | None = None,
) -> Rule:
    """A rule rewriting the JSON answer with ``fn`` (which edits in place and returns None, or returns
    the new value); ``when`` limits it to some answers (default: 2xx)."""

    def after(req: Req, resp: Resp) -> Resp | None:
        if not (when(req, resp) if when else 200 <= resp.status < 300):
            return None
        value = resp.json
        new = fn(value)
        return resp.with_json(value if new is None else new, status)

    return Rule(method, path, after=after)


def answer(
    method: str,
    path: str,
    status: int,
    body: Any,
    content_type: str = "application/json",
    when: Callable[[Req, Resp], bool] | None = None,
) -> Rule:
    """A rule replacing the answer by a fixed one (``body``: JSON value, or bytes sent as they are)."""

    def after(req: Req, resp: Resp) -> Resp | None:
        if when is not None and not when(req, resp):
            return None
        raw = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
        return Resp(status, {"content-type": content_type} if raw else {}, raw)

    return Rule(method, path, after=after)


class Mutator:
    """ASGI middleware: buffers each VI/JSON exchange and lets the active rules rewrite it."""

    def __init__(self, app: Any):
        self.app = app
        self.rules: list[Rule] = []

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not self.rules or not scope["path"].startswith("/sdk/"):
            await self.app(scope, receive, send)
            return
        chunks = []
        while True:
            msg = await receive()
            chunks.append(msg.get("body", b""))
            if not msg.get("more_body"):
                break
        headers = {k.decode().lower(): v.decode() for k, v in scope["headers"]}
        req = Req(scope["method"], scope["path"], headers, b"".join(chunks))
        rules = [r for r in list(self.rules) if r.matches(req)]
        for r in rules:
            if r.delay is not None and (seconds := r.delay(req)) > 0:
                r.fired += 1
                await asyncio.sleep(seconds)
        resp = None
        for r in rules:
            if r.before is None:
                continue
            sent = (req.body, dict(req.headers))
            resp = r.before(req)
            r.fired += resp is not None or (req.body, req.headers) != sent
            if resp is not None:
                break
        if resp is None:
            resp = await self._forward(scope, req)
            for r in rules:
                if r.shadow is not None and (extra := r.shadow(req, resp)) is not None:
                    r.fired += 1
                    await self._forward(scope, extra)
            for r in rules:
                if r.after is not None and (out := r.after(req, resp)) is not None:
                    r.fired += 1
                    resp = out
        raw = [(k.encode(), v.encode()) for k, v in resp.headers.items() if k != "content-length"]
        raw.append((b"content-length", str(len(resp.body)).encode()))
        await send({"type": "http.response.start", "status": resp.status, "headers": raw})
        await send({"type": "http.response.body", "body": resp.body})

    async def _forward(self, scope: dict, req: Req) -> Resp:
        done = False
        status, headers, body = 500, {}, []

        async def receive() -> dict:
            nonlocal done
            if not done:
                done = True
                return {"type": "http.request", "body": req.body, "more_body": False}
            await asyncio.sleep(3600)
            return {"type": "http.disconnect"}

        async def send(msg: dict) -> None:
            nonlocal status, headers
            if msg["type"] == "http.response.start":
                status = msg["status"]
                headers = {k.decode().lower(): v.decode() for k, v in msg.get("headers", [])}
            elif msg["type"] == "http.response.body":
                body.append(msg.get("body", b""))

        headers_in = [(k.encode(), v.encode()) for k, v in req.headers.items() if k != "content-length"]
        headers_in.append((b"content-length", str(len(req.body)).encode()))
        await self.app({**scope, "headers": headers_in}, receive, send)
        return Resp(status, headers, b"".join(body))


@dataclass
class Endpoint:
    url: str
    sim: Simulator
    mutator: Mutator
    users: dict[str, tuple[str, str]] = field(default_factory=dict)


@pytest.fixture(scope="session")
def endpoint() -> Iterator[Endpoint]:
    cfg = SimConfig(vms=6, seed=0, task_delay_ms=15, method_delay_factor=DELAYS)
    sim = Simulator(cfg)
    mutator = Mutator(create_app(sim=sim))
    server = uvicorn.Server(_uvicorn_config(mutator, cfg))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]
    sock = bind("127.0.0.1", 0)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.01)
    host, port = sock.getsockname()[:2]
    try:
        yield Endpoint(f"http://{host}:{port}", sim, mutator, sim.users())
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        sim.close()


class Env:
    """Logged-in clients, a sandbox, and a way to run one check with rules active."""

    def __init__(self, ep: Endpoint):
        self.ep = ep
        self.contracts = load_contracts()
        self.checks = registered()
        self.admin = ViClient(ep.url, RELEASE)
        self.admin.login(*ep.users["admin"])
        self.limited = ViClient(ep.url, RELEASE)
        self.limited.login(*ep.users["limited"])
        self.sandbox = Sandbox(self.admin, RELEASE, run_id="adversarial", timeout=10)
        SESSIONS.update(admin=self.admin.session_id, limited=self.limited.session_id)
        USERS.update(ep.users)

    def run(
        self, check: str, op: str, rules: list[Rule], prewarm: bool = True, client: Any = None, **kw: Any
    ):
        """Run one check with ``rules`` active (the target prepared before, when ``prewarm``); ``client``
        replaces the administrator's client of the check (not the sandbox's)."""
        contract = self.contracts.get(op)
        ctx = CheckContext(
            contract=contract,
            release=RELEASE,
            client=client or self.admin,
            limited_client=self.limited,
            session_factory=self.admin.new,
            sandbox=self.sandbox,
            examples=kw.pop("examples", 2),
            seed=kw.pop("seed", 1),
            timeout=kw.pop("timeout", 10.0),
            simulated=True,
            users=dict(self.ep.users),
            **kw,
        )
        if prewarm:
            with contextlib.suppress(Skip):
                self.sandbox.target_for(contract)
        self.ep.mutator.rules = list(rules)
        try:
            return self.checks[check].run(ctx)
        finally:
            self.ep.mutator.rules = []


@pytest.fixture(scope="session")
def env(endpoint: Endpoint) -> Iterator[Env]:
    e = Env(endpoint)
    yield e
    e.sandbox.cleanup()
