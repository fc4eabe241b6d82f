"""The comparison's result model: per operation, what each side showed and how they differ.

``comparison.json`` is :meth:`Comparison.to_dict`; its JSON Schema is ``comparison.schema.json``
next to this module.  The aspects compared are :data:`ASPECTS`.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .observe import Observed

SCHEMA_VERSION = 1
#: What is compared per operation: answer classes, 2xx body shapes, task outcomes, check verdicts.
ASPECTS = ("answers", "shape", "effects", "verdicts")
SIDES = ("a", "b")
OpStatus = Literal["same", "accepted", "different"]


@dataclass
class Profile:
    """One side's view of one operation (see :mod:`.observe` for what each field holds)."""

    answers: dict[str, int] = field(default_factory=dict)
    shape: list[str] = field(default_factory=list)
    effects: dict[str, int] = field(default_factory=dict)
    verdicts: dict[str, str] = field(default_factory=dict)  # check -> status

    @classmethod
    def of(cls, observed: Observed | None, verdicts: dict[str, str]) -> Profile:
        if observed is None:
            return cls(verdicts=dict(verdicts))
        return cls(
            dict(sorted(observed.answers.items())),
            sorted(observed.shape),
            dict(sorted(observed.effects.items())),
            dict(verdicts),
        )


@dataclass
class Difference:
    """One thing only one side showed (``a``/``b``: how that side showed it; None: not at all)."""

    aspect: str
    key: str  # the answer class, shape line, task outcome, or check name
    a: str | None
    b: str | None
    accepted: bool = False
    reason: str = ""  # the baseline entry's reason, when accepted


@dataclass
class OperationComparison:
    id: str
    planned: bool  # False: an operation outside the plan, compared only on the verdicts the runs gave it
    a: Profile
    b: Profile
    differences: list[Difference] = field(default_factory=list)

    @property
    def status(self) -> OpStatus:
        if not self.differences:
            return "same"
        return "accepted" if all(d.accepted for d in self.differences) else "different"

    def of(self, aspect: str) -> list[Difference]:
        return [d for d in self.differences if d.aspect == aspect]


@dataclass
class Comparison:
    """Two runs of one plan and seed, side by side."""

    harness_version: str
    started_at: str
    finished_at: str
    options: dict[str, Any]  # what both sides shared (no secrets)
    sides: dict[str, dict[str, Any]]  # a/b -> {endpoint, options, summary, gate, stats, reports}
    operations: list[OperationComparison] = field(default_factory=list)
    interrupted: bool = False

    def differences(self, accepted: bool | None = None) -> list[tuple[str, Difference]]:
        return [
            (op.id, d)
            for op in self.operations
            for d in op.differences
            if accepted is None or d.accepted == accepted
        ]

    def summary(self) -> dict[str, Any]:
        statuses = [op.status for op in self.operations]
        return {
            "operations": len(self.operations),
            "same": statuses.count("same"),
            "accepted": statuses.count("accepted"),
            "different": statuses.count("different"),
            "differences": len(self.differences()),
            "accepted_differences": len(self.differences(accepted=True)),
        }

    def verdict(self) -> dict[str, Any]:
        """``same`` (exit 0), ``different`` beyond the baseline (exit 1), ``interrupted`` (130)."""
        if self.interrupted:
            return {"verdict": "interrupted", "exit_code": 130}
        if self.differences(accepted=False):
            return {"verdict": "different", "exit_code": 1}
        return {"verdict": "same", "exit_code": 0}

    def exit_code(self) -> int:
        return int(self.verdict()["exit_code"])

    def ordered(self) -> list[OperationComparison]:
        """Differences first, then accepted ones, then the operations that agree (stable by plan order)."""
        rank = {"different": 0, "accepted": 1, "same": 2}
        return sorted(self.operations, key=lambda op: rank[op.status])

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "harness_version": self.harness_version,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "options": dict(self.options),
            "sides": {k: dict(v) for k, v in self.sides.items()},
            "summary": self.summary(),
            "verdict": self.verdict(),
            "operations": [
                {
                    "id": op.id,
                    "status": op.status,
                    "planned": op.planned,
                    "differences": [asdict(d) for d in op.differences],
                    "a": asdict(op.a),
                    "b": asdict(op.b),
                }
                for op in self.operations
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Comparison:
        ops = [
            OperationComparison(
                op["id"],
                op["planned"],
                Profile(**op["a"]),
                Profile(**op["b"]),
                [Difference(**d) for d in op["differences"]],
            )
            for op in data["operations"]
        ]
        return cls(
            data["harness_version"],
            data["started_at"],
            data["finished_at"],
            data["options"],
            data["sides"],
            ops,
            data["verdict"]["verdict"] == "interrupted",
        )
