"""The one result model: every report (JSON, JUnit, HTML, Markdown, diff) is written from it.

``results.json`` is :meth:`RunResult.to_dict`; its JSON Schema is ``results.schema.json`` next to
this module.  Statuses: ``passed``, ``failed`` (the endpoint broke the contract), ``error`` (the
harness could not decide: network, setup, timeout), ``skipped`` (not applicable; the message says why).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

Status = Literal["passed", "failed", "error", "skipped"]
STATUSES: tuple[Status, ...] = ("passed", "failed", "error", "skipped")
#: Worst first: an operation takes the worst status of its checks.
SEVERITY: dict[str, int] = {"failed": 3, "error": 2, "passed": 1, "skipped": 0}
SCHEMA_VERSION = 1

#: The gate's verdicts and exit codes (the CLI's documented exit codes for them).
GATE_EXIT = {"passed": 0, "failed": 1, "undecided": 4, "interrupted": 130}


def worst(statuses: list[str]) -> Status:
    """The worst status of a list (``skipped`` when empty)."""
    return max(statuses, key=SEVERITY.__getitem__, default="skipped")  # type: ignore[return-value]


@dataclass
class Evidence:
    """One exchange that supports a verdict; secrets are already redacted."""

    request: dict[str, Any]  # {method, url, headers, body}
    response: dict[str, Any] | None  # {status, headers, body, elapsed_ms} or None (no answer)
    curl: str
    note: str = ""


@dataclass
class CheckResult:
    check: str
    status: Status
    message: str = ""
    evidence: list[Evidence] = field(default_factory=list)
    duration_ms: float = 0.0
    accepted: bool = False  # a failure (or error) the baseline accepts: reported, does not fail the gate


@dataclass
class OperationResult:
    id: str
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def status(self) -> Status:
        return worst([c.status for c in self.checks])


@dataclass
class ScenarioResult:
    name: str
    status: Status
    message: str = ""
    timeline: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class RunResult:
    harness_version: str
    endpoint: dict[str, Any]  # {url, release, simulated, about}
    started_at: str
    finished_at: str = ""
    seed: int = 0
    operations: list[OperationResult] = field(default_factory=list)
    scenarios: list[ScenarioResult] = field(default_factory=list)
    leftovers: list[str] = field(default_factory=list)  # objects the sandbox could not clean up
    options: dict[str, Any] = field(default_factory=dict)  # how the run was asked for (no secrets)
    stats: dict[str, Any] = field(default_factory=dict)  # {requests, duration_s, ...}

    def summary(self) -> dict[str, int]:
        counts = {s: 0 for s in STATUSES}
        checks = accepted = 0
        for op in self.operations:
            for c in op.checks:
                counts[c.status] += 1
                checks += 1
                accepted += c.accepted
        return {"operations": len(self.operations), "checks": checks, **counts, "accepted": accepted}

    def by_check(self) -> dict[str, dict[str, int]]:
        """Status counts per check name, in first-seen order."""
        out: dict[str, dict[str, int]] = {}
        for op in self.operations:
            for c in op.checks:
                out.setdefault(c.check, {s: 0 for s in STATUSES})[c.status] += 1
        return out

    def gate_failures(self) -> list[tuple[str, CheckResult]]:
        """Failed checks the baseline does not accept: these fail the gate."""
        return [
            (op.id, c) for op in self.operations for c in op.checks if c.status == "failed" and not c.accepted
        ]

    def scenario_failures(self) -> list[ScenarioResult]:
        """Chaos scenarios whose hypotheses the endpoint broke: these fail the gate too."""
        return [s for s in self.scenarios if s.status == "failed"]

    def errors(self) -> list[tuple[str, CheckResult]]:
        """Checks that could not decide and the baseline does not accept: the gate fails closed on them."""
        return [
            (op.id, c) for op in self.operations for c in op.checks if c.status == "error" and not c.accepted
        ]

    def gate(self) -> dict[str, Any]:
        """The gate's verdict: ``failed`` on a contract violation the baseline does not accept (or a
        scenario whose hypotheses the endpoint broke); else ``undecided`` when any check or scenario
        could not decide (the gate fails closed) unless the run allows errors; ``interrupted`` for a
        partial run.  ``exit_code`` is what ``vsphere-harness run`` exits with."""
        if self.stats.get("interrupted"):
            verdict = "interrupted"
        elif self.gate_failures() or self.scenario_failures():
            verdict = "failed"
        elif (self.errors() or any(s.status == "error" for s in self.scenarios)) and not self.options.get(
            "allow_errors"
        ):
            verdict = "undecided"
        else:
            verdict = "passed"
        return {"verdict": verdict, "exit_code": GATE_EXIT[verdict]}

    def to_dict(self) -> dict[str, Any]:
        return {
            "schema_version": SCHEMA_VERSION,
            "harness_version": self.harness_version,
            "endpoint": self.endpoint,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "seed": self.seed,
            "summary": self.summary(),
            "gate": self.gate(),
            "operations": [
                {"id": op.id, "status": op.status, "checks": [asdict(c) for c in op.checks]}
                for op in self.operations
            ],
            "scenarios": [asdict(s) for s in self.scenarios],
            "leftovers": list(self.leftovers),
            "options": dict(self.options),
            "stats": dict(self.stats),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RunResult:
        run = cls(
            data["harness_version"],
            data["endpoint"],
            data["started_at"],
            data.get("finished_at", ""),
            data.get("seed", 0),
        )
        for op in data.get("operations", []):
            checks = [
                CheckResult(
                    c["check"],
                    c["status"],
                    c.get("message", ""),
                    [Evidence(**e) for e in c.get("evidence", [])],
                    c.get("duration_ms", 0.0),
                    bool(c.get("accepted", False)),
                )
                for c in op.get("checks", [])
            ]
            run.operations.append(OperationResult(op["id"], checks))
        run.scenarios = [ScenarioResult(**s) for s in data.get("scenarios", [])]
        run.leftovers = list(data.get("leftovers", []))
        run.options = dict(data.get("options", {}))
        run.stats = dict(data.get("stats", {}))
        return run
