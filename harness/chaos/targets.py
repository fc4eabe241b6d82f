"""What a scenario action may act on besides its own VM: a host no powered-on VM runs on, the host
the VM runs on, the VM's Fault Tolerance secondary."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..client import ClientError, ViClient
from ..outcomes import Skip

#: The names an action's ``target`` (and a body value) may use, and the managed type each names.
TARGETS: dict[str, str] = {
    "$vm": "VirtualMachine",
    "$free_host": "HostSystem",
    "$vm_host": "HostSystem",
    "$ft_secondary": "VirtualMachine",
}


def resolve(
    name: str, client: ViClient, sandbox: Any, vm: str, note: Callable[[str], None] | None = None
) -> str:
    """The moId a target name (other than ``$vm``) stands for; :class:`Skip` when there is none."""
    if name == "$free_host":
        hosts = list(sandbox.inventory.hosts)
        return free_host(client, hosts, vm, lambda m: sandbox_owns(client, sandbox, m), note)
    if name == "$vm_host":
        return vm_host(client, vm)
    if name == "$ft_secondary":
        return ft_secondary(client, vm)
    raise ValueError(f"unknown target {name!r}; known: {', '.join(TARGETS)}")


def vm_host(client: ViClient, vm: str) -> str:
    """The host ``vm`` runs on (``runtime.host``)."""
    ex = client.get("VirtualMachine", vm, "runtime")
    host = ex.json.get("host") if ex.ok and isinstance(ex.json, dict) else None
    if not isinstance(host, dict) or not host.get("value"):
        raise Skip(f"the endpoint does not say which host {vm} runs on")
    return str(host["value"])


def ft_secondary(client: ViClient, vm: str) -> str:
    """The Fault Tolerance secondary of ``vm``, which must be an FT primary (``config.ftInfo``)."""
    ex = client.get("VirtualMachine", vm, "config")
    info = ex.json.get("ftInfo") if ex.ok and isinstance(ex.json, dict) else None
    secondaries = info.get("secondaries") if isinstance(info, dict) and info.get("role") == 1 else None
    refs = [r.get("value") for r in secondaries or [] if isinstance(r, dict) and r.get("value")]
    if not refs:
        raise Skip(f"{vm} is no Fault Tolerance primary with a secondary")
    return str(refs[0])


def free_host(
    client: ViClient,
    hosts: list[str],
    vm: str,
    owns: Callable[[str], bool] | None = None,
    note: Callable[[str], None] | None = None,
) -> str:
    """A connected host, out of maintenance mode, on which no VM is powered on (none but ``vm``
    may even be registered there when possible): a host a scenario may put into maintenance mode.
    When every such host runs only VMs the harness made (``owns``: a check may have left one there),
    the harness powers those off on the host with the fewest (``note`` says which).  :class:`Skip`
    when there is none."""
    best: tuple[int, str] | None = None
    ours: tuple[int, str, list[str]] | None = None
    for host in hosts:
        runtime = client.get("HostSystem", host, "runtime")
        if not runtime.ok or not isinstance(runtime.json, dict):
            continue
        if runtime.json.get("inMaintenanceMode") or runtime.json.get("connectionState") != "connected":
            continue
        vms = client.get("HostSystem", host, "vm")
        refs: list[Any] = vms.json if vms.ok and isinstance(vms.json, list) else []
        others = [r.get("value") for r in refs if isinstance(r, dict) and r.get("value") != vm]
        running = [other for other in others if _powered_on(client, other)]
        if running:
            mine = owns is not None and all(owns(r) for r in running)
            if mine and (ours is None or len(running) < ours[0]):
                ours = (len(running), host, running)
            continue
        if best is None or len(others) < best[0]:
            best = (len(others), host)
    if best is not None:
        return best[1]
    if ours is not None:
        _, host, running = ours
        for other in running:
            try:
                ex = client.invoke("VirtualMachine", other, "PowerOffVM_Task")
                end = client.wait_task(ex.json)[-1].get("state") if ex.ok else ex.fault_type
            except ClientError as exc:  # the network, a task that cannot be read: no host made free
                raise Skip(f"could not power off {other}, the harness's own VM on {host}: {exc}") from None
            if end != "success":
                raise Skip(f"could not power off {other}, the harness's own VM on {host}: {end}")
        if note is not None:
            note(f"powered off the harness's own VMs on {host}: {', '.join(running)}")
        return host
    raise Skip("no connected host out of maintenance mode without a powered-on VM")


def sandbox_owns(client: ViClient, sandbox: Any, moid: str) -> bool:
    """Whether the sandbox made VM ``moid`` (it made it, or it is in one of the sandbox's folders)."""
    if sandbox.owns(moid):
        return True
    ex = client.get("VirtualMachine", moid, "parent")
    parent = ex.json.get("value") if ex.ok and isinstance(ex.json, dict) else None
    return isinstance(parent, str) and sandbox.owns(parent)


def _powered_on(client: ViClient, vm: str) -> bool:
    ex = client.get("VirtualMachine", vm, "runtime")
    return not ex.ok or not isinstance(ex.json, dict) or ex.json.get("powerState") != "poweredOff"
