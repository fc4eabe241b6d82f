"""Server-side fault rules (modeled on govmomi vcsim's fault injector, plus task-level faults).

A rule matches requests by method (or property) name, managed type, object (moId or name, globs)
and a property filter on the target; it fires with a seeded probability, after ``skip`` matches,
at most ``max_count`` times; it delays the answer, and/or puts a fault into the HTTP response
(``into: response``), into the task's error (``into: task``), or makes the task hang
(``into: hang``).  See docs/simulator.md for the YAML format.
"""

from __future__ import annotations

import fnmatch
import random
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..vmodl.registry import release
from ..vmodl.values import MoRef
from ..yamlfile import read_yaml
from .faults import SimFault
from .preconditions import holds_in_state, lookup_path

if TYPE_CHECKING:
    from .ops.base import Call
    from .simulator import Simulator

RULE_KEYS = {
    "id",
    "method",
    "type",
    "object",
    "filter",
    "probability",
    "delay_ms",
    "max_count",
    "skip",
    "fault",
    "message",
    "fields",
    "into",
}
PREDICATES = {"equals", "not_equals", "in", "not_in", "present"}


class RuleError(ValueError):
    """A fault rule that cannot be used."""


@dataclass
class Rule:
    id: str
    method: str = "*"
    type: str = "*"
    object: str = "*"
    filter: dict[str, Any] | None = None
    probability: float = 1.0
    delay_ms: int = 0
    max_count: int | None = None
    skip: int = 0
    fault: str | None = None
    message: str = ""
    fields: dict[str, Any] = field(default_factory=dict)
    into: str = "response"
    matched: int = 0
    fired: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v is not None}


@dataclass
class RuleHit:
    rule: Rule
    delay_s: float
    fault: SimFault | None
    into: str


def parse_rule(data: Any, index: int = 0) -> Rule:
    if not isinstance(data, dict):
        raise RuleError(f"rule {index}: a rule is a mapping")
    unknown = set(data) - RULE_KEYS
    if unknown:
        raise RuleError(f"rule {index}: unknown keys {sorted(unknown)}; known: {sorted(RULE_KEYS)}")
    rule = Rule(id=str(data.get("id") or f"rule-{index}"))
    for key in ("method", "type", "object"):
        if key in data:
            if not isinstance(data[key], str) or not data[key]:
                raise RuleError(f"rule {rule.id}: {key} is a non-empty string (a glob)")
            setattr(rule, key, data[key])
    if "filter" in data:
        flt = data["filter"]
        if (
            not isinstance(flt, dict)
            or not isinstance(flt.get("path"), str)
            or len(set(flt) & PREDICATES) != 1
        ):
            raise RuleError(f"rule {rule.id}: filter is {{path: P, <one of {sorted(PREDICATES)}>: V}}")
        rule.filter = dict(flt)
    prob = data.get("probability", 1.0)
    if isinstance(prob, bool) or not isinstance(prob, int | float) or not 0 <= prob <= 1:
        raise RuleError(f"rule {rule.id}: probability is a number from 0 to 1")
    rule.probability = float(prob)
    for key in ("delay_ms", "skip"):
        value = data.get(key, 0)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RuleError(f"rule {rule.id}: {key} is a non-negative integer")
        setattr(rule, key, value)
    if data.get("max_count") is not None:
        value = data["max_count"]
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise RuleError(f"rule {rule.id}: max_count is a non-negative integer")
        rule.max_count = value
    into = data.get("into", "response")
    if into not in ("response", "task", "hang"):
        raise RuleError(f"rule {rule.id}: into is one of response, task, hang")
    rule.into = into
    if data.get("fault") is not None:
        if not isinstance(data["fault"], str):
            raise RuleError(f"rule {rule.id}: fault is a fault type name")
        if not release("9.1.0.0").is_fault(data["fault"]):
            raise RuleError(f"rule {rule.id}: {data['fault']!r} is not a fault type")
        rule.fault = data["fault"]
    elif into != "hang" and not rule.delay_ms:
        raise RuleError(f"rule {rule.id}: a rule needs a fault, a delay_ms or into: hang")
    rule.message = str(data.get("message", ""))
    if not isinstance(data.get("fields", {}), dict):
        raise RuleError(f"rule {rule.id}: fields is a mapping")
    rule.fields = {k: _value(v) for k, v in (data.get("fields") or {}).items()}
    return rule


def _value(value: Any) -> Any:
    """A fault field from YAML/JSON: ``{type: HostSystem, value: host-10}`` becomes a MoRef."""
    if isinstance(value, dict) and set(value) - {"_typeName"} == {"type", "value"}:
        return MoRef(str(value["type"]), str(value["value"]))
    if isinstance(value, list):
        return [_value(v) for v in value]
    return value


def load_rules(path: str | Path) -> list[Rule]:
    data = read_yaml(path, "fault rules file", RuleError)
    items = data.get("rules") if isinstance(data, dict) else data
    if items is None:
        items = []
    if not isinstance(items, list):
        raise RuleError(f"{path}: a fault rules file holds a list under 'rules'")
    return [parse_rule(item, i) for i, item in enumerate(items)]


class FaultRules:
    """The active rules and their seeded random source."""

    def __init__(self, seed: int):
        self.rules: list[Rule] = []
        self._rng = random.Random(seed)
        self._lock = threading.Lock()

    def load_file(self, path: str | Path) -> None:
        self.rules.extend(load_rules(path))

    def add(self, data: Any) -> list[Rule]:
        items = data if isinstance(data, list) else [data]
        with self._lock:
            rules = [parse_rule(item, len(self.rules) + i) for i, item in enumerate(items)]
            self.rules.extend(rules)
        return rules

    def clear(self) -> None:
        with self._lock:
            self.rules.clear()

    def match(self, sim: Simulator, call: Call) -> RuleHit | None:
        if not self.rules:
            return None
        c = call.spec.contract
        with self._lock:
            for rule in self.rules:
                if not fnmatch.fnmatchcase(c.name, rule.method) or not fnmatch.fnmatchcase(
                    c.managed_type, rule.type
                ):
                    continue
                if rule.object != "*" and not (
                    fnmatch.fnmatchcase(call.obj.moid, rule.object)
                    or fnmatch.fnmatchcase(call.obj.name, rule.object)
                ):
                    continue
                if rule.filter is not None and not _filter(sim, call, rule.filter):
                    continue
                if rule.max_count is not None and rule.fired >= rule.max_count:
                    continue
                rule.matched += 1
                if rule.matched <= rule.skip:
                    continue
                if rule.probability < 1.0 and self._rng.random() >= rule.probability:
                    continue
                rule.fired += 1
                fault = None
                if rule.fault is not None:
                    fault = SimFault(
                        rule.fault,
                        rule.message or f"injected by fault rule {rule.id}",
                        sync=rule.into == "response",
                        **rule.fields,
                    )
                into = rule.into if c.is_task else "response"
                return RuleHit(rule, rule.delay_ms / 1000.0, fault, into)
        return None


def _filter(sim: Simulator, call: Call, flt: dict[str, Any]) -> bool:
    try:
        value = lookup_path(sim, call.obj, flt["path"], call.b)
    except Exception:  # noqa: BLE001 - a path that does not resolve does not match
        return False
    return holds_in_state(flt, value)
