"""Export the contracts of a release as an OpenAPI 3.0 document in the style of VMware's VI/JSON one.

Server ``https://{vcenter-host}/sdk/vim25/{release}``; apiKey scheme ``Session`` in the header
``vmware-api-session-id``; every path has the ``moId`` path parameter; a method's body is its
``<Method>RequestType``; success is 200 (with the value) or 204 (void); a fault is a 500 whose body
is a ``MethodFault``.  Privileges and faults are written in prose as VMware does
(``***Required privileges:*** X``, ``***FaultName***: ...``) and as extensions
(``x-vsphere-privileges``, ``x-vsphere-faults``, ``x-vsphere-task-result``,
``x-vsphere-conditional-privileges``).

Schemas come from the type registry, as :mod:`harness.vmodl.schema` builds them, but in OpenAPI 3.0
terms: data types inherit through ``allOf``; the root ``DataObject`` carries the ``_typeName``
discriminator with a mapping of every type; ``_typeName`` of a type is restricted to the type and
its subtypes (``enum``); managed object references are ``MoRef<Type>``; enums are ``<Enum>_enum``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ..vmodl.codec import INT_RANGES
from ..vmodl.registry import MOREF, PRIMITIVE_WIRE_NAMES, Release, TypeRef, release
from .model import Contract
from .store import ContractError, ContractSet, check_release, read_contract_file

SESSION_HEADER = "vmware-api-session-id"
SCHEMA_PREFIX = "#/components/schemas/"
ANONYMOUS = "System.Anonymous"
#: VMware's ``***Required privileges:*** X`` (tolerating the colon outside the stars, or no stars)
PRIVILEGES_RE = re.compile(r"(?:\*\*\*)?Required privileges:?(?:\*\*\*)?:?[ \t]*(.*)")

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
    return MOREF if managed_type in (MOREF, "ManagedObject") else f"MoRef{managed_type}"


def enum_schema_name(enum: str) -> str:
    return f"{enum}_enum"


class OpenApiSchemas:
    """The ``components/schemas`` of one release, built on demand from the type registry."""

    def __init__(self, rel: Release):
        self.release = rel
        self.schemas: dict[str, Any] = {}
        self._data_types: set[str] = set()

    def position(self, type_ref: TypeRef | str, moref: str | None = None) -> dict[str, Any]:
        """The schema of a value whose declared type is ``type_ref`` (a wire type string or a TypeRef);
        ``moref`` names the managed type a ``ManagedObjectReference`` points to."""
        if isinstance(type_ref, str):
            type_ref = TypeRef(type_ref[:-2], True) if type_ref.endswith("[]") else TypeRef(type_ref)
        name = moref if type_ref.name == MOREF and moref else type_ref.name
        one = self._one(name)
        return {"type": "array", "items": one} if type_ref.array else one

    def _one(self, name: str) -> dict[str, Any]:
        rel = self.release
        if name in PRIMITIVE_WIRE_NAMES:
            return dict(_PRIMITIVES[name])
        if name == "anyType":
            self._data("DataObject")
            return ref("DataObject")
        if name in (MOREF, "ManagedObject") or name in rel.managed:
            return ref(self._moref(name))
        if name in rel.enums:
            key = enum_schema_name(name)
            self.schemas.setdefault(key, {"type": "string", "enum": list(rel.enums[name].values)})
            return ref(key)
        if name in rel.data:
            self._data(name)
            return ref(name)
        raise KeyError(f"type {name!r} does not exist in release {rel.name}")

    def _moref(self, name: str) -> str:
        rel = self.release
        if MOREF not in self.schemas:
            self.schemas[MOREF] = {
                "type": "object",
                "description": "A reference to a managed object: its managed type and its moId.",
                "properties": {
                    "_typeName": {"type": "string", "enum": [MOREF]},
                    "type": {"$ref": SCHEMA_PREFIX + "MoTypesEnum"},
                    "value": {"type": "string", "minLength": 1},
                },
                "required": ["type", "value"],
            }
            self.schemas["MoTypesEnum"] = {"type": "string", "enum": sorted(rel.managed)}
        key = moref_schema_name(name)
        if key not in self.schemas:
            self.schemas[key] = {
                "description": f"A reference to a {name}.",
                "allOf": [ref(MOREF), {"type": "object",
                                       "properties": {"type": {"type": "string", "enum": rel.subtypes(name)}}}],
            }
        return key

    def _data(self, name: str) -> None:
        if name in self.schemas:
            return
        rel = self.release
        self.schemas[name] = {}  # placeholder against recursion
        self._data_types.add(name)
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
        if name == "DataObject":
            props["_typeName"] = {"type": "string"}
            required.append("_typeName")
        if props:
            own["properties"] = props
        if required:
            own["required"] = required
        if dt.base:
            self._data(dt.base)
            self.schemas[name] = {"allOf": [ref(dt.base), own]}
        else:
            self.schemas[name] = own
        for sub in rel.subtypes(name, include_self=False):
            self._data(sub)

    def finish(self) -> dict[str, Any]:
        """Every schema, with the ``_typeName`` discriminator on ``DataObject``."""
        if "DataObject" in self.schemas:
            self.schemas["DataObject"]["discriminator"] = {
                "propertyName": "_typeName",
                "mapping": {n: SCHEMA_PREFIX + n for n in sorted(self._data_types)},
            }
        return dict(sorted(self.schemas.items()))


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
    return f"***{fault}***: " + (f"when a precondition fails: {'; '.join(reasons)}." if reasons
                                 else "declared by the method.")


def _operation(c: Contract, r: str, schemas: OpenApiSchemas, request_schemas: dict[str, Any]) -> dict[str, Any]:
    summary = c.semantics.get("summary") or (
        f"Reads the {c.name} property of a {c.managed_type}." if c.kind == "property"
        else f"Invokes {c.name} on a {c.managed_type}.")
    desc = [summary]
    ptext = privileges_text(c.privileges, bool(c.conditional_privileges))
    if ptext:
        desc.append(ptext)
    op: dict[str, Any] = {
        "tags": [c.managed_type],
        "summary": summary,
        "description": "\n\n".join(desc),
        "operationId": c.id,
        "parameters": [{
            "name": "moId", "in": "path", "required": True, "schema": {"type": "string"},
            "description": f"The moId of the {c.managed_type} the operation applies to "
                           f"(the serialized reference is {c.managed_type}/{{moId}}).",
        }],
    }
    params = c.params_for(r)
    if params and c.request_type:
        props = {p.name: schemas.position(p.type, p.moref) for p in params}
        body: dict[str, Any] = {"type": "object", "properties": props}
        required = [p.name for p in params if p.required]
        if required:
            body["required"] = required
        request_schemas[c.request_type] = body
        op["requestBody"] = {"required": bool(required),
                             "content": {"application/json": {"schema": ref(c.request_type)}}}
    responses: dict[str, Any] = {}
    raw = _raw_response(c)
    if c.status == 204 or not c.response_type:
        responses["204"] = {"description": "The method returns nothing."}
    else:
        schema = schemas.position(c.response_type, c.response_moref)
        if raw.get("optional"):
            schema = {"nullable": True, "allOf": [schema]}
        text = ("This method returns a Task object with which to monitor the operation." if c.is_task
                else f"The {'value of the property' if c.kind == 'property' else 'result'}.")
        responses["200"] = {"description": text, "content": {"application/json": {"schema": schema}}}
    faults = c.faults_for(r)
    fault_desc = "\n\n".join(_fault_text(c, f, schemas.release) for f in faults) or "A runtime fault."
    responses["500"] = {"description": fault_desc,
                        "content": {"application/json": {"schema": schemas.position("MethodFault")}}}
    op["responses"] = responses
    if c.privileges == (ANONYMOUS,):
        op["security"] = []
    op["x-vsphere-privileges"] = list(c.privileges)
    if c.conditional_privileges:
        op["x-vsphere-conditional-privileges"] = [
            {"when": dict(cp.when), "privileges": list(cp.privileges), "on": cp.on,
             **({"description": cp.description} if cp.description else {})}
            for cp in c.conditional_privileges]
    op["x-vsphere-faults"] = faults
    if c.is_task:
        result: dict[str, Any] = {"type": c.task_result or "void"}
        moref = raw.get("task_result_moref")
        if moref:
            result["moref"] = moref
        op["x-vsphere-task-result"] = result
    return op


def _raw_response(c: Contract) -> dict[str, Any]:
    """The file's ``response`` section: it says what the model does not (optional, task_result_moref)."""
    if not c.source_file:
        return {}
    try:
        return read_contract_file(Path(c.source_file)).get("response") or {}
    except ContractError:
        return {}


def export_openapi(contracts: ContractSet, release_name: str) -> dict[str, Any]:
    """The OpenAPI 3.0 document of every contract (VirtualMachine and support) of a release."""
    check_release(release_name)
    rel = release(release_name)
    schemas = OpenApiSchemas(rel)
    request_schemas: dict[str, Any] = {}
    paths: dict[str, Any] = {}
    for c in sorted(contracts.for_release(release_name), key=lambda c: c.path):
        paths.setdefault(c.path, {})[c.http_method.lower()] = _operation(c, release_name, schemas, request_schemas)
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
            "description": "Generated by `vsphere-harness contracts export-openapi` from the contract files. "
                           "Faults travel as HTTP 500 with the fault object as the body.",
        },
        "servers": [{
            "url": "https://{vcenter-host}/sdk/vim25/{release}",
            "variables": {
                "vcenter-host": {"default": "vcenter", "description": "The vCenter Server host name or address."},
                "release": {"default": release_name, "enum": [release_name],
                            "description": "The vSphere release schema."},
            },
        }],
        "security": [{"Session": []}],
        "tags": [{"name": t} for t in sorted({c.managed_type for c in contracts.for_release(release_name)})],
        "paths": paths,
        "components": {
            "schemas": components,
            "securitySchemes": {"Session": {
                "type": "apiKey", "in": "header", "name": SESSION_HEADER,
                "description": "The session id returned by SessionManager Login in the vmware-api-session-id "
                               "header.",
            }},
        },
    }
