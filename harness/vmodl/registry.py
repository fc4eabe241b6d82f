"""The VMODL type registry, read from pyVmomi's generated type metadata, per release.

pyVmomi ships its type data as generated modules of calls (``CreateDataType(...)``,
``CreateManagedType(...)`` ...).  We evaluate those modules with our own collectors instead of
pyVmomi's lazy type machinery, which gives a plain, immutable description of every type together
with the VMODL version where each type, field, method and parameter appeared.  A
:class:`Release` view keeps only what exists in one VI/JSON release.
"""

from __future__ import annotations

import functools
import importlib.util
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

#: Releases the harness knows, oldest first.  8.0.2.0 is the seed document's release.
RELEASES: tuple[str, ...] = ("8.0.1.0", "8.0.2.0", "8.0.3.0", "9.0.0.0", "9.1.0.0")
DEFAULT_RELEASE = "8.0.2.0"

_TYPEINFO_MODULES = ("_typeinfo_core", "_typeinfo_query", "_typeinfo_vim", "_typeinfo_vslm")

F_LINK, F_LINKABLE, F_OPTIONAL, F_SECRET = 1, 2, 4, 8

#: VMODL primitive names -> the XML Schema names VI/JSON uses in ``_typeName``.
PRIMITIVES: dict[str, str] = {
    "boolean": "boolean",
    "byte": "byte",
    "short": "short",
    "int": "int",
    "long": "long",
    "float": "float",
    "double": "double",
    "string": "string",
    "anyType": "anyType",
    "vmodl.DateTime": "dateTime",
    "vmodl.Binary": "base64Binary",
    "vmodl.URI": "anyURI",
    "vmodl.TypeName": "string",
    "vmodl.MethodName": "string",
    "vmodl.PropertyPath": "string",
    "type": "string",
    "void": "void",
}
PRIMITIVE_WIRE_NAMES = frozenset(PRIMITIVES.values()) - {"void", "anyType"}
MOREF = "ManagedObjectReference"
#: The root of the managed types (abstract: no server hands out a reference of this type).
MANAGED_ROOT = "ManagedObject"


class UnknownRelease(ValueError):
    """A release the registry does not carry."""


@dataclass(frozen=True)
class TypeRef:
    """A declared type: a wire name (``VirtualMachineRuntimeInfo``, ``int``, ``VirtualMachine``)
    plus whether it is an array."""

    name: str
    array: bool = False

    def __str__(self) -> str:
        return f"{self.name}[]" if self.array else self.name

    @property
    def item(self) -> TypeRef:
        return TypeRef(self.name)


@dataclass(frozen=True)
class Member:
    """A field of a data type, a property of a managed type, or a parameter of a method."""

    name: str
    type: TypeRef
    optional: bool
    since: str
    privilege: str | None = None
    secret: bool = False


@dataclass(frozen=True)
class DataType:
    name: str
    vmodl_name: str
    base: str | None
    since: str
    own_fields: tuple[Member, ...]


@dataclass(frozen=True)
class EnumType:
    name: str
    vmodl_name: str
    since: str
    values: tuple[str, ...]


@dataclass(frozen=True)
class Method:
    name: str  # wire name, e.g. PowerOnVM_Task
    vmodl_name: str  # e.g. powerOn
    since: str
    params: tuple[Member, ...]
    returns: TypeRef | None  # None for void
    returns_optional: bool
    task_result: TypeRef | None  # for methods returning a Task: the TaskInfo.result type
    privilege: str | None
    faults: tuple[str, ...]  # wire names

    @property
    def is_task(self) -> bool:
        return self.returns is not None and self.returns.name == "Task" and not self.returns.array


@dataclass(frozen=True)
class ManagedType:
    name: str
    vmodl_name: str
    base: str | None
    since: str
    own_properties: tuple[Member, ...]
    own_methods: tuple[Method, ...]


@dataclass
class _Raw:
    """Everything read from pyVmomi, before release filtering."""

    data: dict[str, DataType] = field(default_factory=dict)
    enums: dict[str, EnumType] = field(default_factory=dict)
    managed: dict[str, ManagedType] = field(default_factory=dict)
    versions: dict[str, str] = field(default_factory=dict)  # version id -> release string
    parents: dict[str, set[str]] = field(default_factory=dict)


class _Ignored:
    """Stands in for pyVmomi's version lists, which the registry does not need."""

    def __getattr__(self, name: str):
        return lambda *args, **kwargs: None


def _read_pyvmomi() -> _Raw:
    """Evaluate pyVmomi's generated type modules with collecting stand-ins."""
    raw = _Raw()
    calls: list[tuple[str, tuple]] = []

    def collector(kind: str):
        return lambda *args: calls.append((kind, args))

    namespace = {
        "CreateDataType": collector("data"),
        "CreateManagedType": collector("managed"),
        "CreateEnumType": collector("enum"),
        "AddVersion": collector("version"),
        "AddVersionParent": collector("parent"),
        "AddBreakingChangesInfo": collector("breaking"),
        "F_LINK": F_LINK,
        "F_LINKABLE": F_LINKABLE,
        "F_OPTIONAL": F_OPTIONAL,
        "F_SECRET": F_SECRET,
        "newestVersions": _Ignored(),
        "ltsVersions": _Ignored(),
        "oldestVersions": _Ignored(),
        "dottedVersions": _Ignored(),
    }
    package = importlib.util.find_spec("pyVmomi")
    if package is None or not package.submodule_search_locations:
        raise RuntimeError("pyVmomi is not installed: it carries the VMODL type data")
    root = Path(next(iter(package.submodule_search_locations)))
    for module in _TYPEINFO_MODULES:
        source = (root / f"{module}.py").read_text()
        body = "\n".join("" if line.startswith("from ") else line for line in source.splitlines())
        exec(compile(body, str(root / f"{module}.py"), "exec"), dict(namespace))  # noqa: S102

    wire: dict[str, str] = dict(PRIMITIVES)
    wire.update(
        {
            f"vmodl.{n}": n
            for n in ("MethodFault", "RuntimeFault", "LocalizedMethodFault", "DataObject", "ManagedObject")
        }
    )
    for kind, args in calls:
        if kind in ("data", "managed", "enum"):
            wire[args[0]] = args[1]

    def ref(vmodl_type: str) -> TypeRef:
        array = vmodl_type.endswith("[]")
        base = vmodl_type[:-2] if array else vmodl_type
        return TypeRef(wire.get(base, base), array)

    def member(spec: tuple) -> Member:
        name, typ, since, flags = spec[0], spec[1], spec[2], spec[3]
        privilege = spec[4] if len(spec) > 4 else None
        return Member(name, ref(typ), bool(flags & F_OPTIONAL), since, privilege, bool(flags & F_SECRET))

    for kind, args in calls:
        if kind == "version":
            raw.versions[args[0]] = args[2]
        elif kind == "parent":
            raw.parents.setdefault(args[0], set()).add(args[1])
        elif kind == "enum":
            vmodl_name, name, since, values = args
            raw.enums[name] = EnumType(name, vmodl_name, since, tuple(values))
        elif kind == "data":
            vmodl_name, name, base, since, fields = args
            raw.data[name] = DataType(
                name,
                vmodl_name,
                ref(base).name if base else None,
                since,
                tuple(member(f) for f in fields or ()),
            )
        elif kind == "managed":
            vmodl_name, name, base, since, props, methods = args
            own_methods = []
            for m in methods or ():
                m_vmodl, m_name, m_since, params, (ret_flags, ret_type, ret_result), priv, faults = m
                returns = None if ret_type == "void" else ref(ret_type)
                task_result = None
                if returns is not None and returns.name == "Task" and not returns.array:
                    task_result = None if ret_result == "void" else ref(ret_result)
                own_methods.append(
                    Method(
                        m_name,
                        m_vmodl,
                        m_since,
                        tuple(member(p) for p in params or ()),
                        returns,
                        bool(ret_flags & F_OPTIONAL),
                        task_result,
                        priv,
                        tuple(ref(f).name for f in faults or ()),
                    )
                )
            raw.managed[name] = ManagedType(
                name,
                vmodl_name,
                ref(base).name if base else None,
                since,
                tuple(member(p) for p in props or ()),
                tuple(own_methods),
            )
    # The managed-object root carries no metadata call of its own.
    raw.managed.setdefault(
        MANAGED_ROOT,
        ManagedType(MANAGED_ROOT, "vmodl.ManagedObject", None, "vmodl.version.version0", (), ()),
    )
    # pyVmomi builds the fault roots in code (VmomiSupport), not in its metadata modules.  Their
    # VI/JSON shapes (VMware's VI/JSON OpenAPI document): ``MethodFault`` derives from ``Any``, the
    # discriminator root, not from ``DynamicData`` as pyVmomi has it, so it is a root of its own here
    # (no ``dynamicType``/``dynamicProperty``); pyVmomi's extra ``msg`` is not part of the wire schema.
    # Every fault inside data (``TaskInfo.error``, ``MethodFault.faultCause``, the items of
    # QueryFaultToleranceCompatibility's result ...) is typed ``MethodFault`` and travels as the fault
    # object itself, as pyVmomi's metadata says.  ``LocalizedMethodFault`` (the SOAP wrapper) is a type
    # of its own that nothing refers to.
    v0, v1 = "vmodl.version.version0", "vmodl.version.version1"
    raw.data.setdefault("DataObject", DataType("DataObject", "vmodl.DataObject", None, v0, ()))
    raw.data["MethodFault"] = DataType(
        "MethodFault",
        "vmodl.MethodFault",
        None,
        v0,
        (
            Member("faultCause", TypeRef("MethodFault"), True, v1),
            Member("faultMessage", TypeRef("LocalizableMessage", True), True, v1),
        ),
    )
    raw.data["RuntimeFault"] = DataType("RuntimeFault", "vmodl.RuntimeFault", "MethodFault", v0, ())
    raw.data["LocalizedMethodFault"] = DataType(
        "LocalizedMethodFault",
        "vmodl.LocalizedMethodFault",
        "DynamicData",
        v0,
        (
            Member("fault", TypeRef("MethodFault"), False, v0),
            Member("localizedMessage", TypeRef("string"), True, v0),
        ),
    )
    return raw


@functools.cache
def _raw() -> _Raw:
    return _read_pyvmomi()


class Release:
    """The VMODL types of one VI/JSON release (``8.0.2.0`` ...): only what exists in it."""

    def __init__(self, release: str):
        raw = _raw()
        version_id = next((v for v, r in raw.versions.items() if r == release and v.startswith("vim.")), None)
        if version_id is None or release not in RELEASES:
            raise UnknownRelease(f"unknown release {release!r}; known: {', '.join(RELEASES)}")
        self.name = release
        self.version_id = version_id
        self._known = raw.parents.get(version_id, set()) | {version_id}
        self.data = {n: t for n, t in raw.data.items() if self.has(t.since)}
        self.enums = {n: t for n, t in raw.enums.items() if self.has(t.since)}
        self.managed = {n: t for n, t in raw.managed.items() if self.has(t.since)}
        self._children: dict[str, list[str]] = {}
        for t in list(self.data.values()) + list(self.managed.values()):
            if t.base:
                self._children.setdefault(t.base, []).append(t.name)

    def __repr__(self) -> str:
        return f"Release({self.name!r})"

    def has(self, version_id: str) -> bool:
        """Whether a VMODL version id (``vim.version.v8_0_3_0``) is part of this release."""
        return version_id in self._known

    # --- kinds -----------------------------------------------------------------------------
    def kind(self, name: str) -> str:
        """``primitive``, ``anyType``, ``moref``, ``enum``, ``data`` or ``managed``."""
        if name == "anyType":
            return "anyType"
        if name in PRIMITIVE_WIRE_NAMES:
            return "primitive"
        if name == MOREF:
            return "moref"
        if name in self.enums:
            return "enum"
        if name in self.data:
            return "data"
        if name in self.managed:
            return "managed"
        raise KeyError(f"type {name!r} does not exist in release {self.name}")

    def exists(self, name: str) -> bool:
        try:
            self.kind(name)
        except KeyError:
            return False
        return True

    # --- hierarchy -------------------------------------------------------------------------
    def ancestors(self, name: str) -> list[str]:
        """The type itself and its bases, nearest first."""
        table = self.data if name in self.data else self.managed
        chain = []
        while name and name in table:
            chain.append(name)
            name = table[name].base
        return chain

    def is_subtype(self, name: str, of: str) -> bool:
        return of in self.ancestors(name)

    def subtypes(self, name: str, include_self: bool = True) -> list[str]:
        """Every type deriving from ``name`` (transitively), sorted."""
        out, stack = set(), [name]
        while stack:
            for child in self._children.get(stack.pop(), ()):
                if child not in out:
                    out.add(child)
                    stack.append(child)
        if include_self:
            out.add(name)
        return sorted(out)

    def is_fault(self, name: str) -> bool:
        return name in self.data and self.is_subtype(name, "MethodFault")

    def is_runtime_fault(self, name: str) -> bool:
        return name in self.data and self.is_subtype(name, "RuntimeFault")

    # --- members ---------------------------------------------------------------------------
    def fields(self, name: str) -> list[Member]:
        """All fields of a data type, inherited first, as they exist in this release."""
        out: list[Member] = []
        for t in reversed(self.ancestors(name)):
            out.extend(f for f in self.data[t].own_fields if self.has(f.since))
        return out

    def properties(self, name: str) -> list[Member]:
        out: list[Member] = []
        for t in reversed(self.ancestors(name)):
            out.extend(p for p in self.managed[t].own_properties if self.has(p.since))
        return out

    def methods(self, name: str) -> list[Method]:
        """All methods of a managed type (inherited included) with parameters of this release."""
        out: dict[str, Method] = {}
        for t in reversed(self.ancestors(name)):
            for m in self.managed[t].own_methods:
                if self.has(m.since):
                    params = tuple(p for p in m.params if self.has(p.since))
                    out[m.name] = Method(
                        m.name,
                        m.vmodl_name,
                        m.since,
                        params,
                        m.returns,
                        m.returns_optional,
                        m.task_result,
                        m.privilege,
                        tuple(f for f in m.faults if f in self.data),
                    )
        return list(out.values())

    def method(self, managed_type: str, method: str) -> Method:
        for m in self.methods(managed_type):
            if m.name == method:
                return m
        raise KeyError(f"{managed_type} has no method {method!r} in release {self.name}")

    def property(self, managed_type: str, prop: str) -> Member:
        for p in self.properties(managed_type):
            if p.name == prop:
                return p
        raise KeyError(f"{managed_type} has no property {prop!r} in release {self.name}")

    def declaring_type(self, managed_type: str, member: str) -> str:
        """The managed type that declares a method or property (``ManagedEntity`` for Rename_Task)."""
        for t in self.ancestors(managed_type):
            mt = self.managed[t]
            if any(m.name == member for m in mt.own_methods) or any(
                p.name == member for p in mt.own_properties
            ):
                return t
        raise KeyError(member)

    def reachable(self, roots: Iterable[TypeRef | str]) -> set[str]:
        """Names of every data and enum type reachable from ``roots`` through fields and subtypes."""
        seen: set[str] = set()
        stack = [r.name if isinstance(r, TypeRef) else r for r in roots]
        while stack:
            name = stack.pop()
            if name in seen or name not in self.data and name not in self.enums:
                continue
            seen.add(name)
            if name in self.data:
                stack.extend(self.subtypes(name))
                stack.extend(f.type.name for f in self.fields(name))
        return seen

    def iter_data_types(self) -> Iterator[DataType]:
        return iter(self.data.values())


def release(name: str = DEFAULT_RELEASE) -> Release:
    """The registry view of one release (cached: one object per release)."""
    return _release(name)


@functools.cache
def _release(name: str) -> Release:
    return Release(name)


def version_release(version_id: str) -> str | None:
    """The release string of a VMODL version id (``vim.version.v8_0_3_0`` -> ``8.0.3.0``)."""
    return _raw().versions.get(version_id)


def first_release(version_id: str) -> str | None:
    """The first of :data:`RELEASES` that contains a VMODL version id."""
    for r in RELEASES:
        if release(r).has(version_id):
            return r
    return None
