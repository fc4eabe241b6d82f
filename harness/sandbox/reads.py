"""Reading objects through the API: references, unique names, dotted property paths."""

from __future__ import annotations

import itertools
from typing import Any

from ..contract.semantics import MISSING, walk
from ..vmodl.registry import MOREF

_NAMES = itertools.count(1)


def unique_name(prefix: str = "vsphere-harness") -> str:
    return f"{prefix}-{next(_NAMES)}"


def moref(type_name: str, value: str) -> dict[str, str]:
    """A managed object reference as VI/JSON sends it."""
    return {"_typeName": MOREF, "type": type_name, "value": value}


def read_path(client: Any, managed_type: str, moid: str, path: str) -> tuple[Any, Any]:
    """``(value, exchange)`` of a dotted property path (``runtime.powerState``) of an object.
    The value is None when unset; :data:`MISSING` when the property cannot be read (fault)."""
    head, *rest = path.split(".")
    ex = client.get(managed_type, moid, head)
    if not ex.ok:
        return MISSING, ex
    return walk(ex.json, rest), ex


def property_value(client: Any, type_name: str, moid: str, prop: str) -> Any:
    """A property's JSON value, or None when it cannot be read."""
    ex = client.get(type_name, moid, prop)
    return ex.json if ex.ok else None
