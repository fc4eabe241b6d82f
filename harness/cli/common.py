"""What every command shares: exit codes, one-line errors."""

from __future__ import annotations

import functools
import sys
from pathlib import Path

import click

from ..run.options import PROTOCOLS
from ..vmodl.registry import DEFAULT_RELEASE, RELEASES

EXIT_OK = 0
EXIT_VIOLATIONS = 1
EXIT_USAGE = 2
EXIT_UNREACHABLE = 3
EXIT_UNDECIDED = 4  # no violation, but some check could not decide (the gate fails closed)


class HarnessUsageError(click.ClickException):
    """A user mistake: printed as one line, exit code 2."""

    exit_code = EXIT_USAGE

    def show(self, file=None) -> None:
        click.echo(f"error: {self.format_message()}", err=True)


def user_errors(*exc_types: type[BaseException]):
    """Turn the given exception types into one-line errors with exit code 2."""

    def wrap(fn):
        @functools.wraps(fn)
        def inner(*args, **kwargs):
            try:
                return fn(*args, **kwargs)
            except exc_types as exc:
                message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
                click.echo(f"error: {message}", err=True)
                sys.exit(EXIT_USAGE)

        return inner

    return wrap


# --- options `run` and `compare` share (what makes the requests, where the reports go) ---------------
checks_option = click.option(
    "--checks", "-c", multiple=True, metavar="LIST", help="Only these checks (comma-separated)."
)
examples_option = click.option(
    "--examples",
    type=click.IntRange(min=1),
    default=5,
    show_default=True,
    help="Generated requests per operation and check.",
)
read_only_option = click.option(
    "--read-only", is_flag=True, help="Only operations and checks that change nothing."
)
force_option = click.option("--force", is_flag=True, help="Write into a non-empty --report-dir.")
quiet_option = click.option("--quiet", "-q", is_flag=True, help="No progress bar.")

seed_option = click.option(
    "--seed", type=click.IntRange(min=0), default=0, show_default=True, help="Reproduces a run."
)
report_dir_option = click.option(
    "--report-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write the reports [default: reports/<UTC timestamp>/].",
)
timeout_option = click.option(
    "--timeout",
    type=click.FloatRange(min=0, min_open=True),
    default=30.0,
    show_default=True,
    help="Seconds per task, and per HTTP exchange (connect, headers and body together).",
)
max_body_option = click.option(
    "--max-body",
    type=click.IntRange(min=1),
    default=64 * 1024 * 1024,
    show_default=True,
    metavar="BYTES",
    help="Largest answer body read; a larger one is refused unread and judged failed.",
)
allow_errors_option = click.option(
    "--allow-errors",
    is_flag=True,
    help="Exit 0, not 4, when checks could not decide (error) but none failed.",
)


# --- the endpoint and how to reach it (`run`, `scenarios run`) ----------------------------------------
_ENDPOINT_OPTIONS = [
    click.option(
        "--endpoint",
        metavar="URL",
        help="scheme://host[:port] of a vCenter or compatible endpoint "
        "(the harness adds /sdk/vim25/<release>). Default: start the built-in simulator.",
    ),
    click.option("--user", envvar="VSPHERE_USER", show_envvar=True, help="Administrator user name."),
    click.option("--password", envvar="VSPHERE_PASSWORD", show_envvar=True, help="Administrator password."),
    click.option(
        "--limited-user",
        envvar="VSPHERE_LIMITED_USER",
        show_envvar=True,
        help="A user without privileges on the sandbox (for the privileges check).",
    ),
    click.option("--limited-password", envvar="VSPHERE_LIMITED_PASSWORD", show_envvar=True),
    click.option("--insecure", is_flag=True, help="Do not verify the endpoint's TLS certificate."),
    click.option(
        "--protocol",
        type=click.Choice(PROTOCOLS),
        default="json",
        show_default=True,
        help="json: VI/JSON (vCenter 8.0U1+); soap: the SOAP API at /sdk (ESXi, older vCenters, vcsim); "
        "auto: VI/JSON when the endpoint serves it, else SOAP.",
    ),
    click.option(
        "--release",
        "-r",
        default=DEFAULT_RELEASE,
        show_default=True,
        type=click.Choice(RELEASES),
        help="VI/JSON release.",
    ),
]


#: The parameters of :func:`endpoint_options`, named as :class:`~harness.run.RunOptions` names them.
ENDPOINT_PARAMS = (
    "endpoint",
    "user",
    "password",
    "limited_user",
    "limited_password",
    "insecure",
    "protocol",
    "release",
)


def endpoint_options(fn):
    """--endpoint, the credentials, --insecure, --protocol and --release, given to the command as one
    ``target`` mapping of :data:`ENDPOINT_PARAMS` (``RunOptions(**target, ...)``)."""

    @functools.wraps(fn)
    def command(*args, **kwargs):
        target = {name: kwargs.pop(name) for name in ENDPOINT_PARAMS}
        return fn(*args, target=target, **kwargs)

    for option in reversed(_ENDPOINT_OPTIONS):
        command = option(command)
    return command
