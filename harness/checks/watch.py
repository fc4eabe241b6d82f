"""Refused calls change nothing: the watched properties of an object, before and after."""

from __future__ import annotations

import contextlib
from typing import Any

from ..client import ClientError
from ..contract.model import Contract
from ..contract.semantics import MISSING
from ..sandbox.reads import read_path
from .base import CheckContext
from .verdict import show


def watched_paths(contract: Contract) -> list[str]:
    """The properties a refused call must leave alone: ``on_failure_unchanged``, else the effect targets."""
    if contract.kind != "method" or not contract.changes_state:
        return []
    sem = contract.semantics
    paths = sem.get("on_failure_unchanged") or [e["target"] for e in contract.effects if "target" in e]
    return list(dict.fromkeys(paths))


class Watch:
    """The watched properties of one object, read before a call that must be refused; :meth:`changes`
    reads them again (first waiting for tasks the object gained meanwhile: an endpoint may refuse a
    call and still run it) and says what changed."""

    def __init__(self, ctx: CheckContext, managed_type: str, moid: str, paths: list[str] | None = None):
        self.client, self.timeout = ctx.client, ctx.timeout
        self.managed_type, self.moid = managed_type, moid
        self.paths = watched_paths(ctx.contract) if paths is None else list(paths)
        self.tasks = self._recent() if self.paths else set()
        self.before = self._read() if self.paths else {}

    def _read(self) -> dict[str, Any]:
        return {p: read_path(self.client, self.managed_type, self.moid, p)[0] for p in self.paths}

    def _recent(self) -> set[str]:
        ex = self.client.get(self.managed_type, self.moid, "recentTask")
        if not ex.ok or not isinstance(ex.json, list):
            return set()
        return {r["value"] for r in ex.json if isinstance(r, dict) and isinstance(r.get("value"), str)}

    def changes(self) -> list[str]:
        if not self.paths:
            return []
        for task in sorted(self._recent() - self.tasks):
            with contextlib.suppress(ClientError):
                self.client.wait_task(task, timeout=self.timeout)
        after = self._read()
        return [
            f"{p} changed from {show(self.before[p])} to {show(after[p])}"
            for p in self.paths
            if self.before[p] is not MISSING and after[p] is not MISSING and self.before[p] != after[p]
        ]
