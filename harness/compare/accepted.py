"""Accepted differences: a comparison baseline.

A YAML or JSON list (or a mapping with an ``accepted`` list) of entries, each with a reason::

    - id: VirtualMachine_PowerOnVM_Task   # operation id (glob)
      aspect: answers                     # answers | shape | effects | verdicts (glob; default *)
      match: "fault InvalidPowerState"    # optional: a substring of the difference's key
      reason: "vendor X refuses a powered-on VM synchronously (ticket 42)"   # required
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..run import UsageError
from ..run.baseline import read_entries
from .model import ASPECTS, OperationComparison

FIELDS = {"id", "aspect", "match", "reason"}


@dataclass(frozen=True)
class AcceptedDifference:
    id: str
    reason: str
    aspect: str = "*"
    match: str = ""

    def accepts(self, op_id: str, aspect: str, key: str) -> bool:
        return (
            fnmatch.fnmatchcase(op_id, self.id)
            and fnmatch.fnmatchcase(aspect, self.aspect)
            and self.match in key
        )


def apply_accepted(entries: tuple[AcceptedDifference, ...], operations: list[OperationComparison]) -> None:
    """Mark each difference the first matching entry accepts, with its reason."""
    for op in operations:
        for d in op.differences:
            entry = next((e for e in entries if e.accepts(op.id, d.aspect, d.key)), None)
            if entry is not None:
                d.accepted, d.reason = True, entry.reason


def load_accepted(path: str | Path) -> tuple[AcceptedDifference, ...]:
    """Read a comparison baseline; any problem is a :class:`~harness.run.UsageError` (exit 2)."""
    path = Path(path)
    data = read_entries(path, "{id, aspect, match, reason}")
    return tuple(_entry(path, i, item) for i, item in enumerate(data, 1))


def _entry(path: Path, i: int, item: Any) -> AcceptedDifference:
    where = f"baseline {path}: entry {i}"
    if not isinstance(item, dict):
        raise UsageError(f"{where} is not a mapping")
    unknown = set(item) - FIELDS
    if unknown:
        raise UsageError(f"{where} has unknown field(s) {', '.join(sorted(unknown))}")
    for name in ("id", "reason"):
        if not isinstance(item.get(name), str) or not item[name].strip():
            raise UsageError(f"{where} needs a non-empty string '{name}'")
    aspect = item.get("aspect", "*")
    if not isinstance(aspect, str) or not any(fnmatch.fnmatchcase(a, aspect) for a in ASPECTS):
        raise UsageError(f"{where}: aspect {aspect!r} matches none of {', '.join(ASPECTS)}")
    match = item.get("match", "")
    if not isinstance(match, str):
        raise UsageError(f"{where}: 'match' must be a string")
    return AcceptedDifference(item["id"], item["reason"].strip(), aspect, match)
