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

from .registry import MOREF, PRIMITIVE_WIRE_NAMES, Release, TypeRef
from .values import AnyValue, DataObject, MoRef

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

    # --- encode ----------------------------------------------------------------------------
    def encode(self, value: Any, declared: TypeRef | str, path: str = "", strict: bool = True) -> Any:
        """A JSON-ready value for ``value`` in a position of type ``declared``.

        With ``strict=False`` required fields may be missing (for deliberately invalid requests).
        """
        declared = _ref(declared)
        if value is None:
            return None
        if declared.array:
            if not isinstance(value, list | tuple):
                raise CodecError(path, f"expected an array of {declared.name}, got {_kind(value)}")
            return [self.encode(v, declared.item, f"{path}[{i}]", strict) for i, v in enumerate(value)]
        return self._encode_one(value, declared.name, path, strict)

    def _encode_one(self, value: Any, name: str, path: str, strict: bool) -> Any:
        kind = self.release.kind(name) if name != "ManagedObject" else "managed"
        if kind == "primitive":
            return self._encode_primitive(value, name, path)
        if kind == "enum":
            if not isinstance(value, str) or value not in self.release.enums[name].values:
                raise CodecError(path, f"{value!r} is not a value of enum {name}")
            return value
        if kind in ("managed", "moref"):
            return self._encode_moref(value, name, path)
        if kind == "anyType":
            return self._encode_any(value, path, strict)
        return self._encode_data(value, name, path, strict)

    def _encode_primitive(self, value: Any, name: str, path: str) -> Any:
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
        if not isinstance(value, str):  # string, anyURI
            raise CodecError(path, f"expected {name}, got {_kind(value)}")
        return value

    def _encode_moref(self, value: Any, name: str, path: str) -> dict:
        if not isinstance(value, MoRef):
            raise CodecError(path, f"expected a reference to {name}, got {_kind(value)}")
        if (
            name not in (MOREF, "ManagedObject")
            and value.type in self.release.managed
            and not self.release.is_subtype(value.type, name)
        ):
            raise CodecError(path, f"expected a reference to {name}, got one to {value.type}")
        return {"_typeName": MOREF, "type": value.type, "value": value.value}

    def _encode_any(self, value: Any, path: str, strict: bool) -> Any:
        if isinstance(value, DataObject):
            return self._encode_data(value, value.type_name, path, strict)
        if isinstance(value, MoRef):
            return self._encode_moref(value, MOREF, path)
        if not isinstance(value, AnyValue):
            value = AnyValue(_infer_type(value, path), value)
        item = self._array_items.get(value.type_name)
        if item is not None:
            inner = self.encode(value.value, TypeRef(item, True), f"{path}._value", strict)
        elif value.type_name in PRIMITIVE_WIRE_NAMES or value.type_name in self.release.enums:
            inner = self._encode_one(value.value, value.type_name, f"{path}._value", strict)
        else:
            raise CodecError(path, f"{value.type_name!r} cannot travel in an anyType position")
        return {"_typeName": value.type_name, "_value": inner}

    def _encode_data(self, value: Any, name: str, path: str, strict: bool) -> dict:
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
            out[fname] = self.encode(field_value, member.type, _join(path, fname), strict)
        return out

    # --- decode ----------------------------------------------------------------------------
    def decode(self, data: Any, declared: TypeRef | str, path: str = "", strict: bool = True) -> Any:
        """The Python value of a JSON value in a position of type ``declared``.

        With ``strict=False`` missing required fields are tolerated (requests under test).
        """
        declared = _ref(declared)
        if data is None:
            return None
        if declared.array:
            if not isinstance(data, list):
                raise CodecError(path, f"expected an array of {declared.name}, got {_json_kind(data)}")
            return [self.decode(v, declared.item, f"{path}[{i}]", strict) for i, v in enumerate(data)]
        name = declared.name
        kind = self.release.kind(name) if name != "ManagedObject" else "managed"
        if kind == "primitive":
            return self._decode_primitive(data, name, path)
        if kind == "enum":
            if not isinstance(data, str) or data not in self.release.enums[name].values:
                raise CodecError(path, f"{data!r} is not a value of enum {name}")
            return data
        if kind in ("managed", "moref"):
            return self._decode_moref(data, name, path)
        if kind == "anyType":
            return self._decode_any(data, path, strict)
        return self._decode_data(data, name, path, strict)

    def _decode_primitive(self, data: Any, name: str, path: str) -> Any:
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
        return self._encode_primitive(data, name, path)  # the same checks on plain JSON values

    def _decode_moref(self, data: Any, name: str, path: str) -> MoRef:
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
        if name not in (MOREF, "ManagedObject") and not self.release.is_subtype(ref.type, name):
            raise CodecError(path, f"expected a reference to {name}, got one to {ref.type}")
        return ref

    def _decode_any(self, data: Any, path: str, strict: bool) -> Any:
        if not isinstance(data, dict) or not isinstance(data.get("_typeName"), str):
            raise CodecError(path, "a value in an anyType position needs a _typeName")
        type_name = data["_typeName"]
        if type_name == MOREF:
            return self._decode_moref(data, MOREF, path)
        if type_name in self.release.data:
            return self._decode_data(data, type_name, path, strict)
        if set(data) != {"_typeName", "_value"}:
            raise CodecError(path, f"a wrapped {type_name} has exactly _typeName and _value")
        item = self._array_items.get(type_name)
        if item is not None:
            inner = self.decode(data["_value"], TypeRef(item, True), f"{path}._value", strict)
        elif type_name in PRIMITIVE_WIRE_NAMES or type_name in self.release.enums:
            inner = self.decode(data["_value"], TypeRef(type_name), f"{path}._value", strict)
        else:
            raise CodecError(path, f"unknown type {type_name!r} in an anyType position")
        return AnyValue(type_name, inner)

    def _decode_data(self, data: Any, name: str, path: str, strict: bool) -> DataObject:
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
                out[key] = self.decode(raw, member.type, _join(path, key), strict)
        if strict:
            for fname, member in fields.items():
                if not member.optional and fname not in out:
                    raise CodecError(_join(path, fname), f"required field of {actual} is missing")
        return out


def _ref(declared: TypeRef | str) -> TypeRef:
    if isinstance(declared, TypeRef):
        return declared
    return TypeRef(declared[:-2], True) if declared.endswith("[]") else TypeRef(declared)


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
    from .registry import release

    if release_name not in _CODECS:
        _CODECS[release_name] = Codec(release(release_name))
    return _CODECS[release_name]
