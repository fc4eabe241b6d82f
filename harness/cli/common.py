"""What every command shares: exit codes, one-line errors."""

from __future__ import annotations

import functools
import sys

import click

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
