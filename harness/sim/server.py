"""Serve the simulator with uvicorn: in a background thread (tests, the run command) or in the
foreground (the ``sim`` command)."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from typing import Any

import uvicorn

from .app import create_app
from .config import SimConfig, parse_misbehaviour
from .hostctl import set_host_connection
from .restart import forget_memory
from .simulator import Simulator


class _Server(uvicorn.Server):
    """uvicorn's server, ending cleanly on SIGINT/SIGTERM without re-raising the signal
    (``signalled`` then: the process stops, even in the middle of a restart)."""

    signalled = False

    def handle_exit(self, sig: int, frame: Any) -> None:
        self.signalled = True
        super().handle_exit(sig, frame)

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        originals = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            yield
        finally:
            for sig, handler in originals.items():
                signal.signal(sig, handler)


def _uvicorn_config(app: Any, cfg: SimConfig) -> uvicorn.Config:
    return uvicorn.Config(
        app,
        host=cfg.host,
        port=cfg.port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        http="h11",
        loop="asyncio",
        timeout_keep_alive=30,
        timeout_graceful_shutdown=2,
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket (``port`` 0 picks a free one)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)  # asyncio then sets TCP_NODELAY
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(512)
    sock.set_inheritable(True)
    return sock


class RunningSimulator:
    """A simulator served on a real socket; ``url`` is ``http://127.0.0.1:PORT``.

    :meth:`restart` stops serving (open connections are dropped), keeps the port closed for a while
    (connection refused) and serves again on the same port with what a restart keeps
    (:mod:`.restart`); so does ``POST /_sim/restart?down_ms=N``."""

    def __init__(
        self,
        sim: Simulator,
        server: uvicorn.Server,
        sock: socket.socket,
        thread: threading.Thread | None = None,
        config: uvicorn.Config | None = None,
    ):
        self.sim = sim
        self.server = server
        self.sock = sock
        self.thread = thread
        self.config = config
        host, port = sock.getsockname()[:2]
        self.host, self.port = host, port
        self.url = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
        self._restarting = threading.Lock()

    @property
    def users(self) -> dict[str, tuple[str, str]]:
        return self.sim.users()

    def set_misbehaviour(self, names) -> None:
        self.sim.set_misbehaviour(parse_misbehaviour(list(names) if not isinstance(names, str) else names))

    def add_fault_rule(self, rule: dict[str, Any]) -> None:
        self.sim.rules.add(rule)

    def clear_fault_rules(self) -> None:
        self.sim.rules.clear()

    def expire_sessions(self, user: str | None = None) -> int:
        """End every session (or ``user``'s) as a timeout would; how many ended."""
        return self.sim.auth.expire(user)

    def set_host_connection(self, moid: str, state: str) -> dict[str, str]:
        """Give a host a connection state (``notResponding``, ``disconnected``, ``connected``)."""
        return set_host_connection(self.sim, moid, state)

    def restart(self, down_s: float = 0.5) -> dict[str, int]:
        """Stop serving, forget what a restart forgets, keep the port closed ``down_s`` seconds, serve
        again on the same port; what was lost (sessions, tasks).  Only for a simulator served in a
        thread (:func:`running_simulator`)."""
        if self.thread is None or self.config is None:
            raise RuntimeError("only a simulator served in a background thread restarts this way")
        with self._restarting:
            self.stop()
            lost = forget_memory(self.sim)
            time.sleep(max(0.0, down_s))
            self.sock = bind(self.host, self.port)
            self.server, self.thread = _serve_in_thread(self.config, self.sock)
            return lost

    def stop(self) -> None:
        """Stop serving (the socket is closed); the state is kept."""
        self.server.should_exit = True
        if self.thread is not None:
            self.thread.join(timeout=10)
        self.sock.close()


def _serve_in_thread(config: uvicorn.Config, sock: socket.socket) -> tuple[uvicorn.Server, threading.Thread]:
    server = uvicorn.Server(config)
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # not the main thread
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="sim-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not server.started:
        server.should_exit = True
        raise RuntimeError("the simulator did not start")
    return server, thread


@contextmanager
def running_simulator(cfg: SimConfig | None = None) -> Iterator[RunningSimulator]:
    """Serve a new simulator on 127.0.0.1 (free port by default) in a background thread."""
    cfg = cfg or SimConfig()
    sim = Simulator(cfg)
    app = create_app(sim=sim)
    config = _uvicorn_config(app, cfg)
    sock = bind(cfg.host, cfg.port)
    try:
        server, thread = _serve_in_thread(config, sock)
    except RuntimeError:
        sock.close()
        sim.close()
        raise
    running = RunningSimulator(sim, server, sock, thread, config)
    sim.restart_hook = running.restart
    try:
        yield running
    finally:
        sim.restart_hook = None
        with running._restarting:
            running.stop()
        sim.close()


def _down(seconds: float) -> bool:
    """Stay down ``seconds`` (the port closed); True when SIGINT or SIGTERM came meanwhile."""
    stop: list[int] = []
    originals = {
        sig: signal.signal(sig, lambda n, _f: stop.append(n)) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        deadline = time.monotonic() + seconds
        while not stop and time.monotonic() < deadline:
            time.sleep(min(0.05, max(0.0, deadline - time.monotonic())))
    finally:
        for sig, handler in originals.items():
            signal.signal(sig, handler)
    return bool(stop)


def serve_forever(cfg: SimConfig, on_ready=None) -> None:
    """Serve in the foreground until SIGINT or SIGTERM (uvicorn's handlers end the loop cleanly).
    ``POST /_sim/restart`` stops the server, keeps the port closed a while and serves again."""
    sim = Simulator(cfg)
    app = create_app(sim=sim)
    sock = bind(cfg.host, cfg.port)
    host, port = sock.getsockname()[:2]
    config = _uvicorn_config(app, replace(cfg, port=port))
    server = _Server(config)
    pending: list[float] = []

    def restart(down_s: float) -> None:
        pending.append(down_s)
        server.should_exit = True

    sim.restart_hook = restart
    if on_ready is not None:
        on_ready(RunningSimulator(sim, server, sock))
    try:
        while True:
            try:
                server.run(sockets=[sock])
            finally:
                sock.close()
            if not pending or server.signalled:
                return
            forget_memory(sim)
            if _down(pending.pop()):
                return
            sock = bind(host, port)
            server = _Server(config)
    finally:
        sim.close()
