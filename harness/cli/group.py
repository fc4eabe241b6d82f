"""The ``vsphere-harness`` command group; each sub-command module adds its commands to it."""

from __future__ import annotations

import click

from .. import __version__


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="vsphere-harness")
def main() -> None:
    """Contract and chaos testing for the vSphere VI/JSON API."""
