"""What a scenario action may act on besides its own VM: a host no powered-on VM runs on."""

from __future__ import annotations

from typing import Any

from ..client import ViClient
from ..outcomes import Skip

#: The names an action's ``target`` (and a body value) may use, and the managed type each names.
TARGETS: dict[str, str] = {"$vm": "VirtualMachine", "$free_host": "HostSystem"}


def free_host(client: ViClient, hosts: list[str], vm: str) -> str:
    """A connected host, out of maintenance mode, on which no VM is powered on (none but ``vm``
    may even be registered there when possible): a host a scenario may put into maintenance mode.
    :class:`Skip` when the inventory has none."""
    best: tuple[int, str] | None = None
    for host in hosts:
        runtime = client.get("HostSystem", host, "runtime")
        if not runtime.ok or not isinstance(runtime.json, dict):
            continue
        if runtime.json.get("inMaintenanceMode") or runtime.json.get("connectionState") != "connected":
            continue
        vms = client.get("HostSystem", host, "vm")
        refs: list[Any] = vms.json if vms.ok and isinstance(vms.json, list) else []
        others = [r.get("value") for r in refs if isinstance(r, dict) and r.get("value") != vm]
        if any(_powered_on(client, other) for other in others):
            continue
        if best is None or len(others) < best[0]:
            best = (len(others), host)
    if best is None:
        raise Skip("no connected host out of maintenance mode without a powered-on VM")
    return best[1]


def _powered_on(client: ViClient, vm: str) -> bool:
    ex = client.get("VirtualMachine", vm, "runtime")
    return not ex.ok or not isinstance(ex.json, dict) or ex.json.get("powerState") != "poweredOff"
