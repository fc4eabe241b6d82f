"""A check's findings as it goes: failures and errors with their evidence, turned into one result."""

from __future__ import annotations

import contextlib
from typing import Any

from ..client import Exchange
from ..report.model import CheckResult, Evidence

MAX_EVIDENCE = 6


class Verdict:
    """Collects what a check found; :meth:`result` turns it into a :class:`CheckResult`."""

    def __init__(self, name: str):
        self.name = name
        self.failures: list[str] = []
        self.errors: list[str] = []
        self.notes: list[str] = []
        self.evidence: list[Evidence] = []
        self.seen = 0  # exchanges judged
        self.where = ""  # prefixed to messages while set (:meth:`about`)

    @contextlib.contextmanager
    def about(self, where: str):
        """Messages recorded inside the block say where (``on existing VM vm-104 (poweredOn)``)."""
        before, self.where = self.where, where
        try:
            yield self
        finally:
            self.where = before

    def _keep(self, ex: Exchange | Evidence | None, note: str) -> None:
        if isinstance(ex, Exchange):
            ex.judged = True  # this check's verdict on it stands; the run's auditor leaves it alone
        if ex is None or len(self.evidence) >= MAX_EVIDENCE:
            return
        self.evidence.append(ex if isinstance(ex, Evidence) else ex.evidence(note=note))

    def fail(self, message: str, ex: Exchange | Evidence | None = None) -> None:
        message = f"{self.where}: {message}" if self.where else message
        self.failures.append(message)
        self._keep(ex, message)

    def error(self, message: str, ex: Exchange | Evidence | None = None) -> None:
        message = f"{self.where}: {message}" if self.where else message
        self.errors.append(message)
        self._keep(ex, message)

    def note(self, message: str) -> None:
        self.notes.append(message)

    def result(self, passed: str) -> CheckResult:
        if self.failures:
            msg = "; ".join(dict.fromkeys(self.failures))
            return CheckResult(self.name, "failed", _clip(msg), self.evidence)
        if self.errors:
            return CheckResult(
                self.name, "error", _clip("; ".join(dict.fromkeys(self.errors))), self.evidence
            )
        extra = f" ({'; '.join(dict.fromkeys(self.notes))})" if self.notes else ""
        return CheckResult(self.name, "passed", _clip(passed + extra), [])


def _clip(text: str, limit: int = 1500) -> str:
    return text if len(text) <= limit else text[:limit] + " ..."


def show(value: Any, limit: int = 80) -> str:
    """A short text of a JSON value for a message (a reference by its moId)."""
    if isinstance(value, dict) and value.get("_typeName") == "ManagedObjectReference":
        value = value.get("value")
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."
