"""Make drawn request bodies meet a contract's preconditions on request values.

A contract's curated ``semantics.preconditions`` (docs/semantics.md) may state predicates on a
request value: ``{param: spec.numCPUs, not_equals: 0}``, ``{param: ticketType, in: [mks, ...]}``,
``{param: config.name, present: true}``.  :func:`meeting_preconditions` wraps a strategy of request
bodies so that every body meets them: a value that breaks a predicate is replaced (drawn again,
or set), a missing value that must be present is drawn, and intermediate objects are created on the
way.  Preconditions on the target or on objects a parameter names are the sandbox's business.

A predicate on a value that is absent holds (``not_equals``, ``not_in``, ``in``, ``equals`` speak of
the value *when given*) unless it is ``present: true``; ``in`` and ``equals`` on a required parameter
always hold since the parameter is always given.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ..contract import semantics
from ..contract.model import Contract
from ..contract.semantics import MISSING, PREDICATES
from ..vmodl.codec import CodecError, codec
from ..vmodl.registry import TypeRef
from ..vmodl.values import DataObject
from .bodies import param_ref


def request_preconditions(contract: Contract, release: str) -> list[dict[str, Any]]:
    """The preconditions on request values of parameters that exist in ``release``."""
    names = {p.name for p in contract.params_for(release)}
    return [
        p
        for p in contract.preconditions
        if isinstance(p.get("param"), str)
        and p["param"].split(".")[0] in names
        and any(k in p for k in PREDICATES)
    ]


def request_meets(pre: dict[str, Any], found: bool, value: Any) -> bool:
    """Whether a precondition holds for a request value (``found``: the value is given)."""
    if not found and "present" not in pre:
        return True  # equals, in, ... speak of the value when given
    return semantics.holds(pre, value if found else MISSING)


def lookup(body: dict[str, Any], path: list[str]) -> tuple[bool, Any]:
    """(found, value) at a dotted path of a request body."""
    current: Any = body
    for part in path:
        if not isinstance(current, dict) or part not in current:
            return False, None
        current = current[part]
    return True, current


def meeting_preconditions(
    strategy: st.SearchStrategy[dict],
    contract: Contract,
    release: str,
    builder: Any,
    fixed: set[str] = frozenset(),
) -> st.SearchStrategy[dict]:
    """``strategy``'s bodies, changed where needed to meet the request preconditions.  Parameters in
    ``fixed`` (overrides chosen by the caller) are left alone."""
    pres = [p for p in request_preconditions(contract, release) if p["param"].split(".")[0] not in fixed]
    if not pres:
        return strategy
    declared = {p.name: param_ref(p) for p in contract.params_for(release)}
    c = codec(release)

    def fits(value: Any, ref: TypeRef) -> bool:
        try:
            c.encode(value, ref)
        except CodecError:
            return False
        return True

    @st.composite
    def meet(draw) -> dict:
        body = draw(strategy)
        for pre in pres:
            path = pre["param"].split(".")
            found, value = lookup(body, path)
            if request_meets(pre, found, value):
                continue
            if "present" in pre and not pre["present"]:
                _delete(body, path)
                continue
            refs = _types_along(builder, declared[path[0]], path, body)
            ref = refs[-1]
            if "equals" in pre:
                choice: st.SearchStrategy[Any] = st.just(pre["equals"])
            elif "in" in pre:
                allowed = [v for v in pre["in"] if fits(v, ref)]
                choice = st.sampled_from(allowed) if allowed else st.nothing()
            else:
                choice = builder.position(ref, len(path) - 1).filter(
                    lambda v, pre=pre: request_meets(pre, True, v)
                )
            _set(body, path, draw(choice), refs, builder, draw)
        return body

    return meet()


def _types_along(builder: Any, head: TypeRef, path: list[str], body: dict[str, Any]) -> list[TypeRef]:
    """The declared type of each step of ``path`` (the actual type of objects already drawn)."""
    rel = builder.rel
    refs = [head]
    current: Any = body.get(path[0])
    for part in path[1:]:
        ref = refs[-1]
        type_name = current.type_name if isinstance(current, DataObject) else ref.name
        field = next((f for f in rel.fields(type_name) if f.name == part), None)
        if field is None:
            raise KeyError(f"{'.'.join(path)}: {type_name} has no field {part!r} in release {rel.name}")
        refs.append(field.type)
        current = current.get(part) if isinstance(current, dict) else None
    return refs


def _set(body: dict[str, Any], path: list[str], value: Any, refs: list[TypeRef], builder: Any, draw) -> None:
    current: Any = body
    for depth, part in enumerate(path[:-1]):
        if not isinstance(current.get(part), dict):
            current[part] = draw(builder.data(refs[depth].name, depth + 1))
        current = current[part]
    current[path[-1]] = value


def _delete(body: dict[str, Any], path: list[str]) -> None:
    found, parent = lookup(body, path[:-1]) if len(path) > 1 else (True, body)
    if found and isinstance(parent, dict):
        parent.pop(path[-1], None)
