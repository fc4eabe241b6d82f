"""The one check registry, and the one place a check's outcome becomes a result.

A check is a small function registered with :func:`check`::

    @check("shape", description="success and fault bodies validate against the release's schema")
    def shape(ctx: CheckContext, v: Verdict) -> str:
        ...                      # call the endpoint, v.fail(message, exchange) for each violation
        return "5 answer(s) valid"   # the message when nothing failed

It receives a :class:`CheckContext` (the contract under test, the release, clients, the sandbox,
generation settings) and a :class:`~.verdict.Verdict` to record what it finds.  It may raise
:class:`~harness.outcomes.Skip` (not applicable, with the reason) or
:class:`~harness.outcomes.Inconclusive` (the harness could not decide: ``error``).  :meth:`CheckSpec.run`
turns all of it into one :class:`~harness.report.model.CheckResult`: an injected network fault, a
task that does not end, an unreadable answer or a bug in the harness is ``error``, never ``failed``.
"""

from __future__ import annotations

import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..client import ClientError, TransportError
from ..contract.model import Contract
from ..outcomes import Inconclusive, Skip
from ..report.model import CheckResult
from . import load_all
from .verdict import Verdict

if TYPE_CHECKING:
    from ..sandbox import Sandbox

__all__ = ["CheckContext", "CheckSpec", "Inconclusive", "Skip", "Verdict", "check", "registered"]


@dataclass
class CheckContext:
    contract: Contract
    release: str
    client: Any  # the administrator's client (harness.client.ViClient)
    limited_client: Any | None = None  # a user without privileges, when one is configured
    session_factory: Callable[[], Any] | None = None  # a fresh, not logged-in client
    sandbox: Sandbox | None = None  # objects the harness created and may change
    examples: int = 5
    seed: int = 0
    timeout: float = 30.0
    read_only: bool = False
    simulated: bool = False
    extras: dict[str, Any] = field(default_factory=dict)
    #: credentials by role (``admin``, ``limited``): (user, password); lets the session check log a
    #: second session in and out, and the privileges check name the limited user in a permission
    users: dict[str, tuple[str, str]] = field(default_factory=dict)


#: A check: records findings in the verdict, returns the message of a pass.
CheckFn = Callable[[CheckContext, Verdict], str]


@dataclass(frozen=True)
class CheckSpec:
    name: str
    fn: CheckFn
    description: str
    applies: Callable[[Contract], bool]
    changes_state: bool

    def run(self, ctx: CheckContext) -> CheckResult:
        """Run the check on one operation; every outcome becomes a timed result."""
        start = time.perf_counter()
        verdict = Verdict(self.name)
        try:
            result = verdict.result(self.fn(ctx, verdict))
        except Skip as exc:
            result = CheckResult(self.name, "skipped", str(exc) or "not applicable")
        except Inconclusive as exc:
            evidence = exc.evidence() if hasattr(exc, "evidence") else []
            result = CheckResult(self.name, "error", str(exc) or "inconclusive", evidence)
        except TransportError as exc:
            result = CheckResult(self.name, "error", f"network: {exc}", exc.evidence())
        except ClientError as exc:
            result = CheckResult(self.name, "error", f"could not decide: {exc}", exc.evidence())
        except Exception as exc:  # a harness bug must not take the run down
            result = CheckResult(
                self.name, "error", f"harness error: {type(exc).__name__}: {exc}{_where(exc)}"
            )
        result.duration_ms = round((time.perf_counter() - start) * 1000, 2)
        return result


def _where(exc: BaseException) -> str:
    """`` (at file:line)`` of the innermost frame, to find a harness bug quickly."""
    tb = traceback.extract_tb(exc.__traceback__)
    return f" (at {Path(tb[-1].filename).name}:{tb[-1].lineno})" if tb else ""


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
    load_all()
    return dict(REGISTRY)
