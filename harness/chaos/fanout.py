"""Concurrent sends for scenarios: one action from several sessions at once, or a bounded burst."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from ..client import Exchange, TransportError, ViClient

#: The most requests one action may have in flight at once (a burst stays bounded, on loopback).
MAX_IN_FLIGHT = 200
#: The most sessions one action may open.
MAX_SESSIONS = 16

Send = Callable[[ViClient], Exchange]


def fan_out(clients: list[ViClient], send: Send, times: int) -> list[Exchange | TransportError]:
    """Send ``times`` requests at once (released together by a barrier), spread round-robin over
    ``clients``; each answer in order of sending, or the :class:`TransportError` that replaced it."""
    times = max(1, min(times, MAX_IN_FLIGHT))
    barrier = threading.Barrier(times)

    def one(i: int) -> Exchange | TransportError:
        with contextlib.suppress(threading.BrokenBarrierError):
            barrier.wait(timeout=30)
        try:
            return send(clients[i % len(clients)])
        except TransportError as exc:
            return exc

    with ThreadPoolExecutor(max_workers=times, thread_name_prefix="chaos-fanout") as pool:
        return list(pool.map(one, range(times)))


def sessions(make: Callable[[], ViClient], count: int) -> list[ViClient]:
    """``count`` logged-in clients (each its own session), from ``make``."""
    return [make() for _ in range(max(1, min(count, MAX_SESSIONS)))]


def outcome_kind(ex: Exchange | Any) -> str:
    """What an answer was, in an action's ``expect`` words: ``task``, ``value`` or a fault type."""
    if not isinstance(ex, Exchange):
        return "transport"
    if ex.ok and isinstance(ex.json, dict) and ex.json.get("type") == "Task":
        return "task"
    if ex.fault_type:
        return ex.fault_type
    return "value" if 200 <= ex.status < 300 else f"HTTP {ex.status}"
