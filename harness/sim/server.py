"""Serve the simulator with uvicorn: in a background thread (tests, the run command) or in the
foreground (the ``sim`` command)."""

from __future__ import annotations

import signal
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn

from .app import create_app
from .config import SimConfig, parse_misbehaviour
from .hostctl import set_host_connection
from .simulator import Simulator


class _Server(uvicorn.Server):
    """uvicorn's server, ending cleanly on SIGINT/SIGTERM without re-raising the signal."""

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
    """A simulator served on a real socket; ``url`` is ``http://127.0.0.1:PORT``."""

    def __init__(self, sim: Simulator, server: uvicorn.Server, sock: socket.socket):
        self.sim = sim
        self.server = server
        self.sock = sock
        host, port = sock.getsockname()[:2]
        self.host, self.port = host, port
        self.url = f"http://{host if ':' not in host else f'[{host}]'}:{port}"

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


@contextmanager
def running_simulator(cfg: SimConfig | None = None) -> Iterator[RunningSimulator]:
    """Serve a new simulator on 127.0.0.1 (free port by default) in a background thread."""
    cfg = cfg or SimConfig()
    sim = Simulator(cfg)
    app = create_app(sim=sim)
    server = uvicorn.Server(_uvicorn_config(app, cfg))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # not the main thread
    sock = bind(cfg.host, cfg.port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="sim-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.01)
    if not server.started:
        sim.close()
        raise RuntimeError("the simulator did not start")
    try:
        yield RunningSimulator(sim, server, sock)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        sim.close()


def serve_forever(cfg: SimConfig, on_ready=None) -> None:
    """Serve in the foreground until SIGINT or SIGTERM (uvicorn's handlers end the loop cleanly)."""
    sim = Simulator(cfg)
    app = create_app(sim=sim)
    server = _Server(_uvicorn_config(app, cfg))
    sock = bind(cfg.host, cfg.port)
    if on_ready is not None:
        on_ready(RunningSimulator(sim, server, sock))
    try:
        server.run(sockets=[sock])
    finally:
        sock.close()
        sim.close()
