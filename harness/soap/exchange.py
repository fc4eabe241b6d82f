"""The exchange the checks see for a SOAP call: the VI/JSON view, plus the SOAP messages that
travelled, for evidence (secrets redacted: the session cookie, passwords in the XML)."""

from __future__ import annotations

import re
import shlex
from collections.abc import Mapping
from dataclasses import dataclass, field

from ..client import Exchange
from ..report.model import Evidence
from ..report.secrets import REDACTED, is_secret_key, redact_headers
from .envelope import COOKIE_NAME

#: Evidence keeps at most this many characters of a SOAP message.
MAX_XML = 20_000
_SESSION_VAR = "$VSPHERE_SESSION_ID"
_ELEMENT = re.compile(
    r"<(?P<tag>(?:[A-Za-z_][\w.-]*:)?(?P<local>[A-Za-z_][\w.-]*))(?P<attrs>\s[^<>]*)?>(?P<value>[^<]*)</(?P=tag)\s*>"
)


def redact_xml(text: str) -> str:
    """The XML with the content of secret-named elements (``password``, ``sessionId`` …) replaced."""

    def hide(m: re.Match[str]) -> str:
        if not is_secret_key(m.group("local")) or not m.group("value"):
            return m.group(0)
        return f"<{m.group('tag')}{m.group('attrs') or ''}>{REDACTED}</{m.group('tag')}>"

    return _ELEMENT.sub(hide, text)


def xml_record(body: bytes) -> str | None:
    if not body:
        return None
    text = redact_xml(body.decode("utf-8", "replace"))
    return text if len(text) <= MAX_XML else text[:MAX_XML] + f"... ({len(text)} characters)"


@dataclass
class SoapExchange(Exchange):
    """An :class:`Exchange` made over SOAP: ``method``/``url``/``status``/``json`` are the VI/JSON
    view the checks judge; ``soap_*`` are the messages on the wire."""

    soap_url: str = ""
    soap_request_headers: dict[str, str] = field(default_factory=dict)
    soap_request: bytes = b""
    soap_status: int = 0
    soap_headers: Mapping[str, str] = field(default_factory=dict)
    soap_response: bytes = b""
    soap_method: str = ""

    def evidence(self, note: str = "") -> Evidence:
        """The VI/JSON view as evidence, the SOAP messages under ``soap``, a curl line that
        repeats the SOAP request."""
        ev = super().evidence(note)
        ev.request["soap"] = {
            "method": self.soap_method,
            "url": self.soap_url,
            "headers": redact_headers(self.soap_request_headers),
            "body": xml_record(self.soap_request),
        }
        if ev.response is not None:
            if self.body and not self.is_json:
                ev.response["body"] = xml_record(self.body)
            ev.response["soap"] = {
                "status": self.soap_status,
                "headers": redact_headers(self.soap_headers),
                "body": xml_record(self.soap_response),
            }
        ev.curl = soap_curl(self.soap_url, self.soap_request_headers, self.soap_request)
        return ev


def soap_curl(url: str, headers: Mapping[str, str], body: bytes) -> str:
    """A curl command repeating a SOAP request; the session is left to ``$VSPHERE_SESSION_ID``."""
    parts = ["curl", "-sS", "-X", "POST", shlex.quote(url)]
    for name, value in headers.items():
        low = name.lower()
        if low in ("content-length", "accept-encoding", "connection", "user-agent"):
            continue
        if low == "cookie":
            parts += ["-H", f'"Cookie: {COOKIE_NAME}={_SESSION_VAR}"']
        else:
            parts += ["-H", shlex.quote(f"{name}: {value}")]
    if body:
        parts += ["--data-raw", shlex.quote(redact_xml(body.decode("utf-8", "replace")))]
    return " ".join(parts)
