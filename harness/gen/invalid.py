"""Deliberately invalid request bodies, each labelled with what is wrong with it.

``invalid_requests(contract, release, morefs=...)`` draws a valid body (:func:`.strategies.requests`),
encodes it, then breaks it in one place.  The breakage is chosen among those the operation and the
drawn body allow:

* ``missing_required`` — a required parameter is left out;
* ``missing_required_field`` — a required field of a data object is left out;
* ``wrong_json_type`` — a value of the wrong JSON type, or a body that is no JSON object;
* ``unknown_param`` — a parameter the operation does not have;
* ``bad_enum`` — a string that is not a value of the enum;
* ``int_out_of_range`` — an integer outside the range of its type (byte, short, int, long);
* ``wrong_moref_type`` — a reference to an object of the wrong managed type;
* ``bad_typename`` — ``_typeName`` naming a type that is no subtype of the declared one;
* ``malformed_json`` — text that is not JSON (detectable: ``json``);
* ``missing_moref`` — a reference of the right type to an object that does not exist
  (detectable: ``inventory``).

Every other kind is detectable by ``schema``: the request schema and the codec both reject it.
``json``: it does not parse; ``inventory``: it is well formed, and only an endpoint knows that the
object does not exist.  Each kind is drawn as often as the others, whatever the number of places
that offer it.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Collection, Iterator
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from ..contract.model import Contract
from ..vmodl.codec import INT_RANGES
from ..vmodl.registry import MANAGED_ROOT, MOREF, PRIMITIVE_WIRE_NAMES, TypeRef, release
from ..vmodl.values import MoRef
from ..vmodl.walk import UNTYPED_REFERENCES
from .bodies import encode_request, param_ref
from .strategies import MorefPool, builder, moref_prefix, requests

__all__ = ["INVALID_KINDS", "InvalidBody", "applicable_kinds", "invalid_requests", "positions"]

INVALID_KINDS = (
    "missing_required",
    "missing_required_field",
    "wrong_json_type",
    "unknown_param",
    "bad_enum",
    "int_out_of_range",
    "wrong_moref_type",
    "bad_typename",
    "malformed_json",
    "missing_moref",
)
UNKNOWN_PARAM = "harnessUnknownParameter"
BAD_ENUM_VALUE = "harnessNotAnEnumValue"
MISSING_ID = "harness-missing-object"
# Unrelated data and managed types used to break _typeName and references (first that fits wins).
_FOREIGN_DATA = ("AboutInfo", "ServiceContent", "Description", "TaskInfo")
_FOREIGN_MANAGED = ("HostSystem", "Datastore", "Folder", "VirtualMachine", "Network")


@dataclass(frozen=True)
class InvalidBody:
    """A request body that breaks the contract in one place.

    ``label`` completes a sentence such as "the endpoint accepted …": ``a body with a missing
    required parameter `vm```.  ``body`` is the raw text to send (UTF-8 JSON, or not JSON at all).
    """

    kind: str
    label: str
    body: bytes
    path: str = ""
    detectable: str = "schema"  # "schema", "json" or "inventory"

    @property
    def json(self) -> Any:
        """The parsed body; ``None`` for malformed JSON."""
        if self.detectable == "json":
            return None
        return json.loads(self.body)


Path = tuple[str | int, ...]


@dataclass(frozen=True)
class _Mutation:
    kind: str
    path: Path
    label: str
    apply: Callable[[Any], Any]  # old value -> new value; ``_DELETE`` removes the key
    detectable: str = "schema"


_DELETE = object()


def _show(path: Path) -> str:
    out = ""
    for p in path:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out


def positions(
    release_name: str, declared: TypeRef, value: Any, path: Path = ()
) -> Iterator[tuple[Path, TypeRef, Any]]:
    """Every position of an encoded JSON value, with its declared type: the value itself, array
    items, and the fields of data objects (values inside ``anyType`` are not entered)."""
    rel = release(release_name)
    yield path, declared, value
    if declared.array:
        if isinstance(value, list):
            for i, item in enumerate(value):
                yield from positions(release_name, declared.item, item, (*path, i))
        return
    if declared.name not in rel.data or not isinstance(value, dict):
        return
    actual = value.get("_typeName", declared.name)
    if actual not in rel.data:
        return
    for f in rel.fields(actual):
        if f.name in value:
            yield from positions(release_name, f.type, value[f.name], (*path, f.name))


def _mutations(
    contract: Contract, release_name: str, body: dict[str, Any], pool: MorefPool | None
) -> list[_Mutation]:
    rel = release(release_name)
    params = {p.name: p for p in contract.params_for(release_name)}
    known = builder(release_name, pool)
    out: list[_Mutation] = []

    # the body as a whole
    out.append(
        _Mutation(
            "unknown_param",
            (UNKNOWN_PARAM,),
            f"a body with an unknown parameter `{UNKNOWN_PARAM}`",
            lambda _: 1,
        )
    )
    out.append(
        _Mutation("wrong_json_type", (), "a body that is a JSON array, not an object", lambda _: [body])
    )
    out.append(
        _Mutation(
            "malformed_json", (), "a body that is not JSON (truncated text)", lambda v: v, detectable="json"
        )
    )
    for p in params.values():
        if p.required and p.name in body:
            out.append(
                _Mutation(
                    "missing_required",
                    (p.name,),
                    f"a body with a missing required parameter `{p.name}`",
                    lambda _: _DELETE,
                )
            )

    # every position of the drawn body, plus each absent parameter at its top level
    spots: list[tuple[Path, TypeRef, Any]] = []
    for name, p in params.items():
        ref = param_ref(p)
        if name in body:
            spots.extend(positions(release_name, ref, body[name], (name,)))
        else:
            spots.append(((name,), ref, None))

    for path, ref, value in spots:
        where = _show(path)
        name = ref.name
        out.append(
            _Mutation(
                "wrong_json_type",
                path,
                f"a body with `{where}` of the wrong JSON type (expected {ref})",
                lambda _, r=ref: _wrong_json_value(rel, r),
            )
        )
        if ref.array:
            continue
        if name in rel.enums:
            out.append(
                _Mutation(
                    "bad_enum",
                    path,
                    f"a body with `{where}` set to `{BAD_ENUM_VALUE}`, not a value of enum {name}",
                    lambda _: BAD_ENUM_VALUE,
                )
            )
        elif name in INT_RANGES:
            high = INT_RANGES[name][1] + 1
            out.append(
                _Mutation(
                    "int_out_of_range",
                    path,
                    f"a body with `{where}` = {high}, out of the range of {name}",
                    lambda _, h=high: h,
                )
            )
        elif name in rel.managed:
            wrong = _foreign_managed(rel, name, known)
            if wrong is not None:
                out.append(
                    _Mutation(
                        "wrong_moref_type",
                        path,
                        f"a body with `{where}` referring to a {wrong.type} where a {name} is required",
                        lambda _, w=wrong: _moref(w),
                    )
                )
            if name != MANAGED_ROOT:
                missing = f"{moref_prefix(name)}-{MISSING_ID}"
                out.append(
                    _Mutation(
                        "missing_moref",
                        path,
                        f"a body with `{where}` referring to a nonexistent {name} `{missing}`",
                        lambda _, n=name, m=missing: _moref_json(n, m),
                        detectable="inventory",
                    )
                )
        elif name in rel.data:
            foreign = next((t for t in _FOREIGN_DATA if t in rel.data and not rel.is_subtype(t, name)), None)
            if foreign is not None:
                out.append(
                    _Mutation(
                        "bad_typename",
                        path,
                        f"a body with `{where}._typeName` = `{foreign}`, which is no {name}",
                        lambda v, f=foreign: {**(v if isinstance(v, dict) else {}), "_typeName": f},
                    )
                )
            if isinstance(value, dict):
                actual = value.get("_typeName", name)
                for f in rel.fields(actual) if actual in rel.data else ():
                    if not f.optional and f.name in value:
                        label = f"a body without `{where}.{f.name}`, a required field of {actual}"
                        out.append(
                            _Mutation("missing_required_field", (*path, f.name), label, lambda _: _DELETE)
                        )
    return out


def _wrong_json_value(rel, ref: TypeRef) -> Any:
    if ref.array:
        return "not-an-array"
    name = ref.name
    if name in INT_RANGES:
        return "17"
    if name in ("float", "double"):
        return "1.5"
    if name == "boolean":
        return "true"
    if name in PRIMITIVE_WIRE_NAMES or name in rel.enums:  # string, anyURI, dateTime, base64Binary
        return 17
    return "not-an-object"  # data objects, references, anyType


def _foreign_managed(rel, name: str, known) -> MoRef | None:
    """A reference to an object whose type is no ``name``: a real one from the pool when there is
    one, else a synthetic one."""
    if name in UNTYPED_REFERENCES:
        return None
    for t in _FOREIGN_MANAGED:
        if t in rel.managed and not rel.is_subtype(t, name):
            pool = known.pool_for(t)
            if pool:
                return pool[0]
            return MoRef(t, f"{moref_prefix(t)}-1")
    return None


def _moref(ref: MoRef) -> dict[str, str]:
    return _moref_json(ref.type, ref.value)


def _moref_json(managed_type: str, value: str) -> dict[str, str]:
    return {"_typeName": MOREF, "type": managed_type, "value": value}


def _apply(body: dict[str, Any], mutation: _Mutation) -> Any:
    if not mutation.path:
        return mutation.apply(body)
    out = copy.deepcopy(body)
    target: Any = out
    for step in mutation.path[:-1]:
        target = target[step]
    last = mutation.path[-1]
    old = target[last] if (isinstance(target, list) or last in target) else None
    new = mutation.apply(old)
    if new is _DELETE:
        del target[last]
    else:
        target[last] = new
    return out


def _render(kind_body: Any, mutation: _Mutation) -> bytes:
    text = json.dumps(kind_body, separators=(",", ":"), ensure_ascii=False)
    if mutation.detectable == "json":
        text = text[:-1]  # an object without its closing brace
    return text.encode("utf-8")


def invalid_requests(
    contract: Contract,
    release: str,
    *,
    morefs: MorefPool | None = None,
    kinds: Collection[str] | None = None,
    max_depth: int = 2,
) -> st.SearchStrategy[InvalidBody]:
    """Invalid request bodies for an operation, each broken in one labelled place.

    ``kinds`` restricts the breakages (see :data:`INVALID_KINDS`); a body offering none of them is
    rejected, so ask only for kinds the operation can have.
    """
    if contract.kind != "method":
        raise ValueError(f"{contract.id} is a property read: it takes no request body")
    wanted = set(kinds) if kinds is not None else set(INVALID_KINDS)
    unknown = wanted - set(INVALID_KINDS)
    if unknown:
        raise ValueError(f"unknown invalid-body kinds: {', '.join(sorted(unknown))}")
    valid = requests(contract, release, morefs=morefs, max_depth=max_depth)

    @st.composite
    def build(draw) -> InvalidBody:
        params = draw(valid)
        body = encode_request(contract, release, params) or {}
        candidates = [m for m in _mutations(contract, release, body, morefs) if m.kind in wanted]
        offered = [k for k in INVALID_KINDS if any(m.kind == k for m in candidates)]
        if not offered:
            draw(st.nothing())
        kind = draw(st.sampled_from(offered))  # each kind as likely, however many places offer it
        mutation = draw(st.sampled_from([m for m in candidates if m.kind == kind]))
        broken = _apply(body, mutation)
        return InvalidBody(
            mutation.kind,
            mutation.label,
            _render(broken, mutation),
            _show(mutation.path),
            mutation.detectable,
        )

    return build()


def applicable_kinds(contract: Contract, release_name: str) -> set[str]:
    """The kinds of invalid body an operation always offers (whatever valid body is drawn)."""
    kinds = {"unknown_param", "wrong_json_type", "malformed_json"}
    empty = _mutations(contract, release_name, {}, None)
    kinds |= {m.kind for m in empty}
    if any(p.required for p in contract.params_for(release_name)):
        kinds.add("missing_required")
    return kinds
