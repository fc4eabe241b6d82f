"""``vsphere-harness contracts check``: validate every contract file and cross-check it with the registry.

Each file is validated against ``contract.schema.json`` (the file format, including the curated
``semantics`` of docs/semantics.md), then compared with the type registry for every release it
names: the operation, its parameters, response, task result, faults and privileges, and the
property paths, values and faults its semantics use.  Finally the VirtualMachine coverage is
checked: every method and property of every release has a contract.

Every problem is one :class:`Problem`, printed as one line::

    contracts/VirtualMachine/PowerOnVM_Task.yaml: semantics.preconditions[0].fault: 'Foo' is not a fault in release 8.0.2.0
"""

from __future__ import annotations

import difflib
import functools
import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema_rs
import yaml

from ..vmodl.registry import MOREF, RELEASES, Member, Method, Release, TypeRef, release
from .generate import (
    CURATED_PRIVILEGES_FILE,
    SUPPORT_OPERATIONS,
    contract_path,
    load_curated_privileges,
    operation_id,
    request_type_name,
)
from .model import Contract, from_mapping, release_key
from .store import ContractError, default_contracts_dir, read_contract_file

SCHEMA_FILE = Path(__file__).with_name("contract.schema.json")
PREDICATES = ("equals", "not_equals", "in", "not_in", "present")
EFFECT_PREDICATES = (*PREDICATES, "changed", "equals_param", "equals_task_result")


@dataclass(frozen=True, order=True)
class Problem:
    """One thing wrong with one contract file."""

    file: str  # as displayed: ``contracts/VirtualMachine/PowerOnVM_Task.yaml``
    where: str  # dotted location inside the file (``semantics.preconditions[0].fault``), or ""
    message: str

    def __str__(self) -> str:
        return f"{self.file}: {self.where}: {self.message}" if self.where else f"{self.file}: {self.message}"


@dataclass
class CheckOutcome:
    """What :func:`check_contracts` found."""

    root: Path
    files: int = 0
    problems: list[Problem] = field(default_factory=list)
    vm_operations: dict[str, int] = field(default_factory=dict)  # release -> VirtualMachine contracts

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        counts = ", ".join(f"{n} at {r}" for r, n in self.vm_operations.items())
        if self.ok:
            return f"{self.files} contract files OK (VirtualMachine operations: {counts})"
        return f"{len(self.problems)} problems in {self.files} contract files"


@functools.cache
def contract_schema() -> dict[str, Any]:
    """The JSON Schema of a contract file."""
    return json.loads(SCHEMA_FILE.read_text())


@functools.cache
def _schema_validator():
    return jsonschema_rs.validator_for(contract_schema())


# --- locations and messages ------------------------------------------------------------------------
def where(parts: Iterable[str | int]) -> str:
    """``["semantics", "preconditions", 0, "fault"]`` -> ``semantics.preconditions[0].fault``."""
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def _releases_text(rels: Sequence[str]) -> str:
    rels = sorted(set(rels), key=release_key)
    if len(rels) == 1:
        return f"release {rels[0]}"
    first = RELEASES.index(rels[0])
    if list(RELEASES[first : first + len(rels)]) == rels:
        return f"releases {rels[0]} to {rels[-1]}"
    return f"releases {', '.join(rels)}"


def _suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _schema_node(path: Sequence[str | int]) -> Any:
    node: Any = contract_schema()
    for p in path:
        node = node[p]
    return node


def schema_problems(data: Any) -> list[tuple[str, str]]:
    """(location, message) for every way ``data`` breaks the contract file format."""
    out: list[tuple[str, str]] = []
    unknown_at: set[str] = set()
    errors = list(_schema_validator().iter_errors(data))
    for err in errors:
        loc = where(err.instance_path)
        kind = type(err.kind).__name__
        spath = list(err.schema_path)
        owner = _schema_node(spath[:-1]) if spath else {}
        hint = owner.get("x-error") if isinstance(owner, dict) else None
        if kind == "AdditionalProperties":
            allowed = owner.get("properties", {})
            for key in err.kind.unexpected:
                out.append((loc, f"unknown key {key!r}{_suggest(key, allowed)}"))
            unknown_at.add(loc)
        elif kind == "Required" and not hint:
            out.append((loc, f"missing key {err.kind.property!r}"))
        elif kind in ("Pattern", "Type", "Enum", "Constant", "MinLength") and hint:
            out.append((loc, f"{err.instance!r}: {hint}"))
        elif kind == "Enum":
            out.append((loc, f"{err.instance!r} is not one of {', '.join(map(repr, owner['enum']))}"))
        elif hint:
            out.append((loc, hint))
        else:
            out.append((loc, err.message))
    # an unknown key also breaks a "one predicate" rule at the same place: the key is the news
    return [
        (loc, msg)
        for loc, msg in out
        if not (loc in unknown_at and msg.startswith(("a precondition has", "an effect is")))
    ]


def _string_keys(data: Any, path: list[str | int], out: list[tuple[str, str]]) -> Any:
    """``data`` with non-string mapping keys dropped (each reported: YAML 1.1 reads ``on:`` as true)."""
    if isinstance(data, dict):
        clean = {}
        for k, v in data.items():
            if not isinstance(k, str):
                out.append(
                    (
                        where(path),
                        f"key {k!r} is not a string: YAML reads a bare on/off/yes/no key as "
                        f"a boolean (write 'on' in quotes)",
                    )
                )
                continue
            clean[k] = _string_keys(v, [*path, k], out)
        return clean
    if isinstance(data, list):
        return [_string_keys(v, [*path, i], out) for i, v in enumerate(data)]
    return data


# --- the type registry --------------------------------------------------------------------------------
def wire_type(rel: Release, ref: TypeRef) -> tuple[str, str | None]:
    """The contract's (type, moref) for a registry type: managed types travel as references."""
    if ref.name in rel.managed:
        return (f"{MOREF}[]" if ref.array else MOREF), ref.name
    return str(ref), None


def resolve_path(rel: Release, roots: Sequence[Member], path: str, root_what: str) -> TypeRef | str:
    """The type at a dotted path, or a message saying why it does not resolve."""
    segments = path.split(".")
    member = next((m for m in roots if m.name == segments[0]), None)
    if member is None:
        return (
            f"{segments[0]!r} is not {root_what} in release {rel.name}"
            f"{_suggest(segments[0], [m.name for m in roots])}"
        )
    ref = member.type
    for i, seg in enumerate(segments[1:], start=1):
        prefix = ".".join(segments[:i])
        if ref.array:
            return f"{prefix!r} is an array ({ref}): a path into an array is not allowed"
        kind = rel.kind(ref.name) if rel.exists(ref.name) else "unknown"
        if kind in ("managed", "moref"):
            return (
                f"{prefix!r} is a reference to a {ref.name}: use an `object:` subject to reach its properties"
            )
        if kind != "data":
            return f"{prefix!r} is a {ref.name}: it has no field {seg!r}"
        fields = {f.name: f for sub in rel.subtypes(ref.name) for f in rel.fields(sub)}
        if seg not in fields:
            return f"{ref.name} has no field {seg!r} in release {rel.name}{_suggest(seg, fields)}"
        ref = fields[seg].type
    return ref


_PRIMITIVE_PY: dict[str, tuple[type, ...]] = {
    "boolean": (bool,),
    "string": (str,),
    "dateTime": (str,),
    "anyURI": (str,),
    "base64Binary": (str,),
    "byte": (int,),
    "short": (int,),
    "int": (int,),
    "long": (int,),
    "float": (int, float),
    "double": (int, float),
}


def value_problem(rel: Release, ref: TypeRef, value: Any) -> str | None:
    """Why ``value`` cannot be a value of type ``ref`` in ``rel`` (None when it can)."""
    if value is None:
        return "null is no value: use `present: false` for an unset property"
    if ref.array:
        if not isinstance(value, list):
            return f"{value!r} is not a list ({ref})"
        return next((p for v in value if (p := value_problem(rel, ref.item, v))), None)
    name = ref.name
    kind = rel.kind(name) if rel.exists(name) else "unknown"
    if kind == "enum":
        values = rel.enums[name].values
        if value not in values:
            return f"{value!r} is not a value of enum {name} in release {rel.name} ({', '.join(values)})"
        return None
    if kind == "primitive":
        ok = _PRIMITIVE_PY[name]
        if isinstance(value, bool) and bool not in ok or not isinstance(value, ok):
            return f"{value!r} is not of type {name}"
        return None
    if kind in ("managed", "moref"):
        return None if isinstance(value, str | dict) else f"{value!r} is not a reference to a {name}"
    if kind == "data":
        return None if isinstance(value, dict) else f"{value!r} is not a {name} object"
    return None  # anyType


_INTEGERS = {"byte", "short", "int", "long"}
_FLOATS = {"float", "double"}


def _comparable(a: TypeRef, b: TypeRef) -> bool:
    """Whether values of two types can be equal (integers with integers, a reference with a reference)."""
    if a.array != b.array:
        return False
    for family in (_INTEGERS, _FLOATS):
        if a.name in family and b.name in family:
            return True
    return a.name == b.name


# --- one contract ---------------------------------------------------------------------------------------
class _Checker:
    """Cross-checks one schema-valid contract; problems with the same text are grouped by release."""

    def __init__(self, c: Contract, data: dict[str, Any]):
        self.c = c
        self.data = data
        self.found: dict[tuple[str, str], list[str]] = {}  # (where, message with {rel}) -> releases
        self.plain: list[tuple[str, str]] = []

    def problem(self, loc: str, message: str, rel: str | None = None) -> None:
        if rel is None:
            if (loc, message) not in self.plain:
                self.plain.append((loc, message))
        else:
            self.found.setdefault((loc, message), []).append(rel)

    def results(self) -> list[tuple[str, str]]:
        grouped = [
            (loc, msg.replace("{rel}", _releases_text(rels))) for (loc, msg), rels in self.found.items()
        ]
        return self.plain + grouped

    # -- entry ----------------------------------------------------------------------------------------
    def run(self) -> list[tuple[str, str]]:
        c = self.c
        expected_id = operation_id(c.managed_type, c.name, c.kind)
        if c.id != expected_id:
            self.problem(
                "id",
                f"{c.id!r} should be {expected_id!r} (VMware's operationId for "
                f"{c.managed_type} {c.kind} {c.name!r})",
            )
        verb = "POST" if c.kind == "method" else "GET"
        if c.http_method != verb:
            self.problem("http.method", f"{c.http_method!r} should be {verb!r} for a {c.kind}")
        path = f"/{c.managed_type}/{{moId}}/{c.name}"
        if c.path != path:
            self.problem("http.path", f"{c.path!r} should be {path!r}")
        if self.data.get("releases") != sorted(self.data.get("releases", []), key=release_key):
            self.problem("releases", "list the releases oldest first")
        present = []
        for r in RELEASES:
            rel = release(r)
            if c.managed_type not in rel.managed:
                if r in c.releases:
                    self.problem("managed_type", f"{c.managed_type!r} is not a managed type in {{rel}}", r)
                continue
            exists = self._exists(rel)
            if exists:
                present.append(r)
            if r in c.releases and not exists:
                self.problem("releases", f"{c.managed_type} has no {c.kind} {c.name!r} in {{rel}}", r)
            elif exists and r not in c.releases:
                self.problem(
                    "releases", f"{c.managed_type}.{c.name} exists in {{rel}}, which is not listed", r
                )
        listed = [r for r in c.releases if r in present]
        if not listed:
            return self.results()
        latest = release(listed[-1])
        declared_by = latest.declaring_type(c.managed_type, c.name)
        if c.declared_by != declared_by:
            self.problem("declared_by", f"{c.declared_by!r} should be {declared_by!r}")
        if c.kind == "method":
            self._method(listed)
        else:
            self._property(listed)
        self._types_exist(listed)
        self._conditional_privileges(listed)
        self._semantics(listed)
        return self.results()

    def _types_exist(self, listed: list[str]) -> None:
        resp = self.data.get("response", {})
        named = [
            (f"response.{k}", resp.get(k), None)
            for k in ("type", "task_result", "moref", "task_result_moref")
        ]
        named += [
            (f"request.params[{i}].{k}", p.get(k), p.get("since"))
            for i, p in enumerate(self.data.get("request", {}).get("params", []))
            for k in ("type", "moref")
        ]
        for r in listed:
            rel = release(r)
            for loc, t, since in named:
                if since and release_key(r) < release_key(since):
                    continue
                if t and not rel.exists(t.removesuffix("[]")):
                    self.problem(loc, f"type {t.removesuffix('[]')!r} does not exist in {{rel}}", r)

    def _exists(self, rel: Release) -> bool:
        if self.c.kind == "method":
            return self.c.name in _methods(rel.name, self.c.managed_type)
        return any(p.name == self.c.name for p in _properties(rel.name, self.c.managed_type))

    # -- methods ------------------------------------------------------------------------------------------
    def _method(self, listed: list[str]) -> None:
        c = self.c
        methods = {r: _methods(r, c.managed_type)[c.name] for r in listed}
        latest_r = listed[-1]
        latest, rel = methods[latest_r], release(latest_r)
        qual = f"{c.managed_type}.{c.name}"
        self._params(listed, methods, qual)
        expected_rt = request_type_name(c.name) if latest.params else None
        if c.request_type != expected_rt:
            self.problem("request.type", f"{c.request_type!r} should be {expected_rt!r}")
        # response
        resp = self.data.get("response", {})
        want: dict[str, Any] = {"status": 204} if latest.returns is None else {"status": 200}
        if latest.returns is not None:
            want["type"], want["moref"] = wire_type(rel, latest.returns)
            want["optional"] = latest.returns_optional or None
            if latest.is_task:
                want["task"] = True
                tr = latest.task_result
                if tr is not None:
                    want["task_result"], want["task_result_moref"] = wire_type(rel, tr)
        for key in ("status", "type", "moref", "optional", "task", "task_result", "task_result_moref"):
            have = resp.get(key)
            if key in ("optional", "task") and have is False:
                have = None
            if have != want.get(key):
                self.problem(
                    f"response.{key}",
                    f"{have!r} should be {want.get(key)!r} (from {qual} in release {latest_r})",
                )
        # faults
        raw_faults = self.data.get("faults", [])
        index = {(f["name"] if isinstance(f, dict) else f): i for i, f in enumerate(raw_faults)}
        for r in listed:
            rel_r = release(r)
            declared = c.faults_for(r)
            registry = methods[r].faults
            for f in declared:
                loc = f"faults[{index[f]}]"
                if not rel_r.is_fault(f):
                    what = "not a fault" if rel_r.exists(f) else "not a type"
                    self.problem(loc, f"{f!r} is {what} in {{rel}}", r)
                elif f not in registry:
                    self.problem(loc, f"{f!r} is not declared by {qual} in {{rel}}", r)
            for f in registry:
                if f not in declared:
                    self.problem("faults", f"missing {f!r}, declared by {qual} in {{rel}}", r)
        for f, i in index.items():
            since = next((r for r in listed if f in methods[r].faults), None)
            if since is None:
                continue
            want_since = None if since == listed[0] else since
            if c.fault_since.get(f) != want_since:
                self.problem(
                    f"faults[{i}]",
                    f"{f!r} is declared from release {since}: "
                    + (f"write {{name: {f}, since: {since}}}" if want_since else "write just the name"),
                )
        # privileges
        self._privileges_source(latest.privilege, qual)

    def _params(self, listed: list[str], methods: dict[str, Method], qual: str) -> None:
        c = self.c
        raw = self.data.get("request", {}).get("params", [])
        index = {p["name"]: i for i, p in enumerate(raw)}
        seen: set[str] = set()
        for i, p in enumerate(raw):
            if p["name"] in seen:
                self.problem(f"request.params[{i}].name", f"parameter {p['name']!r} is listed twice")
            seen.add(p["name"])
        for r in listed:
            rel = release(r)
            registry = {p.name: p for p in methods[r].params}
            mine = {p.name: p for p in c.params_for(r)}
            for name in mine.keys() - registry.keys():
                self.problem(
                    f"request.params[{index[name]}]",
                    f"{name!r} is not a parameter of {qual} in {{rel}}{_suggest(name, registry)}",
                    r,
                )
            for name in registry.keys() - mine.keys():
                self.problem("request.params", f"missing parameter {name!r} of {qual} in {{rel}}", r)
        for p in c.params:
            carriers = [r for r in listed if any(q.name == p.name for q in methods[r].params)]
            if not carriers:
                continue
            loc = f"request.params[{index[p.name]}]"
            rel = release(carriers[-1])
            member = next(q for q in methods[carriers[-1]].params if q.name == p.name)
            want_type, want_moref = wire_type(rel, member.type)
            if p.type != want_type:
                self.problem(
                    f"{loc}.type", f"{p.type!r} should be {want_type!r} ({qual} in release {rel.name})"
                )
            if p.moref != want_moref:
                self.problem(f"{loc}.moref", f"{p.moref!r} should be {want_moref!r}")
            if p.required != (not member.optional):
                self.problem(
                    f"{loc}.required", f"should be {not member.optional} ({qual} in release {rel.name})"
                )
            if p.privilege != member.privilege:
                self.problem(f"{loc}.privilege", f"{p.privilege!r} should be {member.privilege!r}")
            want_since = None if carriers[0] == listed[0] else carriers[0]
            if p.since != want_since:
                self.problem(
                    f"{loc}.since",
                    f"{p.since!r} should be {want_since!r} (the parameter exists from release {carriers[0]})",
                )

    def _privileges_source(self, registry_privilege: str | None, qual: str) -> None:
        c = self.c
        if c.privileges_source == "pyvmomi":
            want = [registry_privilege] if registry_privilege else []
            if list(c.privileges) != want:
                self.problem(
                    "privileges.required",
                    f"{list(c.privileges)} should be {want} (pyVmomi's privilege for {qual})",
                )
        elif c.privileges_source == "default":
            if registry_privilege:
                self.problem(
                    "privileges.source",
                    f"pyVmomi names {registry_privilege!r} for {qual}: the source is pyvmomi",
                )
            elif list(c.privileges) != ["System.Read"]:
                self.problem("privileges.required", "the default privilege of a property is System.Read")
        elif not c.privileges and not c.conditional_privileges:
            self.problem(
                "privileges", "curated privileges name at least one privilege, required or conditional"
            )

    # -- properties ---------------------------------------------------------------------------------------
    def _property(self, listed: list[str]) -> None:
        c = self.c
        rel = release(listed[-1])
        prop = rel.property(c.managed_type, c.name)
        qual = f"{c.managed_type}.{c.name}"
        resp = self.data.get("response", {})
        want_type, want_moref = wire_type(rel, prop.type)
        for key, want in (
            ("status", 200),
            ("type", want_type),
            ("moref", want_moref),
            ("optional", prop.optional or None),
            ("task", None),
            ("task_result", None),
        ):
            have = resp.get(key)
            if key in ("optional", "task") and have is False:
                have = None
            if have != want:
                self.problem(
                    f"response.{key}", f"{have!r} should be {want!r} (property {qual} in release {rel.name})"
                )
        if c.faults:
            self.problem("faults", "a property read declares no faults")
        self._privileges_source(prop.privilege, qual)

    # -- subjects, paths and values -------------------------------------------------------------------
    def _target_roots(self, rel: Release, managed_type: str | None = None) -> list[Member]:
        return list(_properties(rel.name, managed_type or self.c.managed_type))

    def _param_roots(self, rel: Release) -> list[Member]:
        if self.c.kind != "method":
            return []
        return list(_methods(rel.name, self.c.managed_type)[self.c.name].params)

    def _resolve(self, r: str, loc: str, subject: str, path: str) -> TypeRef | None:
        """Resolve a ``target`` or ``param`` path in release ``r``; reports and returns None when it fails."""
        rel = release(r)
        if subject == "target":
            got = resolve_path(rel, self._target_roots(rel), path, f"a property of {self.c.managed_type}")
        else:
            if self.c.kind != "method":
                self.problem(loc, "a property read has no request parameters")
                return None
            got = resolve_path(
                rel, self._param_roots(rel), path, f"a parameter of {self.c.managed_type}.{self.c.name}"
            )
        if isinstance(got, str):
            self.problem(loc, got.replace(f"release {r}", "{rel}"), r)
            return None
        return got

    def _resolve_object(self, r: str, loc: str, obj: dict[str, str]) -> TypeRef | None:
        rel = release(r)
        ref = self._resolve(r, f"{loc}.param", "param", obj["param"])
        if ref is None:
            return None
        if ref.array or ref.name not in rel.managed:
            self.problem(
                f"{loc}.param", f"{obj['param']!r} is a {ref}, not a reference to one managed object"
            )
            return None
        got = resolve_path(rel, self._target_roots(rel, ref.name), obj["path"], f"a property of {ref.name}")
        if isinstance(got, str):
            self.problem(f"{loc}.path", got.replace(f"release {r}", "{rel}"), r)
            return None
        return got

    def _subject(self, r: str, loc: str, item: dict[str, Any]) -> TypeRef | None:
        if "target" in item:
            return self._resolve(r, f"{loc}.target", "target", item["target"])
        if "param" in item:
            return self._resolve(r, f"{loc}.param", "param", item["param"])
        if "object" in item:
            return self._resolve_object(r, f"{loc}.object", item["object"])
        return None

    def _values(self, r: str, loc: str, ref: TypeRef, item: dict[str, Any]) -> None:
        rel = release(r)
        for key in ("equals", "not_equals"):
            if key in item and (why := value_problem(rel, ref, item[key])):
                self.problem(f"{loc}.{key}", why.replace(f"release {r}", "{rel}"), r)
        for key in ("in", "not_in"):
            for i, v in enumerate(item.get(key, [])):
                if why := value_problem(rel, ref, v):
                    self.problem(f"{loc}.{key}[{i}]", why.replace(f"release {r}", "{rel}"), r)

    # -- conditional privileges ----------------------------------------------------------------------
    def _conditional_privileges(self, listed: list[str]) -> None:
        for i, cond in enumerate(self.data.get("privileges", {}).get("conditional", [])):
            loc = f"privileges.conditional[{i}]"
            for r in listed:
                self._condition(r, f"{loc}.when", cond["when"])
                on = cond.get("on", "target")
                if isinstance(on, dict):
                    self._objects_on_target(r, f"{loc}.on", on)
                elif on != "target":
                    on_ref = self._resolve(r, f"{loc}.on", "param", on)
                    if on_ref is not None and on_ref.name not in release(r).managed:
                        self.problem(f"{loc}.on", f"{on!r} is a {on_ref}, not a managed object reference")

    def _objects_on_target(self, r: str, loc: str, on: dict[str, str]) -> None:
        """``on: {target, each, path}`` leads from a property of the target to managed object references."""
        rel = release(r)
        ref = self._resolve(r, f"{loc}.target", "target", on["target"])
        if ref is None:
            return
        item = ref.name
        each = on.get("each")
        if each is not None:
            if not ref.array:
                self.problem(
                    f"{loc}.each", f"{on['target']!r} is a {ref}, not an array: `each` selects array items"
                )
                return
            if item not in rel.data or each not in rel.data or not rel.is_subtype(each, item):
                self.problem(
                    f"{loc}.each",
                    f"{each!r} is not {item} nor one of its subtypes in release {r}".replace(
                        f"release {r}", "{rel}"
                    ),
                    r,
                )
                return
            item = each
        end = ref
        if on.get("path"):
            if item not in rel.data:
                self.problem(f"{loc}.path", f"{on['target']!r} is a {ref}: it has no field to follow")
                return
            got = resolve_path(rel, rel.fields(item), on["path"], f"a field of {item}")
            if isinstance(got, str):
                self.problem(f"{loc}.path", got.replace(f"release {r}", "{rel}"), r)
                return
            end = got
        if end.name not in rel.managed:
            self.problem(loc, f"leads to a {end}, not to managed object references")

    def _condition(self, r: str, loc: str, when: dict[str, Any]) -> None:
        if "all" in when:
            for j, part in enumerate(when["all"]):
                self._condition(r, f"{loc}.all[{j}]", part)
            return
        subject = "param" if "param" in when else "target"
        ref = self._resolve(r, f"{loc}.{subject}", subject, when[subject])
        if ref is not None:
            self._values(r, loc, ref, when)

    # -- semantics -----------------------------------------------------------------------------------
    def _semantics(self, listed: list[str]) -> None:
        c = self.c
        sem = c.semantics
        is_vm_method = c.kind == "method" and c.managed_type == "VirtualMachine" and not c.support
        if is_vm_method and not sem.get("curated", False):
            self.problem(
                "semantics.curated",
                "not curated yet: write the semantics (docs/semantics.md) and set `curated: true`",
            )
        targets_effects = [e for e in sem.get("effects", []) if "target" in e or "object" in e]
        if (
            sem.get("curated")
            and c.kind == "method"
            and not (targets_effects or sem.get("read_only") or sem.get("note"))
        ):
            self.problem(
                "semantics",
                "a curated method lists effects on properties, or says in `note` why it "
                "has none (with `observable: false` when nothing is visible)",
            )
        changing = [i for i, e in enumerate(sem.get("effects", [])) if e.get("changed") is True]
        for flag, claim in (("read_only", True), ("observable", False)):
            if sem.get(flag) is claim and changing:
                self.problem(
                    f"semantics.effects[{changing[0]}]",
                    f"`{flag}: {str(claim).lower()}`, yet a property must change",
                )
        if sem.get("cancelable") and not c.is_task:
            self.problem("semantics.cancelable", "only a task can be cancelable")
        for i, lock in enumerate(sem.get("locks", [])):
            if lock == "target":
                continue
            p = next((p for p in c.params if p.name == lock), None)
            if p is None:
                self.problem(
                    f"semantics.locks[{i}]",
                    f"{lock!r} is neither `target` nor a parameter"
                    f"{_suggest(lock, [q.name for q in c.params])}",
                )
            elif not p.moref:
                self.problem(
                    f"semantics.locks[{i}]", f"parameter {lock!r} is a {p.type}, not an object reference"
                )
        ids: dict[str, int] = {}
        for i, pre in enumerate(sem.get("preconditions", [])):
            loc = f"semantics.preconditions[{i}]"
            if pre["id"] in ids:
                self.problem(f"{loc}.id", f"{pre['id']!r} is also the id of preconditions[{ids[pre['id']]}]")
            ids.setdefault(pre["id"], i)
            if pre.get("reported") == "task" and not c.is_task:
                self.problem(
                    f"{loc}.reported", f"{c.name} is not a task: a failed precondition is reported `sync`"
                )
            for r in listed:
                ref = self._subject(r, loc, pre)
                if ref is not None:
                    self._values(r, loc, ref, pre)
                self._precondition_fault(r, f"{loc}.fault", pre["fault"])
        for i, eff in enumerate(sem.get("effects", [])):
            loc = f"semantics.effects[{i}]"
            if "task_result" in eff:
                if not c.is_task:
                    self.problem(f"{loc}.task_result", f"{c.name} is not a task")
                elif eff["task_result"] == "present" and not c.task_result:
                    self.problem(
                        f"{loc}.task_result", f"{c.name}'s task has no result (TaskInfo.result is void)"
                    )
                continue
            for r in listed:
                ref = self._subject(r, loc, eff)
                if ref is None:
                    continue
                self._values(r, loc, ref, eff)
                if "equals_task_result" in eff and not (c.is_task and c.task_result):
                    self.problem(
                        f"{loc}.equals_task_result", f"{c.name}'s task has no result to compare with"
                    )
                if "equals_param" in eff:
                    pref = self._resolve(r, f"{loc}.equals_param", "param", eff["equals_param"])
                    if pref is not None and not _comparable(pref, ref):
                        self.problem(
                            f"{loc}.equals_param", f"the parameter is a {pref}, the property a {ref}"
                        )
        for i, path in enumerate(sem.get("on_failure_unchanged", [])):
            for r in listed:
                self._resolve(r, f"semantics.on_failure_unchanged[{i}]", "target", path)

    def _precondition_fault(self, r: str, loc: str, fault: str) -> None:
        rel = release(r)
        if not rel.is_fault(fault):
            self.problem(
                loc, f"{fault!r} is not a fault in {{rel}}{_suggest(fault, self._fault_names(rel))}", r
            )
            return
        declared = self.c.faults_for(r)
        if rel.is_runtime_fault(fault) or any(rel.is_subtype(fault, d) for d in declared):
            return
        self.problem(
            loc,
            f"{fault!r} is neither declared by the contract ({', '.join(declared) or 'none'}) nor a "
            f"subtype of a declared fault nor a runtime fault in {{rel}}",
            r,
        )

    @staticmethod
    def _fault_names(rel: Release) -> tuple[str, ...]:
        return _fault_names(rel.name)


@functools.cache
def _methods(r: str, managed_type: str) -> dict[str, Method]:
    return {m.name: m for m in release(r).methods(managed_type)}


@functools.cache
def _properties(r: str, managed_type: str) -> tuple[Member, ...]:
    return tuple(release(r).properties(managed_type))


@functools.cache
def _fault_names(r: str) -> tuple[str, ...]:
    rel = release(r)
    return tuple(n for n in rel.data if rel.is_fault(n))


def check_mapping(data: Any, source_file: str | None = None) -> tuple[Contract | None, list[tuple[str, str]]]:
    """The contract of one file's mapping (None when it breaks the format) and its (location, message)
    problems: the format, then the cross-check with the registry."""
    found: list[tuple[str, str]] = []
    data = _string_keys(data, [], found)
    found += schema_problems(data)
    if found:
        return None, found
    c = from_mapping(data, source_file)
    return c, _Checker(c, data).run()


# --- all contracts --------------------------------------------------------------------------------------
def check_contracts(root: Path | None = None) -> CheckOutcome:
    """Validate and cross-check every contract file under ``root`` (default: the repository's)."""
    root = Path(root) if root else default_contracts_dir()
    outcome = CheckOutcome(root)
    if not root.is_dir():
        raise ContractError(f"{root}: no contracts directory")

    def display(path: Path) -> str:
        try:
            return f"{root.name}/{path.relative_to(root).as_posix()}"
        except ValueError:
            return str(path)

    problems: list[Problem] = []
    contracts: list[Contract] = []
    first_file: dict[str, str] = {}
    curated_name = f"harness/contract/{CURATED_PRIVILEGES_FILE.name}"
    try:
        curated = load_curated_privileges()
        if not isinstance(curated, dict):
            raise TypeError
    except (OSError, yaml.YAMLError, TypeError):
        problems.append(Problem(curated_name, "", "cannot be read as a mapping of operation ids"))
        curated = {}
    for path in sorted(root.rglob("*.yaml")):
        outcome.files += 1
        name = display(path)
        try:
            data = read_contract_file(path)
        except ContractError as exc:
            problems.append(Problem(name, "", str(exc).removeprefix(f"{path}:").strip()))
            continue
        c, found = check_mapping(data, str(path))
        if c is not None:
            contracts.append(c)
            found += _curated_problems(c, data, curated)
            expected = contract_path(root, c.managed_type, c.name, c.kind)
            if expected.resolve() != path.resolve():
                found.append(("", f"the contract {c.id} belongs in {display(expected)}"))
            if c.id in first_file:
                found.append(("id", f"{c.id!r} is also the id of {first_file[c.id]}"))
            first_file.setdefault(c.id, name)
        problems += [Problem(name, loc, msg) for loc, msg in found]
    ids = {c.id for c in contracts}
    problems += [Problem(curated_name, op_id, "names no contract") for op_id in curated if op_id not in ids]
    problems += _coverage(root, contracts, display, outcome)
    outcome.problems = problems
    return outcome


def _curated_problems(c: Contract, data: dict[str, Any], curated: dict[str, Any]) -> list[tuple[str, str]]:
    """A contract's privileges are what ``curated_privileges.yaml`` says for it (when it says anything)."""
    entry = curated.get(c.id)
    if not isinstance(entry, dict):
        return []
    want: dict[str, Any] = {"source": "curated", "required": list(entry.get("required", []))}
    for key in ("conditional", "reference"):
        if entry.get(key):
            want[key] = entry[key]
    if data.get("privileges") != want:
        return [
            ("privileges", "differs from curated_privileges.yaml: run `vsphere-harness contracts generate`")
        ]
    return []


def _coverage(root: Path, contracts: list[Contract], display, outcome: CheckOutcome) -> list[Problem]:
    """Every VirtualMachine method and property of every release, and every support operation, has a file."""
    have = {(c.managed_type, c.name, c.kind): c for c in contracts}
    missing: dict[tuple[str, str, str], list[str]] = {}
    for r in RELEASES:
        rel = release(r)
        wanted = [("VirtualMachine", m.name, "method") for m in rel.methods("VirtualMachine")]
        wanted += [("VirtualMachine", p.name, "property") for p in rel.properties("VirtualMachine")]
        for key in wanted:
            c = have.get(key)
            if c is None or not c.in_release(r):
                missing.setdefault(key, []).append(r)
        outcome.vm_operations[r] = sum(
            1 for c in contracts if c.managed_type == "VirtualMachine" and not c.support and c.in_release(r)
        )
    out = []
    for (mt, name, kind), rels in missing.items():
        if (mt, name, kind) in have or contract_path(root, mt, name, kind).exists():
            continue  # its own file reports what is wrong with it
        out.append(
            Problem(
                display(contract_path(root, mt, name, kind)),
                "",
                f"missing: {mt} {kind} {name!r} exists in {_releases_text(rels)} but has no contract",
            )
        )
    for mt, ops in SUPPORT_OPERATIONS.items():
        for kind, names in (("property", ops.get("get", [])), ("method", ops.get("post", []))):
            for name in names:
                if (mt, name, kind) not in have and not contract_path(root, mt, name, kind).exists():
                    out.append(
                        Problem(
                            display(contract_path(root, mt, name, kind)),
                            "",
                            f"missing: support operation {operation_id(mt, name, kind)} has no contract",
                        )
                    )
    return out
