"""What a check, the sandbox or a scenario may raise instead of a verdict.

Neutral ground: the checks, the sandbox and the chaos scenarios all use them, and none of them has
to import another for it.
"""


class Skip(Exception):
    """The check does not apply to this operation/endpoint; the message says why."""


class Inconclusive(Exception):
    """The harness could not decide (network, setup, timeout): reported as ``error``."""
