"""Harness values <-> pyVmomi objects, the one step between the project's codec and pyVmomi's SOAP
serializer and deserializer.

``to_pyvmomi`` turns what :func:`harness.vmodl.codec.Codec.decode` produced (``DataObject``,
``MoRef``, ``AnyValue``, primitives) into pyVmomi objects, typed by pyVmomi's own type info so its
serializer writes the right elements and ``xsi:type``s.  ``from_pyvmomi`` goes back, typed by the
harness's registry of one release: a type or a set field the release does not know is a
:class:`BridgeError` (an answer with an unknown element or type), never silently dropped.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
from typing import Any

from pyVmomi import VmomiSupport as V

from ..vmodl.registry import MANAGED_ROOT, MOREF, RELEASES, Release, TypeRef
from ..vmodl.registry import release as registry
from ..vmodl.values import AnyValue, DataObject, MoRef
from .envelope import seen_fields

VIM_NS = "urn:vim25"
#: pyVmomi fields every data object carries that VI/JSON does not (``msg``: the SOAP faultstring).
_PYVMOMI_ONLY = frozenset({"dynamicType", "dynamicProperty", "msg"})
_MOREF_ARRAY = "ArrayOfManagedObjectReference"


class BridgeError(ValueError):
    """A value pyVmomi and the release's types do not agree on; ``path`` says where."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path or '<root>'}: {message}")
        self.path = path
        self.reason = message


def wsdl_type(name: str) -> type:
    """The pyVmomi type of a wire type name (``VirtualMachine``, ``InvalidState``, ``long``)."""
    if name == MOREF:
        return V.ManagedObject
    if name == _MOREF_ARRAY:
        return V.GetVmodlType("vmodl.ManagedObject[]")
    for ns in (VIM_NS, V.XMLNS_XSD, V.XMLNS_VMODL_BASE):
        try:
            return V.GetWsdlType(ns, name)
        except KeyError:
            continue
    raise BridgeError("", f"pyVmomi knows no type {name!r}")


def wire_name(pytype: type) -> str:
    """The wire name of a pyVmomi type (``ArrayOfManagedObjectReference`` for reference arrays)."""
    if issubclass(pytype, list) and issubclass(pytype.Item, V.ManagedObject):
        return _MOREF_ARRAY
    return V.GetWsdlName(pytype)


# --- harness -> pyVmomi ---------------------------------------------------------------------------
def to_pyvmomi(value: Any, pytype: type = object, path: str = "") -> Any:
    """The pyVmomi object of a harness value in a position of pyVmomi type ``pytype``."""
    if value is None:
        return None
    if isinstance(value, AnyValue):
        return to_pyvmomi(value.value, wsdl_type(value.type_name), path)
    if isinstance(value, MoRef):
        cls = wsdl_type(value.type)
        if not issubclass(cls, V.ManagedObject):
            raise BridgeError(path, f"{value.type} is not a managed type")
        return cls(value.value)
    if isinstance(value, DataObject):
        return _data_to_pyvmomi(value, path)
    if isinstance(value, list | tuple):
        array = pytype if isinstance(pytype, type) and issubclass(pytype, list) else None
        if array is None:
            raise BridgeError(path, f"an array where pyVmomi expects {pytype.__name__}")
        out = array()
        out.extend(to_pyvmomi(v, array.Item, f"{path}[{i}]") for i, v in enumerate(value))
        return out
    return _primitive_to_pyvmomi(value, pytype, path)


def _data_to_pyvmomi(value: DataObject, path: str) -> Any:
    cls = wsdl_type(value.type_name)
    missing = frozenset(
        p.name for p in cls._GetPropertyList() if not p.flags & V.F_OPTIONAL and p.name not in value
    )
    obj = (_without(cls, missing) if missing else cls)()
    context = str(value.get("descriptionId") or "").split(".")[0]  # TaskInfo: the method's type
    for key, field_value in value.items():
        try:
            info = cls._GetPropertyInfo(key)
        except AttributeError:
            raise BridgeError(_join(path, key), f"pyVmomi's {value.type_name} has no field {key!r}") from None
        if info.type is V.ManagedMethod and isinstance(field_value, str):
            converted = _method(field_value, context)
        else:
            converted = to_pyvmomi(field_value, info.type, _join(path, key))
        try:
            setattr(obj, key, converted)
        except (TypeError, ValueError) as exc:
            raise BridgeError(_join(path, key), str(exc)) from None
    return obj


@functools.cache
def _without(cls: type, missing: frozenset[str]) -> type:
    """``cls`` with the ``missing`` required fields made optional, so that an object without them is
    written without their elements (pyVmomi would write its default, ``<y>0</y>``, for a missing
    int): a request under test may leave out a required field, and the endpoint must refuse it."""
    relaxed = []
    for info in cls._GetPropertyList():
        if info.name in missing:
            info = copy.copy(info)
            info.flags |= V.F_OPTIONAL
            relaxed.append(info)
    # a subclass's properties override its bases' (they come last, but they are never written)
    return type(cls.__name__, (cls,), {"_propInfo": {i.name: i for i in relaxed}, "_propList": relaxed})


def _primitive_to_pyvmomi(value: Any, pytype: type, path: str) -> Any:
    if pytype is object:
        return value
    try:
        if pytype is type:  # vmodl.TypeName
            return wsdl_type(value)
        if pytype is V.ManagedMethod:
            return _method(value)
        if issubclass(pytype, V.Enum):
            return getattr(pytype, value)
        if pytype is dt.datetime:
            if not isinstance(value, dt.datetime):
                raise TypeError(f"expected a datetime, got {type(value).__name__}")
            return value
        return pytype(value)
    except (AttributeError, TypeError, ValueError, BridgeError) as exc:
        raise BridgeError(path, f"{value!r} does not fit {pytype.__name__}: {exc}") from None


def _method(name: str, context: str = "") -> Any:
    """pyVmomi's method of a MethodName value.  The wire form is the WSDL name
    (``PowerOnVM_Task``); a bare VMODL name (``powerOn``) of a method of the ``context`` type (or
    of one method only) is taken as that method (pyVim reads ``TaskInfo.name.info``); anything
    else travels as it is."""
    try:
        return V.GetWsdlMethod(VIM_NS, name)
    except KeyError:
        pass
    rel = registry(RELEASES[-1])
    wsdl = (
        next((m.name for m in rel.methods(context) if m.vmodl_name == name), None)
        if context in rel.managed
        else None
    )
    wsdl = wsdl or _vmodl_methods().get(name)
    if wsdl:
        return V.GetWsdlMethod(VIM_NS, wsdl)
    return V.ManagedMethod(V.Object(name=name, wsdlName=name))  # the serializer writes info.wsdlName


@functools.cache
def _vmodl_methods() -> dict[str, str]:
    """VMODL method name -> WSDL name, for the names only one method has."""
    names: dict[str, set[str]] = {}
    for managed in registry(RELEASES[-1]).managed.values():
        for m in managed.own_methods:
            names.setdefault(m.vmodl_name, set()).add(m.name)
    return {k: next(iter(v)) for k, v in names.items() if len(v) == 1}


# --- pyVmomi -> harness ---------------------------------------------------------------------------
def from_pyvmomi(obj: Any, declared: TypeRef | str, rel: Release, path: str = "") -> Any:
    """The harness value of a pyVmomi object in a position of (registry) type ``declared``."""
    declared = (
        TypeRef(declared[:-2], True) if isinstance(declared, str) and declared.endswith("[]") else declared
    )
    declared = TypeRef(declared) if isinstance(declared, str) else declared
    if obj is None:
        return None
    if declared.array:
        if not isinstance(obj, list):
            raise BridgeError(path, f"expected an array of {declared.name}, got {type(obj).__name__}")
        return [from_pyvmomi(v, declared.item, rel, f"{path}[{i}]") for i, v in enumerate(obj)]
    if isinstance(obj, V.ManagedObject):
        return MoRef(V.GetWsdlName(type(obj)), obj._moId)
    if isinstance(obj, V.DataObject):
        return _data_from_pyvmomi(obj, rel, path)
    name = declared.name
    kind = rel.kind(name) if rel.exists(name) else "unknown"
    if kind == "anyType":
        return _any_from_pyvmomi(obj, rel, path)
    if kind == "enum":
        return str(obj)
    if kind in ("primitive", "unknown"):
        return _primitive_from_pyvmomi(obj, name, path)
    raise BridgeError(path, f"a {type(obj).__name__} where the release expects {name}")


def _data_from_pyvmomi(obj: Any, rel: Release, path: str) -> DataObject:
    name = V.GetWsdlName(type(obj))
    if name not in rel.data:
        raise BridgeError(path, f"unknown type {name!r} in release {rel.name}")
    fields = {f.name: f for f in rel.fields(name)}
    out = DataObject(name)
    for prop in type(obj)._GetPropertyList():
        if prop.name in fields or prop.name in _PYVMOMI_ONLY:
            continue
        if getattr(obj, prop.name, None) not in (None, []):
            raise BridgeError(
                _join(path, prop.name), f"{name} has no field {prop.name!r} in release {rel.name}"
            )
    seen = seen_fields(obj)
    for fname, member in fields.items():
        if seen is not None and fname not in seen and not isinstance(getattr(obj, fname, None), list):
            continue  # no element on the wire: absent (pyVmomi's default, such as 0, is not what was sent)
        value = getattr(obj, fname, None)
        if isinstance(value, list) and not value:
            value = None if member.optional else []
        if value is not None:
            out[fname] = from_pyvmomi(value, member.type, rel, _join(path, fname))
    return out


def _any_from_pyvmomi(obj: Any, rel: Release, path: str) -> Any:
    if isinstance(obj, list):
        name = wire_name(type(obj)) if isinstance(obj, V.Array) else "ArrayOfAnyType"
        item = (
            MOREF
            if name == _MOREF_ARRAY
            else V.GetWsdlName(type(obj).Item)
            if isinstance(obj, V.Array)
            else ""
        )
        return AnyValue(
            name, [from_pyvmomi(v, item or "anyType", rel, f"{path}[{i}]") for i, v in enumerate(obj)]
        )
    name = V.GetWsdlName(type(obj))
    kind = rel.kind(name) if rel.exists(name) else "unknown"
    if kind == "enum":
        return AnyValue(name, str(obj))
    return AnyValue(name, _primitive_from_pyvmomi(obj, name, path))


def _primitive_from_pyvmomi(obj: Any, name: str, path: str) -> Any:
    if isinstance(obj, type):
        return V.GetWsdlName(obj)
    if isinstance(obj, V.ManagedMethod):
        info = getattr(obj, "info", None)
        return info.wsdlName if info is not None else obj.name
    if isinstance(obj, bool | dt.datetime):
        return obj
    if isinstance(obj, bytes):
        return bytes(obj)
    if isinstance(obj, int):
        return int(obj)
    if isinstance(obj, float):
        return float(obj)
    if isinstance(obj, str):
        return str(obj)
    raise BridgeError(path, f"a {type(obj).__name__} where the release expects {name}")


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def pytype_of(ref: TypeRef) -> type:
    """pyVmomi's type of a registry type (``anyType`` is ``object``; arrays are typed arrays)."""
    if ref.name == "anyType":
        return V.GetVmodlType("anyType[]") if ref.array else object
    base = V.ManagedObject if ref.name == MANAGED_ROOT else wsdl_type(ref.name)
    if not ref.array:
        return base
    # data and managed types carry their array type; primitives (str, int ...) do not
    return getattr(base, "Array", None) or V.GetVmodlType(V.GetVmodlName(base) + "[]")
