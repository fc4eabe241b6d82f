"""Decoding a request's parameters, and checking that the references in them name objects."""

from __future__ import annotations

import json
from typing import Any

from ..vmodl.codec import CodecError, codec
from ..vmodl.registry import release
from ..vmodl.values import DataObject, MoRef
from .faults import SimFault, invalid_argument, invalid_request, not_found_object
from .model import Inventory
from .optable import OpSpec


def decode_params(spec: OpSpec, body: bytes, inv: Inventory) -> dict[str, Any]:
    """The parameters of ``body`` decoded with the codec (strict); a top-level reference must
    resolve (ManagedObjectNotFound), an unknown or missing parameter is an InvalidArgument."""
    if not body.strip():
        data: Any = {}
    else:
        try:
            data = json.loads(body)
        except (ValueError, UnicodeDecodeError) as exc:
            raise invalid_request(f"the request body is not valid JSON: {str(exc)[:120]}") from None
    if not isinstance(data, dict):
        raise invalid_request("the request body must be a JSON object of parameters")
    c = codec(spec.release)
    known = {p[0] for p in spec.params}
    for key in data:
        if key not in known and key != "_typeName":
            raise invalid_argument(key[:100], f"{spec.contract.request_type} has no parameter {key[:100]!r}")
    out: dict[str, Any] = {}
    for pname, ptype, required in spec.params:
        raw = data.get(pname)
        if raw is None:
            if required:
                raise invalid_argument(pname, f"the required parameter {pname!r} is missing")
            continue
        try:
            out[pname] = c.decode(raw, ptype, pname, strict=True)
        except CodecError as exc:
            raise invalid_argument(exc.path or pname, f"invalid parameter: {exc}") from None
        _check_refs(inv, out[pname], pname)
    return out


def _check_refs(inv: Inventory, value: Any, path: str) -> None:
    if isinstance(value, MoRef):
        if not resolves(inv, value):
            raise not_found_object(value)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_refs(inv, v, f"{path}[{i}]")


def resolves(inv: Inventory, ref: MoRef) -> bool:
    """Whether ``ref`` names an object of its type (or a subtype) in ``inv``."""
    obj = inv.get(ref.value)
    return obj is not None and (
        obj.type_name == ref.type
        or ref.type == "ManagedEntity"
        or release("9.1.0.0").is_subtype(obj.type_name, ref.type)
    )


def nested_missing(params: dict[str, Any], inv: Inventory) -> SimFault | None:
    """ManagedObjectNotFound (reported by the task, ``sync=False``) for the first reference inside a
    data object of the parameters that names no object (top-level references are checked by
    :func:`decode_params`)."""
    stack: list[tuple[Any, str, bool]] = [(v, k, False) for k, v in reversed(params.items())]
    while stack:
        value, path, nested = stack.pop()
        if isinstance(value, MoRef):
            if nested and not resolves(inv, value):
                return SimFault(
                    "ManagedObjectNotFound",
                    f"{path}: the object '{value.type}:{value.value}' "
                    "has already been deleted or has not been completely created",
                    sync=False,
                    obj=value,
                )
        elif isinstance(value, DataObject):
            stack.extend((v, f"{path}.{k}", True) for k, v in reversed(value.items()))
        elif isinstance(value, list):
            stack.extend((v, f"{path}[{i}]", nested) for i, v in reversed(list(enumerate(value))))
    return None
