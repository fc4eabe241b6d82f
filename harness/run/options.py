"""What a run is asked to do, and the errors that stop it before it starts."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..vmodl.registry import DEFAULT_RELEASE

ENV_USER = "VSPHERE_USER"
ENV_PASSWORD = "VSPHERE_PASSWORD"
ENV_LIMITED_USER = "VSPHERE_LIMITED_USER"
ENV_LIMITED_PASSWORD = "VSPHERE_LIMITED_PASSWORD"


class RunError(Exception):
    """A run cannot start or go on; ``exit_code`` is the documented exit code."""

    exit_code = 2


class UsageError(RunError):
    """Bad options or configuration (exit 2)."""

    exit_code = 2


class EndpointError(RunError):
    """The endpoint is unreachable or refused the login (exit 3)."""

    exit_code = 3


#: The values of ``--protocol``.
PROTOCOLS = ("json", "soap", "auto")

Shard = tuple[int, int]  # (I, N): the I-th of N parts of a plan, 1 <= I <= N
_SHARD = re.compile(r"\s*(\d+)\s*/\s*(\d+)\s*")


def parse_shard(text: str) -> Shard:
    """``"2/3"`` -> ``(2, 3)``; anything but ``I/N`` with ``1 <= I <= N`` is a :class:`UsageError`."""
    m = _SHARD.fullmatch(text or "")
    shard = (int(m[1]), int(m[2])) if m else None
    if shard is None or not valid_shard(shard):
        raise UsageError(f"shard must be I/N with 1 <= I <= N (e.g. 2/3), not {text!r}")
    return shard


def valid_shard(shard: object) -> bool:
    """Whether ``shard`` is an ``(I, N)`` pair of whole numbers with ``1 <= I <= N``."""
    return (
        isinstance(shard, tuple)
        and len(shard) == 2
        and all(isinstance(x, int) and not isinstance(x, bool) for x in shard)
        and 1 <= shard[0] <= shard[1]
    )


def format_shard(shard: Shard) -> str:
    """``(2, 3)`` -> ``"2/3"`` (as recorded in results.json under ``options.shard``)."""
    return f"{shard[0]}/{shard[1]}"


def shard_scenarios(shard: Shard | None, scenarios: tuple[str | Path, ...]) -> tuple[str | Path, ...]:
    """The chaos scenarios a shard runs: all of them in shard 1 (or an unsharded run), none elsewhere."""
    return scenarios if shard is None or shard[0] == 1 else ()


@dataclass
class RunOptions:
    """Everything a run needs; the CLI and the pytest plugin both build one.

    ``endpoint=None`` starts the built-in simulator in this process.  Credentials left None come
    from ``VSPHERE_USER``/``VSPHERE_PASSWORD``/``VSPHERE_LIMITED_USER``/``VSPHERE_LIMITED_PASSWORD``.
    """

    endpoint: str | None = None
    user: str | None = None
    password: str | None = None
    limited_user: str | None = None
    limited_password: str | None = None
    insecure: bool = False
    #: ``json`` (VI/JSON), ``soap`` (``/sdk``, through :mod:`harness.soap`) or ``auto`` (VI/JSON when
    #: the endpoint serves the release's ServiceContent that way, else SOAP)
    protocol: str = "json"
    release: str = DEFAULT_RELEASE
    operations: tuple[str, ...] = ()  # globs on contract ids; empty: every VirtualMachine operation
    checks: tuple[str, ...] = ()  # check names; empty: every registered check
    examples: int = 5
    seed: int = 0
    read_only: bool = False
    timeout: float = 30.0  # per task, and per HTTP exchange (connect, headers and body together)
    #: seconds to wait for an endpoint that stopped answering mid-run (harness.run.outage); 0: never
    reconnect_wait: float = 60.0
    max_body: int = 64 * 1024 * 1024  # bytes; a larger answer is refused unread and judged failed
    allow_errors: bool = False  # exit 0 (not 4) when checks could not decide but none failed
    baseline: str | Path | None = None
    report_dir: str | Path | None = None  # None: write no files (library use)
    force: bool = False  # allow writing into a non-empty report directory
    sim: dict[str, Any] = field(default_factory=dict)  # SimConfig overrides for the built-in simulator
    scenarios: tuple[str | Path, ...] = ()  # chaos scenario files or directories, run after the checks
    #: existing VMs (and templates) read-only operations are also judged on (0: none); see harness.sandbox.survey
    inventory_sample: int = 20
    #: ``(I, N)``: only the I-th of N deterministic parts of the plan's operation x check pairs
    #: (:func:`harness.run.plan.shard_pairs`); None: the whole plan.  The front ends pass the
    #: scenarios to shard 1 only (:func:`shard_scenarios`).
    shard: Shard | None = None
    #: worker processes the plan is spread over (:mod:`harness.run.parallel`); 1: this process
    jobs: int = 1
    #: the sandbox's name (``vsphere-harness-<run_id>``); None: a new one (a parallel run names each
    #: worker's, to clean up after a worker that died)
    run_id: str | None = None

    def with_env(self) -> RunOptions:
        """A copy with credentials completed from the environment."""
        env = os.environ
        return RunOptions(
            **{
                **self.__dict__,
                "user": self.user or env.get(ENV_USER),
                "password": self.password if self.password is not None else env.get(ENV_PASSWORD),
                "limited_user": self.limited_user or env.get(ENV_LIMITED_USER),
                "limited_password": (
                    self.limited_password
                    if self.limited_password is not None
                    else env.get(ENV_LIMITED_PASSWORD)
                ),
            }
        )

    def public(self) -> dict[str, Any]:
        """The options as recorded in results.json: no credentials (``shard`` only when sharded)."""
        shard = {"shard": format_shard(self.shard)} if self.shard else {}
        return {
            "release": self.release,
            "protocol": self.protocol,
            "operations": list(self.operations),
            "checks": list(self.checks),
            "examples": self.examples,
            "seed": self.seed,
            "read_only": self.read_only,
            "timeout": self.timeout,
            "reconnect_wait": self.reconnect_wait,
            "max_body": self.max_body,
            "allow_errors": self.allow_errors,
            "baseline": str(self.baseline) if self.baseline else None,
            "builtin_simulator": self.endpoint is None,
            "limited_user": bool(self.limited_user),
            "scenarios": [str(s) for s in self.scenarios],
            "inventory_sample": self.inventory_sample,
            "jobs": self.jobs,
            **shard,
        }
