"""The operation tables: every operation of every release, precomputed from the contracts."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from ..contract import Contract
from ..contract.model import from_mapping
from ..vmodl.registry import RELEASES, TypeRef, release
from .props import INVENTORY_PROPERTIES

Key = tuple[str, str]  # (managed type, method or property name)


@dataclass
class OpSpec:
    """An operation of one release, precomputed for the hot path."""

    contract: Contract
    release: str
    params: list[tuple[str, TypeRef, bool]]  # name, declared type, required
    response: TypeRef | None
    declared_faults: tuple[str, ...]


@dataclass
class OpTables:
    """The operations by release, the newest release's spec of each, and every privilege they need."""

    by_release: dict[str, dict[Key, OpSpec]] = field(default_factory=lambda: {r: {} for r in RELEASES})
    newest: dict[Key, OpSpec] = field(default_factory=dict)
    privileges: set[str] = field(default_factory=set)


def build_tables(contracts: Iterable[Contract]) -> OpTables:
    """The tables of ``contracts``, plus the inventory properties no contract file covers."""
    out = OpTables()
    for c in contracts:
        out.privileges.update(c.privileges)
        for cond in c.conditional_privileges:
            out.privileges.update(cond.privileges)
        for r in c.releases:
            spec = op_spec(c, r)
            out.by_release[r][(c.managed_type, c.name)] = spec
            out.newest[(c.managed_type, c.name)] = spec
    for type_name, prop in INVENTORY_PROPERTIES:
        if (type_name, prop) in out.newest:
            continue
        for r in RELEASES:
            spec = op_spec(inventory_contract(type_name, prop), r)
            out.by_release[r][(type_name, prop)] = spec
            out.newest[(type_name, prop)] = spec
    return out


def op_spec(c: Contract, r: str) -> OpSpec:
    """``c`` at release ``r``: its parameters' and response's types, its declared faults."""
    params = [
        (
            p.name,
            _ref(
                (p.moref or p.type) + ("[]" if p.type.endswith("[]") and p.moref else "")
                if p.moref
                else p.type
            ),
            p.required,
        )
        for p in c.params_for(r)
    ]
    if c.kind == "property":
        response: TypeRef | None = release(r).property(c.managed_type, c.name).type
    elif c.is_task:
        response = TypeRef("Task")
    elif c.response_type:
        response = release(r).method(c.managed_type, c.name).returns
    else:
        response = None
    return OpSpec(c, r, params, response, tuple(c.faults_for(r)))


def inventory_contract(type_name: str, prop: str) -> Contract:
    """A contract for an inventory property the contract files do not cover (System.View)."""
    return from_mapping(
        {
            "id": f"{type_name}_get{prop[0].upper()}{prop[1:]}",
            "kind": "property",
            "managed_type": type_name,
            "name": prop,
            "http": {"method": "GET", "path": f"/{type_name}/{{moId}}/{prop}"},
            "releases": list(RELEASES),
            "response": {"status": 200, "type": str(release(RELEASES[0]).property(type_name, prop).type)},
            "privileges": {"source": "simulator", "required": ["System.View"]},
            "support": True,
            "semantics": {"read_only": True},
        }
    )


def _ref(type_str: str) -> TypeRef:
    return TypeRef(type_str[:-2], True) if type_str.endswith("[]") else TypeRef(type_str)
