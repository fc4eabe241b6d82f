"""Planning: which checks run on which operations (contracts of the release x registered checks)."""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass

from ..checks.base import CheckSpec, registered
from ..contract.model import Contract
from ..contract.store import ContractError, ContractSet, load_contracts
from ..vmodl.registry import RELEASES
from .options import RunOptions, UsageError

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


def make_plan(
    options: RunOptions, registry: dict[str, CheckSpec] | None = None, contracts: ContractSet | None = None
) -> Plan:
    """Contracts of ``options.release`` (filtered by ``--operations``) x applicable checks.

    Without ``--operations`` the plan covers every VirtualMachine operation; with it, every contract
    whose id matches a glob (support operations included).  Operations of other releases that this
    one lacks get the :data:`ABSENT_OPERATION_CHECKS`.  ``--read-only`` keeps only operations and
    checks that change nothing.
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
    return Plan(options.release, tuple(i for i in items if i.checks))
