"""The one check registry.

A check is a small function registered with :func:`check`.  It receives a :class:`CheckContext`
(the contract under test, the release, clients, the sandbox inventory, generation settings) and
returns a :class:`~harness.report.model.CheckResult`.  It may raise :class:`Skip` (not applicable,
with the reason) or :class:`Inconclusive` (the harness could not decide: becomes ``error``).
An injected network fault must never turn into a false ``failed``: transport errors are ``error``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..contract.model import Contract
from ..report.model import CheckResult


class Skip(Exception):
    """The check does not apply to this operation/endpoint; the message says why."""


class Inconclusive(Exception):
    """The harness could not decide (network, setup, timeout): reported as ``error``."""


@dataclass
class CheckContext:
    contract: Contract
    release: str
    client: Any  # the administrator's VI/JSON client (harness.client)
    limited_client: Any | None = None  # a user without privileges, when one is configured
    session_factory: Callable[[], Any] | None = None  # a fresh, not logged-in client
    sandbox: Any = None  # objects the harness created and may change (harness.run.sandbox)
    examples: int = 5
    seed: int = 0
    timeout: float = 30.0
    read_only: bool = False
    simulated: bool = False
    extras: dict[str, Any] = field(default_factory=dict)
    #: credentials by role (``admin``, ``limited``): (user, password); lets the session check log a
    #: second session in and out, and the privileges check name the limited user in a permission
    users: dict[str, tuple[str, str]] = field(default_factory=dict)


CheckFn = Callable[[CheckContext], CheckResult]


@dataclass(frozen=True)
class CheckSpec:
    name: str
    fn: CheckFn
    description: str
    applies: Callable[[Contract], bool]
    changes_state: bool


REGISTRY: dict[str, CheckSpec] = {}


def check(
    name: str,
    *,
    description: str,
    applies: Callable[[Contract], bool] = lambda c: True,
    changes_state: bool = False,
) -> Callable[[CheckFn], CheckFn]:
    """Register a check under ``name``.  ``applies`` filters the contracts it runs on;
    ``changes_state`` marks checks that may change objects (excluded from read-only runs)."""

    def register(fn: CheckFn) -> CheckFn:
        if name in REGISTRY:
            raise ValueError(f"check {name!r} registered twice")
        REGISTRY[name] = CheckSpec(name, fn, description, applies, changes_state)
        return fn

    return register


def registered() -> dict[str, CheckSpec]:
    """Every check, after importing the modules that define them."""
    from . import load_all

    load_all()
    return dict(REGISTRY)
