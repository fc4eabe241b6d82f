"""One HTTP request and its answer, as the checks and the reports see it."""

from __future__ import annotations

import json
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..report.model import Evidence
from ..report.secrets import REDACTED, SECRET_HEADERS, redact_body, redact_headers
from ..vmodl.registry import UnknownRelease
from ..vmodl.registry import release as registry

SESSION_HEADER = "vmware-api-session-id"
#: Evidence keeps at most this many characters of a non-JSON body.
MAX_TEXT = 20_000
_SESSION_VAR = "$VSPHERE_SESSION_ID"


@dataclass
class Exchange:
    """A request sent and the response received (``status`` 0 never happens: no answer raises
    :class:`~harness.client.errors.TransportError`)."""

    method: str
    url: str
    request_headers: dict[str, str]
    request_body: bytes | None
    status: int
    headers: Mapping[str, str]  # case-insensitive
    body: bytes
    elapsed_ms: float
    release: str = ""
    json: Any = None  # the decoded body; None for an empty or non-JSON body
    is_json: bool = False
    #: what makes the answer no VI/JSON answer at all (a body that is not JSON, one over the size
    #: limit and so not read); empty for a well-formed answer
    defect: str = ""
    #: a check judged this exchange itself (the run's auditor leaves it alone)
    judged: bool = False
    #: the faults the client's own chaos layer applied to this answer (``truncate,corrupt``); an
    #: answer the harness damaged is never judged as the endpoint's
    injected: str = ""
    _fault: Any = field(default=None, repr=False)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")

    @property
    def ok(self) -> bool:
        """A well-formed 2xx answer that is not a fault."""
        return 200 <= self.status < 300 and self.fault is None and not self.defect

    @property
    def fault(self) -> dict[str, Any] | None:
        """The fault object of the answer, or None.

        A JSON object with a ``_typeName`` on a non-2xx status, or one naming a fault type (a
        ``MethodFault`` subtype) on any status: an endpoint that sends faults with HTTP 200 is
        still answering a fault.
        """
        data = self.json
        if not (isinstance(data, dict) and isinstance(data.get("_typeName"), str)):
            return None
        if self.status >= 300:
            return data
        return data if _is_fault_type(data["_typeName"], self.release) else None

    @property
    def fault_type(self) -> str | None:
        f = self.fault
        return f["_typeName"] if f else None

    def request_json(self) -> Any:
        """The request body decoded as JSON (None when empty or not JSON)."""
        return _decode(self.request_body)[0]

    def evidence(self, note: str = "") -> Evidence:
        """This exchange as report evidence, secrets redacted, with a curl line."""
        return Evidence(
            request=request_record(self.method, self.url, self.request_headers, self.request_body),
            response={
                "status": self.status,
                "headers": redact_headers(self.headers),
                "body": _body_record(self.body, self.is_json, self.json),
                "elapsed_ms": round(self.elapsed_ms, 2),
            },
            curl=curl_line(self.method, self.url, self.request_headers, self.request_body),
            note=note,
        )


def _is_fault_type(name: str, release: str) -> bool:
    try:
        return registry(release).is_fault(name) if release else name.endswith(("Fault", "Exception"))
    except UnknownRelease:
        return False


def _decode(body: bytes | None) -> tuple[Any, bool]:
    if not body:
        return None, False
    try:
        return json.loads(body), True
    except ValueError:
        return None, False


def _body_record(body: bytes | None, is_json: bool, decoded: Any = None) -> Any:
    if not body:
        return None
    if is_json:
        return redact_body(decoded)
    value, ok = _decode(body)
    if ok:
        return redact_body(value)
    text = body.decode("utf-8", "replace")
    return text if len(text) <= MAX_TEXT else text[:MAX_TEXT] + f"... ({len(text)} characters)"


def request_record(method: str, url: str, headers: dict[str, str], body: bytes | None) -> dict[str, Any]:
    return {
        "method": method,
        "url": url,
        "headers": redact_headers(headers),
        "body": _body_record(body, False),
    }


def curl_line(method: str, url: str, headers: dict[str, str], body: bytes | None) -> str:
    """A curl command reproducing the request; the session id is left to ``$VSPHERE_SESSION_ID``."""
    parts = ["curl", "-sS", "-X", method, shlex.quote(url)]
    for name, value in headers.items():
        low = name.lower()
        if low in ("content-length", "accept-encoding", "connection", "user-agent"):
            continue
        if low == SESSION_HEADER:
            parts += ["-H", f'"{name}: {_SESSION_VAR}"']
        elif low in SECRET_HEADERS:
            parts += ["-H", shlex.quote(f"{name}: {REDACTED}")]
        else:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if body:
        value, ok = _decode(body)
        data = (
            json.dumps(redact_body(value), separators=(",", ":")) if ok else body.decode("utf-8", "replace")
        )
        parts += ["--data-raw", shlex.quote(data)]
    return " ".join(parts)
