"""Chaos scenarios: a steady state, faults on three layers, actions, hypotheses, a rollback.

A scenario (YAML in ``scenarios/``)::

    name: power-cycle-under-resets
    description: Power operations while the connection is reset now and then.
    vm: poweredOff                 # the sandbox VM's starting state
    steady_state: [{content: true}, {get: runtime}]
    faults:
      - transport: {kind: error, probability: 0.3}            # in the client's session
      - proxy: {type: latency, latency: 100, jitter: 20}        # a TCP proxy with Toxiproxy toxics
      - server: {method: PowerOnVM_Task, fault: SystemError, into: task, max_count: 1}   # simulator rules
    actions: [{invoke: PowerOnVM_Task}, {invoke: PowerOffVM_Task}]   # on the scenario's VM; a body may
    repeat: 3                      # name "$vm" or "$sandbox_folder" (replaced by references)
    hypotheses:
      no_task_lost: true           # every task started reaches a terminal state once the faults end
      no_duplicate_objects: true   # no two sandbox objects share a name
      endpoint_recovers: true      # the steady-state probes answer again after the faults end
      answers_well_formed: true    # every answer that arrived was a value or a fault, never garbage
      state: {runtime.powerState: {in: [poweredOn, poweredOff]}}
    rollback: [{invoke: PowerOffVM_Task}]

An action may also be a property read (``get: config``), act on another object (``target:
$free_host``: a connected host no powered-on VM runs on), and be sent at once from several sessions
(``sessions: 4``) or as a bounded burst (``times: 200``, at most 200 in flight)::

    - invoke: PowerOnVM_Task
      sessions: 4
      expect: [task, TaskInProgress]   # every answer the endpoint sent is one of these (else failed)
      winners: 1                       # exactly one of the tasks started here ends in success
    - invoke: PowerOnVM_Task
      wait_s: 0.5                      # follow the task this long: slower is undecided, never failed

Two steps act on the scenario as a whole::

    - expire_sessions: true            # end every session, as a timeout would (the simulator's
                                       # /_sim/sessions/expire; skipped, and said so, elsewhere)
    - follow_tasks: 10                 # follow every task started so far with the scenario's client
                                       # for 10 s: one it cannot find any more is lost (failed)

with the hypotheses ``relogin: true`` (the scenario's client logged in again after the sessions
expired) and ``tasks_succeed: true`` (every task the scenario started ended in success).  And::

    - restart_endpoint: {down_ms: 500}  # our simulator stops, its port stays closed 500 ms, it serves
                                        # again keeping its inventory, not its sessions nor tasks
                                        # (harness.chaos.steps_restart; skipped, and said so, elsewhere)

with ``inventory_survives: true`` (the scenario's VM still exists with its name).  A task the restart
made the endpoint forget, or one no answer came for, is undecided (reported), never lost (failed).

Host and Fault Tolerance steps (``host: {connection: notResponding}``, ``check: {path: predicate}``,
an ``invoke``'s ``ends: [InvalidState]``, the targets ``$vm_host`` and ``$ft_secondary``, a VM
``vm: ftPrimary`` and the hypothesis ``roles_swap_once``) are described in
:mod:`harness.chaos.steps_host`.

``lease`` steps drive an export lease of the scenario's VM (``open``, ``{ready: 10}``,
``{progress: 40}``, ``abort``, ``complete``), with the hypothesis ``lease_ends: error|done``
(:mod:`harness.chaos.steps_lease`).

The verdict is decided with a clean client after the faults end: ``failed`` only when the endpoint
broke a hypothesis, ``error`` when the harness could not set the scenario up, ``skipped`` when a
layer is not available (server-side faults need our simulator).

An answer the harness damaged itself is judged on what the endpoint really sent: the transport
layer keeps the body it cut or corrupted, and the answer to the first copy of a duplicated send
(:meth:`harness.chaos.transport.ChaosAdapter.injected`); a task named there is followed like any
other.  An answer that arrives damaged through a connection the TCP proxy cut short is not judged.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jsonschema_rs
import requests

from ..client import ClientError, Exchange, TaskTimeout, TransportError, ViClient
from ..contract.semantics import holds, walk
from ..outcomes import Skip
from ..report.model import ScenarioResult
from ..yamlfile import read_yaml
from .fanout import MAX_IN_FLIGHT, MAX_SESSIONS, fan_out, outcome_kind, sessions
from .proxy import Toxic, ToxicProxy
from .steps_host import ENDS_SCHEMA, HOST_STEP_SCHEMA, host_step, needs_simulator, task_end
from .steps_host import verify as verify_steps
from .steps_lease import LEASE_ENDS_SCHEMA, LEASE_STEP_SCHEMA, LeaseSteps
from .steps_lease import describe as describe_lease
from .steps_restart import inventory_survived, not_followed, restart_endpoint
from .targets import TARGETS, resolve
from .transport import ChaosAdapter, TransportFault, install

_PREDICATE = {
    "type": "object",
    "minProperties": 1,
    "maxProperties": 1,
    "additionalProperties": False,
    "properties": {"equals": {}, "not_equals": {}, "in": {"type": "array"}, "not_in": {"type": "array"}},
}
SCENARIO_SCHEMA: dict[str, Any] = {
    "type": "object",
    "required": ["name", "actions"],
    "additionalProperties": False,
    "properties": {
        "name": {"type": "string", "pattern": "^[a-z0-9][a-z0-9-]*$"},
        "description": {"type": "string"},
        "vm": {"enum": ["poweredOff", "poweredOn", "suspended", "withSnapshot", "toolsRunning", "ftPrimary"]},
        "steady_state": {"type": "array", "items": {"$ref": "#/$defs/probe"}},
        "faults": {
            "type": "array",
            "items": {
                "type": "object",
                "minProperties": 1,
                "maxProperties": 1,
                "additionalProperties": False,
                "properties": {
                    "transport": {"type": "object"},
                    "proxy": {"type": "object"},
                    "server": {"type": "object"},
                },
            },
        },
        "actions": {"type": "array", "minItems": 1, "items": {"$ref": "#/$defs/action"}},
        "repeat": {"type": "integer", "minimum": 1, "maximum": 1000},
        "hypotheses": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "no_task_lost": {"type": "boolean"},
                "no_duplicate_objects": {"type": "boolean"},
                "endpoint_recovers": {"type": "boolean"},
                "answers_well_formed": {"type": "boolean"},
                "recover_within_s": {"type": "number", "minimum": 0},
                "relogin": {"type": "boolean"},
                "tasks_succeed": {"type": "boolean"},
                "roles_swap_once": {"type": "boolean"},
                "inventory_survives": {"type": "boolean"},
                "state": {"type": "object", "additionalProperties": _PREDICATE},
                "lease_ends": LEASE_ENDS_SCHEMA,
            },
        },
        "rollback": {"type": "array", "items": {"$ref": "#/$defs/action"}},
    },
    "$defs": {
        "probe": {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {"content": {"const": True}, "get": {"type": "string"}},
        },
        "action": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "invoke": {"type": "string"},
                "get": {"type": "string"},
                "sleep_ms": {"type": "integer"},
                "expire_sessions": {"const": True},
                "follow_tasks": {"type": "number", "minimum": 0},
                "lease": LEASE_STEP_SCHEMA,
                "host": HOST_STEP_SCHEMA,
                "check": {"type": "object", "minProperties": 1, "additionalProperties": _PREDICATE},
                "ends": ENDS_SCHEMA,
                "restart_endpoint": {
                    "type": "object",
                    "additionalProperties": False,
                    "properties": {"down_ms": {"type": "integer", "minimum": 0, "maximum": 60000}},
                },
                "target": {"enum": list(TARGETS)},
                "body": {
                    "type": "object",
                    "description": 'the request; "$vm", the other targets and "$sandbox_folder" become references',
                },
                "sessions": {"type": "integer", "minimum": 1, "maximum": MAX_SESSIONS},
                "times": {"type": "integer", "minimum": 1, "maximum": MAX_IN_FLIGHT},
                "expect": {"type": "array", "minItems": 1, "items": {"type": "string"}},
                "winners": {"type": "integer", "minimum": 0},
                "wait_s": {"type": "number", "minimum": 0},
            },
            "oneOf": [
                {"required": ["invoke"]},
                {"required": ["get"]},
                {"required": ["sleep_ms"]},
                {"required": ["expire_sessions"]},
                {"required": ["follow_tasks"]},
                {"required": ["lease"]},
                {"required": ["host"]},
                {"required": ["check"]},
                {"required": ["restart_endpoint"]},
            ],
        },
    },
}
_VALIDATOR = jsonschema_rs.validator_for(SCENARIO_SCHEMA)


class ScenarioError(ValueError):
    """A scenario file that cannot be used (one-line message)."""


@dataclass
class Scenario:
    name: str
    actions: list[dict[str, Any]]
    description: str = ""
    vm: str = "poweredOff"
    steady_state: list[dict[str, Any]] = field(
        default_factory=lambda: [{"content": True}, {"get": "runtime"}]
    )
    faults: list[dict[str, Any]] = field(default_factory=list)
    repeat: int = 1
    hypotheses: dict[str, Any] = field(default_factory=dict)
    rollback: list[dict[str, Any]] = field(default_factory=list)
    source: str = ""

    @property
    def layers(self) -> set[str]:
        return {next(iter(f)) for f in self.faults}


def load_scenario(path: str | Path) -> Scenario:
    """Read and validate one scenario file; :class:`ScenarioError` with a precise message otherwise."""
    path = Path(path)
    data = read_yaml(path, "scenario", ScenarioError)
    if not isinstance(data, dict):
        raise ScenarioError(f"{path}: a scenario is a mapping")
    for error in _VALIDATOR.iter_errors(data):
        where = "/".join(str(p) for p in error.instance_path) or "<root>"
        raise ScenarioError(f"{path}: {where}: {error.message}")
    try:
        for f in data.get("faults", []):
            if "transport" in f:
                TransportFault.from_mapping(f["transport"])
            elif "proxy" in f:
                _toxic(f["proxy"])
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"{path}: faults: {exc}") from None
    return Scenario(**data, source=str(path))


def scenario_files(paths: list[str | Path]) -> list[Path]:
    """The files among ``paths``, and every ``*.yaml`` of the directories among them (sorted)."""
    out: list[Path] = []
    for p in map(Path, paths):
        out.extend(sorted(p.glob("*.yaml")) if p.is_dir() else [p])
    return out


def load_scenarios(paths: list[str | Path]) -> list[Scenario]:
    """Scenario files, and every ``*.yaml`` of the directories among ``paths``."""
    out = [load_scenario(f) for f in scenario_files(paths)]
    names = [s.name for s in out]
    dupes = {n for n in names if names.count(n) > 1}
    if dupes:
        raise ScenarioError(f"scenario names must be unique: {', '.join(sorted(dupes))}")
    return out


def _toxic(spec: dict[str, Any]) -> Toxic:
    spec = dict(spec)
    kind = spec.pop("type", None)
    if not kind:
        raise ValueError("a proxy fault needs a toxic type")
    return Toxic(
        spec.pop("name", kind), kind, spec.pop("stream", "downstream"), spec.pop("toxicity", 1.0), spec
    )


class _Timeline:
    def __init__(self) -> None:
        self.t0 = time.monotonic()
        self.events: list[dict[str, Any]] = []

    def add(self, phase: str, what: str, outcome: str, **extra: Any) -> None:
        self.events.append(
            {
                "t": round(time.monotonic() - self.t0, 3),
                "phase": phase,
                "what": what,
                "outcome": outcome,
                **extra,
            }
        )


class ScenarioRun:
    """One scenario against a connection (``harness.run.endpoint.Connection``) and its sandbox."""

    def __init__(self, scenario: Scenario, conn: Any, sandbox: Any, seed: int = 0, timeout: float = 30.0):
        self.s = scenario
        self.conn = conn
        self.sandbox = sandbox
        self.seed = seed
        self.timeout = timeout
        self.timeline = _Timeline()
        self.tasks: set[str] = set()
        self.garbled: list[str] = []
        self._cleanups: list[Any] = []
        self.adapter: ChaosAdapter | None = None
        self.proxy: ToxicProxy | None = None
        self.unexpected: list[str] = []
        self.undecided: list[str] = []
        self.contests: list[tuple[str, int, list[str]]] = []
        self.ended: dict[str, str] = {}
        self._resolved: dict[str, str] = {}  # target name -> moId, resolved once
        self.step_failures: list[str] = []  # what host/check steps and ``ends`` found broken
        self.step_errors: list[str] = []  # what they could not decide (the verdict is then error)
        self.faulted_hosts: set[str] = set()  # hosts a host step faulted, restored when the faults end
        self._sessions: list[ViClient] = []
        self._url: str = getattr(conn, "url", "")
        self.chaos: ViClient | None = None
        self.expired: int | None = None  # sessions the expire_sessions steps ended (None: none ran)
        self.unfound: list[str] = []
        self.restarted: int | None = None  # restarts the restart_endpoint steps asked for
        self.before_restart: set[str] = set()  # tasks started before a restart (steps_restart)
        self.not_done: list[str] = []  # steps the harness could not carry out (the scenario is an error)
        self.lease: LeaseSteps | None = (
            None  # the export lease of ``lease`` steps (harness.chaos.steps_lease)
        )

    # --- verdict helpers ----------------------------------------------------------------------
    def _result(self, status: str, message: str) -> ScenarioResult:
        return ScenarioResult(self.s.name, status, message, self.timeline.events)  # type: ignore[arg-type]

    def run(self) -> ScenarioResult:
        if "server" in self.s.layers and not self.conn.simulated:
            return self._result(
                "skipped", "server-side faults need the built-in simulator (or `vsphere-harness sim`)"
            )
        if needs_simulator([*self.s.actions, *self.s.rollback]) and not self.conn.simulated:
            return self._result(
                "skipped",
                "a host step, or a change to a host, needs our simulator: there is no API to fault a host, "
                "and the harness changes no host it did not create",
            )
        if self.sandbox is None:
            return self._result("error", "no sandbox: the scenario has no VM of its own to work on")
        try:
            vm = self.sandbox.fresh_vm(self.s.vm)["value"]
        except Skip as exc:
            return self._result("skipped", f"no {self.s.vm} sandbox VM: {exc}")
        except Exception as exc:  # noqa: BLE001 - a setup problem is the harness's, not the endpoint's
            return self._result("error", f"could not prepare a {self.s.vm} sandbox VM: {exc}")
        self.vm = vm
        clean = self.conn.admin
        named = json.dumps([*self.s.actions, *self.s.rollback])
        wanted = {"$ft_secondary"} if self.s.hypotheses.get("roles_swap_once") else set()
        for name in [t for t in TARGETS if t != "$vm" and (t in named or t in wanted)]:
            try:
                self._target(name)
            except Skip as exc:
                return self._result("skipped", str(exc))
        broken = self._probe(clean, "steady")
        self.before = self._children(clean) if self.s.hypotheses.get("no_duplicate_objects", True) else {}
        if broken:
            return self._result("error", f"steady state not met before the faults: {broken}")
        try:
            chaos = self._inject()
            self.chaos = chaos
        except (ClientError, RuntimeError, ValueError, OSError) as exc:
            self._remove()
            return self._result("error", f"could not inject the faults: {exc}")
        try:
            try:
                for _ in range(self.s.repeat):
                    for action in self.s.actions:
                        self._act(chaos, action, "action")
            finally:
                self._remove()
                for c in [chaos, *self._sessions]:
                    with contextlib.suppress(Exception):
                        c.close()
            failures = self._verify(clean)
        finally:  # also after Ctrl-C or a harness error: leave the endpoint as the scenario found it
            self._roll_back(clean)
        if failures:
            return self._result("failed", "; ".join(failures))
        if self.lease is not None:
            self.step_errors.extend(self.lease.undecided)
        if self.step_errors:
            return self._result("error", "undecided: " + "; ".join(self.step_errors[:3]))
        if self.not_done:  # a step the harness could not carry out: the hypotheses were not put to the test
            return self._result("error", "; ".join(self.not_done))
        done = len([e for e in self.timeline.events if e["phase"] == "action"])
        undecided = f"; {len(set(self.undecided))} undecided (see the timeline)" if self.undecided else ""
        return self._result(
            "passed",
            f"{done} actions under {', '.join(sorted(self.s.layers)) or 'no'} faults; every hypothesis held"
            + undecided,
        )

    def _roll_back(self, clean: ViClient) -> None:
        """The rollback actions, each tried even when one before it could not be sent."""
        for action in self.s.rollback:
            try:
                self._act(clean, action, "rollback")
            except ClientError as exc:
                self.timeline.add("rollback", action.get("invoke") or str(action), f"not done: {exc}")

    # --- phases --------------------------------------------------------------------------------
    def _probe(self, client: ViClient, phase: str) -> str:
        for probe in self.s.steady_state:
            what = "content" if "content" in probe else f"get {probe['get']}"
            try:
                if "content" in probe:
                    ex = client.request("GET", "/ServiceInstance/ServiceInstance/content", use_session=False)
                else:
                    ex = client.get("VirtualMachine", self.vm, probe["get"])
            except TransportError as exc:
                self.timeline.add(phase, what, f"transport: {exc}")
                return f"{what}: {exc}"
            self.timeline.add(phase, what, f"HTTP {ex.status}")
            if not ex.ok:
                return f"{what}: HTTP {ex.status} {ex.fault_type or ''}".strip()
        return ""

    def _inject(self) -> ViClient:
        admin_user, admin_password = self.conn.users["admin"]
        url = self.conn.url
        verify = self.conn.admin.verify
        proxy_faults = [f["proxy"] for f in self.s.faults if "proxy" in f]
        if proxy_faults:
            parts = urlsplit(url)
            proxy = ToxicProxy(
                (parts.hostname or "127.0.0.1", parts.port or (443 if parts.scheme == "https" else 80)),
                seed=self.seed,
            )
            proxy.start()
            self.proxy = proxy
            self._cleanups.append(proxy.stop)
            url = f"{parts.scheme}://127.0.0.1:{proxy.port}"
        self._url = url
        chaos = ViClient(
            url,
            self.conn.release,
            verify=verify,
            timeout=min(self.timeout, 10.0),
            on_secret=self.conn.scrubber.add,
        )
        chaos.observers = list(self.conn.admin.observers)  # its answers are judged too, unless damaged here
        chaos.login(admin_user, admin_password)
        for spec in proxy_faults:
            toxic = _toxic(spec)
            proxy.add_toxic(toxic.type, toxic.name, toxic.stream, toxic.toxicity, **toxic.attributes)
            self.timeline.add("inject", f"proxy toxic {toxic.type}", "on", attributes=toxic.attributes)
        transport = [TransportFault.from_mapping(f["transport"]) for f in self.s.faults if "transport" in f]
        if transport:
            adapter = install(chaos.http, transport, seed=self.seed)
            self.adapter = adapter
            self._cleanups.append(lambda: setattr(adapter, "enabled", False))
            for f in transport:
                self.timeline.add("inject", f"transport {f.kind}", "on", probability=f.probability)
        for f in self.s.faults:
            if "server" in f:
                rule = {
                    "id": f"scenario-{self.s.name}-{len(self._cleanups)}",
                    "object": self.vm,
                    **f["server"],
                }
                self._server_rule(rule)
                self.timeline.add("inject", f"server rule on {rule.get('method', '*')}", "on")
        return chaos

    def _server_rule(self, rule: dict[str, Any]) -> None:
        sim = self.conn.simulator
        if sim is not None:
            sim.add_fault_rule(rule)
            self._cleanups.append(sim.clear_fault_rules)
            return

        resp = requests.post(
            f"{self.conn.url}/_sim/faults", json=rule, timeout=10, verify=self.conn.admin.verify
        )
        if resp.status_code != 201:
            raise RuntimeError(
                f"the simulator refused the fault rule: HTTP {resp.status_code} {resp.text[:200]}"
            )
        self._cleanups.append(
            lambda: requests.delete(f"{self.conn.url}/_sim/faults", timeout=10, verify=self.conn.admin.verify)
        )

    def _remove(self) -> None:
        while self._cleanups:
            with contextlib.suppress(Exception):
                self._cleanups.pop()()
        self.timeline.add("recover", "faults removed", "off")

    def _act(self, client: ViClient, action: dict[str, Any], phase: str) -> None:
        if "sleep_ms" in action:
            time.sleep(action["sleep_ms"] / 1000)
            self.timeline.add(phase, f"sleep {action['sleep_ms']} ms", "ok")
            return
        if "expire_sessions" in action:
            self.timeline.add(phase, "expire sessions", self._expire_sessions())
            return
        if "follow_tasks" in action:
            self._follow(client, float(action["follow_tasks"]), phase)
            return
        if "lease" in action:
            self.lease = self.lease or LeaseSteps(self.vm)
            self.timeline.add(
                phase, describe_lease(action["lease"]), self.lease.step(client, action["lease"])
            )
            return
        if "host" in action or "check" in action:
            self.timeline.add(phase, *host_step(self, action))
            return
        if "restart_endpoint" in action:
            self.timeline.add(phase, "restart endpoint", restart_endpoint(self, action["restart_endpoint"]))
            return
        method = action.get("invoke") or action["get"]
        type_name, moid = self._target(action.get("target", "$vm"))
        body = self._body(action.get("body"))

        def send(c: ViClient) -> Exchange:
            if "get" in action:
                return c.get(type_name, moid, method)
            return c.invoke(type_name, moid, method, body)

        cuts = len(self.proxy.log) if self.proxy is not None else 0
        count = action.get("times", action.get("sessions", 1))
        if count > 1 or action.get("sessions", 1) > 1:
            clients = [client, *sessions(self._session, action.get("sessions", 1) - 1)]
            answers = fan_out(clients, send, count)
        else:
            try:
                answers = [send(client)]
            except TransportError as exc:
                answers = [exc]
        started: list[str] = []
        outcomes: list[str] = []
        for answer in answers:
            if isinstance(answer, TransportError):
                # no usable answer; when one arrived (a 2xx that is not JSON), judge what the endpoint sent
                seen = self._judge(method, answer.exchange, cuts) if answer.exchange is not None else ""
                outcomes.append(f"transport: {answer}" + (f" ({seen})" if seen else ""))
                continue
            outcomes.append(self._judge(method, answer, cuts))
            self._expect(action, method, answer)
            task = self._task_of(answer)
            if task:
                started.append(task)
                if "ends" in action:
                    outcomes[-1] += f"; {task_end(self, client, task, action, method)}"
                elif "wait_s" in action:
                    outcomes[-1] += f"; {self._wait(client, task, float(action['wait_s']))}"
                elif phase == "rollback":
                    with contextlib.suppress(ClientError):
                        client.wait_task(task, timeout=self.timeout)
        if "winners" in action:
            self.contests.append((method, int(action["winners"]), started))
        where = "" if moid == self.vm else f" on {moid}"
        if len(outcomes) == 1:
            self.timeline.add(phase, method + where, outcomes[0])
        else:
            tally: dict[str, int] = {}
            for kind in (outcome_kind(a) for a in answers):
                tally[kind] = tally.get(kind, 0) + 1
            summary = ", ".join(f"{n} {k}" for k, n in sorted(tally.items()))
            self.timeline.add(phase, f"{method}{where} x{len(answers)} at once", summary)

    def _expire_sessions(self) -> str:
        """End every session through the simulator's control; elsewhere the step is skipped."""
        if not self.conn.simulated:
            return (
                "skipped: expiring sessions on demand needs the built-in simulator (or `vsphere-harness sim`)"
            )
        sim = self.conn.simulator
        if sim is not None:
            ended = sim.expire_sessions()
        else:
            resp = requests.post(
                f"{self.conn.url}/_sim/sessions/expire", json={}, timeout=10, verify=self.conn.admin.verify
            )
            if resp.status_code != 200:
                return f"not done: the simulator answered HTTP {resp.status_code} {resp.text[:200]}"
            ended = int(resp.json().get("expired", 0))
        self.expired = (self.expired or 0) + ended
        return f"{ended} sessions ended"

    def _follow(self, client: ViClient, limit: float, phase: str) -> None:
        """Follow every task started so far with ``client``: one it can no longer read is lost."""
        for task in sorted(self.tasks):
            try:
                infos = client.wait_task(task, timeout=limit)
                outcome = f"ended {infos[-1].get('state', '?')}"
            except TaskTimeout:
                self.undecided.append(task)
                outcome = f"undecided: still running after {limit:g} s (an error, not a failure)"
            except ClientError as exc:
                outcome = not_followed(self, task, exc) or f"lost: {exc}"
                if outcome.startswith("lost"):
                    self.unfound.append(f"the scenario's client could not find task {task} any more ({exc})")
            self.timeline.add(phase, f"follow task {task}", outcome)

    def _expect(self, action: dict[str, Any], method: str, ex: Exchange) -> None:
        """An answer the endpoint sent outside the action's ``expect`` list breaks the scenario (an
        answer the harness damaged is never held against it)."""
        allowed = action.get("expect")
        if not allowed or ex.injected:
            return
        kind = outcome_kind(ex)
        if kind not in allowed:
            self.unexpected.append(f"{method} answered {kind}, expected one of {', '.join(allowed)}")

    def _wait(self, client: ViClient, task: str, limit: float) -> str:
        """Follow a task for ``limit`` seconds: a task slower than that is undecided, never a failure."""
        try:
            infos = client.wait_task(task, timeout=limit)
        except TaskTimeout:
            self.undecided.append(task)
            return f"undecided: still running after {limit:g} s (an error, not a failure)"
        except ClientError as exc:
            return f"not followed: {exc}"
        return f"ended {infos[-1].get('state', '?')}"

    def _target(self, name: str) -> tuple[str, str]:
        if name == "$vm":
            return "VirtualMachine", self.vm
        if name not in self._resolved:
            self._resolved[name] = resolve(
                name,
                self.conn.admin,
                self.sandbox,
                self.vm,
                lambda text: self.timeline.add("setup", name, text),
            )
        return TARGETS[name], self._resolved[name]

    def _session(self) -> ViClient:
        """Another session with the endpoint, through the same faults' path (proxy) as the scenario's."""
        client = ViClient(
            self._url,
            self.conn.release,
            verify=self.conn.admin.verify,
            timeout=min(self.timeout, 10.0),
            on_secret=self.conn.scrubber.add,
        )
        client.observers = list(self.conn.admin.observers)
        client.login(*self.conn.users["admin"])
        self._sessions.append(client)
        return client

    @staticmethod
    def _task_of(ex: Exchange | None) -> str | None:
        if ex is not None and ex.ok and isinstance(ex.json, dict) and ex.json.get("type") == "Task":
            value = ex.json.get("value")
            return value if isinstance(value, str) and value else None
        return None

    def _judge(self, method: str, ex: Exchange, cuts: int) -> str:
        """Record what the endpoint sent in answer to one action (the tasks it started, answers that
        are neither a value nor a fault) and describe it for the timeline.  An answer the transport
        faults damaged is judged on the body the endpoint sent; a duplicated send also on the
        answer to its first copy, which the caller never saw."""
        injected = self.adapter.injected(ex.headers) if self.adapter is not None else None
        parts: list[str] = []
        if injected is not None and injected.first_status is not None:
            first = _as_sent(ex, injected.first_status, injected.first_body, injected.first_complete)
            seen = self._record(method, first, cuts, "its first copy") if first is not None else "not kept"
            parts.append(f"duplicated; first copy: {seen}")
        sent: Exchange | None = ex
        if injected is not None and injected.body is not None:
            sent = _as_sent(ex, injected.status, injected.body, injected.body_complete)
            parts.append(
                f"{'+'.join(k for k in injected.kinds if k != 'duplicate')} injected; "
                "judged on what the endpoint sent"
            )
        outcome = (
            self._record(method, sent, cuts, "") if sent is not None else "not judged (too long to keep)"
        )
        return outcome + (f" [{'; '.join(parts)}]" if parts else "")

    def _record(self, method: str, ex: Exchange, cuts: int, which: str) -> str:
        task = self._task_of(ex)
        if task:
            self.tasks.add(task)
            return f"ok task {task}"
        if ex.fault_type:
            return f"fault {ex.fault_type}"
        if 200 <= ex.status < 300 and (not ex.body or ex.is_json):
            return "ok"
        what = (
            f"HTTP {ex.status} with a body that is not JSON"
            if 200 <= ex.status < 300
            else f"HTTP {ex.status} without a fault body"
        )
        cut = [e["toxic"] for e in (self.proxy.log[cuts:] if self.proxy is not None else [])]
        if cut:  # the proxy cut a connection while this exchange ran: the damage may be its own
            return f"{what} (not judged: the proxy cut a connection short with {', '.join(sorted(set(cut)))})"
        self.garbled.append(f"{method}{' (' + which + ')' if which else ''}: {what}")
        return what

    def _body(self, body: Any) -> Any:
        """The request body with ``$vm`` and ``$sandbox_folder`` replaced by references."""
        if isinstance(body, dict):
            return {k: self._body(v) for k, v in body.items()}
        if isinstance(body, list):
            return [self._body(v) for v in body]
        if isinstance(body, str) and body in TARGETS:
            type_name, moid = self._target(body)
            return {"_typeName": "ManagedObjectReference", "type": type_name, "value": moid}
        if body == "$sandbox_folder":
            return {"_typeName": "ManagedObjectReference", "type": "Folder", "value": self.sandbox.folder}
        return body

    def _verify(self, clean: ViClient) -> list[str]:
        h = self.s.hypotheses
        failures: list[str] = []
        if h.get("endpoint_recovers", True):
            deadline = time.monotonic() + float(h.get("recover_within_s", 10))
            broken = self._probe(clean, "verify")
            while broken and time.monotonic() < deadline:
                time.sleep(0.2)
                broken = self._probe(clean, "verify")
            if broken:
                failures.append(f"the endpoint did not recover: {broken}")
        if h.get("no_task_lost", True):
            failures.extend(self.unfound[:3])
            failures.extend(self._tasks_terminal(clean))
        if h.get("tasks_succeed"):
            failures.extend(
                f"task {t} ended {self.ended.get(t, 'nowhere')}, not success"
                for t in sorted(self.tasks)
                if self.ended.get(t) != "success"
            )
        if h.get("relogin"):
            failures.extend(self._relogged_in())
        if h.get("inventory_survives"):
            failures.extend(inventory_survived(self, clean))
        if h.get("no_duplicate_objects", True):
            failures.extend(self._no_duplicates(clean))
        failures.extend(self.unexpected[:3])
        if self.lease is not None:
            failures.extend(self.lease.verdict(clean, h, self.timeline.add))
        failures.extend(self._contests())
        failures.extend(verify_steps(self, clean))
        if h.get("answers_well_formed", True) and self.garbled:
            failures.append("answers that were neither a value nor a fault: " + "; ".join(self.garbled[:3]))
        for path, predicate in (h.get("state") or {}).items():
            prop, _, rest = path.partition(".")
            ex = clean.get("VirtualMachine", self.vm, prop)
            value = walk(ex.json, rest) if rest else ex.json
            ok = ex.ok and holds(predicate, value)
            self.timeline.add("verify", f"state {path}", f"{value!r}: {'holds' if ok else 'broken'}")
            if not ok:
                failures.append(f"{path} = {value!r} breaks {predicate}")
        return failures

    def _relogged_in(self) -> list[str]:
        """After sessions expired, the scenario's client must have logged in again."""
        relogins = self.chaos.relogins if self.chaos is not None else 0
        if self.expired is None:
            self.timeline.add("verify", "relogin", "not judged: no session was expired")
            return []
        self.timeline.add("verify", "relogin", f"the scenario's client logged in again {relogins} times")
        if relogins == 0:
            return [f"the scenario's client never logged in again after {self.expired} sessions expired"]
        return []

    def _tasks_terminal(self, clean: ViClient) -> list[str]:
        recent = clean.get("VirtualMachine", self.vm, "recentTask")
        known = set(self.tasks)
        if recent.ok and isinstance(recent.json, list):
            known |= {t.get("value") for t in recent.json if isinstance(t, dict)}
        lost = []
        for task in sorted(t for t in known if t):
            try:
                infos = clean.wait_task(task, timeout=self.timeout)
                self.ended[task] = infos[-1].get("state", "?")
                self.timeline.add("verify", f"task {task}", self.ended[task])
            except ClientError as exc:
                undecided = not_followed(self, task, exc)
                self.timeline.add("verify", f"task {task}", undecided or f"lost: {exc}")
                if undecided is None:
                    lost.append(f"task {task} never reached a terminal state ({exc})")
        return lost

    def _contests(self) -> list[str]:
        """Concurrent sends of one action: exactly ``winners`` of the tasks they started succeed."""
        out = []
        for method, winners, started in self.contests:
            won = [t for t in started if self.ended.get(t) == "success"]
            self.timeline.add("verify", f"{method} winners", f"{len(won)} of {len(started)} tasks succeeded")
            if len(won) != winners:
                out.append(
                    f"{len(won)} concurrent {method} tasks succeeded ({', '.join(won) or 'none'}), not {winners}"
                )
        return out

    def _children(self, clean: ViClient) -> dict[str, tuple[str, str | None]]:
        """The sandbox folder's objects: moId -> (type, name)."""
        folder = getattr(self.sandbox, "_folder", None)
        if not folder:
            return {}
        ex = clean.get("Folder", folder, "childEntity")
        out: dict[str, tuple[str, str | None]] = {}
        for child in ex.json if ex.ok and isinstance(ex.json, list) else []:
            name_ex = clean.get(child["type"], child["value"], "name")
            out[child["value"]] = (child["type"], name_ex.json if name_ex.ok else None)
        return out

    def _no_duplicates(self, clean: ViClient) -> list[str]:
        """Objects that appeared during the scenario must not share a name with another object
        (a duplicated send of a create must not create twice)."""
        after = self._children(clean)
        new = {moid: v for moid, v in after.items() if moid not in self.before}
        by_name: dict[str, str] = {name: moid for moid, (_, name) in self.before.items() if name}
        dupes = []
        for moid, (_, name) in sorted(new.items()):
            if name in by_name:
                dupes.append(f"{moid} and {by_name[name]} are both named {name!r}")
            elif name:
                by_name[name] = moid
        self.timeline.add("verify", "duplicate objects", f"{len(new)} new, {len(dupes)} duplicated")
        return dupes


def run_scenario(
    scenario: Scenario, conn: Any, sandbox: Any, seed: int = 0, timeout: float = 30.0
) -> ScenarioResult:
    """Run one scenario; never raises for what the endpoint does (the result says it)."""
    try:
        return ScenarioRun(scenario, conn, sandbox, seed, timeout).run()
    except ClientError as exc:
        return ScenarioResult(scenario.name, "error", f"{type(exc).__name__}: {exc}", [])


def _as_sent(ex: Exchange, status: int, body: bytes | None, complete: bool) -> Exchange | None:
    """``ex`` with the status and body the endpoint sent (None when the body was too long to keep)."""
    if not complete:
        return None
    body = body or b""
    try:
        decoded, is_json = (json.loads(body), True) if body else (None, False)
    except ValueError:
        decoded, is_json = None, False
    return replace(ex, status=status, body=body, json=decoded, is_json=is_json, defect="", injected="")
