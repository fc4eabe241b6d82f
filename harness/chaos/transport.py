"""Transport faults injected in the client's own ``requests`` session (works over TLS too).

A :class:`ChaosAdapter` is mounted on a session; before or after each request it may add latency,
fail the connection, truncate or corrupt the body, drop the session header, or send the request
twice.  Decisions come from one seeded RNG, so a scenario replays the same faults.
"""

from __future__ import annotations

import random
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests
from requests.adapters import HTTPAdapter

from ..client.exchange import SESSION_HEADER

TRANSPORT_KINDS = ("latency", "error", "truncate", "corrupt", "drop_session", "duplicate")


@dataclass
class TransportFault:
    """One kind of fault with its odds.  ``match`` is a regular expression on the URL path;
    ``max_count`` bounds how often it fires (None: no bound)."""

    kind: str
    probability: float = 1.0
    latency_ms: int = 0
    match: str | None = None
    max_count: int | None = None
    fired: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if self.kind not in TRANSPORT_KINDS:
            raise ValueError(f"unknown transport fault {self.kind!r}; known: {', '.join(TRANSPORT_KINDS)}")
        if not 0.0 <= self.probability <= 1.0:
            raise ValueError(f"probability {self.probability} is not between 0 and 1")
        if self.match is not None:
            re.compile(self.match)

    @classmethod
    def from_mapping(cls, data: dict[str, Any]) -> TransportFault:
        unknown = set(data) - {"kind", "probability", "latency_ms", "match", "max_count"}
        if unknown:
            raise ValueError(f"unknown transport fault field(s): {', '.join(sorted(unknown))}")
        if "kind" not in data:
            raise ValueError("a transport fault needs a kind")
        return cls(**data)


class InjectedConnectionError(requests.ConnectionError):
    """The connection failure a :class:`ChaosAdapter` pretends happened."""


class ChaosAdapter(HTTPAdapter):
    """An ``HTTPAdapter`` that injects :class:`TransportFault`s; ``log`` lists what it did."""

    def __init__(self, faults: list[TransportFault], seed: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.faults = faults
        self.enabled = True
        self.log: list[dict[str, Any]] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def _fires(self, fault: TransportFault, path: str) -> bool:
        if not self.enabled:
            return False
        if fault.match and not re.search(fault.match, path):
            return False
        if fault.max_count is not None and fault.fired >= fault.max_count:
            return False
        with self._lock:
            hit = self._rng.random() < fault.probability
            if hit:
                fault.fired += 1
        return hit

    def _note(self, kind: str, request: requests.PreparedRequest) -> None:
        self.log.append({"t": time.time(), "fault": kind, "method": request.method,
                         "path": requests.utils.urlparse(request.url).path})

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        path = requests.utils.urlparse(request.url).path or "/"
        fired = [f for f in self.faults if self._fires(f, path)]
        kinds = {f.kind for f in fired}
        for f in fired:
            if f.kind == "latency":
                self._note("latency", request)
                time.sleep(f.latency_ms / 1000)
        if "drop_session" in kinds and SESSION_HEADER in request.headers:
            self._note("drop_session", request)
            del request.headers[SESSION_HEADER]
        if "error" in kinds:
            self._note("error", request)
            raise InjectedConnectionError(f"injected: connection reset ({request.method} {path})",
                                          request=request)
        if "duplicate" in kinds:
            self._note("duplicate", request)
            super().send(request.copy(), **kwargs).close()
        response = super().send(request, **kwargs)
        if kinds & {"truncate", "corrupt"}:
            body = response.content  # read it now, then damage what the caller will see
            if "truncate" in kinds and body:
                self._note("truncate", request)
                body = body[: max(1, len(body) // 2)]
            if "corrupt" in kinds and body:
                self._note("corrupt", request)
                damaged = bytearray(body)
                for _ in range(max(1, len(damaged) // 50)):
                    i = self._rng.randrange(len(damaged))
                    damaged[i] = self._rng.choice(b"{}[]\",:\x00\xff")
                body = bytes(damaged)
            response._content = body  # noqa: SLF001 - requests keeps the read body here
        return response


def install(session: requests.Session, faults: list[TransportFault], seed: int = 0) -> ChaosAdapter:
    """Mount a :class:`ChaosAdapter` for http and https on ``session``; returns it (``enabled`` toggles it)."""
    adapter = ChaosAdapter(faults, seed)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return adapter
