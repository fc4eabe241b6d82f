"""``vsphere-harness contracts ...``: list, show, generate, check, export and compare contracts."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
import yaml
from openapi_spec_validator import validate as validate_spec
from rich.console import Console
from rich.table import Table

from ..contract import ContractError, load_contracts
from ..contract.generate import generate
from ..contract.lint import check_contracts
from ..contract.openapi import export_openapi
from ..contract.openapi_diff import (
    SpecError,
    diff_openapi,
    differences,
    document_release,
    load_spec,
    render_json,
    render_text,
)
from ..contract.store import check_release, default_contracts_dir
from ..vmodl.registry import DEFAULT_RELEASE, RELEASES, UnknownRelease
from .common import EXIT_VIOLATIONS, user_errors
from .group import main

release_option = click.option(
    "--release",
    "-r",
    default=DEFAULT_RELEASE,
    show_default=True,
    metavar="R",
    help=f"VI/JSON release: {', '.join(RELEASES)}.",
)
contracts_dir_option = click.option(
    "--contracts-dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Directory of contract files (default: the repository's contracts/).",
)


@main.group()
def contracts() -> None:
    """Inspect, generate and check the operation contracts."""


@contracts.command("list")
@release_option
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
@click.option("--all", "include_support", is_flag=True, help="Include the support operations.")
@contracts_dir_option
@user_errors(ContractError, UnknownRelease)
def list_cmd(release: str, fmt: str, include_support: bool, contracts_dir: Path | None) -> None:
    """List the contracts of a release (the VirtualMachine operations by default)."""
    chosen = load_contracts(contracts_dir).select(release, include_support=include_support)
    if fmt == "json":
        click.echo(
            json.dumps(
                [
                    {
                        "id": c.id,
                        "method": c.http_method,
                        "path": c.path,
                        "task": c.is_task,
                        "privileges": list(c.privileges),
                        "faults": c.faults_for(release),
                        "support": c.support,
                    }
                    for c in chosen
                ],
                indent=2,
            )
        )
        return

    table = Table(title=f"{len(chosen)} operations in release {release}")
    for col in ("id", "http", "response", "privileges", "faults"):
        table.add_column(col)
    for c in chosen:
        response = "204" if c.status == 204 else f"{c.status} {c.response_moref or c.response_type}"
        if c.is_task:
            response = f"200 Task → {c.task_result or 'void'}"
        privs = ", ".join(c.privileges) or ("conditional" if c.conditional_privileges else "-")
        table.add_row(c.id, c.http_method, response, privs, ", ".join(c.faults_for(release)) or "-")
    Console(width=200).print(table)


@contracts.command("show")
@click.argument("op_id", metavar="ID")
@release_option
@contracts_dir_option
@user_errors(ContractError, UnknownRelease)
def show_cmd(op_id: str, release: str, contracts_dir: Path | None) -> None:
    """Show one contract as it stands in a release."""
    c = load_contracts(contracts_dir).get(op_id)
    if not c.in_release(release):
        raise ContractError(
            f"{op_id} does not exist in release {release} (it exists in {', '.join(c.releases)})"
        )
    data = yaml.safe_load(Path(c.source_file).read_text())
    data["request"] = {
        **(data.get("request") or {}),
        "params": [
            p
            for p in (data.get("request") or {}).get("params", [])
            if c.params[[q.name for q in c.params].index(p["name"])].in_release(release)
        ],
    }
    data["faults"] = c.faults_for(release)
    data["release"] = release
    click.echo(yaml.safe_dump(data, sort_keys=False, width=100))


@contracts.command("generate")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="Where to write (default: the contracts directory).",
)
@user_errors(ContractError, OSError)
def generate_cmd(out_dir: Path | None) -> None:
    """Regenerate the contract files from pyVmomi's metadata, keeping curated sections."""

    root = out_dir or default_contracts_dir()
    written = generate(root)
    click.echo(f"{len(written)} contracts in {root}")


@contracts.command("check")
@contracts_dir_option
@user_errors(ContractError, OSError)
def check_cmd(contracts_dir: Path | None) -> None:
    """Validate every contract file and cross-check it with the type registry (exit 1 on problems)."""

    outcome = check_contracts(contracts_dir)
    for problem in outcome.problems:
        click.echo(str(problem))
    click.echo(outcome.summary())
    if not outcome.ok:
        sys.exit(EXIT_VIOLATIONS)


@contracts.command("export-openapi")
@release_option
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Write the document to FILE (default: standard output).",
)
@click.option("--force", is_flag=True, help="Overwrite FILE when it exists.")
@click.option(
    "--validate", is_flag=True, help="Also validate the document with openapi-spec-validator (slower)."
)
@contracts_dir_option
@user_errors(ContractError, UnknownRelease, OSError)
def export_openapi_cmd(
    release: str, output: Path | None, force: bool, validate: bool, contracts_dir: Path | None
) -> None:
    """Export the contracts of a release as an OpenAPI 3.0 document (VMware's VI/JSON style)."""

    if output is not None and output.exists() and not force:
        raise ContractError(f"{output} exists; pass --force to overwrite it")
    doc = export_openapi(load_contracts(contracts_dir), release)
    if validate:
        try:
            validate_spec(doc)
        except Exception as exc:  # noqa: BLE001 - the validator raises several kinds
            raise ContractError(
                f"the exported document is not valid OpenAPI: {str(exc).splitlines()[0]}"
            ) from None
    text = json.dumps(doc, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    output.write_text(text)
    ops = sum(len(item) for item in doc["paths"].values())
    click.echo(
        f"{ops} operations, {len(doc['components']['schemas'])} schemas of release {release} in {output}",
        err=True,
    )


@contracts.command("diff-openapi")
@click.argument("spec", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--release",
    "-r",
    default=None,
    metavar="R",
    help=f"VI/JSON release to compare (default: the document's release variable, else {DEFAULT_RELEASE}).",
)
@click.option("--format", "fmt", type=click.Choice(["text", "json"]), default="text", show_default=True)
@click.option(
    "--all",
    "everything",
    is_flag=True,
    help="Compare every path, not only /VirtualMachine/ ones, and every schema of the document.",
)
@click.option(
    "--operations-only", is_flag=True, help="Compare the operations only, not the component schemas."
)
@click.option(
    "--refinements",
    "show_refinements",
    is_flag=True,
    help="List each documented refinement of the contracts (text format; JSON always lists them).",
)
@contracts_dir_option
@user_errors(ContractError, UnknownRelease, SpecError)
def diff_openapi_cmd(
    spec: Path,
    release: str | None,
    fmt: str,
    everything: bool,
    operations_only: bool,
    show_refinements: bool,
    contracts_dir: Path | None,
) -> None:
    """Compare the contracts with a VI/JSON OpenAPI document (exit 1 when they differ).

    Where the contracts only refine the document (typed references MoRef<Type>, curated, conditional
    or default privileges: `info.x-vsphere-harness-refinements` of `export-openapi`), the item is
    reported as a refinement, not as a difference."""

    if release is not None:
        check_release(release)
    doc = load_spec(spec)
    release = release or document_release(doc) or DEFAULT_RELEASE
    diffs = diff_openapi(
        load_contracts(contracts_dir), doc, release, everything=everything, schemas=not operations_only
    )
    click.echo(
        render_json(diffs) if fmt == "json" else render_text(diffs, release, str(spec), show_refinements)
    )
    if differences(diffs):
        sys.exit(EXIT_VIOLATIONS)
