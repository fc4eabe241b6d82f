"""Build data objects that are valid in one release: unknown fields dropped, required ones filled.

The simulator keeps its state in plain Python attributes and renders property values per release
through a :class:`Builder`; values that came from clients (device specs, extra config ...) are
projected into the release being served with :meth:`Builder.project`.
"""

from __future__ import annotations

import datetime as dt
import functools
from typing import Any

from ..vmodl.registry import Member, TypeRef, release
from ..vmodl.values import AnyValue, DataObject, MoRef
from ..vmodl.walk import ValueVisitor

EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_PRIMITIVE_DEFAULTS: dict[str, Any] = {
    "boolean": False,
    "byte": 0,
    "short": 0,
    "int": 0,
    "long": 0,
    "float": 0.0,
    "double": 0.0,
    "string": "",
    "anyURI": "",
    "dateTime": EPOCH,
    "base64Binary": b"",
}


class Builder(ValueVisitor):
    """Data objects of one release; :meth:`default` walks a declared type to a neutral value."""

    def __init__(self, release_name: str):
        super().__init__(release(release_name))
        self.name = release_name
        self.rel = self.release
        self._fields: dict[str, dict[str, Member]] = {}

    def fields(self, type_name: str) -> dict[str, Member]:
        got = self._fields.get(type_name)
        if got is None:
            got = self._fields[type_name] = {f.name: f for f in self.rel.fields(type_name)}
        return got

    def has_type(self, type_name: str) -> bool:
        return type_name in self.rel.data

    def obj(self, type_name: str, /, **values: Any) -> DataObject:
        """A ``type_name`` object with the given fields that exist in this release, every
        required field that was not given filled with a neutral value."""
        fields = self.fields(type_name)
        out = DataObject(type_name)
        for key, value in values.items():
            if value is not None and key in fields:
                out[key] = value
        for name, member in fields.items():
            if not member.optional and name not in out:
                out[name] = self.default(member.type)
        return out

    def default(self, ref: TypeRef, depth: int = 0) -> Any:
        """A neutral value of a declared type (empty array, zero, first enum value ...)."""
        return self.visit(ref, depth)

    def visit_array(self, ref: TypeRef, depth: int = 0) -> list:
        return []

    def visit_primitive(self, name: str, depth: int = 0) -> Any:
        return _PRIMITIVE_DEFAULTS[name]

    def visit_any(self, name: str, depth: int = 0) -> AnyValue:
        return AnyValue("string", "")

    def visit_enum(self, name: str, depth: int = 0) -> str:
        return self.rel.enums[name].values[0]

    def visit_reference(self, name: str, depth: int = 0) -> MoRef:
        return MoRef("Folder", "group-d1")

    def visit_managed(self, name: str, depth: int = 0) -> MoRef:
        return MoRef(name, f"{name.lower()}-0")

    def too_deep(self, name: str) -> Any:
        raise ValueError(f"cannot build a default {name}: too deep")

    def project(self, value: Any) -> Any:
        """``value`` (possibly built for another release) with what this release lacks removed.

        A data object of a type this release does not know becomes its nearest known base type.
        """
        if isinstance(value, list):
            return [self.project(v) for v in value]
        if not isinstance(value, DataObject):
            return value
        type_name = value.type_name
        if type_name not in self.rel.data:
            type_name = _nearest_known(value.type_name, self.rel)
        fields = self.fields(type_name)
        out = DataObject(type_name)
        for key, item in value.items():
            if key in fields:
                out[key] = self.project(item)
        for fname, member in fields.items():
            if not member.optional and fname not in out:
                out[fname] = self.default(member.type)
        return out


def _nearest_known(type_name: str, rel) -> str:
    newest = release("9.1.0.0")
    for base in newest.ancestors(type_name):
        if base in rel.data:
            return base
    return "DynamicData"


@functools.cache
def builder(release_name: str) -> Builder:
    return Builder(release_name)
