"""Serve the simulator with SOAP at ``/sdk`` on a loopback socket (tests; the run's built-in endpoint
once ``--protocol soap`` is wired)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

import uvicorn

from ..sim.config import SimConfig
from ..sim.server import RunningSimulator, _uvicorn_config, bind
from ..sim.state import Simulator
from .server import create_soap_app


@contextmanager
def running_soap_simulator(cfg: SimConfig | None = None) -> Iterator[RunningSimulator]:
    """A new simulator serving VI/JSON and SOAP (same state) on 127.0.0.1, in a background thread;
    ``url`` is ``http://127.0.0.1:PORT`` (SOAP at ``url + "/sdk"``)."""
    cfg = cfg or SimConfig()
    sim = Simulator(cfg)
    server = uvicorn.Server(_uvicorn_config(create_soap_app(sim), cfg))
    server.install_signal_handlers = lambda: None  # type: ignore[method-assign]  # not the main thread
    sock = bind(cfg.host, cfg.port)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, name="soap-sim", daemon=True)
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
