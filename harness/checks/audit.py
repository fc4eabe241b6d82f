"""Every answer judged: the run's auditor validates each exchange the harness makes with an
operation that has a contract — preparation reads, sandbox set-up and clean-up, task polls,
stateful steps, scenario actions — not only those a check sends on purpose.

Each client of a run passes each exchange to :meth:`Auditor.observe` (from its first request
on: ServiceContent and the logins too; clients made with ``new()`` inherit it); after each check (and after set-up
and clean-up) the run calls :meth:`Auditor.judge`, which applies the rules every VI/JSON answer
must keep (:func:`answer_problems`) to the exchanges the running check did not judge itself and
returns :class:`Finding`s: a violation on the operation that answered, under the check whose rule
it breaks (``shape`` for bodies and formats, ``faults`` for fault types and statuses).  The rules
themselves are in :mod:`.rules`.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from ..client import Exchange
from ..contract.model import Contract
from ..contract.store import load_contracts
from ..report.model import Evidence
from .rules import answer_problems, any_value, fault_problem, schema_problem, task_fault


@dataclass
class Finding:
    """A contract violation the auditor found in an answer of ``operation``."""

    operation: str
    check: str
    message: str
    evidence: Evidence


class Auditor:
    """Collects the exchanges of a run's clients and judges them against their contracts."""

    def __init__(self, release: str):
        self.release = release
        contracts = load_contracts()
        self._by_call: dict[tuple[str, str, str], Contract] = {
            (c.http_method, c.managed_type, c.name): c for c in contracts
        }
        self._pending: list[Exchange] = []
        self._lock = threading.Lock()
        self._task_owner: dict[str, Contract] = {}  # task moId -> the operation that started it
        self.judged = 0

    def observe(self, ex: Exchange) -> None:
        with self._lock:
            self._pending.append(ex)

    def contract_of(self, ex: Exchange) -> Contract | None:
        """The contract of the operation an exchange called (by HTTP method and path)."""
        parts = urlsplit(ex.url).path.split("/")
        try:
            i = parts.index("vim25")
        except ValueError:
            return None
        rest = parts[i + 2 :]
        if len(rest) != 3:
            return None
        return self._by_call.get((ex.method, rest[0], unquote(rest[2])))

    def judge(self) -> list[Finding]:
        """Judge what was observed since the last call, except the exchanges a check judged itself
        (``Exchange.judged``).  Each exchange is judged once."""
        with self._lock:
            pending, self._pending = self._pending, []
        findings: list[Finding] = []
        for ex in pending:
            contract = self.contract_of(ex)
            if contract is None:
                continue
            self.judged += 1
            release = ex.release or self.release
            self._remember_task(contract, ex)
            if ex.judged or ex.injected:  # a check's own verdict stands; the harness's damage is not judged
                continue
            problems = answer_problems(contract, release, ex)
            if not problems and contract.managed_type == "Task" and contract.name == "info" and ex.ok:
                problems = self._task_problems(ex, release)
            for check, message, *owner in problems:
                op = owner[0] if owner else contract
                findings.append(Finding(op.id, check, message, ex.evidence(note=message)))
        return findings

    def _remember_task(self, contract: Contract, ex: Exchange) -> None:
        if contract.is_task and ex.ok and isinstance(ex.json, dict) and ex.json.get("type") == "Task":
            moid = ex.json.get("value")
            if isinstance(moid, str):
                self._task_owner[moid] = contract

    def _task_problems(self, ex: Exchange, release: str) -> list[tuple[Any, ...]]:
        """What a well-formed ``TaskInfo`` says against the contract of the operation that started
        the task: a result of another type, a fault it may not throw."""
        info = ex.json
        owner = self._task_owner.get(str(info.get("key") or "")) if isinstance(info, dict) else None
        if owner is None:
            task = info.get("task") if isinstance(info, dict) else None
            owner = self._task_owner.get(task.get("value")) if isinstance(task, dict) else None
        if owner is None:
            return []
        out: list[tuple[Any, ...]] = []
        if info.get("state") == "success" and info.get("result") is not None and owner.task_result_ref:
            problem = schema_problem(owner.task_result_ref, release, any_value(info["result"]))  # type: ignore[arg-type]
            if problem:
                out.append(("shape", f"TaskInfo.result of {info.get('key')} {problem}", owner))
        if info.get("state") == "error":
            fault = task_fault(info)
            problem = fault_problem(owner, release, (fault or {}).get("_typeName"))
            if problem:
                out.append(("faults", f"TaskInfo.error of {info.get('key')}: {problem}", owner))
        return out
