"""Transport faults injected in the client's own ``requests`` session (works over TLS too).

A :class:`ChaosAdapter` is mounted on a session; before or after each request it may add latency,
fail the connection, truncate or corrupt the body, drop the session header, or send the request
twice.  Decisions come from one seeded RNG, so a scenario replays the same faults.

Every answer the adapter touched carries the header ``X-Vsphere-Harness-Chaos`` (``truncate; id=7``)
and the adapter keeps what the endpoint really sent under that id (:meth:`ChaosAdapter.injected`):
the body before it was cut or corrupted, and for a duplicated send the answer to the first copy,
which the caller never sees.  A scenario judges the endpoint on that, never on the damage it did
itself.
"""

from __future__ import annotations

import contextlib
import random
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import requests

from ..client.deadline import DeadlineAdapter
from ..client.exchange import SESSION_HEADER

TRANSPORT_KINDS = ("latency", "error", "truncate", "corrupt", "drop_session", "duplicate")
#: the response header marking an answer the adapter changed (or the second copy of a duplicated send)
CHAOS_HEADER = "X-Vsphere-Harness-Chaos"
#: bodies kept per injected answer (what the endpoint sent); a longer one is kept cut, and flagged
MAX_KEPT = 1 << 20


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


@dataclass
class Injected:
    """What the adapter did to one exchange, and what the endpoint really sent.

    ``kinds``: the faults applied to the answer the caller got (``truncate``, ``corrupt``,
    ``duplicate``); ``status`` and ``body``: the answer as the endpoint sent it before it was cut or
    corrupted (``body`` None: the caller got it unchanged; ``body_complete`` False: it was longer
    than :data:`MAX_KEPT`); ``first_status`` and ``first_body``: for a duplicated send, the
    endpoint's answer to the first copy (``first_status`` None: the first copy got no answer)."""

    id: int
    kinds: list[str]
    method: str
    path: str
    status: int = 0
    body: bytes | None = None
    body_complete: bool = True
    first_status: int | None = None
    first_body: bytes | None = None
    first_complete: bool = True


class ChaosAdapter(DeadlineAdapter):
    """An ``HTTPAdapter`` that injects :class:`TransportFault`s; ``log`` lists what it did.  Its
    connections keep the client's deadline per exchange (:class:`~harness.client.deadline.DeadlineAdapter`)."""

    def __init__(self, faults: list[TransportFault], seed: int = 0, **kwargs: Any):
        super().__init__(**kwargs)
        self.faults = faults
        self.enabled = True
        self.log: list[dict[str, Any]] = []
        self.answers: dict[int, Injected] = {}
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._ids = 0

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
        self.log.append(
            {
                "t": time.time(),
                "fault": kind,
                "method": request.method,
                "path": requests.utils.urlparse(request.url).path,
            }
        )

    def injected(self, headers: Any) -> Injected | None:
        """What this adapter did to the answer with these headers (an ``Exchange``'s or a
        ``Response``'s), or None when it left the answer alone."""
        if headers is None:
            return None
        mark = headers.get(CHAOS_HEADER) if hasattr(headers, "get") else None
        match = re.search(r"\bid=(\d+)", mark or "")
        return self.answers.get(int(match.group(1))) if match else None

    def _record(self, request: requests.PreparedRequest, path: str) -> Injected:
        with self._lock:
            self._ids += 1
            record = Injected(self._ids, [], request.method or "", path)
            self.answers[record.id] = record
        return record

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
            raise InjectedConnectionError(
                f"injected: connection reset ({request.method} {path})", request=request
            )
        record: Injected | None = None
        if "duplicate" in kinds:
            self._note("duplicate", request)
            record = self._record(request, path)
            record.kinds.append("duplicate")
            try:
                first = super().send(request.copy(), **kwargs)
            except requests.RequestException:
                pass  # the first copy got no answer: nothing the endpoint sent to judge
            else:
                with contextlib.suppress(Exception):
                    record.first_status = first.status_code
                    record.first_body = first.raw.read(MAX_KEPT + 1, decode_content=True)
                    record.first_complete = len(record.first_body) <= MAX_KEPT
                    record.first_body = record.first_body[:MAX_KEPT]
                first.close()
        response = super().send(request, **kwargs)
        if kinds & {"truncate", "corrupt"}:
            body = response.content  # read it now, then damage what the caller will see
            if body and record is None:
                record = self._record(request, path)
            if record is not None:
                record.body, record.body_complete = body[:MAX_KEPT], len(body) <= MAX_KEPT
            if "truncate" in kinds and body:
                self._note("truncate", request)
                assert record is not None
                record.kinds.append("truncate")
                body = body[: max(1, len(body) // 2)]
            if "corrupt" in kinds and body:
                self._note("corrupt", request)
                assert record is not None
                record.kinds.append("corrupt")
                damaged = bytearray(body)
                for _ in range(max(1, len(damaged) // 50)):
                    i = self._rng.randrange(len(damaged))
                    damaged[i] = self._rng.choice(b'{}[]",:\x00\xff')
                body = bytes(damaged)
            response._content = body  # noqa: SLF001 - requests keeps the read body here
        if record is not None:
            record.status = response.status_code
            response.headers[CHAOS_HEADER] = f"{','.join(record.kinds)}; id={record.id}"
        return response


def install(session: requests.Session, faults: list[TransportFault], seed: int = 0) -> ChaosAdapter:
    """Mount a :class:`ChaosAdapter` for http and https on ``session``; returns it (``enabled`` toggles it)."""
    adapter = ChaosAdapter(faults, seed)
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return adapter
