"""The simulator's HTTP answer, and the misbehaviours that mangle a JSON body."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..vmodl.registry import RELEASES

JSON = "application/json"


@dataclass
class Response:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON
    delay_s: float = 0.0


def release_of(path: str) -> str:
    """The release a VI/JSON path names (a default one when it names none the simulator serves)."""
    parts = path.split("/")
    return parts[3] if len(parts) > 3 and parts[3] in RELEASES else RELEASES[1]


def drop_typename(data: Any) -> Any:
    """``data`` without its ``_typeName`` members, except in boxed values (drop_typename)."""
    if isinstance(data, list):
        return [drop_typename(v) for v in data]
    if isinstance(data, dict):
        keep_type = "_value" in data
        return {k: drop_typename(v) for k, v in data.items() if keep_type or k != "_typeName"}
    return data


def break_value(data: Any) -> Any:
    """A value outside the schema, whatever the property (break_existing_vms)."""
    if isinstance(data, dict):
        if "powerState" in data:
            return {**data, "powerState": "poweredSideways"}
        return add_extra(data)
    if isinstance(data, list):
        return [*data, 42]
    if isinstance(data, str):
        return 42
    return {"_typeName": "SimUndefinedType"} if data is None else "not-a-" + type(data).__name__


def add_extra(data: Any) -> Any:
    """``data`` with a member no schema declares, in the object or the array's first (extra_field)."""
    if isinstance(data, dict):
        return {**data, "simUndefinedField": True}
    if isinstance(data, list) and data and isinstance(data[0], dict):
        return [add_extra(data[0]), *data[1:]]
    return data
