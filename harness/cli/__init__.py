"""The ``vsphere-harness`` command line: thin commands over the library API.

Exit codes: 0 success; 1 contract violations found (``run``) or ``contracts check`` failed;
2 usage or configuration error; 3 endpoint unreachable or login refused.
"""

from __future__ import annotations

import click

from .. import __version__

# Sub-command modules register themselves on ``main``.


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vsphere-harness")
def main() -> None:
    """Contract and chaos testing for the vSphere VI/JSON API."""


def _register() -> None:
    from . import contracts  # noqa: F401

    for optional in ("sim", "run"):
        try:
            __import__(f"{__name__}.{optional}")
        except ModuleNotFoundError as exc:
            if exc.name != f"{__name__}.{optional}":
                raise


_register()
