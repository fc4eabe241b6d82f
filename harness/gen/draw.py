"""Values drawn from a hypothesis strategy outside a test: seeded, bounded, no shrinking."""

from __future__ import annotations

import contextlib
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as hseed
from hypothesis.errors import FailedHealthCheck, Unsatisfiable


def draw(strategy: Any, n: int, seed: int) -> list[Any]:
    """``n`` values of a hypothesis strategy, reproducible from ``seed`` (no database, no shrinking)."""
    out: list[Any] = []
    if n <= 0:
        return out

    @hseed(seed)
    @settings(
        max_examples=n,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    with contextlib.suppress(
        Unsatisfiable, FailedHealthCheck
    ):  # a strategy that cannot produce: fewer values
        collect()
    return out[:n]
