"""Compare the contracts of a release with a VI/JSON OpenAPI document (VMware's own, or our export).

Operations are matched by ``operationId``, else by HTTP method and path.  For each pair the HTTP
method and path, the success status, the request body (``<Method>RequestType``, its properties,
their types and which are required), the response type (and, for methods, whether it is
``nullable``), the required privileges (VMware writes them in the description:
``***Required privileges:*** X``) and the faults (``***FaultName***:`` in the 500 response's
description) are compared.  Types are compared as short descriptors (``VirtualMachineRuntimeInfo``,
``moref:Task``, ``string[]``, ``int``).

The document's component schemas are compared too, by VMware's names (``TaskInfo``, ``Any``,
``MoTypes_enum``, ``VirtualMachinePowerState_enum``, boxed ``<Name>``, ``ArrayOf<Name>``): the
base a type derives from, its fields with their types and which are required, an enum's values.
Without ``everything`` only the schemas of types the compared operations reach are compared.

Where the contracts say more than the document in one of the documented ways
(:data:`harness.contract.openapi.REFINEMENTS`: a typed reference where the document has a plain
``ManagedObjectReference``, curated, conditional or default privileges where it states none or
``dynamic``), the item is a :class:`Difference` whose ``refinement`` names it: reported, but not a
difference.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import yaml

from ..vmodl.registry import PRIMITIVE_WIRE_NAMES, RELEASES, Release, release
from .model import Contract
from .openapi import (
    ANY,
    MO_TYPES,
    MOREF,
    PRIVILEGES_RE,
    REFINEMENTS,
    OpenApiSchemas,
    _array_item,
    conditional_text,
    operation_refinements,
    response_schema,
)
from .store import ContractSet, check_release

HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
FAULT_RE = re.compile(r"\*\*\*([A-Za-z][A-Za-z0-9_]*)\*\*\*\s*:")
PRIVILEGE_ID_RE = re.compile(r"\b[A-Z][A-Za-z0-9]*(?:\.[A-Za-z][A-Za-z0-9]*){1,3}\b")


class SpecError(ValueError):
    """The file is unreadable or is no OpenAPI 3 document."""


@dataclass(frozen=True)
class Difference:
    """One way the contracts and the document disagree about one operation."""

    operation: str  # operationId ("METHOD path" when the document has none); the schema name for `schema`
    aspect: str  # missing | extra | operationId | method | path | status | request | response | privileges
    #              | faults | schema
    contract: Any
    spec: Any
    message: str
    refinement: str | None = None  # a documented refinement of the contracts (REFINEMENTS), not a difference

    def __str__(self) -> str:
        tail = f" [refinement: {self.refinement}]" if self.refinement else ""
        return f"{self.operation}: {self.aspect}: {self.message}{tail}"


def differences(diffs: list[Difference]) -> list[Difference]:
    """The real differences (refinements left out)."""
    return [d for d in diffs if not d.refinement]


def load_spec(path: Path) -> dict[str, Any]:
    """Read a JSON (or YAML) OpenAPI 3 document; :class:`SpecError` with one line when that fails."""
    try:
        text = Path(path).read_text()
    except OSError as exc:
        raise SpecError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: not a text file") from None
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as exc:
        try:
            doc = yaml.safe_load(text)
        except yaml.YAMLError:
            raise SpecError(f"{path}: not JSON (line {exc.lineno}: {exc.msg}) nor YAML") from None
    if not isinstance(doc, dict) or not str(doc.get("openapi", "")).startswith("3."):
        raise SpecError(f"{path}: not an OpenAPI 3 document (no `openapi: 3.x` field)")
    if not isinstance(doc.get("paths"), dict):
        raise SpecError(f"{path}: not an OpenAPI 3 document (no `paths` object)")
    return doc


def document_release(doc: dict[str, Any]) -> str | None:
    """The release a VI/JSON document describes: its server's ``release`` variable, else ``info.version``."""
    candidates = []
    for server in doc.get("servers") or []:
        if isinstance(server, dict):
            candidates.append(((server.get("variables") or {}).get("release") or {}).get("default"))
    candidates.append((doc.get("info") or {}).get("version"))
    return next((str(c) for c in candidates if str(c) in RELEASES), None)


# --- types as descriptors ------------------------------------------------------------------------------
class _Resolver:
    def __init__(self, doc: dict[str, Any]):
        self.doc = doc

    def deref(self, node: Any, depth: int = 0) -> Any:
        """Follow a local ``$ref`` (components/requestBodies/responses...)."""
        while isinstance(node, dict) and "$ref" in node and depth < 20:
            target = node["$ref"]
            if not isinstance(target, str) or not target.startswith("#/"):
                return {}
            cur: Any = self.doc
            for part in target[2:].split("/"):
                part = part.replace("~1", "/").replace("~0", "~")
                cur = cur.get(part) if isinstance(cur, dict) else None
            node, depth = cur or {}, depth + 1
        return node


def descriptor(schema: Any) -> str:
    """A short, comparable name for the type a schema stands for."""
    if not isinstance(schema, dict):
        return "?"
    if "$ref" in schema:
        name = str(schema["$ref"]).rsplit("/", 1)[-1]
        if name == MOREF:
            return "moref"
        if name.startswith("MoRef"):
            return f"moref:{name[5:]}"
        return name.removesuffix("_enum")
    for key in ("allOf", "oneOf", "anyOf"):
        parts = [p for p in schema.get(key, []) if not (isinstance(p, dict) and p.get("type") == "null")]
        if len(parts) == 1:
            return descriptor(parts[0])
    kind = schema.get("type")
    fmt = schema.get("format")
    if kind == "array":
        return descriptor(schema.get("items")) + "[]"
    if kind == "string":
        return {"date-time": "dateTime", "byte": "base64Binary", "binary": "base64Binary"}.get(fmt, "string")
    if kind == "integer":
        return "long" if fmt == "int64" else "int"
    if kind == "number":
        return "float" if fmt == "float" else "double"
    if kind in ("boolean", "object"):
        return kind
    return "?"


# --- one side: the document ----------------------------------------------------------------------------
@dataclass
class SpecOperation:
    operation_id: str | None
    method: str
    path: str
    op: dict[str, Any]


def spec_operations(doc: dict[str, Any], everything: bool) -> list[SpecOperation]:
    out = []
    for path, item in doc["paths"].items():
        if not isinstance(item, dict) or not (everything or path.startswith("/VirtualMachine/")):
            continue
        for method in HTTP_METHODS:
            op = item.get(method)
            if isinstance(op, dict):
                out.append(SpecOperation(op.get("operationId"), method.upper(), path, op))
    return out


def _privileges_in(op: dict[str, Any]) -> list[str] | None:
    for text in (op.get("description"), op.get("summary")):
        if isinstance(text, str) and (m := PRIVILEGES_RE.search(text)):
            return PRIVILEGE_ID_RE.findall(m.group(1).split("\n", 1)[0])
    if isinstance(op.get("x-vsphere-privileges"), list):
        return list(op["x-vsphere-privileges"])
    return None


def _faults_in(res: _Resolver, op: dict[str, Any]) -> list[str] | None:
    responses = op.get("responses") or {}
    fault = res.deref(responses.get("500") or responses.get("default"))
    if isinstance(fault, dict) and isinstance(fault.get("description"), str):
        found = FAULT_RE.findall(fault["description"])
        if found or not isinstance(op.get("x-vsphere-faults"), list):
            return list(dict.fromkeys(found))
    if isinstance(op.get("x-vsphere-faults"), list):
        return list(op["x-vsphere-faults"])
    return None


def _json_schema(res: _Resolver, holder: Any) -> Any:
    holder = res.deref(holder)
    if not isinstance(holder, dict):
        return None
    content = holder.get("content") or {}
    media = content.get("application/json") or next(iter(content.values()), None)
    return media.get("schema") if isinstance(media, dict) else None


def _object_parts(res: _Resolver, schema: Any) -> tuple[dict[str, Any], set[str]]:
    """Properties and required names of an object schema (through ``$ref`` and ``allOf``)."""
    schema = res.deref(schema)
    props: dict[str, Any] = {}
    required: set[str] = set()
    if not isinstance(schema, dict):
        return props, required
    for part in schema.get("allOf", []):
        p, r = _object_parts(res, part)
        props.update(p)
        required |= r
    props.update(schema.get("properties") or {})
    required |= set(schema.get("required") or [])
    return props, required


# --- the comparison ------------------------------------------------------------------------------------
def diff_openapi(
    contracts: ContractSet,
    doc: dict[str, Any],
    release_name: str,
    everything: bool = False,
    schemas: bool = True,
) -> list[Difference]:
    """Every difference (and documented refinement) between the contracts of a release and an
    OpenAPI document; ``schemas=False`` compares the operations only."""
    check_release(release_name)
    mine = [
        c
        for c in contracts.for_release(release_name)
        if everything or (c.managed_type == "VirtualMachine" and not c.support)
    ]
    theirs = spec_operations(doc, everything)
    by_id = {s.operation_id: s for s in theirs if s.operation_id}
    by_route = {(s.method, s.path): s for s in theirs}
    ours = OpenApiSchemas(release(release_name))
    res = _Resolver(doc)
    out: list[Difference] = []
    matched: set[int] = set()
    for c in mine:
        s = by_id.get(c.id) or by_route.get((c.http_method, c.path))
        if s is None:
            out.append(
                Difference(
                    c.id,
                    "missing",
                    f"{c.http_method} {c.path}",
                    None,
                    f"{c.http_method} {c.path} is in the contracts, not in the document",
                )
            )
            continue
        matched.add(id(s))
        out += _compare(c, s, release_name, ours, res)
    for s in theirs:
        if id(s) not in matched:
            name = s.operation_id or f"{s.method} {s.path}"
            out.append(
                Difference(
                    name,
                    "extra",
                    None,
                    f"{s.method} {s.path}",
                    f"{s.method} {s.path} is in the document, not in the contracts",
                )
            )
    if schemas:
        out += diff_schemas(
            doc, release(release_name), ours, None if everything else _reached(mine, release_name)
        )
    return out


def _compare(
    c: Contract, s: SpecOperation, r: str, schemas: OpenApiSchemas, res: _Resolver
) -> list[Difference]:
    out: list[Difference] = []

    def differ(aspect: str, mine: Any, theirs: Any, message: str) -> None:
        out.append(Difference(c.id, aspect, mine, theirs, message))

    def refine(aspect: str, mine: Any, theirs: Any, message: str, kind: str) -> None:
        out.append(Difference(c.id, aspect, mine, theirs, message, kind))

    if s.operation_id != c.id:
        differ("operationId", c.id, s.operation_id, f"the document calls it {s.operation_id!r}")
    if s.method != c.http_method:
        differ("method", c.http_method, s.method, f"contract {c.http_method}, document {s.method}")
    if s.path != c.path:
        differ("path", c.path, s.path, f"contract {c.path}, document {s.path}")
    responses = s.op.get("responses") or {}
    success = sorted(str(k) for k in responses if str(k).startswith("2"))
    if success != [str(c.status)]:
        differ("status", c.status, success, f"contract {c.status}, document {', '.join(success) or 'none'}")
    # request body
    params = c.params_for(r)
    body_schema = _json_schema(res, s.op.get("requestBody"))
    if not params:
        if body_schema is not None:
            differ("request", None, descriptor(body_schema), "the contract takes no body, the document does")
    elif body_schema is None:
        differ("request", c.request_type, None, f"the document has no request body ({c.request_type})")
    else:
        name = descriptor(body_schema)
        if name != c.request_type:
            differ("request", c.request_type, name, f"body type: contract {c.request_type}, document {name}")
        props, required = _object_parts(res, body_schema)
        want = {p.name: descriptor(schemas.position(p.type, p.moref)) for p in params}
        for p in want.keys() - props.keys():
            differ("request", p, None, f"parameter {p!r} ({want[p]}) is not in the document")
        for p in props.keys() - want.keys() - {"_typeName"}:
            differ(
                "request",
                None,
                p,
                f"the document has parameter {p!r} ({descriptor(props[p])}), the contract not",
            )
        for p in sorted(want.keys() & props.keys()):
            theirs = descriptor(props[p])
            if _refines(want[p], theirs):
                refine(
                    "request",
                    want[p],
                    theirs,
                    f"parameter {p!r}: contract {want[p]}, document {theirs}",
                    "typed-reference",
                )
            elif not _same_type(want[p], theirs):
                differ("request", want[p], theirs, f"parameter {p!r}: contract {want[p]}, document {theirs}")
        mine_req = {p.name for p in params if p.required}
        theirs_req = required & props.keys()
        for p in sorted(mine_req - theirs_req):
            differ(
                "request", p, None, f"parameter {p!r} is required in the contract, optional in the document"
            )
        for p in sorted((theirs_req - mine_req) & want.keys()):
            differ(
                "request", None, p, f"parameter {p!r} is optional in the contract, required in the document"
            )
    # response
    if c.status == 200 and c.response_type and str(c.status) in responses:
        mine_schema = response_schema(c, schemas)
        want_t = descriptor(mine_schema)
        got = _json_schema(res, responses[str(c.status)])
        theirs = descriptor(got) if got is not None else None
        if theirs is not None and _refines(want_t, theirs):
            refine(
                "response",
                want_t,
                theirs,
                f"response type: contract {want_t}, document {theirs}",
                "typed-reference",
            )
        elif theirs is None or not _same_type(want_t, theirs):
            differ("response", want_t, theirs, f"response type: contract {want_t}, document {theirs}")
        mine_null, theirs_null = _nullable(res, mine_schema), _nullable(res, got)
        if c.kind == "method" and got is not None and mine_null != theirs_null:
            differ(
                "response",
                mine_null,
                theirs_null,
                f"nullable: contract {str(mine_null).lower()}, document {str(theirs_null).lower()}",
            )
    # privileges and faults
    privs = _privileges_in(s.op)
    refined = operation_refinements(c)
    conditional = "; ".join(conditional_text(cp) for cp in c.conditional_privileges)
    if privs is None:
        if c.privileges and "curated-privileges" in refined:
            refine(
                "privileges",
                list(c.privileges),
                None,
                f"the document states no required privileges; the "
                f"contract requires {', '.join(c.privileges)}",
                "curated-privileges",
            )
        if c.privileges and "default-privileges" in refined:
            refine(
                "privileges",
                list(c.privileges),
                None,
                f"the document states no required privileges; the "
                f"contract requires {', '.join(c.privileges)}",
                "default-privileges",
            )
        if conditional:
            refine(
                "privileges",
                conditional,
                None,
                f"the document states no required privileges; the contract requires {conditional}",
                "conditional-privileges",
            )
    elif sorted(privs) != sorted(c.privileges):
        differ(
            "privileges",
            list(c.privileges),
            privs,
            f"contract {', '.join(c.privileges) or 'none'}, document {', '.join(privs) or 'none'}",
        )
    elif conditional and not s.op.get("x-vsphere-conditional-privileges"):
        refine(
            "privileges",
            conditional,
            None,
            f"the contract adds conditional privileges: {conditional}",
            "conditional-privileges",
        )
    faults = _faults_in(res, s.op)
    declared = c.faults_for(r)
    if faults is not None:
        for f in declared:
            if f not in faults:
                differ("faults", f, None, f"{f} is declared by the contract, not by the document")
        for f in faults:
            if f not in declared:
                differ("faults", None, f, f"{f} is declared by the document, not by the contract")
    return out


_ANY = {"Any", "anyType", "object", "?"}


def _refines(mine: str, theirs: str) -> bool:
    """Ours is a typed reference (``moref:Task``) where the document has a plain one (``moref``)."""
    if mine.endswith("[]") != theirs.endswith("[]"):
        return False
    return mine.removesuffix("[]").startswith("moref:") and theirs.removesuffix("[]") == "moref"


def _nullable(res: _Resolver, schema: Any) -> bool:
    schema = res.deref(schema)
    return isinstance(schema, dict) and schema.get("nullable") is True


def _same_type(mine: str, theirs: str) -> bool:
    """Descriptors agree.  Tolerated: a plain ``moref`` for any ``moref:T`` (:func:`_refines` tells when
    ours is the typed one), ``XEnum`` for the enum ``X``, and the spellings of anyType (``Any``, an
    untyped schema)."""
    if mine == theirs:
        return True
    if mine.endswith("[]") != theirs.endswith("[]"):
        return False
    m, t = mine.removesuffix("[]"), theirs.removesuffix("[]")
    if m.startswith("moref") and t.startswith("moref"):
        return "moref" in (m, t)
    return t.removesuffix("Enum") == m or (m in _ANY and t in _ANY)


# --- the schemas -----------------------------------------------------------------------------------------
def _reached(mine: list[Contract], release_name: str) -> set[str]:
    """Names of the data and enum types the compared operations send or receive (with ``TaskInfo`` when
    one is a task, and every fault): the schemas compared without ``everything``."""
    rel = release(release_name)
    roots: set[str] = {"MethodFault"}
    for c in mine:
        roots.update(p.type.removesuffix("[]") for p in c.params_for(release_name))
        roots.update(t.removesuffix("[]") for t in (c.response_type, c.task_result) if t)
        roots.update(c.faults_for(release_name))
        if c.is_task:
            roots.add("TaskInfo")
    return rel.reachable(r for r in roots if r in rel.data or r in rel.enums)


def _type_of(rel: Release, name: str) -> str | None:
    """The registry type a component schema name stands for (``TaskInfo``, ``X_enum`` -> X, boxed ``X``,
    ``ArrayOfX`` -> X ...), ``""`` for the roots every document has; None when there is none."""
    if name in (ANY, MOREF, MO_TYPES) or name.startswith("MoRef") and name[5:] in rel.managed:
        return ""
    if name.endswith("_enum") and name[:-5] in rel.enums:
        return name[:-5]
    if name in rel.data or name in rel.enums:
        return name
    if name.startswith("ArrayOf"):
        item = _array_item(rel, name)
        if item is not None:
            return item if item in rel.data or item in rel.enums else ""

    return "" if name in PRIMITIVE_WIRE_NAMES else None


@dataclass
class _Shape:
    enum: list[Any] | None
    bases: list[str]
    props: dict[str, Any]
    required: set[str]


def _shape(schema: Any) -> _Shape:
    """What a component schema says: enum values, or bases (``allOf`` references) and own fields."""
    if not isinstance(schema, dict):
        return _Shape(None, [], {}, set())
    if isinstance(schema.get("enum"), list) and schema.get("type", "string") == "string":
        return _Shape(list(schema["enum"]), [], {}, set())
    bases, props, required = [], {}, set()
    for part in schema.get("allOf") or []:
        if isinstance(part, dict) and "$ref" in part:
            bases.append(str(part["$ref"]).rsplit("/", 1)[-1])
        elif isinstance(part, dict):
            props.update(part.get("properties") or {})
            required |= set(part.get("required") or [])
    props.update(schema.get("properties") or {})
    required |= set(schema.get("required") or [])
    props.pop("_typeName", None)  # ours restricts it to the type and its subtypes (typename-subtypes)
    required.discard("_typeName")
    return _Shape(None, bases, props, required)


def diff_schemas(
    doc: dict[str, Any], rel: Release, ours: OpenApiSchemas, scope: set[str] | None = None
) -> list[Difference]:
    """Differences between the document's component schemas and the registry's, schema by schema.
    ``scope`` limits the comparison to the schemas of these types (and the roots); without it every
    schema of the document is compared, and one whose type the release lacks is a difference."""
    theirs_all = (doc.get("components") or {}).get("schemas") or {}
    out: list[Difference] = []
    for name in sorted(theirs_all):
        if name.endswith("RequestType"):
            continue  # request bodies are compared with their operation
        t = _type_of(rel, name)
        if t is None:
            if scope is None:
                out.append(
                    Difference(
                        name,
                        "schema",
                        None,
                        name,
                        f"the document has schema {name}; release {rel.name} has no such type",
                    )
                )
            continue
        if scope is not None and t and t not in scope:
            continue
        mine = ours.named(name)
        if mine is None:
            out.append(Difference(name, "schema", None, name, f"release {rel.name} has no schema {name}"))
            continue
        out += _compare_schema(name, _shape(mine), _shape(theirs_all[name]), rel.name)
    return out


def _compare_schema(name: str, mine: _Shape, theirs: _Shape, r: str) -> list[Difference]:
    out: list[Difference] = []

    def differ(mine_v: Any, theirs_v: Any, message: str, refinement: str | None = None) -> None:
        out.append(Difference(name, "schema", mine_v, theirs_v, message, refinement))

    if (mine.enum is None) != (theirs.enum is None):
        kind = {True: "an enum", False: "an object"}
        differ(
            kind[mine.enum is not None],
            kind[theirs.enum is not None],
            f"release {r} has {kind[mine.enum is not None]}, the document {kind[theirs.enum is not None]}",
        )
        return out
    if mine.enum is not None and theirs.enum is not None:
        for v in [v for v in theirs.enum if v not in mine.enum]:
            differ(None, v, f"value {v!r} is in the document, not in release {r}")
        for v in [v for v in mine.enum if v not in theirs.enum]:
            differ(v, None, f"value {v!r} is in release {r}, not in the document")
        return out
    if sorted(mine.bases) != sorted(theirs.bases):
        differ(
            mine.bases,
            theirs.bases,
            f"derives from {', '.join(mine.bases) or 'nothing'} in release {r}, "
            f"from {', '.join(theirs.bases) or 'nothing'} in the document",
        )
    for f in [f for f in mine.props if f not in theirs.props]:
        differ(f, None, f"field {f!r} ({descriptor(mine.props[f])}) is in release {r}, not in the document")
    for f in [f for f in theirs.props if f not in mine.props]:
        differ(None, f, f"the document has field {f!r} ({descriptor(theirs.props[f])}), release {r} not")
    for f in [f for f in mine.props if f in theirs.props]:
        m, t = descriptor(mine.props[f]), descriptor(theirs.props[f])
        if _refines(m, t):
            differ(m, t, f"field {f!r}: release {r} {m}, document {t}", "typed-reference")
        elif not _same_type(m, t):
            differ(m, t, f"field {f!r}: release {r} {m}, document {t}")
        if (f in mine.required) != (f in theirs.required):
            which = {True: "required", False: "optional"}
            differ(
                f,
                f,
                f"field {f!r} is {which[f in mine.required]} in release {r}, "
                f"{which[f in theirs.required]} in the document",
            )
    return out


def render_text(
    diffs: list[Difference], release_name: str, spec_name: str, show_refinements: bool = False
) -> str:
    real = differences(diffs)
    refined = [d for d in diffs if d.refinement]
    lines = [str(d) for d in real]
    if refined:
        if show_refinements:
            lines += [str(d) for d in refined]
        counts = Counter(d.refinement for d in refined)
        lines.append(
            f"{len(refined)} documented refinements of the contracts, not differences ("
            + ", ".join(f"{k}: {n}" for k, n in sorted(counts.items()))
            + ")"
            + ("" if show_refinements else "; --refinements lists them")
        )
    if not real:
        lines.append(f"no differences between the contracts of {release_name} and {spec_name}")
    else:
        lines.append(f"{len(real)} differences between the contracts of {release_name} and {spec_name}")
    return "\n".join(lines)


def render_json(diffs: list[Difference]) -> str:
    return json.dumps([asdict(d) for d in diffs], indent=2, default=str)


__all__ = [
    "REFINEMENTS",
    "Difference",
    "SpecError",
    "descriptor",
    "diff_openapi",
    "diff_schemas",
    "differences",
    "document_release",
    "load_spec",
    "render_json",
    "render_text",
]
