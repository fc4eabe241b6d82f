"""The contracts' curated preconditions (docs/semantics.md), honoured generically.

A precondition names a subject (``target: path`` on the target object, ``param: path`` in the
request, or ``object: {param, path}`` on an object a parameter names), a predicate (equals,
not_equals, in, not_in, present) and the fault when it does not hold; ``reported: sync`` sends the
fault in the response, ``reported: task`` in the task's error.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

from ..contract import semantics
from ..vmodl.values import AnyValue, DataObject, MoRef
from .build import Builder
from .faults import SimFault

if TYPE_CHECKING:
    from .model import Managed
    from .ops.base import Call
    from .simulator import Simulator

_MISSING = object()


def lookup_path(sim: Simulator, obj: Managed, path: str, b: Builder) -> Any:
    """The value at a dotted property path of a managed object (None when unset)."""
    head, _, rest = path.partition(".")
    value = sim.property_value(obj, head, b)
    return walk(value, rest) if rest else value


def walk(value: Any, path: str) -> Any:
    for part in path.split(".") if path else ():
        if isinstance(value, dict):
            value = value.get(part)
        else:
            return None
        if value is None:
            return None
    return value


def plain(value: Any) -> Any:
    """A value as JSON-ish data, to compare with the YAML of a predicate."""
    if isinstance(value, MoRef):
        return value.value
    if isinstance(value, AnyValue):
        return plain(value.value)
    if isinstance(value, DataObject):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return value


def _same(a: Any, b: Any) -> bool:
    if isinstance(b, dict) and "value" in b and isinstance(a, str):
        return a == b["value"]
    return a == b


def holds_in_state(predicate: dict[str, Any], value: Any) -> bool:
    """:func:`harness.contract.semantics.holds` on a value of the simulator's state (references
    compared by moId)."""
    return semantics.holds(predicate, plain(value), same=_same)


def subject(call: Call, pre: dict[str, Any]) -> Any:
    sim = call.sim
    if "target" in pre:
        return lookup_path(sim, call.obj, pre["target"], call.b)
    if "param" in pre:
        name, _, rest = str(pre["param"]).partition(".")
        return walk(call.params.get(name), rest)
    if "object" in pre and isinstance(pre["object"], dict):
        spec = pre["object"]
        name, _, rest = str(spec.get("param", "")).partition(".")
        ref = walk(call.params.get(name), rest)
        if not isinstance(ref, MoRef):
            return _MISSING
        obj = sim.inv.get(ref.value)
        if obj is None:
            return _MISSING
        return lookup_path(sim, obj, spec.get("path", "name"), call.b)
    return _MISSING


def check_preconditions(call: Call) -> None:
    """Raise the declared fault of the first curated precondition that does not hold."""
    if call.force:
        return
    for pre in call.spec.contract.preconditions:
        if not isinstance(pre, dict) or not pre.get("fault"):
            continue
        try:
            value = subject(call, pre)
        except SimFault:
            continue
        if value is _MISSING:
            continue
        if holds_in_state(pre, value):
            continue
        raise curated_fault(call, pre, value)


def curated_fault(call: Call, pre: dict[str, Any], value: Any) -> SimFault:
    fault_type = str(pre["fault"])
    reported = pre.get("reported")
    sync = None if reported is None else reported == "sync"
    message = str(pre.get("description") or f"precondition {pre.get('id', '?')} does not hold")
    fields: dict[str, Any] = {}
    vm = getattr(call.obj, "vm", call.obj)
    rel = call.sim.rel(call.spec)
    if fault_type in rel.data and rel.is_subtype(fault_type, "InvalidPowerState"):
        fields["existingState"] = getattr(vm, "power_state", "poweredOff")
        if pre.get("target") == "runtime.powerState" and "equals" in pre:
            fields["requestedState"] = (
                pre["equals"] if pre["equals"] in ("poweredOn", "poweredOff", "suspended") else None
            )
    if fault_type == "TaskInProgress":
        fields["task"] = getattr(vm, "busy_task", None) or MoRef("Task", "task-0")
    return SimFault(fault_type, message, sync=sync, **fields)
