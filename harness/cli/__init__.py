"""The ``vsphere-harness`` command line: thin commands over the library API.

Exit codes: 0 success; 1 contract violations found (``run``) or ``contracts check`` failed;
2 usage or configuration error; 3 endpoint unreachable or login refused; 4 a run that could not
decide (``run``); 130 interrupted.
"""

from __future__ import annotations

from . import compare, contracts, matrix, run, scenarios, sim
from .group import main

__all__ = ["compare", "contracts", "main", "matrix", "run", "scenarios", "sim"]
