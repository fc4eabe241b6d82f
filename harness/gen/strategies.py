"""Hypothesis strategies for VMODL values and VI/JSON request bodies, built from the type registry.

``values(type_ref, release)`` draws Python values the codec encodes (``DataObject``, ``MoRef``,
``AnyValue``, primitives, aware datetimes, bytes) for any declared type of a release:

* a position whose declared type has subtypes draws among them (the declared type first, so that
  shrinking moves towards it);
* references come from a pool of real inventory objects by managed type (``morefs``), or are
  synthetic (``vm-17``) when no pool is given;
* enums from the release's values; byte/short/int/long within their ranges;
* sizes stay small: arrays hold at most 3 items, a data object draws a few optional fields (fewer
  the deeper it is), and past ``max_depth`` optional fields are omitted and required fields get
  minimal values (no optional fields, empty arrays, the declared type itself).

Strategies are composed from small per-(type, depth) strategies cached per (release, pool, depth
limit); fields are ``st.deferred`` so that only what is drawn is ever built.

``requests(contract, release, morefs=...)`` draws request bodies (parameter name -> value) valid
under the contract's parameters for the release; ``invalid_requests`` (in :mod:`.invalid`) draws
deliberately invalid ones.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from hypothesis import strategies as st

from ..contract.model import Contract
from ..vmodl.codec import INT_RANGES, array_type_name
from ..vmodl.registry import MOREF, PRIMITIVE_WIRE_NAMES, TypeRef, release
from ..vmodl.values import AnyValue, DataObject, MoRef
from ..vmodl.walk import Kind, TypeVisitor, as_ref, is_reference, name_kind, referable
from .bodies import encode_request, param_ref
from .preconditions import meeting_preconditions

__all__ = ["MAX_ARRAY", "OPTIONAL_BUDGET", "encode_request", "moref_prefix", "requests", "values"]

#: The most items an array holds.
MAX_ARRAY = 3
#: The most optional fields a data object draws, by depth (0 = the top-level value).
OPTIONAL_BUDGET = (6, 3, 2, 1)

MorefPool = Mapping[str, Sequence[MoRef]]

_TIMEZONES = (dt.UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)), dt.timezone(dt.timedelta(hours=-8)))
_PREFIXES = {
    "VirtualMachine": "vm",
    "HostSystem": "host",
    "Folder": "group",
    "Datastore": "datastore",
    "ResourcePool": "resgroup",
    "Network": "network",
    "Task": "task",
    "Datacenter": "datacenter",
    "ClusterComputeResource": "domain-c",
    "ComputeResource": "domain-s",
    "VirtualMachineSnapshot": "snapshot",
    "VirtualApp": "resgroup-v",
}


def moref_prefix(managed_type: str) -> str:
    """The moId prefix vCenter uses for a managed type (``vm``, ``host`` ...), for synthetic ids."""
    return _PREFIXES.get(managed_type, managed_type[0].lower() + managed_type[1:])


def _primitive(name: str) -> st.SearchStrategy[Any]:
    if name == "boolean":
        return st.booleans()
    if name in INT_RANGES:
        low, high = INT_RANGES[name]
        return st.integers(low, high)
    if name in ("float", "double"):
        return st.floats(allow_nan=False, allow_infinity=False, width=32 if name == "float" else 64)
    if name == "dateTime":
        return st.datetimes(
            min_value=dt.datetime(2000, 1, 1),
            max_value=dt.datetime(2100, 1, 1),
            timezones=st.sampled_from(_TIMEZONES),
        )
    if name == "base64Binary":
        return st.binary(max_size=8)
    # string, anyURI: any text JSON can carry (no lone surrogates)
    return st.text(st.characters(codec="utf-8"), max_size=8)


_PRIMITIVES = {name: _primitive(name) for name in sorted(PRIMITIVE_WIRE_NAMES)}


@st.composite
def _data_object(draw, name: str, required: tuple, optional: tuple, budget: int) -> DataObject:
    """A data object of type ``name``: every required field, and at most ``budget`` optional ones."""
    out = {fname: draw(strategy) for fname, strategy in required}
    if budget:
        chosen = draw(st.lists(st.integers(0, len(optional) - 1), unique=True, max_size=budget))
        for i in sorted(chosen):
            fname, strategy = optional[i]
            out[fname] = draw(strategy)
    return DataObject(name, **out)


class _Builder(TypeVisitor):
    """Builds and caches the strategies of one release, pool and depth limit; the ``visit_<kind>``
    methods take ``(type, depth)``."""

    def __init__(
        self, release_name: str, morefs: tuple[tuple[str, tuple[MoRef, ...]], ...] | None, max_depth: int
    ):
        super().__init__(release(release_name))
        self.rel = self.release
        self.pool: dict[str, tuple[MoRef, ...]] | None = dict(morefs) if morefs is not None else None
        self.max_depth = max_depth
        self._cache: dict[tuple[str, int], st.SearchStrategy[Any]] = {}

    def _cached(self, key: tuple[str, int], build: Callable[[], st.SearchStrategy[Any]]):
        strategy = self._cache.get(key)
        if strategy is None:
            strategy = self._cache[key] = build()
        return strategy

    # positions ------------------------------------------------------------------------------
    def position(self, ref: TypeRef, depth: int) -> st.SearchStrategy[Any]:
        """Values of a position of declared type ``ref`` at nesting ``depth``."""
        return self.visit(ref, min(depth, self.max_depth))

    def one(self, name: str, depth: int) -> st.SearchStrategy[Any]:
        """Values of a (non-array) type name at nesting ``depth``."""
        return self.method(name)(name, min(depth, self.max_depth))

    def visit_array(self, ref: TypeRef, depth: int) -> st.SearchStrategy[Any]:
        one = self.one(ref.name, depth)
        if depth >= self.max_depth:
            return st.just([])  # past the depth limit arrays are empty (keeps values small and fast)
        return st.lists(one, max_size=MAX_ARRAY)

    def visit_primitive(self, name: str, depth: int) -> st.SearchStrategy[Any]:
        return _PRIMITIVES[name]

    def visit_enum(self, name: str, depth: int) -> st.SearchStrategy[Any]:
        return self._cached((name, -1), lambda: st.sampled_from(self.rel.enums[name].values))

    def visit_reference(self, name: str, depth: int) -> st.SearchStrategy[Any]:
        return self._cached((name, -1), lambda: self._moref(name))

    visit_managed = visit_reference  # the candidates differ (managed_candidates), not the strategy

    def visit_any(self, name: str, depth: int) -> st.SearchStrategy[Any]:
        return self._cached(("anyType", depth), lambda: self._any(depth))

    def visit_data(self, name: str, depth: int) -> st.SearchStrategy[Any]:
        return self._cached((name, depth), lambda: self._poly(name, depth))

    # kinds ----------------------------------------------------------------------------------
    def managed_candidates(self, name: str) -> list[str]:
        """The managed types a reference in a position of type ``name`` may name (never the abstract
        root ``ManagedObject``: no server hands out a reference of that type)."""
        return referable(self.rel, name, abstract=False) or [name]

    def pool_for(self, name: str) -> list[MoRef]:
        """The real objects a reference to ``name`` may point to (empty without a pool)."""
        if self.pool is None:
            return []
        out: list[MoRef] = []
        for t in self.managed_candidates(name):
            out.extend(self.pool.get(t, ()))
        return sorted(set(out))

    def _moref(self, name: str) -> st.SearchStrategy[MoRef]:
        pool = self.pool_for(name)
        if pool:
            return st.sampled_from(pool)
        candidates = self.managed_candidates(name)
        if name in candidates:  # the declared type first: shrinking moves towards it
            candidates = [name] + [c for c in candidates if c != name]
        return st.tuples(st.sampled_from(candidates), st.integers(1, 999)).map(
            lambda tn: MoRef(tn[0], f"{moref_prefix(tn[0])}-{tn[1]}")
        )

    def _poly(self, name: str, depth: int) -> st.SearchStrategy[DataObject]:
        subtypes = self.rel.subtypes(name)
        if len(subtypes) == 1 or depth >= self.max_depth:
            return self.data(name, depth)
        ordered = [name] + [s for s in subtypes if s != name]
        return st.sampled_from(ordered).flatmap(lambda s: self.data(s, depth))

    def data(self, name: str, depth: int) -> st.SearchStrategy[DataObject]:
        """Objects of exactly the data type ``name``."""
        return self._cached((f"data:{name}", depth), lambda: self._data(name, depth))

    def _data(self, name: str, depth: int) -> st.SearchStrategy[DataObject]:
        fields = self.rel.fields(name)
        required = [(f.name, self._lazy(f.type, depth + 1)) for f in fields if not f.optional]
        optional: list[tuple[str, st.SearchStrategy[Any]]] = []
        budget = OPTIONAL_BUDGET[min(depth, len(OPTIONAL_BUDGET) - 1)]
        if depth < self.max_depth:
            optional = [
                (f.name, self._lazy(f.type, depth + 1))
                for f in fields
                if f.optional and self.drawable(f.type)
            ]
        budget = min(budget, len(optional))

        return _data_object(name, tuple(required), tuple(optional), budget)

    def _lazy(self, ref: TypeRef, depth: int) -> st.SearchStrategy[Any]:
        """The strategy of a field, built only when first drawn (types refer to each other)."""
        if name_kind(self.rel, ref.name) in (Kind.PRIMITIVE, Kind.ENUM):
            return self.position(ref, depth)
        return st.deferred(lambda: self.position(ref, depth))

    def drawable(self, ref: TypeRef) -> bool:
        """Whether an optional field of type ``ref`` is worth drawing: with a pool of real
        objects, a reference nothing in the pool can fill is left out."""
        if self.pool is None or not is_reference(self.rel, ref.name):
            return True
        return bool(self.pool_for(ref.name))

    def _any(self, depth: int) -> st.SearchStrategy[Any]:
        """A value in an anyType position: a wrapped primitive, enum or array, a reference, or
        (above the depth limit) a data object of any type."""
        prims = sorted(_PRIMITIVES)
        enums = sorted(self.rel.enums)
        choices: list[st.SearchStrategy[Any]] = [
            st.sampled_from(prims).flatmap(lambda p: _PRIMITIVES[p].map(lambda v: AnyValue(p, v))),
            st.sampled_from(prims).flatmap(
                lambda p: st.lists(_PRIMITIVES[p], max_size=MAX_ARRAY).map(
                    lambda v: AnyValue(array_type_name(p), v)
                )
            ),
            st.sampled_from(enums).flatmap(lambda e: self.one(e, depth).map(lambda v: AnyValue(e, v))),
            self.one(MOREF, depth),
            st.lists(self.one(MOREF, depth), max_size=MAX_ARRAY).map(
                lambda v: AnyValue(array_type_name(MOREF), v)
            ),
        ]
        if depth < self.max_depth:
            data = sorted(self.rel.data)
            choices.append(st.sampled_from(data).flatmap(lambda t: self.data(t, depth + 1)))
            choices.append(
                st.sampled_from(data).flatmap(
                    lambda t: st.lists(self.data(t, depth + 1), max_size=2).map(
                        lambda v: AnyValue(array_type_name(t), v)
                    )
                )
            )
            choices.append(
                st.lists(st.deferred(lambda: self.one("anyType", depth + 1)), max_size=2).map(
                    lambda v: AnyValue(array_type_name("anyType"), v)
                )
            )
        return st.one_of(choices)


def _pool_key(morefs: MorefPool | None) -> tuple[tuple[str, tuple[MoRef, ...]], ...] | None:
    if morefs is None:
        return None
    return tuple(sorted((t, tuple(sorted(set(refs)))) for t, refs in morefs.items()))


@functools.lru_cache(maxsize=64)
def _builder(release_name: str, pool: tuple | None, max_depth: int) -> _Builder:
    return _Builder(release_name, pool, max_depth)


def builder(release_name: str, morefs: MorefPool | None = None, max_depth: int = 3) -> _Builder:
    """The (cached) strategy builder of a release, reference pool and depth limit."""
    return _builder(release_name, _pool_key(morefs), max_depth)


def values(
    type_ref: TypeRef | str, release: str, *, morefs: MorefPool | None = None, max_depth: int = 3
) -> st.SearchStrategy[Any]:
    """Python values of a declared type (``"VirtualMachineConfigSpec"``, ``"string[]"``,
    ``"VirtualMachine"`` for a reference) in a release, ready for the codec."""
    ref = as_ref(type_ref)
    b = builder(release, morefs, max_depth)
    name_kind(b.rel, ref.name)  # KeyError for a type the release does not have
    return b.position(ref, 0)


def requests(
    contract: Contract,
    release: str,
    *,
    morefs: MorefPool | None = None,
    overrides: Mapping[str, Any] | None = None,
    max_depth: int = 3,
    preconditions: bool = True,
) -> st.SearchStrategy[dict]:
    """Request bodies (parameter name -> Python value) valid under the contract's parameters for
    ``release``.  ``overrides`` fixes some parameters (a value of ``None`` leaves one out); with a
    pool of real objects, an optional reference parameter nothing in the pool can fill is left out.
    With ``preconditions`` the bodies meet the contract's preconditions on request values
    (:mod:`.preconditions`); preconditions on the target are the caller's to meet.
    """
    if not contract.in_release(release):
        raise ValueError(f"{contract.id} does not exist in release {release}")
    params = contract.params_for(release)
    overrides = dict(overrides or {})
    unknown = set(overrides) - {p.name for p in params}
    if unknown:
        raise ValueError(f"{contract.id} has no parameter {', '.join(sorted(unknown))} in release {release}")
    b = builder(release, morefs, max_depth)
    required: dict[str, st.SearchStrategy[Any]] = {}
    optional: dict[str, st.SearchStrategy[Any]] = {}
    for p in params:
        if p.name in overrides:
            if overrides[p.name] is not None:
                required[p.name] = st.just(overrides[p.name])
            continue
        ref = param_ref(p)
        if p.required:
            required[p.name] = b.position(ref, 0)
        elif b.drawable(ref):
            optional[p.name] = b.position(ref, 0)
    bodies = st.fixed_dictionaries(required, optional=optional)
    if preconditions:
        bodies = meeting_preconditions(bodies, contract, release, b, fixed=set(overrides))
    return bodies
