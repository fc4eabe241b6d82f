"""The predicates of curated semantics (docs/semantics.md), evaluated in one place.

The simulator (preconditions), the generators (request preconditions), the sandbox and the effects
check (targets and effects) and the chaos scenarios (final state) all judge values with
:func:`holds`; each caller only decides how it reads the value.
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any


class _Missing:
    """A value that could not be read (distinct from an unset one, None)."""

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
#: Predicates of preconditions (and of effects).
PREDICATES = ("equals", "not_equals", "in", "not_in", "present")
#: Predicates only effects use: compare with the value before, or with a request value.
EFFECT_PREDICATES = ("changed", "equals_param", "equals_task_result")


def is_present(value: Any) -> bool:
    """Set and not empty."""
    return value is not MISSING and value not in (None, "", [], {})


def walk(data: Any, path: str | list[str]) -> Any:
    """The value at a dotted path of JSON-ish data (None where a step is absent)."""
    for part in path.split(".") if isinstance(path, str) else path:
        if not isinstance(data, dict):
            return None
        data = data.get(part)
    return data


def holds(
    pred: dict[str, Any],
    value: Any,
    *,
    before: Any = MISSING,
    params: dict[str, Any] | None = None,
    result: Any = MISSING,
    same: Callable[[Any, Any], bool] = operator.eq,
    normalize: Callable[[Any], Any] = lambda v: v,
) -> bool:
    """Whether ``value`` meets the predicate of ``pred``.

    ``result`` is the task's result (for ``equals_task_result``); ``same`` compares a value with an
    expected one (the simulator compares references by id); ``normalize`` is applied to a request
    value or a task result before the comparison.
    """
    if "equals" in pred:
        return same(value, pred["equals"])
    if "not_equals" in pred:
        return not same(value, pred["not_equals"])
    if "in" in pred:
        return any(same(value, v) for v in pred["in"] or ())
    if "not_in" in pred:
        return not any(same(value, v) for v in pred["not_in"] or ())
    if "present" in pred:
        return is_present(value) == bool(pred["present"])
    if "changed" in pred:
        return (value != before) == bool(pred["changed"])
    if "equals_param" in pred:
        wanted = walk(params or {}, pred["equals_param"])
        # the value equals the request's value *when the request gives one*: an optional
        # request value left out says nothing about the property
        return wanted is None or same(value, normalize(wanted))
    if "equals_task_result" in pred:
        return result is not MISSING and same(value, normalize(result))
    raise ValueError(f"no predicate in {pred!r}")


def wire_value(value: Any) -> Any:
    """A VI/JSON value as predicates compare it: a boxed ``{"_typeName", "_value"}`` by its value, a
    managed object reference by its moId."""
    if isinstance(value, dict) and "_value" in value and set(value) <= {"_typeName", "_value"}:
        return value["_value"]
    if isinstance(value, dict) and value.get("_typeName") == "ManagedObjectReference":
        return value.get("value")
    return value


def holds_on_wire(
    pred: dict[str, Any],
    value: Any,
    *,
    before: Any = MISSING,
    params: dict[str, Any] | None = None,
    result: Any = MISSING,
) -> bool:
    """:func:`holds` for values read from an endpoint (VI/JSON: boxed values, references)."""
    return holds(
        pred,
        wire_value(value),
        before=wire_value(before),
        params=params,
        result=result,
        normalize=wire_value,
    )


def describe(pred: dict[str, Any]) -> str:
    """``equals 'poweredOn'`` — the predicate of ``pred`` in words."""
    for key in (*PREDICATES, *EFFECT_PREDICATES):
        if key in pred:
            return f"{key} {pred[key]!r}"
    return repr(pred)
