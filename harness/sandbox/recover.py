"""Cleaning up after a run that could not do it itself (its process was killed mid-run)."""

from __future__ import annotations

from typing import Any

from . import Sandbox


def folder_named(client: Any, parent: str, name: str) -> str | None:
    """The folder called ``name`` directly in folder ``parent``, if there is one."""
    children = client.get("Folder", parent, "childEntity")
    for child in children.json if children.ok and isinstance(children.json, list) else []:
        if isinstance(child, dict) and child.get("type") == "Folder":
            named = client.get("Folder", child["value"], "name")
            if named.ok and named.json == name:
                return str(child["value"])
    return None


def clean_up_after(client: Any, release: str, run_id: str) -> list[str]:
    """Remove what the run ``run_id`` left: its folder (``vsphere-harness-<run_id>``) with every VM
    in it, and the roles it named after itself; what could not be removed, one line each.  Only
    objects named after that run are touched (its permissions went with its VMs and folder)."""
    sandbox = Sandbox(client, release, run_id=run_id)
    parent = sandbox.inventory.vm_folder
    folder = folder_named(client, parent, f"vsphere-harness-{run_id}") if parent else None
    if folder is not None:
        sandbox.created_folders.append(folder)
    return sandbox.cleanup()
