"""The in-memory values the VI/JSON codec produces and consumes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, order=True)
class MoRef:
    """A managed object reference: ``{"type": "VirtualMachine", "value": "vm-42"}``."""

    type: str
    value: str

    def __str__(self) -> str:
        return f"{self.type}:{self.value}"


@dataclass(frozen=True)
class AnyValue:
    """A primitive (or array) in an ``anyType`` position, with the type it travels as:
    ``{"_typeName": "long", "_value": 5}`` is ``AnyValue("long", 5)``."""

    type_name: str
    value: Any


class DataObject(dict):
    """A VMODL data object: its fields in a dict, its wire type name in :attr:`type_name`.

    Fields read as attributes (``info.state``); an unset optional field reads as ``None``.
    """

    __slots__ = ("type_name",)

    def __init__(self, type_name: str, /, **fields: Any):
        super().__init__((k, v) for k, v in fields.items() if v is not None)
        self.type_name = type_name

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        return self.get(name)

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, DataObject) and self.type_name == other.type_name and dict.__eq__(self, other)
        )

    def __ne__(self, other: object) -> bool:
        return not self == other

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        inner = ", ".join(f"{k}={v!r}" for k, v in self.items())
        return f"{self.type_name}({inner})"

    def __reduce__(self):
        return (_rebuild, (self.type_name, dict(self)))

    def copy(self) -> DataObject:  # type: ignore[override]
        return DataObject(self.type_name, **self)


def _rebuild(type_name: str, fields: dict) -> DataObject:
    return DataObject(type_name, **fields)
