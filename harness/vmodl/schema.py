"""JSON Schema (draft 2020-12) for any VMODL type of a release, and fast validators for them.

Polymorphism follows VI/JSON's ``_typeName`` discriminator: a position whose declared type has
subtypes accepts each subtype, and the object is checked against the type its ``_typeName`` names.
Each concrete data type is closed (``additionalProperties: false``): a field the release does not
define is a contract violation.  Values in ``anyType`` positions are checked one level deep
(a known ``_typeName``; a primitive's ``_value`` of the right JSON type).  A fault position
(``MethodFault``: an HTTP 500 body, ``TaskInfo.error``, ``faultCause`` ...) accepts each fault type,
the fault object itself; fault types derive from ``Any`` in VMware's document, so they carry no
``DynamicData`` fields.

Validation uses ``jsonschema_rs`` (Rust): it checks thousands of bodies per second, see
``bench/bench_schema.py`` for the measurement against ``fastjsonschema`` and ``jsonschema``.
"""

from __future__ import annotations

import functools
from typing import Any

import jsonschema_rs

from .codec import INT_RANGES, array_type_name
from .registry import MOREF, PRIMITIVE_WIRE_NAMES, Release, TypeRef, release
from .walk import TypeVisitor, referable

_PRIMITIVE_SCHEMAS: dict[str, dict[str, Any]] = {
    "boolean": {"type": "boolean"},
    "float": {"type": "number"},
    "double": {"type": "number"},
    "string": {"type": "string"},
    "anyURI": {"type": "string"},
    "dateTime": {
        "type": "string",
        "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$",
    },
    "base64Binary": {"type": "string", "pattern": r"^[A-Za-z0-9+/\r\n]*={0,2}$"},
    **{n: {"type": "integer", "minimum": lo, "maximum": hi} for n, (lo, hi) in INT_RANGES.items()},
}


class SchemaBuilder(TypeVisitor):
    """Builds schemas of one release; ``request=True`` relaxes ``_typeName`` where VI/JSON lets a
    client omit it (positions whose declared type has no subtypes)."""

    def __init__(self, rel: Release, request: bool = False):
        super().__init__(rel)
        self.request = request
        self.defs: dict[str, Any] = {}

    # positions ------------------------------------------------------------------------------
    def position(self, ref: TypeRef | str) -> dict[str, Any]:
        """The schema of a value in a position of declared type ``ref``."""
        return self.visit(ref)

    def visit_array(self, ref: TypeRef) -> dict[str, Any]:
        return {"type": "array", "items": self.visit(ref.item)}

    def visit_primitive(self, name: str) -> dict[str, Any]:
        return dict(_PRIMITIVE_SCHEMAS[name])

    def visit_any(self, name: str) -> dict[str, Any]:
        return self._def("anyType", self._any_schema)

    def visit_reference(self, name: str) -> dict[str, Any]:
        return self._def("MoRef", lambda: self._moref_schema(name))

    def visit_managed(self, name: str) -> dict[str, Any]:
        return self._def(f"MoRef.{name}", lambda: self._moref_schema(name))

    def visit_enum(self, name: str) -> dict[str, Any]:
        rel = self.release
        return self._def(f"enum.{name}", lambda: {"type": "string", "enum": list(rel.enums[name].values)})

    def visit_data(self, name: str) -> dict[str, Any]:
        subtypes = self.release.subtypes(name)
        if len(subtypes) == 1:
            return self._def(name, lambda: self._data_schema(name, self.request))
        return self._def(f"poly.{name}", lambda: self._poly_schema(name, subtypes))

    def _def(self, key: str, build) -> dict[str, Any]:
        if key not in self.defs:
            self.defs[key] = True  # placeholder against recursion
            self.defs[key] = build()
        return {"$ref": f"#/$defs/{key}"}

    # definitions ----------------------------------------------------------------------------
    def _data_schema(self, name: str, typename_optional: bool) -> dict[str, Any]:
        fields = self.release.fields(name)
        props: dict[str, Any] = {"_typeName": {"const": name}}
        required = [] if typename_optional else ["_typeName"]
        for f in fields:
            props[f.name] = self.position(f.type)
            if not f.optional:
                required.append(f.name)
        return {"type": "object", "properties": props, "required": required, "additionalProperties": False}

    def _poly_schema(self, name: str, subtypes: list[str]) -> dict[str, Any]:
        branches = []
        for sub in subtypes:
            self._def(f"data.{sub}", lambda s=sub: self._data_schema(s, False))
            branches.append(
                {
                    "if": {"properties": {"_typeName": {"const": sub}}},
                    "then": {"$ref": f"#/$defs/data.{sub}"},
                }
            )
        return {
            "type": "object",
            "required": ["_typeName"],
            "properties": {"_typeName": {"enum": subtypes}},
            "allOf": branches,
        }

    def _moref_schema(self, name: str) -> dict[str, Any]:
        types = referable(self.release, name)
        schema: dict[str, Any] = {
            "type": "object",
            "properties": {
                "_typeName": {"const": MOREF},
                "type": {"enum": types},
                "value": {"type": "string", "minLength": 1},
            },
            "required": ["type", "value"] if self.request else ["_typeName", "type", "value"],
            "additionalProperties": False,
        }
        return schema

    def _any_schema(self) -> dict[str, Any]:
        rel = self.release
        branches = []
        for prim in sorted(PRIMITIVE_WIRE_NAMES):
            branches.append(
                {
                    "if": {"properties": {"_typeName": {"const": prim}}},
                    "then": {"properties": {"_value": _PRIMITIVE_SCHEMAS[prim]}, "required": ["_value"]},
                }
            )
            branches.append(
                {
                    "if": {"properties": {"_typeName": {"const": array_type_name(prim)}}},
                    "then": {
                        "properties": {"_value": {"type": "array", "items": _PRIMITIVE_SCHEMAS[prim]}},
                        "required": ["_value"],
                    },
                }
            )
        known = sorted(set(PRIMITIVE_WIRE_NAMES) | set(rel.data) | set(rel.enums) | {MOREF})
        known += [array_type_name(n) for n in [*known, "anyType"]]  # ArrayOfAnyType travels too
        return {
            "type": "object",
            "required": ["_typeName"],
            "properties": {"_typeName": {"enum": known}},
            "allOf": branches,
        }

    def document(self, ref: TypeRef | str) -> dict[str, Any]:
        """A standalone schema document for a position of type ``ref``."""
        root = self.position(ref)
        return {"$schema": "https://json-schema.org/draft/2020-12/schema", **root, "$defs": self.defs}


def schema_for(ref: TypeRef | str, release_name: str, request: bool = False) -> dict[str, Any]:
    """The JSON Schema of a value of declared type ``ref`` in a release."""
    return SchemaBuilder(release(release_name), request).document(ref)


class Validator:
    """A compiled validator for one declared type; ``errors`` lists what is wrong."""

    def __init__(self, ref: TypeRef | str, release_name: str, request: bool = False):
        self.schema = schema_for(ref, release_name, request)
        self._compiled = jsonschema_rs.validator_for(self.schema)

    def is_valid(self, instance: Any) -> bool:
        return self._compiled.is_valid(instance)

    def errors(self, instance: Any, limit: int = 5) -> list[str]:
        out = []
        for error in self._compiled.iter_errors(instance):
            where = "/".join(str(p) for p in error.instance_path) or "<root>"
            out.append(f"{where}: {error.message}")
            if len(out) >= limit:
                break
        return out


@functools.cache
def validator(ref: str, release_name: str, request: bool = False) -> Validator:
    """A cached validator for ``ref`` (``"VirtualMachineRuntimeInfo"``, ``"Task[]"``...)."""
    return Validator(ref, release_name, request)
