"""Request bodies of a contract: the declared type of each parameter, encoding and decoding with the
one codec, and the JSON Schema of a ``<Method>RequestType`` body (request mode: ``_typeName`` may be
left out where the declared type has no subtypes)."""

from __future__ import annotations

from typing import Any

import jsonschema_rs

from ..contract.model import Contract, Param
from ..vmodl.codec import CodecError, codec
from ..vmodl.registry import TypeRef, release
from ..vmodl.schema import SchemaBuilder

__all__ = [
    "RequestValidator",
    "decode_request",
    "encode_request",
    "param_ref",
    "request_schema",
    "request_validator",
]


def param_ref(param: Param) -> TypeRef:
    """The declared type of a parameter; a reference parameter is typed by the managed type it
    must point to (``VirtualMachine``), so that the codec and the schema restrict it."""
    array = param.type.endswith("[]")
    name = param.type[:-2] if array else param.type
    return TypeRef(param.moref or name, array)


def encode_request(contract: Contract, release_name: str, params: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON body for ``params`` (parameter name -> Python value), via the codec; ``None`` when the
    operation takes no parameters in the release.  Raises :class:`CodecError` for a value that does
    not fit, an unknown or a missing required parameter."""
    declared = {p.name: p for p in contract.params_for(release_name)}
    if not declared:
        if params:
            raise CodecError(next(iter(params)), f"{contract.name} takes no parameters")
        return None
    c = codec(release_name)
    body: dict[str, Any] = {}
    for name, value in params.items():
        if name not in declared:
            raise CodecError(name, f"{contract.name} has no parameter {name!r} in release {release_name}")
        if value is not None:
            body[name] = c.encode(value, param_ref(declared[name]), name)
    for p in declared.values():
        if p.required and p.name not in body:
            raise CodecError(p.name, f"required parameter of {contract.name} is missing")
    return body


def decode_request(contract: Contract, release_name: str, body: Any, strict: bool = True) -> dict[str, Any]:
    """The parameters (name -> Python value) of a JSON request body; :class:`CodecError` says
    what is wrong with a body that does not fit the operation."""
    declared = {p.name: p for p in contract.params_for(release_name)}
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise CodecError("", f"a request body is a JSON object, got {type(body).__name__}")
    c = codec(release_name)
    out: dict[str, Any] = {}
    for name, raw in body.items():
        if name not in declared:
            raise CodecError(name, f"{contract.name} has no parameter {name!r} in release {release_name}")
        if raw is not None:
            out[name] = c.decode(raw, param_ref(declared[name]), name, strict)
    for p in declared.values():
        if p.required and p.name not in out:
            raise CodecError(p.name, f"required parameter of {contract.name} is missing")
    return out


def request_schema(contract: Contract, release_name: str) -> dict[str, Any]:
    """The JSON Schema (2020-12) of the operation's request body in a release."""
    builder = SchemaBuilder(release(release_name), request=True)
    params = contract.params_for(release_name)
    props = {p.name: builder.position(param_ref(p)) for p in params}
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "type": "object",
        "properties": props,
        "required": [p.name for p in params if p.required],
        "additionalProperties": False,
        "$defs": builder.defs,
    }


class RequestValidator:
    """A compiled validator of one operation's request bodies."""

    def __init__(self, contract: Contract, release_name: str):
        self.schema = request_schema(contract, release_name)
        self._compiled = jsonschema_rs.validator_for(self.schema)

    def is_valid(self, body: Any) -> bool:
        return self._compiled.is_valid({} if body is None else body)

    def errors(self, body: Any, limit: int = 5) -> list[str]:
        out = []
        for error in self._compiled.iter_errors({} if body is None else body):
            where = "/".join(str(p) for p in error.instance_path) or "<root>"
            out.append(f"{where}: {error.message}")
            if len(out) >= limit:
                break
        return out


_VALIDATORS: dict[tuple[str, str | None, str], RequestValidator] = {}


def request_validator(contract: Contract, release_name: str) -> RequestValidator:
    """The cached request-body validator of an operation in a release."""
    key = (contract.id, contract.source_file, release_name)
    if key not in _VALIDATORS:
        _VALIDATORS[key] = RequestValidator(contract, release_name)
    return _VALIDATORS[key]
