"""The façade's PropertyCollector and ViewManager: what SOAP clients need beyond the VI/JSON
operations, built from VI/JSON property reads.

* ``RetrieveProperties[Ex]``: the objects of each ``ObjectSpec`` (and those its ``TraversalSpec``s
  reach), each path of the matching ``PropertySpec``s read by ``GET /{type}/{moId}/{property}``
  (nested paths such as ``runtime.powerState`` are looked up inside the value);
* container views (``CreateContainerView``): their ``view`` is found by walking the inventory
  through VI/JSON reads (Folder.childEntity, Datacenter.vmFolder …) at every read;
* filters and ``WaitForUpdates[Ex]``: each wait re-reads the filters' properties until a value
  changes (enough for ``pyVim.task.WaitForTask``).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pyVmomi import VmomiSupport as V
from pyVmomi import vmodl

from ..vmodl.codec import codec
from ..vmodl.registry import MOREF, TypeRef
from ..vmodl.registry import release as registry
from ..vmodl.values import MoRef
from .bridge import pytype_of, to_pyvmomi
from .translate import moref

PC = vmodl.query.PropertyCollector
VIEW_TYPES = ("ContainerView",)
#: Faults that only say a property is not served here: left out of ``all=True`` answers.
NOT_SERVED = frozenset(
    {"InvalidArgument", "InvalidRequest", "MethodNotFound", "NotSupported", "InvalidProperty"}
)
#: The inventory edges a container view follows (type -> properties holding children).
CHILDREN: dict[str, tuple[str, ...]] = {
    "Folder": ("childEntity",),
    "Datacenter": ("vmFolder", "hostFolder", "datastoreFolder", "networkFolder"),
    "ComputeResource": ("host", "resourcePool"),
    "ClusterComputeResource": ("host", "resourcePool"),
    "ResourcePool": ("resourcePool", "vm"),
    "VirtualApp": ("resourcePool", "vm"),
    "HostSystem": ("vm",),
}


class FacadeFault(Exception):
    """A fault the façade answers; ``data`` is the VI/JSON fault object."""

    def __init__(self, data: dict[str, Any]):
        super().__init__(data.get("_typeName", "fault"))
        self.data = data


@dataclass
class Read:
    """One property read: the JSON value (``ok``) or the JSON fault."""

    ok: bool
    value: Any = None
    declared: TypeRef | None = None


@dataclass
class View:
    session: str
    container: MoRef
    types: tuple[str, ...]
    recursive: bool


@dataclass
class Filter:
    session: str
    spec: Any
    seen: dict[tuple[MoRef, str], Any] = field(default_factory=dict)
    known: set[MoRef] = field(default_factory=set)


#: ``read(release, session, ref, property) -> Read`` — a VI/JSON property GET.
Reader = Callable[[str, str, MoRef, str], Read]


class Collector:
    """Views, filters and property retrieval of one façade (every session's, keyed by moId)."""

    def __init__(self, read: Reader, max_wait_s: float = 30.0, poll_s: float = 0.02):
        self._read_vi = read
        self.max_wait_s = max_wait_s
        self.poll_s = poll_s
        self.views: dict[str, View] = {}
        self.filters: dict[str, Filter] = {}
        self._versions: dict[str, int] = {}
        self._cancelled: set[str] = set()
        self._ids = itertools.count(1)
        self._lock = threading.Lock()

    # --- views ---------------------------------------------------------------------------------
    def create_view(self, session: str, container: MoRef, types: list[str], recursive: bool) -> MoRef:
        moid = f"session[{next(self._ids)}]view"
        with self._lock:
            self.views[moid] = View(session, container, tuple(types), recursive)
        return MoRef("ContainerView", moid)

    def destroy(self, session: str, ref: MoRef) -> bool:
        with self._lock:
            table: dict[str, Any] = self.views if ref.type in VIEW_TYPES else self.filters
            item = table.get(ref.value)
            if item is None or item.session != session:
                return False
            del table[ref.value]
            return True

    def _view_objects(self, release: str, session: str, view: View) -> list[MoRef]:
        rel = registry(release)
        out: list[MoRef] = []
        seen = {view.container}
        frontier = [view.container]
        while frontier:
            current = frontier.pop(0)
            for child in self._children(release, session, current):
                if child in seen:
                    continue
                seen.add(child)
                if not view.types or any(rel.is_subtype(child.type, t) for t in view.types):
                    out.append(child)
                if view.recursive:
                    frontier.append(child)
        return out

    def _children(self, release: str, session: str, ref: MoRef) -> list[MoRef]:
        out: list[MoRef] = []
        for prop in CHILDREN.get(ref.type, ()):
            got = self._read_vi(release, session, ref, prop)
            if got.ok:
                out.extend(_refs(got.value))
            elif got.value.get("_typeName") == "NotAuthenticated":
                raise FacadeFault(got.value)
        return out

    # --- reads ---------------------------------------------------------------------------------
    def read(self, release: str, session: str, ref: MoRef, prop: str) -> Read:
        """A property of a VI/JSON object, or of one the façade holds (a view)."""
        if ref.type in VIEW_TYPES:
            view = self.views.get(ref.value)
            if view is None or view.session != session:
                return Read(False, _fault("ManagedObjectNotFound", obj=_json_ref(ref)))
            if prop == "view":
                objects = self._view_objects(release, session, view)
                return Read(True, [_json_ref(o) for o in objects], TypeRef("ManagedObject", True))
            if prop == "container":
                return Read(True, _json_ref(view.container), TypeRef("ManagedEntity"))
            if prop == "recursive":
                return Read(True, view.recursive, TypeRef("boolean"))
            if prop == "type":
                return Read(True, list(view.types), TypeRef("string", True))
            return Read(False, _fault("InvalidProperty", name=prop))
        return self._read_vi(release, session, ref, prop)

    def retrieve(self, release: str, session: str, specs: list[Any]) -> list[Any]:
        """``ObjectContent``s (pyVmomi) of a ``RetrieveProperties[Ex]`` call."""
        out: list[Any] = []
        for spec in specs or []:
            out.extend(self._contents(release, session, spec, {}))
        return out

    def _contents(
        self, release: str, session: str, spec: Any, cache: dict, seen: dict | None = None
    ) -> list[Any]:
        """``ObjectContent``s of one filter spec; ``seen`` gets each value read as JSON text."""
        contents = []
        for ref, paths, root in self._targets(release, session, spec):
            props, missing = [], []
            for path, optional in paths:
                got = self._path(release, session, ref, path, cache)
                if got is None:
                    continue
                if not got.ok:
                    fault_type = got.value.get("_typeName")
                    if fault_type == "NotAuthenticated" or (root and fault_type == "ManagedObjectNotFound"):
                        raise FacadeFault(got.value)
                    if optional and fault_type in NOT_SERVED:
                        continue
                    missing.append(PC.MissingProperty(path=path, fault=_py_fault(release, got.value)))
                    continue
                props.append(vmodl.DynamicProperty(name=path, val=_py_value(release, got)))
                if seen is not None:
                    seen[(ref, path)] = json.dumps(got.value, sort_keys=True)
            contents.append(PC.ObjectContent(obj=to_pyvmomi(ref), propSet=props, missingSet=missing))
        return contents

    def _path(self, release: str, session: str, ref: MoRef, path: str, cache: dict) -> Read | None:
        """The value at ``path`` (``runtime.powerState``), None when unset on the way."""
        head, *rest = path.split(".")
        key = (ref, head)
        if key not in cache:
            cache[key] = self.read(release, session, ref, head)
        got = cache[key]
        if not got.ok or not rest:
            return got if got.ok is False or got.value is not None else None
        rel = registry(release)
        value, declared = got.value, got.declared
        for name in rest:
            if not isinstance(value, dict) or declared is None or declared.array:
                return Read(False, _fault("InvalidProperty", name=path))
            actual = value.get("_typeName", declared.name)
            member = (
                next((f for f in rel.fields(actual) if f.name == name), None) if actual in rel.data else None
            )
            if member is None:
                return Read(False, _fault("InvalidProperty", name=path))
            value, declared = value.get(name), member.type
            if value is None:
                return None
        return Read(True, value, declared)

    def _targets(
        self, release: str, session: str, spec: Any
    ) -> list[tuple[MoRef, list[tuple[str, bool]], bool]]:
        """Each selected object with the paths to read (``optional``: from ``all=True``)."""
        rel = registry(release)
        named = {}
        for obj_spec in spec.objectSet or []:
            _collect_named(obj_spec.selectSet or [], named)
        selected: dict[MoRef, bool] = {}
        for obj_spec in spec.objectSet or []:
            start = moref(obj_spec.obj)
            if not obj_spec.skip:
                selected.setdefault(start, True)
            self._traverse(release, session, start, obj_spec.selectSet or [], named, selected, set())
        out = []
        for ref, root in selected.items():
            paths: dict[str, bool] = {}
            for prop_spec in spec.propSet or []:
                type_name = V.GetWsdlName(prop_spec.type)
                if not rel.exists(ref.type) or not rel.is_subtype(ref.type, type_name):
                    continue
                if prop_spec.all:
                    for p in rel.properties(ref.type):
                        paths.setdefault(p.name, True)
                for p in prop_spec.pathSet or []:
                    paths[str(p)] = False
            out.append((ref, list(paths.items()), root))
        return out

    def _traverse(
        self,
        release: str,
        session: str,
        ref: MoRef,
        selects: list[Any],
        named: dict[str, Any],
        selected: dict[MoRef, bool],
        visited: set[tuple[MoRef, str]],
    ) -> None:
        rel = registry(release)
        for sel in selects:
            spec = sel if isinstance(sel, PC.TraversalSpec) else named.get(sel.name)
            if spec is None or (ref, spec.name or id(spec)) in visited:
                continue
            visited.add((ref, spec.name or id(spec)))
            if not rel.exists(ref.type) or not rel.is_subtype(ref.type, V.GetWsdlName(spec.type)):
                continue
            got = self.read(release, session, ref, spec.path)
            if not got.ok:
                if got.value.get("_typeName") == "NotAuthenticated":
                    raise FacadeFault(got.value)
                continue
            for child in _refs(got.value):
                if not spec.skip:
                    selected.setdefault(child, False)
                self._traverse(release, session, child, spec.selectSet or [], named, selected, visited)

    # --- filters and updates -------------------------------------------------------------------
    def create_filter(self, session: str, spec: Any) -> MoRef:
        moid = f"session[{next(self._ids)}]filter"
        with self._lock:
            self.filters[moid] = Filter(session, spec)
        return MoRef("PropertyFilter", moid)

    def cancel(self, session: str) -> None:
        self._cancelled.add(session)

    def wait(self, release: str, session: str, version: str | None, max_wait_s: float | None) -> Any:
        """The next ``UpdateSet`` of the session's filters: everything for no ``version``, else the
        changes since; None when nothing changed within ``max_wait_s`` (0: look once)."""
        self._cancelled.discard(session)
        limit = self.max_wait_s if max_wait_s is None else min(max_wait_s, self.max_wait_s)
        deadline = time.monotonic() + limit
        while True:
            updates = self._updates(release, session, initial=not version)
            if updates or not version:
                number = self._versions.get(session, 0) + 1
                self._versions[session] = number
                return PC.UpdateSet(version=str(number), filterSet=updates)
            if session in self._cancelled:
                self._cancelled.discard(session)
                raise FacadeFault(_fault("RequestCanceled"))
            if time.monotonic() >= deadline:
                return None
            time.sleep(self.poll_s)

    def _updates(self, release: str, session: str, initial: bool) -> list[Any]:
        out = []
        for moid, flt in list(self.filters.items()):
            if flt.session != session:
                continue
            objects = []
            now: dict[tuple[MoRef, str], str] = {}
            for content in self._contents(release, session, flt.spec, {}, now):
                ref = moref(content.obj)
                changes = []
                for prop in content.propSet:
                    snapshot = now[(ref, prop.name)]
                    if initial or flt.seen.get((ref, prop.name)) != snapshot:
                        flt.seen[(ref, prop.name)] = snapshot
                        changes.append(PC.Change(name=prop.name, op="assign", val=prop.val))
                if changes or ref not in flt.known:
                    kind = "enter" if ref not in flt.known else "modify"
                    flt.known.add(ref)
                    objects.append(
                        PC.ObjectUpdate(
                            kind=kind, obj=content.obj, changeSet=changes, missingSet=content.missingSet
                        )
                    )
            if objects:
                out.append(PC.FilterUpdate(filter=PC.Filter(moid), objectSet=objects))
        return out


def _collect_named(selects: list[Any], named: dict[str, Any]) -> None:
    for sel in selects:
        if isinstance(sel, PC.TraversalSpec) and sel.name and sel.name not in named:
            named[sel.name] = sel
            _collect_named(sel.selectSet or [], named)


def _refs(value: Any) -> list[MoRef]:
    items = value if isinstance(value, list) else [value]
    return [
        MoRef(v["type"], v["value"])
        for v in items
        if isinstance(v, dict) and v.get("_typeName", MOREF) == MOREF and "type" in v and "value" in v
    ]


def _json_ref(ref: MoRef) -> dict[str, str]:
    return {"_typeName": MOREF, "type": ref.type, "value": ref.value}


def _fault(type_name: str, **fields: Any) -> dict[str, Any]:
    return {"_typeName": type_name, **fields}


def _py_value(release: str, got: Read) -> Any:
    declared = got.declared or TypeRef("anyType")
    value = codec(release).decode(got.value, declared, strict=True)
    return to_pyvmomi(value, pytype_of(declared))


def _py_fault(release: str, data: dict[str, Any]) -> Any:
    return to_pyvmomi(codec(release).decode(data, "MethodFault", strict=False))
