"""One deadline for a whole HTTP exchange: connect, headers and body together.

``requests`` (through urllib3) bounds each socket operation, not the exchange: an endpoint that
sends one byte every few seconds keeps a read alive forever.  A :class:`DeadlineAdapter` mounts
connection classes that register the connection of the exchange in progress; when the exchange's
:class:`Deadline` expires, one shared :class:`Watchdog` thread shuts that connection's socket
down, so the blocked read returns at once and the client reports a timeout.
"""

from __future__ import annotations

import heapq
import itertools
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

_ACTIVE = threading.local()  # the Deadline of the exchange this thread is sending, if any


class Deadline:
    """The end of one exchange; :meth:`expire` cuts the exchange's connection."""

    def __init__(self, seconds: float):
        self.seconds = seconds
        self.at = time.monotonic() + seconds
        self.expired = False
        self._conn: Any = None
        self._lock = threading.Lock()

    def remaining(self) -> float:
        return self.at - time.monotonic()

    def attach(self, conn: Any) -> None:
        with self._lock:
            self._conn = conn
            if self.expired:
                _shut(conn)

    def expire(self) -> None:
        with self._lock:
            self.expired = True
            if self._conn is not None:
                _shut(self._conn)


def _shut(conn: Any) -> None:
    sock = getattr(conn, "sock", None)
    if sock is None:
        return
    with suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


class Watchdog:
    """One daemon thread that expires deadlines in time order."""

    def __init__(self) -> None:
        self._heap: list[tuple[float, int, Deadline]] = []
        self._live: set[int] = set()  # keys still in the heap and not cancelled
        self._ids = itertools.count()
        self._cv = threading.Condition()
        self._thread: threading.Thread | None = None

    def watch(self, deadline: Deadline) -> int:
        with self._cv:
            key = next(self._ids)
            heapq.heappush(self._heap, (deadline.at, key, deadline))
            self._live.add(key)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._loop, name="vsphere-harness-deadlines", daemon=True
                )
                self._thread.start()
            elif self._heap[0][1] == key:
                self._cv.notify()
            return key

    def cancel(self, key: int) -> None:
        with self._cv:
            self._live.discard(key)

    def _loop(self) -> None:
        with self._cv:
            while True:
                while self._heap and self._heap[0][1] not in self._live:
                    heapq.heappop(self._heap)
                if not self._heap:
                    self._cv.wait()
                    continue
                at, key, deadline = self._heap[0]
                wait = at - time.monotonic()
                if wait > 0:
                    self._cv.wait(wait)
                    continue
                heapq.heappop(self._heap)
                self._live.discard(key)
                deadline.expire()


WATCHDOG = Watchdog()


@contextmanager
def bounded(seconds: float) -> Iterator[Deadline]:
    """Bound the exchanges this thread sends inside the block to ``seconds`` in total."""
    deadline = Deadline(seconds)
    key = WATCHDOG.watch(deadline)
    previous = getattr(_ACTIVE, "deadline", None)
    _ACTIVE.deadline = deadline
    try:
        yield deadline
    finally:
        _ACTIVE.deadline = previous
        WATCHDOG.cancel(key)


class _Registering:
    """Mixin: the connection registers itself with the thread's deadline before each request."""

    def request(self, *args: Any, **kwargs: Any) -> Any:
        deadline = getattr(_ACTIVE, "deadline", None)
        if deadline is not None:
            deadline.attach(self)
        return super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Registering, HTTPConnection):
    pass


class _HTTPSConnection(_Registering, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` whose connections obey :func:`bounded` (direct connections; through an
    HTTP proxy only the per-operation timeouts apply)."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}
