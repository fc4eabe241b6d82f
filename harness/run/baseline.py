"""Accepted deviations: failures (and undecided checks) a baseline file accepts do not fail the gate.

The file (YAML or JSON) is a list of entries, or a mapping with an ``accepted`` list::

    - id: VirtualMachine_PowerOnVM_Task     # a contract id (a glob is allowed)
      check: faults                         # a check name (a glob is allowed)
      message: "HTTP 200"                   # optional: a substring the message must contain
      status: failed                        # optional: failed (default) or error
      reason: "vendor X answers faults with 200, ticket 123"   # why it is accepted, for humans

``status: error`` accepts a check that could not decide (an endpoint that drops the connection on
one request, say): the gate otherwise fails closed on it (exit 4).
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ..report.model import RunResult
from .options import UsageError


@dataclass(frozen=True)
class Accepted:
    id: str
    check: str
    message: str = ""
    reason: str = ""
    status: str = "failed"

    def matches(self, op_id: str, check: str, message: str, status: str = "failed") -> bool:
        return (
            status == self.status
            and fnmatch.fnmatchcase(op_id, self.id)
            and fnmatch.fnmatchcase(check, self.check)
            and self.message in message
        )


@dataclass(frozen=True)
class Baseline:
    entries: tuple[Accepted, ...] = ()

    def accepts(self, op_id: str, check: str, message: str, status: str = "failed") -> bool:
        return any(e.matches(op_id, check, message, status) for e in self.entries)

    def apply(self, run: RunResult) -> int:
        """Mark the failures and errors the baseline accepts; returns how many."""
        n = 0
        for op in run.operations:
            for c in op.checks:
                if c.status in ("failed", "error") and self.accepts(op.id, c.check, c.message, c.status):
                    c.accepted = True
                    n += 1
        return n

    @classmethod
    def from_run(cls, run: RunResult) -> Baseline:
        """A baseline accepting every failure of a run (to start from)."""
        return cls(
            tuple(
                Accepted(op.id, c.check) for op in run.operations for c in op.checks if c.status == "failed"
            )
        )

    def to_list(self) -> list[dict[str, str]]:
        return [
            {k: v for k, v in e.__dict__.items() if v and not (k == "status" and v == "failed")}
            for e in self.entries
        ]


def read_entries(path: Path, shape: str) -> list[Any]:
    """The entries of a baseline file (YAML or JSON: a list, or a mapping with an ``accepted`` list);
    any problem is a :class:`UsageError` naming the file (``shape`` describes an entry)."""
    try:
        data: Any = yaml.safe_load(path.read_text())
    except OSError as exc:
        raise UsageError(f"baseline {path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError:
        raise UsageError(f"baseline {path}: not valid YAML or JSON") from None
    if isinstance(data, dict):
        data = data.get("accepted")
    if data is None:
        data = []
    if not isinstance(data, list):
        raise UsageError(f"baseline {path}: expected a list of {shape} entries")
    return data


def load_baseline(path: str | Path) -> Baseline:
    """Read a baseline file; any problem is a :class:`UsageError` (exit 2)."""
    path = Path(path)
    data = read_entries(path, "{id, check[, message]}")
    entries = []
    for i, item in enumerate(data, 1):
        if not (
            isinstance(item, dict) and isinstance(item.get("id"), str) and isinstance(item.get("check"), str)
        ):
            raise UsageError(f"baseline {path}: entry {i} needs string fields 'id' and 'check'")
        unknown = set(item) - {"id", "check", "message", "reason", "status"}
        if unknown:
            raise UsageError(f"baseline {path}: entry {i} has unknown field(s) {', '.join(sorted(unknown))}")
        status = item.get("status", "failed")
        if status not in ("failed", "error"):
            raise UsageError(f"baseline {path}: entry {i}: status is failed or error, not {status!r}")
        entries.append(
            Accepted(
                item["id"],
                item["check"],
                str(item.get("message") or ""),
                str(item.get("reason") or ""),
                status,
            )
        )
    return Baseline(tuple(entries))
