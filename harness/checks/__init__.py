"""The checks (oracles): one small module per check, registered in :mod:`harness.checks.base`."""

from __future__ import annotations

import importlib
import pkgutil


def load_all() -> None:
    """Import every check module so that each registers itself."""
    for info in pkgutil.iter_modules(__path__):
        if info.name != "base" and not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}")
