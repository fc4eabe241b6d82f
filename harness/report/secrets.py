"""Keep secrets (passwords, session ids, cookies) out of everything the harness writes.

Two layers: structured redaction (headers and JSON bodies, applied by the client when it builds
evidence) and a text scrubber (applied by the report writers to every file they write, with the
concrete secret values the run knows about).
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Iterable
from typing import Any

import markupsafe

REDACTED = "<redacted>"
#: Headers whose values are secrets (lower case).
SECRET_HEADERS = frozenset(
    {
        "vmware-api-session-id",
        "authorization",
        "cookie",
        "set-cookie",
        "proxy-authorization",
        "x-vmware-session-id",
    }
)
#: JSON keys whose values are secrets, wherever they appear in a body.
_SECRET_KEY = re.compile(r"pass(word|wd)?$|secret|^token$|sessionid$|^session_id$", re.IGNORECASE)


def is_secret_key(key: str) -> bool:
    return bool(_SECRET_KEY.search(key))


def redact_headers(headers: Any) -> dict[str, str]:
    """A plain dict of headers with secret values replaced."""
    return {k: (REDACTED if k.lower() in SECRET_HEADERS else str(v)) for k, v in dict(headers or {}).items()}


def redact_body(body: Any) -> Any:
    """A copy of a JSON value with the values of secret-looking keys replaced."""
    if isinstance(body, dict):
        return {
            k: (
                REDACTED
                if isinstance(k, str) and is_secret_key(k) and v not in (None, "")
                else redact_body(v)
            )
            for k, v in body.items()
        }
    if isinstance(body, list):
        return [redact_body(v) for v in body]
    return body


#: What the text scrubber writes: safe unescaped in JSON, XML, HTML and Markdown.
REDACTED_TEXT = "[redacted]"


def _variants(secret: str) -> set[str]:
    """The secret as it may appear once a writer escaped it (JSON, XML/HTML)."""
    forms = {secret, json.dumps(secret)[1:-1], json.dumps(secret, ensure_ascii=False)[1:-1]}
    escaped = {html.escape(f, quote=q) for f in forms for q in (False, True)}
    return forms | escaped | {str(markupsafe.escape(f)) for f in forms}  # jinja2 writes &#34; &#39;


#: Secrets shorter than this are redacted only where they stand alone (not inside a longer word): a
#: password such as ``pass`` must not turn every ``passed`` of a report into ``<redacted>ed``.
WHOLE_WORD_BELOW = 12


def _pattern(forms: Iterable[str]) -> re.Pattern[str] | None:
    """One regex matching any of ``forms``: long ones anywhere, short ones as whole tokens."""
    alternatives = []
    for form in sorted(set(forms), key=len, reverse=True):
        escaped = re.escape(form)
        alternatives.append(escaped if len(form) >= WHOLE_WORD_BELOW else rf"(?<!\w){escaped}(?!\w)")
    return re.compile("|".join(alternatives)) if alternatives else None


class Scrubber:
    """Replaces known secret values (and credentials in URLs) in text and in JSON-like values."""

    def __init__(self, secrets: Iterable[str | None] = ()):
        self.secrets: set[str] = set()
        self._value_re: re.Pattern[str] | None = None
        self._text_re: re.Pattern[str] | None = None
        for s in secrets:
            self.add(s)

    def add(self, secret: str | None) -> None:
        # very short values would mangle ordinary text; real passwords and session ids are longer
        if secret and len(secret) >= 4 and secret not in self.secrets:
            self.secrets.add(secret)
            self._value_re = self._text_re = None  # compiled again on first use

    def _patterns(self) -> tuple[re.Pattern[str] | None, re.Pattern[str] | None]:
        if self.secrets and self._value_re is None:
            self._value_re = _pattern(self.secrets)
            self._text_re = _pattern(v for s in self.secrets for v in _variants(s))
        return self._value_re, self._text_re

    def value(self, data: Any) -> Any:
        """A copy of a JSON-like value with every secret in every string replaced by ``<redacted>``."""
        if isinstance(data, str):
            value_re = self._patterns()[0]
            if value_re is not None:
                data = value_re.sub(REDACTED, data)
            return strip_url_credentials_in_text(data)
        if isinstance(data, dict):
            return {self.value(k) if isinstance(k, str) else k: self.value(v) for k, v in data.items()}
        if isinstance(data, list | tuple):
            return [self.value(v) for v in data]
        return data

    def __call__(self, text: str) -> str:
        """The text scrubber: the last line of defence over a rendered file."""
        text_re = self._patterns()[1]
        if text_re is not None:
            text = text_re.sub(REDACTED_TEXT, text)
        return strip_url_credentials_in_text(text)


_URL_CREDENTIALS = re.compile(r"(?P<scheme>[a-zA-Z][a-zA-Z0-9+.-]*://)[^/\s@:'\"]+(:[^/\s@'\"]*)?@")


def strip_url_credentials_in_text(text: str) -> str:
    """``https://user:pw@host`` -> ``https://host`` anywhere in a text."""
    return _URL_CREDENTIALS.sub(lambda m: m.group("scheme"), text)
