"""The shape of an answer: what its structure is, not what its values are.

A shape is the set of ``<path>: <kind>`` lines of a JSON value: paths from ``$`` through object
keys (``.key``) and array elements (``[]``, every element folded into one), kinds the
``_typeName`` of a data object, else the JSON kind (``object``, ``array``, ``string``, ``number``,
``boolean``, ``null``).  MoIds, names, times, keys and counters change no line; a missing or extra
field, a different type, a string where a number belongs do.
"""

from __future__ import annotations

from typing import Any

ROOT = "$"
NO_BODY = "(no body)"


def kind(value: Any) -> str:
    """The ``_typeName`` of a data object, else the JSON kind of ``value``."""
    if isinstance(value, dict):
        name = value.get("_typeName")
        return name if isinstance(name, str) else "object"
    if isinstance(value, list):
        return "array"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "null" if value is None else type(value).__name__


def shape_of(value: Any) -> set[str]:
    """Every ``<path>: <kind>`` line of a JSON value."""
    lines: set[str] = set()
    stack: list[tuple[str, Any]] = [(ROOT, value)]
    while stack:
        path, v = stack.pop()
        lines.add(f"{path}: {kind(v)}")
        if isinstance(v, dict):
            stack.extend((f"{path}.{k}", x) for k, x in v.items() if k != "_typeName")
        elif isinstance(v, list):
            stack.extend((f"{path}[]", x) for x in v)
    return lines


def result_kind(value: Any) -> str:
    """A task result in a word: its kind, and the managed type of a reference."""
    if isinstance(value, dict) and value.get("_typeName") == "ManagedObjectReference":
        return f"ManagedObjectReference:{value.get('type')}"
    return kind(value)
