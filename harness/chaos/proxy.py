"""A TCP proxy with Toxiproxy's toxics, in-process; or a real Toxiproxy server through its API.

Toxics keep Toxiproxy's names and attributes: ``latency`` (latency, jitter ms), ``bandwidth``
(rate KB/s), ``slow_close`` (delay ms), ``timeout`` (timeout ms; 0 = hold forever), ``reset_peer``
(timeout ms, then TCP RST), ``slicer`` (average_size, size_variation bytes, delay µs) and
``limit_data`` (bytes).  Each has a ``stream`` (``downstream``: server → client, the default;
``upstream``: client → server) and a ``toxicity`` (the share of connections it applies to).
Toxics are read for every chunk, so adding or removing one acts on open connections too.

``ToxicProxy.log`` lists every connection the proxy cut short (``limit_data``, ``timeout``,
``reset_peer``), with the time and stream: what arrives damaged through such a connection is the
proxy's doing, not the endpoint's.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import socket
import struct
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

TOXIC_TYPES: dict[str, dict[str, Any]] = {
    "latency": {"latency": 0, "jitter": 0},
    "bandwidth": {"rate": 0},
    "slow_close": {"delay": 0},
    "timeout": {"timeout": 0},
    "reset_peer": {"timeout": 0},
    "slicer": {"average_size": 64, "size_variation": 32, "delay": 0},
    "limit_data": {"bytes": 0},
}
STREAMS = ("upstream", "downstream")


@dataclass
class Toxic:
    name: str
    type: str
    stream: str = "downstream"
    toxicity: float = 1.0
    attributes: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.type not in TOXIC_TYPES:
            raise ValueError(f"unknown toxic {self.type!r}; known: {', '.join(TOXIC_TYPES)}")
        if self.stream not in STREAMS:
            raise ValueError(f"stream must be upstream or downstream, not {self.stream!r}")
        if not 0.0 <= self.toxicity <= 1.0:
            raise ValueError(f"toxicity {self.toxicity} is not between 0 and 1")
        unknown = set(self.attributes) - set(TOXIC_TYPES[self.type])
        if unknown:
            raise ValueError(f"toxic {self.type} has no attribute(s) {', '.join(sorted(unknown))}")
        self.attributes = {**TOXIC_TYPES[self.type], **self.attributes}

    def to_toxiproxy(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "type": self.type,
            "stream": self.stream,
            "toxicity": self.toxicity,
            "attributes": self.attributes,
        }


class _Connection:
    def __init__(self, rng: random.Random, cut: Callable[[str, str], None] = lambda toxic, stream: None):
        self.rng = rng
        self.cut = cut
        self.rolls: dict[str, bool] = {}
        self.sent = {"upstream": 0, "downstream": 0}
        self.client: asyncio.StreamWriter | None = None
        self.reset_scheduled = False

    def schedule_reset(self, timeout_ms: float) -> None:
        """Reset the client's connection after ``timeout_ms`` (once per connection)."""
        if not self.reset_scheduled and self.client is not None:
            self.reset_scheduled = True
            client = self.client

            def fire() -> None:
                self.cut("reset_peer", "both")
                _reset(client)

            asyncio.get_running_loop().call_later(timeout_ms / 1000, fire)

    def applies(self, toxic: Toxic) -> bool:
        if toxic.name not in self.rolls:
            self.rolls[toxic.name] = self.rng.random() < toxic.toxicity
        return self.rolls[toxic.name]


class ToxicProxy:
    """Listens on 127.0.0.1 and forwards to ``upstream`` (host, port), applying toxics.

    ``with ToxicProxy(("127.0.0.1", 8989)) as proxy: proxy.url`` …  ``add_toxic``/``remove_toxic``/
    ``reset`` change the toxics at any time (thread-safe)."""

    def __init__(self, upstream: tuple[str, int], listen: tuple[str, int] = ("127.0.0.1", 0), seed: int = 0):
        self.upstream = upstream
        self.listen = listen
        self.toxics: dict[str, Toxic] = {}
        self.connections = 0
        #: connections cut short: {"t": monotonic time, "toxic": type, "stream": ..., "connection": n}
        self.log: list[dict[str, Any]] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._tasks: set[asyncio.Task] = set()
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # toxics ------------------------------------------------------------------------------------
    def add_toxic(
        self,
        type: str,
        name: str | None = None,
        stream: str = "downstream",
        toxicity: float = 1.0,
        **attributes: Any,
    ) -> Toxic:
        toxic = Toxic(name or f"{type}_{stream}", type, stream, toxicity, attributes)
        with self._lock:
            self.toxics[toxic.name] = toxic
        return toxic

    def remove_toxic(self, name: str) -> None:
        with self._lock:
            self.toxics.pop(name, None)

    def reset(self) -> None:
        with self._lock:
            self.toxics.clear()

    def _active(self, conn: _Connection, stream: str) -> list[Toxic]:
        with self._lock:
            toxics = list(self.toxics.values())
        return [t for t in toxics if t.stream == stream and conn.applies(t)]

    # lifecycle ---------------------------------------------------------------------------------
    def __enter__(self) -> ToxicProxy:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def start(self) -> None:
        self._thread = threading.Thread(target=self._serve, name="toxic-proxy", daemon=True)
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the TCP proxy did not start")

    def stop(self) -> None:
        loop = self._loop
        if loop is None:
            return
        loop.call_soon_threadsafe(self._shutdown)
        if self._thread:
            self._thread.join(10)
        self._loop = None

    def _shutdown(self) -> None:
        if self._server:
            self._server.close()
        for task in list(self._tasks):
            task.cancel()
        assert self._loop is not None
        self._loop.call_later(0.05, self._loop.stop)

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        self._server = loop.run_until_complete(asyncio.start_server(self._handle, *self.listen))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            loop.run_forever()
        finally:
            with contextlib.suppress(Exception):
                loop.run_until_complete(self._server.wait_closed())
            loop.close()

    # forwarding --------------------------------------------------------------------------------
    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self.connections += 1
        number = self.connections

        def cut(toxic: str, stream: str) -> None:
            self.log.append({"t": time.monotonic(), "toxic": toxic, "stream": stream, "connection": number})

        conn = _Connection(random.Random(self._rng.random()), cut)
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.upstream)
        except OSError:
            _reset(writer)
            self._tasks.discard(task)
            return
        conn.client = writer
        for toxic in self._active(conn, "downstream") + self._active(conn, "upstream"):
            if toxic.type == "reset_peer":
                conn.schedule_reset(toxic.attributes["timeout"])
        try:
            await asyncio.gather(
                self._pump(reader, up_writer, conn, "upstream"),
                self._pump(up_reader, writer, conn, "downstream"),
            )
        except (asyncio.CancelledError, ConnectionError, OSError):
            pass
        finally:
            for w in (writer, up_writer):
                with contextlib.suppress(Exception):
                    w.close()
            self._tasks.discard(task)

    async def _pump(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, conn: _Connection, stream: str
    ) -> None:
        while True:
            data = await reader.read(65536)
            toxics = self._active(conn, stream)
            if not data:
                for t in toxics:
                    if t.type == "slow_close":
                        await asyncio.sleep(t.attributes["delay"] / 1000)
                with contextlib.suppress(Exception):
                    writer.write_eof()
                return
            for t in toxics:
                if t.type == "reset_peer":
                    conn.schedule_reset(t.attributes["timeout"])
                    if not t.attributes["timeout"]:
                        return
                if t.type == "timeout":
                    conn.cut("timeout", stream)
                    if t.attributes["timeout"]:
                        await asyncio.sleep(t.attributes["timeout"] / 1000)
                        _reset(writer)
                        return
                    await asyncio.Event().wait()  # hold the data forever
                if t.type == "latency":
                    jitter = t.attributes["jitter"]
                    delay = t.attributes["latency"] + (conn.rng.uniform(-jitter, jitter) if jitter else 0)
                    await asyncio.sleep(max(0.0, delay) / 1000)
                if t.type == "bandwidth" and t.attributes["rate"] > 0:
                    await asyncio.sleep(len(data) / (t.attributes["rate"] * 1024))
            limit = next((t.attributes["bytes"] for t in toxics if t.type == "limit_data"), None)
            if limit is not None and conn.sent[stream] + len(data) > limit:
                conn.cut("limit_data", stream)
                data = data[: max(0, limit - conn.sent[stream])]
                if data:
                    writer.write(data)
                    await writer.drain()
                writer.close()
                return
            slicer = next((t for t in toxics if t.type == "slicer"), None)
            if slicer is not None:
                await self._write_sliced(writer, data, slicer, conn)
            else:
                writer.write(data)
                await writer.drain()
            conn.sent[stream] += len(data)

    @staticmethod
    async def _write_sliced(
        writer: asyncio.StreamWriter, data: bytes, slicer: Toxic, conn: _Connection
    ) -> None:
        avg, var = slicer.attributes["average_size"], slicer.attributes["size_variation"]
        i = 0
        while i < len(data):
            size = max(1, avg + (conn.rng.randint(-var, var) if var else 0))
            writer.write(data[i : i + size])
            await writer.drain()
            i += size
            if slicer.attributes["delay"]:
                await asyncio.sleep(slicer.attributes["delay"] / 1_000_000)


def _reset(writer: asyncio.StreamWriter) -> None:
    """Close with a TCP RST (SO_LINGER 0), as Toxiproxy's reset_peer does."""
    sock = writer.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(Exception):
        writer.close()


class ToxiproxyServer:
    """The same toxics on a real Toxiproxy server (its HTTP API), for users who run one."""

    def __init__(self, api: str, name: str, listen: str, upstream: str):
        self.api = api.rstrip("/")
        self.name = name
        self.http = requests.Session()
        resp = self.http.post(
            f"{self.api}/proxies",
            json={"name": name, "listen": listen, "upstream": upstream, "enabled": True},
            timeout=10,
        )
        if resp.status_code not in (200, 201, 409):
            raise RuntimeError(f"toxiproxy refused proxy {name}: HTTP {resp.status_code} {resp.text[:200]}")
        self.listen = listen

    @property
    def url(self) -> str:
        return f"http://{self.listen}"

    def add_toxic(
        self,
        type: str,
        name: str | None = None,
        stream: str = "downstream",
        toxicity: float = 1.0,
        **attributes: Any,
    ) -> Toxic:
        toxic = Toxic(name or f"{type}_{stream}", type, stream, toxicity, attributes)
        resp = self.http.post(f"{self.api}/proxies/{self.name}/toxics", json=toxic.to_toxiproxy(), timeout=10)
        if resp.status_code not in (200, 201):
            raise RuntimeError(f"toxiproxy refused toxic {toxic.name}: HTTP {resp.status_code}")
        return toxic

    def remove_toxic(self, name: str) -> None:
        self.http.delete(f"{self.api}/proxies/{self.name}/toxics/{name}", timeout=10)

    def reset(self) -> None:
        self.http.post(f"{self.api}/reset", timeout=10)

    def stop(self) -> None:
        self.http.delete(f"{self.api}/proxies/{self.name}", timeout=10)
