"""The VI/JSON codec: Python values <-> JSON-ready values, for any declared type of a release.

One codec serves the client, the simulator, the generators and the checks (DESIGN §4):

* data objects carry ``_typeName``; a field is encoded by its declared type;
* a managed object reference is ``{"_typeName": "ManagedObjectReference", "type": T, "value": id}``;
* a value in an ``anyType`` position is wrapped: ``{"_typeName": "string", "_value": "x"}``,
  ``{"_typeName": "ArrayOfString", "_value": ["a"]}``;
* enums are strings; int and long are numbers; dateTime is ISO 8601; binary is base64;
* a fault inside data (``TaskInfo.error``, ``faultCause`` ...) is declared ``MethodFault`` and is the
  fault object itself, its ``_typeName`` naming the fault type (no ``LocalizedMethodFault`` wrapper).
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
from typing import Any

from .registry import MOREF, PRIMITIVE_WIRE_NAMES, Release, TypeRef, release
from .values import AnyValue, DataObject, MoRef
from .walk import TypeVisitor, as_ref

INT_RANGES = {
    "byte": (-(2**7), 2**7 - 1),
    "short": (-(2**15), 2**15 - 1),
    "int": (-(2**31), 2**31 - 1),
    "long": (-(2**63), 2**63 - 1),
}


#: xsd:dateTime as VI/JSON sends it: date, time, optional fraction, optional zone (the schema's pattern).
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")


class CodecError(ValueError):
    """A value does not fit its declared type; ``path`` says where (``spec.deviceChange[0]``)."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path or '<root>'}: {message}")
        self.path = path
        self.reason = message


def array_type_name(item: str) -> str:
    """``string`` -> ``ArrayOfString``; ``VirtualMachineSnapshotTree`` -> ``ArrayOfVirtualMachineSnapshotTree``."""
    return "ArrayOf" + item[0].upper() + item[1:]


class Codec:
    """Encode and decode VI/JSON values of one release."""

    def __init__(self, release: Release):
        self.release = release
        self._array_items: dict[str, str] = {}
        for name in (
            list(PRIMITIVE_WIRE_NAMES) + ["anyType", MOREF] + list(release.data) + list(release.enums)
        ):
            self._array_items[array_type_name(name)] = name
        self._encoder = _Encoder(release, self._array_items)
        self._decoder = _Decoder(release, self._array_items)

    def encode(self, value: Any, declared: TypeRef | str, path: str = "", strict: bool = True) -> Any:
        """A JSON-ready value for ``value`` in a position of type ``declared``.

        With ``strict=False`` required fields may be missing (for deliberately invalid requests).
        """
        declared = as_ref(declared)
        if value is None:
            return None
        return self._encoder.visit(declared, value, path, strict)

    def decode(self, data: Any, declared: TypeRef | str, path: str = "", strict: bool = True) -> Any:
        """The Python value of a JSON value in a position of type ``declared``.

        With ``strict=False`` missing required fields are tolerated (requests under test).
        """
        declared = as_ref(declared)
        if data is None:
            return None
        return self._decoder.visit(declared, data, path, strict)


class _Encoder(TypeVisitor):
    """Python value -> JSON-ready value; every method takes ``(type, value, path, strict)``."""

    def __init__(self, release: Release, array_items: dict[str, str]):
        super().__init__(release)
        self._array_items = array_items

    def value(self, value: Any, ref: TypeRef, path: str, strict: bool) -> Any:
        return None if value is None else self.visit(ref, value, path, strict)

    def visit_array(self, ref: TypeRef, value: Any, path: str, strict: bool) -> list:
        if not isinstance(value, list | tuple):
            raise CodecError(path, f"expected an array of {ref.name}, got {_kind(value)}")
        item = ref.item
        return [self.value(v, item, f"{path}[{i}]", strict) for i, v in enumerate(value)]

    def visit_primitive(self, name: str, value: Any, path: str, strict: bool) -> Any:
        if name == "dateTime":
            if isinstance(value, dt.datetime):
                if value.tzinfo is None:
                    value = value.replace(tzinfo=dt.UTC)
                return value.isoformat().replace("+00:00", "Z")
            raise CodecError(path, f"expected a datetime, got {_kind(value)}")
        if name == "base64Binary":
            if isinstance(value, bytes | bytearray):
                return base64.b64encode(bytes(value)).decode("ascii")
            raise CodecError(path, f"expected bytes, got {_kind(value)}")
        return _check_primitive(value, name, path)

    def visit_enum(self, name: str, value: Any, path: str, strict: bool) -> str:
        return _check_enum(self.release, value, name, path)

    def visit_reference(self, name: str, value: Any, path: str, strict: bool) -> dict:
        if not isinstance(value, MoRef):
            raise CodecError(path, f"expected a reference to {name}, got {_kind(value)}")
        return {"_typeName": MOREF, "type": value.type, "value": value.value}

    def visit_managed(self, name: str, value: Any, path: str, strict: bool) -> dict:
        if not isinstance(value, MoRef):
            raise CodecError(path, f"expected a reference to {name}, got {_kind(value)}")
        if value.type in self.release.managed and not self.release.is_subtype(value.type, name):
            raise CodecError(path, f"expected a reference to {name}, got one to {value.type}")
        return {"_typeName": MOREF, "type": value.type, "value": value.value}

    def visit_any(self, name: str, value: Any, path: str, strict: bool) -> Any:
        if isinstance(value, DataObject):
            return self.visit_data(value.type_name, value, path, strict)
        if isinstance(value, MoRef):
            return self.visit_reference(MOREF, value, path, strict)
        if not isinstance(value, AnyValue):
            value = AnyValue(_infer_type(value, path), value)
        item = self._array_items.get(value.type_name)
        if item is not None:
            inner = self.value(value.value, TypeRef(item, True), f"{path}._value", strict)
        elif value.type_name in PRIMITIVE_WIRE_NAMES or value.type_name in self.release.enums:
            inner = self.method(value.type_name)(value.type_name, value.value, f"{path}._value", strict)
        else:
            raise CodecError(path, f"{value.type_name!r} cannot travel in an anyType position")
        return {"_typeName": value.type_name, "_value": inner}

    def visit_data(self, name: str, value: Any, path: str, strict: bool) -> dict:
        if not isinstance(value, DataObject):
            raise CodecError(path, f"expected a {name} data object, got {_kind(value)}")
        actual = value.type_name
        if actual not in self.release.data:
            raise CodecError(path, f"unknown data type {actual!r} in release {self.release.name}")
        if name != "DataObject" and not self.release.is_subtype(actual, name):
            raise CodecError(path, f"{actual} is not a {name}")
        out: dict[str, Any] = {"_typeName": actual}
        fields = {f.name: f for f in self.release.fields(actual)}
        for key in value:
            if key not in fields:
                raise CodecError(
                    _join(path, key), f"{actual} has no field {key!r} in release {self.release.name}"
                )
        for fname, member in fields.items():
            field_value = value.get(fname)
            if field_value is None:
                if strict and not member.optional:
                    raise CodecError(_join(path, fname), f"required field of {actual} is missing")
                continue
            out[fname] = self.visit(member.type, field_value, _join(path, fname), strict)
        return out


class _Decoder(TypeVisitor):
    """JSON value -> Python value; every method takes ``(type, data, path, strict)``."""

    def __init__(self, release: Release, array_items: dict[str, str]):
        super().__init__(release)
        self._array_items = array_items

    def value(self, data: Any, ref: TypeRef, path: str, strict: bool) -> Any:
        return None if data is None else self.visit(ref, data, path, strict)

    def visit_array(self, ref: TypeRef, data: Any, path: str, strict: bool) -> list:
        if not isinstance(data, list):
            raise CodecError(path, f"expected an array of {ref.name}, got {_json_kind(data)}")
        item = ref.item
        return [self.value(v, item, f"{path}[{i}]", strict) for i, v in enumerate(data)]

    def visit_primitive(self, name: str, data: Any, path: str, strict: bool) -> Any:
        if name == "dateTime":
            if not isinstance(data, str):
                raise CodecError(path, f"expected an ISO 8601 dateTime string, got {_json_kind(data)}")
            if not _DATETIME.fullmatch(data):  # fromisoformat alone also takes dates and basic forms
                raise CodecError(path, f"{data!r} is not an ISO 8601 dateTime")
            try:
                return dt.datetime.fromisoformat(data.replace("Z", "+00:00"))
            except ValueError:
                raise CodecError(path, f"{data!r} is not an ISO 8601 dateTime") from None
        if name == "base64Binary":
            if not isinstance(data, str):
                raise CodecError(path, f"expected base64 text, got {_json_kind(data)}")
            try:  # line breaks are allowed in base64Binary (and in the schema's pattern)
                return base64.b64decode(data.replace("\r", "").replace("\n", ""), validate=True)
            except (binascii.Error, ValueError):
                raise CodecError(path, f"{data[:40]!r} is not base64") from None
        return _check_primitive(data, name, path)  # the same checks on plain JSON values

    def visit_enum(self, name: str, data: Any, path: str, strict: bool) -> str:
        return _check_enum(self.release, data, name, path)

    def visit_reference(self, name: str, data: Any, path: str, strict: bool) -> MoRef:
        if (
            not isinstance(data, dict)
            or not isinstance(data.get("type"), str)
            or not isinstance(data.get("value"), str)
        ):
            raise CodecError(path, f"expected a ManagedObjectReference, got {_json_kind(data)}")
        extra = set(data) - {"_typeName", "type", "value"}
        if extra or data.get("_typeName", MOREF) != MOREF:
            raise CodecError(path, "a ManagedObjectReference has only _typeName, type and value")
        ref = MoRef(data["type"], data["value"])
        if ref.type not in self.release.managed:
            raise CodecError(path, f"{ref.type!r} is not a managed type of release {self.release.name}")
        return ref

    def visit_managed(self, name: str, data: Any, path: str, strict: bool) -> MoRef:
        ref = self.visit_reference(name, data, path, strict)
        if not self.release.is_subtype(ref.type, name):
            raise CodecError(path, f"expected a reference to {name}, got one to {ref.type}")
        return ref

    def visit_any(self, name: str, data: Any, path: str, strict: bool) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("_typeName"), str):
            raise CodecError(path, "a value in an anyType position needs a _typeName")
        type_name = data["_typeName"]
        if type_name == MOREF:
            return self.visit_reference(MOREF, data, path, strict)
        if type_name in self.release.data:
            return self.visit_data(type_name, data, path, strict)
        if set(data) != {"_typeName", "_value"}:
            raise CodecError(path, f"a wrapped {type_name} has exactly _typeName and _value")
        item = self._array_items.get(type_name)
        if item is not None:
            inner = self.value(data["_value"], TypeRef(item, True), f"{path}._value", strict)
        elif type_name in PRIMITIVE_WIRE_NAMES or type_name in self.release.enums:
            inner = self.value(data["_value"], TypeRef(type_name), f"{path}._value", strict)
        else:
            raise CodecError(path, f"unknown type {type_name!r} in an anyType position")
        return AnyValue(type_name, inner)

    def visit_data(self, name: str, data: Any, path: str, strict: bool) -> DataObject:
        if not isinstance(data, dict):
            raise CodecError(path, f"expected a {name} object, got {_json_kind(data)}")
        actual = data.get("_typeName", name)
        if not isinstance(actual, str) or actual not in self.release.data:
            raise CodecError(path, f"unknown data type {actual!r} in release {self.release.name}")
        if name != "DataObject" and not self.release.is_subtype(actual, name):
            raise CodecError(path, f"{actual} is not a {name}")
        fields = {f.name: f for f in self.release.fields(actual)}
        out = DataObject(actual)
        for key, raw in data.items():
            if key == "_typeName":
                continue
            member = fields.get(key)
            if member is None:
                raise CodecError(
                    _join(path, key), f"{actual} has no field {key!r} in release {self.release.name}"
                )
            if raw is not None:
                out[key] = self.visit(member.type, raw, _join(path, key), strict)
        if strict:
            for fname, member in fields.items():
                if not member.optional and fname not in out:
                    raise CodecError(_join(path, fname), f"required field of {actual} is missing")
        return out


def _check_primitive(value: Any, name: str, path: str) -> Any:
    """``value`` if it is a JSON-ready value of the primitive ``name`` (neither dateTime nor base64Binary)."""
    if name == "boolean":
        if not isinstance(value, bool):
            raise CodecError(path, f"expected boolean, got {_kind(value)}")
        return value
    if name in INT_RANGES:
        low, high = INT_RANGES[name]
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise CodecError(path, f"expected {name}, got {value!r}")
        return value
    if name in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise CodecError(path, f"expected {name}, got {_kind(value)}")
        return value
    if not isinstance(value, str):  # string, anyURI
        raise CodecError(path, f"expected {name}, got {_kind(value)}")
    return value


def _check_enum(release: Release, value: Any, name: str, path: str) -> str:
    if not isinstance(value, str) or value not in release.enums[name].values:
        raise CodecError(path, f"{value!r} is not a value of enum {name}")
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _kind(value: Any) -> str:
    if isinstance(value, DataObject):
        return value.type_name
    return type(value).__name__


def _json_kind(data: Any) -> str:
    return {
        dict: "an object",
        list: "an array",
        str: "a string",
        bool: "a boolean",
        int: "a number",
        float: "a number",
    }.get(type(data), type(data).__name__)


def _infer_type(value: Any, path: str) -> str:
    """The wire type of a bare Python value placed in an anyType position."""
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "int" if INT_RANGES["int"][0] <= value <= INT_RANGES["int"][1] else "long"
    if isinstance(value, float):
        return "double"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dt.datetime):
        return "dateTime"
    if isinstance(value, bytes):
        return "base64Binary"
    if isinstance(value, list) and value:
        return array_type_name(_infer_type(value[0], path))
    raise CodecError(path, f"cannot tell the VI/JSON type of {_kind(value)} in an anyType position")


_CODECS: dict[str, Codec] = {}


def codec(release_name: str) -> Codec:
    """The codec of a release (cached)."""
    if release_name not in _CODECS:
        _CODECS[release_name] = Codec(release(release_name))
    return _CODECS[release_name]
