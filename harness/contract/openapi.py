"""Export the contracts of a release as an OpenAPI 3.0 document in the shape of VMware's VI/JSON one.

Server ``https://{vcenter-host}/sdk/vim25/{release}``; apiKey scheme ``Session`` in the header
``vmware-api-session-id``; every path has the ``moId`` path parameter; a method's body is its
``<Method>RequestType``; success is 200 (with the value) or 204 (void); a fault is a 500 whose body
is a ``MethodFault``.  Privileges and faults are written in prose as VMware does
(``***Required privileges:*** X``, ``***FaultName***: ...``) and as extensions
(``x-vsphere-privileges``, ``x-vsphere-faults``, ``x-vsphere-task-result``,
``x-vsphere-conditional-privileges``).

Schemas come from the type registry and carry VMware's names: ``Any`` is the root with the
``_typeName`` discriminator (mapping every type a value in an ``anyType`` position may have); data
types inherit through ``allOf`` from ``DataObject``, fault types from ``MethodFault``, both of which
derive from ``Any``; every fault inside data (``TaskInfo.error``, ``faultCause`` ...) is a
``MethodFault``; enums are ``<Enum>_enum``, the managed-type enum ``MoTypes_enum``; boxed values are
``<Name>`` (the ``_typeName`` they travel with) with ``_value``, arrays ``ArrayOf<Name>``; array
results of methods are ``nullable: true``.

Where the export says more than VMware's document it is a *refinement*, listed (with what it means)
under ``info.x-vsphere-harness-refinements`` and marked ``x-vsphere-harness-refinement`` on the
schema or operation that carries it: typed references ``MoRef<Type>`` (VMware:
``ManagedObjectReference``), curated, conditional and default privileges; two keyword-level ones
(``_typeName`` restricted to the type and its subtypes, integer ranges) are listed only.
``contracts diff-openapi`` reports a difference that is one of these as a refinement, not as a
difference.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from ..vmodl.codec import INT_RANGES, array_type_name
from ..vmodl.registry import MOREF, PRIMITIVE_WIRE_NAMES, Release, TypeRef, release
from ..vmodl.walk import UNTYPED_REFERENCES, TypeVisitor, as_ref, referable
from .model import Contract
from .semantics import describe
from .store import ContractSet, check_release

SESSION_HEADER = "vmware-api-session-id"
SCHEMA_PREFIX = "#/components/schemas/"
ANONYMOUS = "System.Anonymous"
#: VMware's ``***Required privileges:*** X`` (tolerating the colon outside the stars, or no stars)
PRIVILEGES_RE = re.compile(r"(?:\*\*\*)?Required privileges:?(?:\*\*\*)?:?[ \t]*(.*)")
#: VMware's root schema (the ``_typeName`` discriminator) and managed-type enum.
ANY = "Any"
MO_TYPES = "MoTypes_enum"

#: The marker of a refined schema or operation, and the refinements it may name.
REFINEMENT = "x-vsphere-harness-refinement"
REFINEMENTS: dict[str, str] = {
    "typed-reference": (
        "A reference typed MoRef<Type> (a ManagedObjectReference whose `type` is <Type> or one of its "
        "subtypes, from pyVmomi's metadata) where VMware's document says ManagedObjectReference. Marked on "
        "each MoRef<Type> schema."
    ),
    "curated-privileges": (
        "Required privileges curated from VMware's reference (harness/contract/curated_privileges.yaml) "
        "where pyVmomi's metadata names none or only part of them. Marked on the operation."
    ),
    "conditional-privileges": (
        "Privileges required only when a condition holds, on the target or on objects a parameter or the "
        "target names (x-vsphere-conditional-privileges), where VMware's document says `dynamic`, states them "
        "in prose or says nothing. Marked on the operation."
    ),
    "default-privileges": (
        "A property read requires System.Read where pyVmomi's metadata names no privilege for the property. "
        "Marked on the operation."
    ),
    "typename-subtypes": (
        "`_typeName` of a data object, fault or boxed value is restricted to the type and its subtypes "
        "(VMware's document: any string). Keyword-level, not marked per schema."
    ),
    "integer-range": (
        "byte, short, int and long carry their value range (minimum/maximum). Keyword-level, not marked "
        "per schema."
    ),
}

_PRIMITIVES: dict[str, dict[str, Any]] = {
    "boolean": {"type": "boolean"},
    "byte": {"type": "integer", "format": "int32"},
    "short": {"type": "integer", "format": "int32"},
    "int": {"type": "integer", "format": "int32"},
    "long": {"type": "integer", "format": "int64"},
    "float": {"type": "number", "format": "float"},
    "double": {"type": "number", "format": "double"},
    "string": {"type": "string"},
    "anyURI": {"type": "string", "format": "uri"},
    "dateTime": {"type": "string", "format": "date-time"},
    "base64Binary": {"type": "string", "format": "byte"},
}
for _name, (_lo, _hi) in INT_RANGES.items():
    _PRIMITIVES[_name] = {**_PRIMITIVES[_name], "minimum": _lo, "maximum": _hi}


def ref(name: str) -> dict[str, str]:
    return {"$ref": SCHEMA_PREFIX + name}


def moref_schema_name(managed_type: str) -> str:
    """``ManagedObjectReference`` for an untyped reference, ``MoRef<Type>`` for a typed one."""
    return MOREF if managed_type in UNTYPED_REFERENCES else f"MoRef{managed_type}"


def enum_schema_name(enum: str) -> str:
    return f"{enum}_enum"


def operation_refinements(c: Contract) -> list[str]:
    """The refinements an operation's privileges carry (see :data:`REFINEMENTS`)."""
    out = []
    if c.privileges_source == "curated" and c.privileges:
        out.append("curated-privileges")
    if c.conditional_privileges:
        out.append("conditional-privileges")
    if c.privileges_source == "default":
        out.append("default-privileges")
    return out


class OpenApiSchemas(TypeVisitor):
    """The ``components/schemas`` of one release, built on demand from the type registry; the
    ``visit_<kind>`` methods return the schema of a position and add the components it needs."""

    def __init__(self, rel: Release):
        super().__init__(rel)
        self.schemas: dict[str, Any] = {}
        self._mapping: dict[str, str] = {}  # _typeName -> schema name: Any's discriminator mapping

    def position(self, type_ref: TypeRef | str, moref: str | None = None) -> dict[str, Any]:
        """The schema of a value whose declared type is ``type_ref`` (a wire type string or a TypeRef);
        ``moref`` names the managed type a ``ManagedObjectReference`` points to."""
        type_ref = as_ref(type_ref)
        if moref and type_ref.name == MOREF:
            type_ref = TypeRef(moref, type_ref.array)
        return self.visit(type_ref)

    def visit_array(self, type_ref: TypeRef) -> dict[str, Any]:
        return {"type": "array", "items": self.visit(type_ref.item)}

    def visit_primitive(self, name: str) -> dict[str, Any]:
        return dict(_PRIMITIVES[name])

    def visit_any(self, name: str) -> dict[str, Any]:
        self._any()
        return ref(ANY)

    def visit_reference(self, name: str) -> dict[str, Any]:
        self._moref_root()
        return ref(MOREF)

    def visit_managed(self, name: str) -> dict[str, Any]:
        return ref(self._moref(name))

    def visit_enum(self, name: str) -> dict[str, Any]:
        key = enum_schema_name(name)
        self.schemas.setdefault(key, {"type": "string", "enum": list(self.release.enums[name].values)})
        return ref(key)

    def visit_data(self, name: str) -> dict[str, Any]:
        self._data(name)
        return ref(name)

    def named(self, key: str) -> dict[str, Any] | None:
        """Our schema of a component name as VMware's document names it (``TaskInfo``, ``Any``,
        ``MoTypes_enum``, ``VirtualMachinePowerState_enum``, ``ArrayOfString``, a boxed ``int`` ...);
        None when the release has no such type."""
        rel = self.release
        if key == ANY:
            self._any()
        elif key in (MOREF, MO_TYPES):
            self._moref_root()
        elif key.startswith("MoRef") and key[5:] in rel.managed:
            self.visit(key[5:])
        elif key.endswith("_enum") and key[:-5] in rel.enums:
            self.visit(key[:-5])
        elif key in rel.data:
            self._data(key)
        elif key in rel.enums or key in PRIMITIVE_WIRE_NAMES:
            self._boxed(key)
        elif key.startswith("ArrayOf") and (item := _array_item(rel, key)) is not None:
            self._array_of(item)
        return self.schemas.get(key)

    def _any(self) -> None:
        """``Any``, and every type a value in an ``anyType`` position may have: data objects, faults,
        references, boxed primitives and enums, and arrays of each (``ArrayOf<Name>``)."""
        if ANY in self.schemas:
            return
        rel = self.release
        self.schemas[ANY] = {
            "type": "object",
            "description": "The root of every VI/JSON value that carries a `_typeName`: data objects, faults, "
            'and boxed values (`{"_typeName": "int", "_value": 1}`) in `anyType` positions.',
            "properties": {"_typeName": {"type": "string"}},
            "required": ["_typeName"],
        }
        self._data("DataObject")
        self._data("MethodFault")
        self._moref_root()
        self._mapping[MOREF] = MOREF
        for name in [*sorted(PRIMITIVE_WIRE_NAMES), *sorted(rel.enums)]:
            self._boxed(name)
        for name in [*sorted(PRIMITIVE_WIRE_NAMES), MOREF, "anyType", *sorted(rel.data), *sorted(rel.enums)]:
            self._array_of(name)

    def _boxed(self, name: str) -> None:
        """A primitive or an enum value in an ``anyType`` position: ``<Name>`` with ``_value``."""
        if name in self.schemas:
            return
        self.schemas[name] = {}
        self.schemas[name] = {
            "allOf": [
                ref(ANY),
                {
                    "type": "object",
                    "properties": {
                        "_typeName": {"type": "string", "enum": [name]},
                        "_value": self.visit(name),
                    },
                    "required": ["_value"],
                },
            ]
        }
        self._mapping[name] = name
        self._any()

    def _array_of(self, item: str) -> None:
        """An array in an ``anyType`` position: ``ArrayOf<Name>`` with ``_value``."""
        key = array_type_name(item)
        if key in self.schemas:
            return
        self.schemas[key] = {}
        self.schemas[key] = {
            "allOf": [
                ref(ANY),
                {
                    "type": "object",
                    "properties": {
                        "_typeName": {"type": "string", "enum": [key]},
                        "_value": {"type": "array", "items": self.visit(item)},
                    },
                    "required": ["_value"],
                },
            ]
        }
        self._mapping[key] = key
        self._any()

    def _moref_root(self) -> None:
        """``ManagedObjectReference`` and ``MoTypes_enum``: an untyped reference."""
        if MOREF not in self.schemas:
            rel = self.release
            self.schemas[MOREF] = {
                "type": "object",
                "description": "A reference to a managed object: its managed type and its moId.",
                "properties": {
                    "_typeName": {"type": "string", "enum": [MOREF]},
                    "type": ref(MO_TYPES),
                    "value": {"type": "string", "minLength": 1},
                },
                "required": ["type", "value"],
            }
            self.schemas[MO_TYPES] = {"type": "string", "enum": referable(rel, MOREF)}

    def _moref(self, name: str) -> str:
        """``MoRef<Type>``: a reference to a ``name`` (a refinement of ``ManagedObjectReference``)."""
        self._moref_root()
        key = moref_schema_name(name)
        if key not in self.schemas:
            self.schemas[key] = {
                "description": f"A reference to a {name} (a refinement: VMware's document says {MOREF}).",
                "allOf": [
                    ref(MOREF),
                    {
                        "type": "object",
                        "properties": {"type": {"type": "string", "enum": referable(self.release, name)}},
                    },
                ],
                REFINEMENT: "typed-reference",
            }
        return key

    def _data(self, name: str) -> None:
        if name in self.schemas:
            return
        rel = self.release
        self.schemas[name] = {}  # placeholder against recursion
        self._mapping[name] = name
        dt = rel.data[name]
        own: dict[str, Any] = {"type": "object"}
        props: dict[str, Any] = {}
        if name not in ("DataObject", "DynamicData"):
            props["_typeName"] = {"type": "string", "enum": rel.subtypes(name)}
        required = []
        for f in dt.own_fields:
            if not rel.has(f.since):
                continue
            props[f.name] = self.position(f.type)
            if not f.optional:
                required.append(f.name)
        if props:
            own["properties"] = props
        if required:
            own["required"] = required
        if dt.base:
            self._data(dt.base)
            self.schemas[name] = {"allOf": [ref(dt.base), own]}
        else:  # DataObject and MethodFault: in VMware's document both derive from Any
            self.schemas[name] = {"allOf": [ref(ANY), own]}
            self._any()
        for sub in rel.subtypes(name, include_self=False):
            self._data(sub)

    def finish(self) -> dict[str, Any]:
        """Every schema, with the ``_typeName`` discriminator on ``Any``."""
        if ANY in self.schemas:
            self.schemas[ANY]["discriminator"] = {
                "propertyName": "_typeName",
                "mapping": {n: SCHEMA_PREFIX + k for n, k in sorted(self._mapping.items())},
            }
        return dict(sorted(self.schemas.items()))


def _array_item(rel: Release, key: str) -> str | None:
    """The item type of an ``ArrayOf<Name>`` (``ArrayOfString`` -> ``string``), None if unknown."""
    for name in [*PRIMITIVE_WIRE_NAMES, MOREF, "anyType", *rel.data, *rel.enums]:
        if array_type_name(name) == key:
            return name
    return None


def response_schema(c: Contract, schemas: OpenApiSchemas) -> dict[str, Any]:
    """The schema of an operation's 200 body: array results of methods (and optional arrays) are
    ``nullable: true`` as in VMware's document; another optional value is ``nullable`` through
    ``allOf``."""
    schema = schemas.position(c.response_type or "", c.response_moref)
    if schema.get("type") == "array":
        if c.kind == "method" or c.response_optional:
            schema = {**schema, "nullable": True}
    elif c.response_optional:
        schema = {"nullable": True, "allOf": [schema]}
    return schema


def conditional_text(cp: Any) -> str:
    """``Datastore.FileManagement on each config.hardware.device[VirtualDisk].backing.datastore when
    config.hardware.device present True`` - one conditional privilege in words."""

    def when_text(when: dict[str, Any]) -> str:
        if "all" in when:
            return " and ".join(when_text(w) for w in when["all"])
        subject = when["target"] if "target" in when else f"parameter {when.get('param')}"
        return f"{subject} {describe(when)}"

    on = cp.on
    if isinstance(on, dict):
        on = (
            "each "
            + on["target"]
            + (f"[{on['each']}]" if on.get("each") else "")
            + (f".{on['path']}" if on.get("path") else "")
        )
    elif on != "target":
        on = f"parameter {on}"
    return f"{', '.join(cp.privileges)} on {on} when {when_text(cp.when)}"


def privileges_text(privileges: Iterable[str], conditional: bool) -> str:
    privileges = list(privileges)
    if privileges:
        return "***Required privileges:*** " + ", ".join(privileges)
    if conditional:
        return "***Required privileges:*** dynamic, see x-vsphere-conditional-privileges"
    return ""


def _fault_text(c: Contract, fault: str, rel: Release) -> str:
    """``***InvalidState***: ...`` with the preconditions whose fault is this one (or a subtype of it)."""
    reasons = []
    for p in c.preconditions:
        if p.get("fault") == fault or (p.get("fault") in rel.data and rel.is_subtype(p["fault"], fault)):
            text = (p.get("description") or p["id"]).rstrip(".")
            reasons.append(text if p["fault"] == fault else f"{text} ({p['fault']})")
    return f"***{fault}***: " + (
        f"when a precondition fails: {'; '.join(reasons)}." if reasons else "declared by the method."
    )


def _operation(
    c: Contract, r: str, schemas: OpenApiSchemas, request_schemas: dict[str, Any]
) -> dict[str, Any]:
    summary = c.semantics.get("summary") or (
        f"Reads the {c.name} property of a {c.managed_type}."
        if c.kind == "property"
        else f"Invokes {c.name} on a {c.managed_type}."
    )
    desc = [summary]
    ptext = privileges_text(c.privileges, bool(c.conditional_privileges))
    if ptext:
        desc.append(ptext)
    op: dict[str, Any] = {
        "tags": [c.managed_type],
        "summary": summary,
        "description": "\n\n".join(desc),
        "operationId": c.id,
        "parameters": [
            {
                "name": "moId",
                "in": "path",
                "required": True,
                "schema": {"type": "string"},
                "description": f"The moId of the {c.managed_type} the operation applies to "
                f"(the serialized reference is {c.managed_type}/{{moId}}).",
            }
        ],
    }
    params = c.params_for(r)
    if params and c.request_type:
        props = {p.name: schemas.position(p.type, p.moref) for p in params}
        body: dict[str, Any] = {"type": "object", "properties": props}
        required = [p.name for p in params if p.required]
        if required:
            body["required"] = required
        request_schemas[c.request_type] = body
        op["requestBody"] = {
            "required": bool(required),
            "content": {"application/json": {"schema": ref(c.request_type)}},
        }
    responses: dict[str, Any] = {}
    if c.status == 204 or not c.response_type:
        responses["204"] = {"description": "The method returns nothing."}
    else:
        schema = response_schema(c, schemas)
        text = (
            "This method returns a Task object with which to monitor the operation."
            if c.is_task
            else f"The {'value of the property' if c.kind == 'property' else 'result'}."
        )
        responses["200"] = {"description": text, "content": {"application/json": {"schema": schema}}}
    faults = c.faults_for(r)
    fault_desc = "\n\n".join(_fault_text(c, f, schemas.release) for f in faults) or "A runtime fault."
    responses["500"] = {
        "description": fault_desc,
        "content": {"application/json": {"schema": schemas.position("MethodFault")}},
    }
    op["responses"] = responses
    if c.privileges == (ANONYMOUS,):
        op["security"] = []
    op["x-vsphere-privileges"] = list(c.privileges)
    if c.conditional_privileges:
        op["x-vsphere-conditional-privileges"] = [
            {
                "when": dict(cp.when),
                "privileges": list(cp.privileges),
                "on": cp.on,
                **({"description": cp.description} if cp.description else {}),
            }
            for cp in c.conditional_privileges
        ]
    op["x-vsphere-faults"] = faults
    if c.is_task:
        result: dict[str, Any] = {"type": c.task_result or "void"}
        if c.task_result_moref:
            result["moref"] = c.task_result_moref
        op["x-vsphere-task-result"] = result
    refined = operation_refinements(c)
    if refined:
        op[REFINEMENT] = refined
    return op


def export_openapi(contracts: ContractSet, release_name: str) -> dict[str, Any]:
    """The OpenAPI 3.0 document of every contract (VirtualMachine and support) of a release."""
    check_release(release_name)
    rel = release(release_name)
    schemas = OpenApiSchemas(rel)
    request_schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for c in sorted(contracts.for_release(release_name), key=lambda c: c.path):
        paths.setdefault(c.path, {})[c.http_method.lower()] = _operation(
            c, release_name, schemas, request_schemas
        )
    schemas.position("MethodFault")
    components = schemas.finish()
    clash = set(components) & set(request_schemas)
    if clash:  # pragma: no cover - the registry has no data type named *RequestType
        raise ValueError(f"request type names clash with data types: {sorted(clash)}")
    components.update(sorted(request_schemas.items()))
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "vSphere VI/JSON API (contracts of vsphere-harness)",
            "version": release_name,
            "description": "Generated by `vsphere-harness contracts export-openapi` from the contract files, "
            "with VMware's VI/JSON schema names. Faults travel as HTTP 500 with the fault object "
            "as the body; a fault inside data (TaskInfo.error, faultCause ...) is the fault "
            "object itself, typed MethodFault. Where this document says more than VMware's, "
            f"the schema or operation is marked `{REFINEMENT}`; "
            "`x-vsphere-harness-refinements` lists the refinements.",
            "x-vsphere-harness-refinements": dict(REFINEMENTS),
        },
        "servers": [
            {
                "url": "https://{vcenter-host}/sdk/vim25/{release}",
                "variables": {
                    "vcenter-host": {
                        "default": "vcenter",
                        "description": "The vCenter Server host name or address.",
                    },
                    "release": {
                        "default": release_name,
                        "enum": [release_name],
                        "description": "The vSphere release schema.",
                    },
                },
            }
        ],
        "security": [{"Session": []}],
        "tags": [{"name": t} for t in sorted({c.managed_type for c in contracts.for_release(release_name)})],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {
                "Session": {
                    "type": "apiKey",
                    "in": "header",
                    "name": SESSION_HEADER,
                    "description": "The session id returned by SessionManager Login in the vmware-api-session-id "
                    "header.",
                }
            },
        },
    }


def flatten_openapi(doc: dict[str, Any], closed_requests: bool = True) -> dict[str, Any]:
    """A copy of an exported document for tools that generate from its schemas (the schemathesis
    check); not the document ``contracts export-openapi`` writes, which keeps VMware's shape.

    Each component ``{"allOf": [{"$ref": base}, own]}`` becomes one object schema with the properties
    and required fields of its whole chain (same instances valid), so a generator draws the object
    directly instead of drawing the base and filtering by the rest.  With ``closed_requests`` the
    request bodies refer to copies (``<Name>_request``) that admit no property the type does not
    declare (``additionalProperties: false``; ``Any`` stays open): a generator then spends its draws on
    declared fields, not on arbitrary extra keys.  Responses keep the open schemas."""
    source = doc["components"]["schemas"]
    flat: dict[str, Any] = {}

    def component(name: str) -> dict[str, Any]:
        if name not in flat:
            flat[name] = flatten_schema(source[name], component)
        return flat[name]

    for name in source:
        component(name)
    paths = doc["paths"]
    if closed_requests:
        bodies = [
            op["requestBody"]
            for item in paths.values()
            for op in item.values()
            if isinstance(op, dict) and "requestBody" in op
        ]
        reached = _reached(bodies, flat) - {ANY}
        copies = {f"{name}{REQUEST_COPY}": _closed(_renamed(flat[name], reached)) for name in sorted(reached)}
        clash = set(copies) & set(flat)
        if clash:  # pragma: no cover - no component name ends with the suffix
            raise ValueError(f"request copies clash with components: {sorted(clash)}")
        flat.update(copies)
        paths = {
            path: {
                method: {**op, "requestBody": _renamed(op["requestBody"], reached)}
                if isinstance(op, dict) and "requestBody" in op
                else op
                for method, op in item.items()
            }
            for path, item in paths.items()
        }
    return {**doc, "paths": paths, "components": {**doc["components"], "schemas": flat}}


#: The suffix of a closed request copy of a component (:func:`flatten_openapi`).
REQUEST_COPY = "_request"


def _refs(value: Any) -> Iterator[str]:
    """The component names a schema (or any JSON value) refers to."""
    if isinstance(value, dict):
        target = value.get("$ref")
        if isinstance(target, str) and target.startswith(SCHEMA_PREFIX):
            yield target[len(SCHEMA_PREFIX) :]
        for v in value.values():
            yield from _refs(v)
    elif isinstance(value, list):
        for v in value:
            yield from _refs(v)


def _reached(roots: list[Any], schemas: dict[str, Any]) -> set[str]:
    """Every component reachable from ``roots`` through ``$ref`` (not through ``Any``)."""
    seen: set[str] = set()
    todo = [n for r in roots for n in _refs(r)]
    while todo:
        name = todo.pop()
        if name in seen or name not in schemas:
            continue
        seen.add(name)
        if name != ANY:
            todo.extend(_refs(schemas[name]))
    return seen


def _renamed(value: Any, names: set[str]) -> Any:
    """``value`` with every ``$ref`` to one of ``names`` pointing at its request copy."""
    if isinstance(value, dict):
        target = value.get("$ref")
        if (
            isinstance(target, str)
            and target[len(SCHEMA_PREFIX) :] in names
            and target.startswith(SCHEMA_PREFIX)
        ):
            return {**value, "$ref": target + REQUEST_COPY}
        return {k: _renamed(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_renamed(v, names) for v in value]
    return value


def _closed(schema: dict[str, Any]) -> dict[str, Any]:
    """An object schema admitting no undeclared property; any other schema unchanged."""
    if schema.get("type") == "object" and "properties" in schema and "additionalProperties" not in schema:
        return {**schema, "additionalProperties": False}
    return schema


def flatten_schema(schema: dict[str, Any], component: Any) -> dict[str, Any]:
    """``schema`` with an ``allOf`` of object schemas (``$ref`` to components, resolved through
    ``component``, or inline) merged into one object schema; anything else is returned unchanged.
    A property named by several parts keeps the last one when the earlier is a plain string
    (``_typeName`` narrowed to a type's subtypes, ``type`` of a typed reference), else both
    under an ``allOf``."""
    parts = schema.get("allOf")
    if not parts or set(schema) - {"allOf", "description", REFINEMENT, "discriminator"}:
        return schema
    resolved = []
    for part in parts:
        if set(part) == {"$ref"} and part["$ref"].startswith(SCHEMA_PREFIX):
            part = component(part["$ref"][len(SCHEMA_PREFIX) :])
        if part.get("type") != "object" or "allOf" in part or set(part) - _MERGEABLE:
            return schema
        resolved.append(part)
    props: dict[str, Any] = {}
    required: list[str] = []
    for part in resolved:
        for key, value in part.get("properties", {}).items():
            if key in props and props[key] != value and not _narrows(props[key], value):
                value = {"allOf": [props[key], value]}
            props[key] = value
        required += [r for r in part.get("required", ()) if r not in required]
    out: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    out["type"] = "object"
    if props:
        out["properties"] = props
    if required:
        out["required"] = required
    return out


#: The keywords of an object schema :func:`flatten_schema` merges (others leave the ``allOf`` as is).
_MERGEABLE = {"type", "properties", "required", "description", "discriminator", REFINEMENT}


def _narrows(earlier: dict[str, Any], later: dict[str, Any]) -> bool:
    """True when ``later`` only narrows ``earlier`` (so the two together are ``later``): a string
    schema restricted by an enum, a string enum restricted to some of its members, or the
    managed-type enum restricted to some of its members."""
    if later.get("type") != "string" or "enum" not in later:
        return False
    if earlier == {"type": "string"}:
        return True
    if earlier == ref(MO_TYPES):
        return True
    return earlier.get("type") == "string" and set(later["enum"]) <= set(earlier.get("enum", ()))
