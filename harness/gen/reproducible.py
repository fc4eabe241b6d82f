"""Generated values depend on the seed and the contracts, not on the harness's source text.

Hypothesis (since 6.131) now and then draws a string or number it found as a constant in the source
of *local* modules: every imported module outside site-packages and test folders.  For the harness
that means its own modules when installed editable (``pip install -e``), but not when installed from
a wheel, and only those imported by the time of a draw.  The same ``--seed`` would then send other
requests after any edit of the harness, on an editable install than on a regular one, and from the
pytest plugin than from the command line.  Importing this module turns that source of values off, for
the whole process (documented in docs/architecture.md); hypothesis's built-in constants stay.
"""

from __future__ import annotations

from hypothesis.internal.conjecture import providers

_NONE = getattr(providers, "Constants", lambda: None)()


def _no_local_constants() -> object:
    return _NONE


def without_local_constants() -> None:
    """Make hypothesis draw no constants from local modules' source (idempotent)."""
    if hasattr(providers, "_get_local_constants"):
        providers._get_local_constants = _no_local_constants
        providers.CONSTANTS_CACHE.cache.clear()


without_local_constants()
