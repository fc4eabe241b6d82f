"""Planning: which checks run on which operations (contracts of the release x registered checks)."""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ..checks.base import CheckSpec, registered
from ..contract.model import Contract
from ..contract.store import ContractError, ContractSet, load_contracts
from ..vmodl.registry import RELEASES
from .options import RunOptions, Shard, UsageError, valid_shard

#: Checks that also run on operations the release does NOT have (they test that it refuses them).
ABSENT_OPERATION_CHECKS = ("versions",)


@dataclass(frozen=True)
class PlanItem:
    contract: Contract
    checks: tuple[CheckSpec, ...]
    present: bool = True  # False: the operation is absent from the release (only ABSENT_OPERATION_CHECKS)

    @property
    def id(self) -> str:
        return self.contract.id


@dataclass(frozen=True)
class Plan:
    release: str
    items: tuple[PlanItem, ...]
    shard: Shard | None = None  # (I, N) when the plan is the I-th of N parts

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):
        return iter(self.items)

    @property
    def pairs(self) -> int:
        return sum(len(i.checks) for i in self.items)


def select_checks(registry: dict[str, CheckSpec], names: tuple[str, ...] | list[str]) -> list[CheckSpec]:
    """The checks named (comma-separated names allowed), in registry order; unknown names are usage errors."""
    wanted = [n.strip() for part in names for n in part.split(",") if n.strip()]
    unknown = [n for n in wanted if n not in registry]
    if unknown:
        known = ", ".join(registry) or "none registered"
        raise UsageError(f"unknown check(s) {', '.join(unknown)}; known: {known}")
    return [spec for name, spec in registry.items() if not wanted or name in wanted]


def shard_pairs(pairs: Iterable[tuple[str, str]], n: int) -> dict[tuple[str, str], int]:
    """The shard (1..n) of each (operation id, check) pair: round-robin over the pairs sorted by
    (check, operation id).  Deterministic for the same pairs, independent of order and timing;
    shards differ by at most one pair, in total and for every check (so costly checks spread evenly)."""
    ordered = sorted(set(pairs), key=lambda p: (p[1], p[0]))
    return {pair: k % n + 1 for k, pair in enumerate(ordered)}


def select_shard(items: Iterable[PlanItem], shard: Shard) -> tuple[PlanItem, ...]:
    """The items (in plan order) with only the checks of ``shard``; items left without one are dropped."""
    items = tuple(items)
    index, n = shard
    owner = shard_pairs(((i.id, s.name) for i in items for s in i.checks), n)
    out = (replace(i, checks=tuple(s for s in i.checks if owner[i.id, s.name] == index)) for i in items)
    return tuple(i for i in out if i.checks)


def make_plan(
    options: RunOptions, registry: dict[str, CheckSpec] | None = None, contracts: ContractSet | None = None
) -> Plan:
    """Contracts of ``options.release`` (filtered by ``--operations``) x applicable checks.

    Without ``--operations`` the plan covers every VirtualMachine operation; with it, every contract
    whose id matches a glob (support operations included).  Operations of other releases that this
    one lacks get the :data:`ABSENT_OPERATION_CHECKS`.  ``--read-only`` keeps only operations and
    checks that change nothing.  ``--shard I/N`` keeps the pairs of shard I (:func:`shard_pairs`).
    """
    if options.release not in RELEASES:
        raise UsageError(f"unknown release {options.release!r}; known: {', '.join(RELEASES)}")
    if (
        isinstance(options.inventory_sample, bool)
        or not isinstance(options.inventory_sample, int)
        or options.inventory_sample < 0
    ):
        raise UsageError(
            f"inventory sample must be a whole number from 0 on, not {options.inventory_sample!r}"
        )
    if options.shard is not None and not valid_shard(options.shard):
        raise UsageError(f"shard must be (I, N) with 1 <= I <= N, not {options.shard!r}")
    if registry is None:
        registry = registered()
    try:
        contracts = contracts or load_contracts()
    except ContractError as exc:
        raise UsageError(str(exc)) from None
    specs = select_checks(registry, options.checks)
    if options.read_only:
        specs = [s for s in specs if not s.changes_state]

    patterns = list(options.operations)
    present = contracts.select(options.release, patterns, include_support=bool(patterns))
    present_ids = {c.id for c in present}

    def wanted(c: Contract) -> bool:
        if patterns:
            return any(fnmatch.fnmatchcase(c.id, p) for p in patterns)
        return c.managed_type == "VirtualMachine" and not c.support

    absent = [
        c for c in contracts if c.id not in present_ids and not c.in_release(options.release) and wanted(c)
    ]
    if patterns and not present and not absent:
        raise UsageError(f"no operation of release {options.release} matches {', '.join(patterns)}")

    items = []
    for c in present:
        if options.read_only and c.changes_state:
            continue
        items.append(PlanItem(c, tuple(s for s in specs if s.applies(c))))
    absent_specs = [s for s in specs if s.name in ABSENT_OPERATION_CHECKS]
    for c in absent:
        if options.read_only and c.changes_state:
            continue
        checks = tuple(s for s in absent_specs if s.applies(c))
        if checks:
            items.append(PlanItem(c, checks, present=False))
    whole = tuple(i for i in items if i.checks)
    if options.shard is None:
        return Plan(options.release, whole)
    return Plan(options.release, select_shard(whole, options.shard), options.shard)
