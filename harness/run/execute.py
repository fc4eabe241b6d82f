"""Execution: every planned check on every operation, never crashing the run."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from .. import __version__
from ..chaos.scenario import ScenarioError, load_scenarios, run_scenario
from ..checks.audit import Auditor, Finding
from ..checks.base import CheckContext, CheckSpec
from ..client import ClientError, Exchange, requests_sent
from ..contract.model import Contract
from ..outcomes import Inconclusive, Skip
from ..report.model import SEVERITY, CheckResult, OperationResult, RunResult
from ..report.secrets import Scrubber
from ..sandbox import Sandbox
from .baseline import Baseline, load_baseline
from .endpoint import Connection, open_endpoint
from .options import RunOptions, UsageError
from .outage import OutageWatch, relogins, undecided_if_forgotten
from .plan import Plan, PlanItem, make_plan

ProgressFn = Callable[[OperationResult, int, int], None]  # (result, done, total)
ScenarioProgressFn = Callable[[str], None]  # (scenario name), before each scenario
CheckStartFn = Callable[[str, str], None]  # (operation id, check name), before each check
SandboxFactory = Callable[[Any, str, bool], Any]  # (admin client, release, read_only) -> sandbox


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class Runner:
    """A run in progress: connected, sandboxed; runs plan items; closes into a :class:`RunResult`.

    Use as a context manager (the pytest plugin drives it item by item; :func:`run_contracts` runs
    a whole plan)."""

    def __init__(
        self,
        options: RunOptions,
        baseline: Baseline | None = None,
        sandbox_factory: SandboxFactory | None = None,
        observers: Sequence[Callable[[Exchange], None]] = (),
    ):
        self.options = options.with_env()
        self.observers = list(observers)  # see every exchange too, after the auditor (harness.compare)
        self.baseline = baseline or Baseline()
        self.sandbox_factory = sandbox_factory
        self.conn: Connection | None = None
        self.sandbox: Any = None
        self.sandbox_error = ""
        self.result: RunResult | None = None
        self._endpoint_cm: Any = None
        self._t0 = 0.0
        self._requests0 = 0
        self._ops: dict[str, OperationResult] = {}
        self.auditor: Auditor | None = None
        self._reported: set[tuple[str, str]] = set()  # (operation, check) results handed out by run_one
        #: audit findings that landed on a result already handed out (the pytest plugin reports them)
        self.late: list[tuple[str, CheckResult]] = []
        self.outages = OutageWatch(self.options.reconnect_wait)

    # --- lifecycle -------------------------------------------------------------------------------
    def __enter__(self) -> Runner:
        self._t0 = time.perf_counter()
        self._requests0 = requests_sent()
        started = utc_now()
        self.auditor = Auditor(self.options.release)
        self._endpoint_cm = open_endpoint(
            self.options, observers=[self.auditor.observe, self._lease_seen, *self.observers]
        )
        self.conn = self._endpoint_cm.__enter__()
        self.result = RunResult(
            __version__, self.conn.describe(), started, seed=self.options.seed, options=self.options.public()
        )
        self.audit("connection (ServiceContent, logins)")
        try:
            self.sandbox = self._make_sandbox()
        except BaseException:
            self._endpoint_cm.__exit__(None, None, None)
            raise
        self.audit("sandbox set-up")
        return self

    def _make_sandbox(self) -> Any:
        assert self.conn is not None
        factory = self.sandbox_factory
        if factory is None:
            timeout = max(60.0, self.options.timeout)

            def factory(client: Any, release: str, read_only: bool) -> Any:
                return Sandbox(
                    client,
                    release,
                    read_only=read_only,
                    timeout=timeout,
                    inventory_sample=self.options.inventory_sample,
                    seed=self.options.seed,
                    run_id=self.options.run_id,
                )

        try:
            return factory(self.conn.admin, self.options.release, self.options.read_only)
        except (ClientError, Skip, Inconclusive) as exc:  # checks needing it will say so
            self.sandbox_error = f"sandbox could not be set up: {exc}"
            return None

    def __exit__(self, *exc: object) -> None:
        assert self.result is not None and self.conn is not None
        try:
            if self.sandbox is not None:
                try:
                    self.result.leftovers = self.outages.cleaned_again(
                        list(self.sandbox.cleanup()),
                        self.sandbox.cleanup,
                        [self.conn.admin, self.conn.limited],
                    )
                except Exception as err:  # noqa: BLE001 - report, never crash at the end
                    self.result.leftovers = [f"sandbox cleanup failed: {type(err).__name__}: {err}"]
                self.audit("sandbox clean-up")
        finally:
            self._endpoint_cm.__exit__(*exc)
        self.audit("logout")
        self.result.finished_at = utc_now()
        duration = time.perf_counter() - self._t0
        sent = requests_sent() - self._requests0
        self.result.stats = {
            "requests": sent,
            "duration_s": round(duration, 2),
            "requests_per_s": round(sent / duration, 1) if duration else 0.0,
        }
        if self.sandbox_error:
            self.result.stats["sandbox"] = self.sandbox_error
        if self.auditor is not None:
            self.result.stats["answers_judged"] = self.auditor.judged
        if self.outages.outages:
            self.result.stats["endpoint_outages"] = self.outages.summary()
            self.result.stats["outage_waits"] = self.outages.outages
        if getattr(self.sandbox, "sample_size", 0):
            self.result.stats["inventory_sample"] = self.sandbox.sample_summary()
        self.baseline.apply(self.result)

    # --- execution -------------------------------------------------------------------------------
    def context(self, contract: Contract) -> CheckContext:
        assert self.conn is not None
        o = self.options
        return CheckContext(
            contract=contract,
            release=o.release,
            client=self.conn.admin,
            limited_client=self.conn.limited,
            session_factory=self.conn.new_client,
            sandbox=self.sandbox,
            examples=o.examples,
            seed=o.seed,
            timeout=o.timeout,
            read_only=o.read_only,
            simulated=self.conn.simulated,
            users=dict(self.conn.users),
            extras={
                "endpoint": self.conn.url,
                "simulator": self.conn.simulator,
                "secrets": self.conn.scrubber,
            },
        )

    def _lease_seen(self, ex: Any) -> None:
        """Every exchange of the run's clients: the sandbox notes the export leases answers open."""
        leases = getattr(self.sandbox, "leases", None)
        if leases is not None:
            leases.observe(ex)

    def _release_leases(self) -> None:
        """Abort the leases a check or scenario left open (each locks a sandbox VM); what cannot be
        aborted now is tried again, and reported, at clean-up."""
        leases = getattr(self.sandbox, "leases", None)
        if leases is not None and len(leases):
            assert self.conn is not None
            leases.release(self.conn.admin)

    def run_one(self, contract: Contract, spec: CheckSpec) -> CheckResult:
        """Run one check on one operation and record it in the result; then judge every answer the
        check's exchanges brought (a violation lands on the operation that answered)."""
        assert self.result is not None and self.conn is not None
        clients = [self.conn.admin, self.conn.limited]
        before = relogins([self.conn.admin])
        result = spec.run(self.context(contract))
        result = undecided_if_forgotten(result, relogins([self.conn.admin]) > before)
        self._release_leases()
        result = self._record(contract.id, result)
        elsewhere = self.audit(f"{contract.id}::{spec.name}", current=(contract.id, result))
        if result.status == "error" and elsewhere:
            result.message += f" (meanwhile {', '.join(sorted(elsewhere))} broke its contract: see there)"
        self._reported.add((contract.id, spec.name))
        self.outages.after(f"{contract.id}::{spec.name}", result, clients)
        return result

    def _operation(self, op_id: str) -> OperationResult:
        assert self.result is not None
        op = self._ops.get(op_id)
        if op is None:
            op = self._ops[op_id] = OperationResult(op_id)
            self.result.operations.append(op)
        return op

    def _result_of(self, op_id: str, check: str) -> CheckResult | None:
        """The result recorded so far for ``check`` on ``op_id`` (by the check or the auditor)."""
        return next((c for c in self._operation(op_id).checks if c.check == check), None)

    def _record(self, op_id: str, result: CheckResult) -> CheckResult:
        """Add a check's result, merged with what the auditor already found for that check."""
        found = self._result_of(op_id, result.check)
        if found is None:
            self._operation(op_id).checks.append(result)
            found = result
        elif SEVERITY[result.status] > SEVERITY[found.status]:
            found.status, found.message = result.status, result.message
            found.evidence = result.evidence + found.evidence
        elif result.status == found.status == "failed":
            _append(found, result.message, result.evidence)
        found.duration_ms += result.duration_ms
        self._accept(op_id, found)
        return found

    def _accept(self, op_id: str, result: CheckResult) -> None:
        if result.status in ("failed", "error") and self.baseline.accepts(
            op_id, result.check, result.message, result.status
        ):
            result.accepted = True

    def audit(self, during: str, current: tuple[str, CheckResult] | None = None) -> set[str]:
        """Judge the exchanges observed since the last audit; record each violation on the operation
        that answered.  Returns the operations other than ``current``'s that broke their contract."""
        if self.auditor is None:
            return set()
        others: set[str] = set()
        for finding in self.auditor.judge():
            if current is not None and (finding.operation, finding.check) == (current[0], current[1].check):
                if current[1].status == "failed":
                    continue  # the check judged this itself; its own verdict stands
            else:
                others.add(finding.operation)
            self._add_finding(finding, during)
        if current is not None:
            others.discard(current[0])
        return others

    def _add_finding(self, finding: Finding, during: str) -> None:
        message = f"{finding.message} (answered during {during})"
        found = self._result_of(finding.operation, finding.check)
        if found is None:
            found = CheckResult(finding.check, "failed", message, [finding.evidence])
            self._operation(finding.operation).checks.append(found)
        elif found.status != "failed":
            found.status, found.message, found.evidence = "failed", message, [finding.evidence]
        elif finding.message not in found.message:  # the same violation again adds nothing
            _append(found, message, [finding.evidence])
        self._accept(finding.operation, found)
        if (finding.operation, finding.check) in self._reported:
            self.late.append((finding.operation, found))

    def run_scenarios(self, scenarios: list[Any], on_scenario: ScenarioProgressFn | None = None) -> None:
        """Run chaos scenarios (after the checks) on this run's endpoint and sandbox."""

        assert self.result is not None and self.conn is not None
        for scenario in scenarios:
            if on_scenario:
                on_scenario(scenario.name)
            self.result.scenarios.append(
                run_scenario(scenario, self.conn, self.sandbox, self.options.seed, self.options.timeout)
            )
            self._release_leases()
            self.audit(f"scenario {scenario.name}")

    def run_item(self, item: PlanItem, on_check: CheckStartFn | None = None) -> OperationResult:
        for spec in item.checks:
            if on_check:
                on_check(item.id, spec.name)
            self.run_one(item.contract, spec)
        return self._ops[item.id]


MAX_MESSAGE = 1500
MAX_EVIDENCE = 6


def _append(result: CheckResult, message: str, evidence: list[Any]) -> None:
    """Add a further violation to a failed result (bounded: an endpoint may break every answer)."""
    if message not in result.message and len(result.message) < MAX_MESSAGE:
        result.message += f"; {message}"
    result.evidence.extend(evidence[: max(0, MAX_EVIDENCE - len(result.evidence))])


def prepare_report_dir(options: RunOptions) -> Path | None:
    """The report directory, checked before the run: a non-empty one needs ``force``."""
    if options.report_dir is None:
        return None
    path = Path(options.report_dir)
    if path.exists() and not path.is_dir():
        raise UsageError(f"report directory {path} exists and is not a directory")
    if path.is_dir() and any(path.iterdir()) and not options.force:
        raise UsageError(f"report directory {path} is not empty (use --force to overwrite)")
    return path


def execute_plan(
    options: RunOptions,
    registry: dict[str, CheckSpec] | None = None,
    progress: ProgressFn | None = None,
    plan: Plan | None = None,
    sandbox_factory: SandboxFactory | None = None,
    on_check: CheckStartFn | None = None,
    on_scenario: ScenarioProgressFn | None = None,
    observers: Sequence[Callable[[Exchange], None]] = (),
) -> tuple[RunResult, Scrubber]:
    """Plan and run in this process; the result and what redacts the run's secrets (reports are the
    caller's: :func:`harness.run.entry.run_contracts`).  Raises :class:`RunError` (exit 2 for usage,
    3 for an unreachable endpoint) before anything runs."""
    baseline = load_baseline(options.baseline) if options.baseline else Baseline()
    plan = plan if plan is not None else make_plan(options, registry)
    scenarios = _load_scenarios(options)
    interrupted = False
    with Runner(options, baseline, sandbox_factory, observers) as runner:
        try:
            for n, item in enumerate(plan, 1):
                op = runner.run_item(item, on_check)
                if progress:
                    progress(op, n, len(plan))
            runner.run_scenarios(scenarios, on_scenario)
        except KeyboardInterrupt:  # stop, but clean up the sandbox and write what was found
            interrupted = True
    result = runner.result
    assert result is not None and runner.conn is not None
    if interrupted:
        result.stats["interrupted"] = True
    return result, runner.conn.scrubber


def _load_scenarios(options: RunOptions) -> list[Any]:
    """The run's chaos scenarios: those of the options (a front end gives a shard its share:
    :func:`~harness.run.options.shard_scenarios`, :func:`~harness.run.parallel.worker_options`)."""
    if not options.scenarios:
        return []
    if options.read_only:
        raise UsageError("chaos scenarios change their sandbox VM: they cannot run in a read-only run")

    try:
        return load_scenarios(list(options.scenarios))
    except ScenarioError as exc:
        raise UsageError(str(exc)) from None


def exit_code(result: RunResult) -> int:
    """0: passed (every failure accepted, or none); 1: contract violations; 4: some check could not
    decide and the run does not allow errors; 130: interrupted (partial results)."""
    return int(result.gate()["exit_code"])
