"""Find, read and index the contract files."""

from __future__ import annotations

import fnmatch
import functools
import os
from collections.abc import Iterable
from pathlib import Path

import yaml

from ..vmodl.registry import RELEASES, UnknownRelease
from .model import Contract, from_mapping

try:  # the C loader reads the 130-odd files several times faster
    _Loader: type = yaml.CSafeLoader
except AttributeError:  # pragma: no cover
    _Loader = yaml.SafeLoader

ENV_CONTRACTS_DIR = "VSPHERE_HARNESS_CONTRACTS"


class ContractError(Exception):
    """A contract file cannot be read, or a contract id does not exist."""


def default_contracts_dir() -> Path:
    """``$VSPHERE_HARNESS_CONTRACTS``, else the repository's ``contracts/``."""
    env = os.environ.get(ENV_CONTRACTS_DIR)
    if env:
        return Path(env)
    return Path(__file__).resolve().parents[2] / "contracts"


def read_contract_file(path: Path) -> dict:
    try:
        data = yaml.load(path.read_text(), Loader=_Loader)
    except OSError as exc:
        raise ContractError(f"{path}: cannot read: {exc.strerror or exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark else ""
        raise ContractError(f"{path}:{where} is not valid YAML") from None
    if not isinstance(data, dict):
        raise ContractError(f"{path}: a contract file holds a mapping")
    return data


class ContractSet:
    """All contracts of a directory, indexed by id."""

    def __init__(self, contracts: Iterable[Contract], root: Path | None = None):
        self.root = root
        self.by_id: dict[str, Contract] = {c.id: c for c in contracts}

    def __len__(self) -> int:
        return len(self.by_id)

    def __iter__(self):
        return iter(sorted(self.by_id.values(), key=lambda c: (c.support, c.managed_type, c.kind, c.name)))

    def get(self, op_id: str) -> Contract:
        try:
            return self.by_id[op_id]
        except KeyError:
            raise ContractError(f"no contract with id {op_id!r}") from None

    def for_release(self, release: str, include_support: bool = True) -> list[Contract]:
        check_release(release)
        return [c for c in self if c.in_release(release) and (include_support or not c.support)]

    def virtual_machine(self, release: str) -> list[Contract]:
        """The VirtualMachine operations of a release (101 at 8.0.2.0)."""
        return [
            c for c in self.for_release(release, include_support=False) if c.managed_type == "VirtualMachine"
        ]

    def select(
        self, release: str, patterns: Iterable[str] = (), include_support: bool = False
    ) -> list[Contract]:
        """Contracts of a release whose id matches any glob in ``patterns`` (all when empty)."""
        patterns = list(patterns)
        chosen = self.for_release(release, include_support=include_support)
        if patterns:
            chosen = [c for c in chosen if any(fnmatch.fnmatchcase(c.id, p) for p in patterns)]
        return chosen

    def find(self, managed_type: str, name: str) -> Contract | None:
        for c in self.by_id.values():
            if c.managed_type == managed_type and c.name == name:
                return c
        return None


def check_release(release: str) -> str:
    if release not in RELEASES:
        raise UnknownRelease(f"unknown release {release!r}; known: {', '.join(RELEASES)}")
    return release


def load_contracts(root: Path | None = None) -> ContractSet:
    """Read every ``*.yaml`` under ``root`` (default: :func:`default_contracts_dir`)."""
    root = Path(root) if root else default_contracts_dir()
    return _load(root.resolve())


@functools.lru_cache(maxsize=4)
def _load(root: Path) -> ContractSet:
    if not root.is_dir():
        raise ContractError(f"{root}: no contracts directory")
    contracts = []
    for path in sorted(root.rglob("*.yaml")):
        data = read_contract_file(path)
        try:
            contracts.append(from_mapping(data, str(path)))
        except (KeyError, TypeError, ValueError) as exc:
            raise ContractError(f"{path}: not a contract ({exc.__class__.__name__}: {exc})") from None
    return ContractSet(contracts, root)
