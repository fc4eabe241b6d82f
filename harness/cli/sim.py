"""``vsphere-harness sim``: serve the simulated endpoint until SIGINT or SIGTERM."""

from __future__ import annotations

import sys

import click

from ..sim.auth import AuthError
from ..sim.config import DEFAULT_VMS, ConfigError, SimConfig
from ..sim.persist import StateError
from ..sim.rules import RuleError
from ..sim.server import serve_forever
from .common import EXIT_USAGE
from .group import main


@main.command("sim")
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", default=0, type=int, show_default=True, help="Port (0 picks a free one).")
@click.option("--vms", default=None, type=int, help="Number of VMs in the inventory (default 32).")
@click.option("--seed", default=0, type=int, show_default=True, help="Seed of the inventory and fault rules.")
@click.option(
    "--task-delay",
    "task_delay",
    default=200,
    type=int,
    show_default=True,
    help="Duration of a task in milliseconds.",
)
@click.option(
    "--session-timeout",
    "session_timeout",
    default=None,
    type=float,
    help="Seconds after which an unused session expires (NotAuthenticated). Default: never.",
)
@click.option(
    "--state-file",
    "state_file",
    default=None,
    help="Keep the inventory (with roles and permissions) in FILE, written on every change; started "
    "again with the same FILE (even after SIGKILL), the simulator serves that inventory.",
)
@click.option("--faults", "faults_file", default=None, help="YAML file of server-side fault rules.")
@click.option("--users", "users_file", default=None, help="YAML file of users (replaces the defaults).")
@click.option(
    "--misbehave", default="", help="Comma-separated misbehaviour switches (see docs/simulator.md)."
)
def sim_command(
    host: str,
    port: int,
    vms: int | None,
    seed: int,
    task_delay: int,
    session_timeout: float | None,
    state_file: str | None,
    faults_file: str | None,
    users_file: str | None,
    misbehave: str,
) -> None:
    """Serve a simulated vCenter (VI/JSON, every release) on HOST:PORT."""

    def ready(running) -> None:
        click.echo(f"vsphere-harness simulator serving VI/JSON at {running.url}/sdk/vim25/{{release}}")
        click.echo(f"base URL: {running.url}")
        for key, (name, password) in running.users.items():
            click.echo(f"user {key}: {name} password: {password}")
        click.echo("stop with Ctrl-C (SIGINT) or SIGTERM", err=True)
        sys.stdout.flush()

    try:
        cfg = SimConfig(
            vms=DEFAULT_VMS if vms is None else vms,
            seed=seed,
            task_delay_ms=task_delay,
            session_timeout_s=session_timeout,
            state_file=state_file,
            users_file=users_file,
            faults_file=faults_file,
            misbehave=misbehave,
            host=host,
            port=port,
        )
        serve_forever(cfg, on_ready=ready)
    except (ConfigError, AuthError, RuleError, StateError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_USAGE)
    except OSError as exc:
        click.echo(f"error: cannot listen on {host}:{port}: {exc.strerror or exc}", err=True)
        sys.exit(EXIT_USAGE)
