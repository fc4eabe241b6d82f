"""Compare two runs: new failures, fixed checks, other changed statuses."""

from __future__ import annotations

from dataclasses import dataclass, field

from .model import RunResult

Key = tuple[str, str]  # (operation id, check)


def _statuses(run: RunResult) -> dict[Key, str]:
    """``failed`` accepted by the baseline counts as ``accepted`` (it does not fail the gate)."""
    return {
        (op.id, c.check): ("accepted" if c.status == "failed" and c.accepted else c.status)
        for op in run.operations
        for c in op.checks
    }


@dataclass
class RunDiff:
    new_failures: list[tuple[Key, str | None]] = field(default_factory=list)  # (key, old status)
    fixed: list[tuple[Key, str | None]] = field(default_factory=list)  # failed -> passed
    changed: list[tuple[Key, str | None, str | None]] = field(default_factory=list)  # (key, old, new)

    @property
    def empty(self) -> bool:
        return not (self.new_failures or self.fixed or self.changed)

    def render(self) -> str:
        if self.empty:
            return "no differences\n"
        out = []
        for title, rows in (
            ("new failures", [(k, o, "failed") for k, o in self.new_failures]),
            ("fixed", [(k, "failed", n) for k, n in self.fixed]),
            ("changed", self.changed),
        ):
            if rows:
                out.append(f"{title} ({len(rows)}):")
                out += [
                    f"  {op}::{check}  {old or 'absent'} -> {new or 'absent'}"
                    for (op, check), old, new in rows
                ]
        return "\n".join(out) + "\n"


def diff_runs(a: RunResult, b: RunResult) -> RunDiff:
    """What changed from run ``a`` (before) to run ``b`` (after)."""
    old, new = _statuses(a), _statuses(b)
    result = RunDiff()
    for key in sorted(old.keys() | new.keys()):
        before, after = old.get(key), new.get(key)
        if before == after:
            continue
        if after == "failed":
            result.new_failures.append((key, before))
        elif before == "failed" and after == "passed":
            result.fixed.append((key, after))
        else:
            result.changed.append((key, before, after))
    return result
