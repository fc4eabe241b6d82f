"""Preconditions shared by several operations (each raises through ``call.require``)."""

from __future__ import annotations

from typing import Any

from ...vmodl.values import DataObject, MoRef
from ..faults import SimFault, invalid_power_state, invalid_state
from ..model import VM, Host, Managed
from .base import Call


def valid_name(name: Any) -> bool:
    """Whether ``name`` is a usable inventory name (1 to 80 characters, no slash, no control line)."""
    return (
        isinstance(name, str)
        and len(name.strip()) > 0
        and len(name) <= 80
        and not any(c in name for c in "\x00\n\r/\\")
    )


def not_template(call: Call) -> None:
    """InvalidState on a template."""
    call.require(not call.vm.template, lambda: invalid_state(f"{call.vm.name} is a template"))


def powered(call: Call, *states: str, requested: str | None = None) -> None:
    """InvalidPowerState unless the VM is in one of ``states``."""
    vm = call.vm
    call.require(vm.power_state in states, lambda: invalid_power_state(vm.power_state, requested))


def host_usable(call: Call, host: Host | None) -> None:
    """InvalidState when ``host`` (if any) is in maintenance mode or not connected."""
    if host is not None:
        call.require(not host.maintenance, lambda: invalid_state(f"host {host.name} is in maintenance mode"))
        call.require(
            host.connection_state == "connected", lambda: invalid_state(f"host {host.name} is not connected")
        )


def can_power_on_at(call: Call, host: Host | None) -> None:
    """InvalidState when a VM would be powered on on ``host`` while it is in maintenance mode or not
    connected (the ``ignore_maintenance_mode`` misbehaviour lets maintenance mode pass)."""
    if host is not None and host.maintenance and "ignore_maintenance_mode" in call.sim.misbehave:
        call.require(
            host.connection_state == "connected", lambda: invalid_state(f"host {host.name} is not connected")
        )
        return
    host_usable(call, host)


def tools_running(call: Call) -> None:
    """The VM is powered on and its guest runs VMware Tools."""
    vm = call.vm
    call.require(vm.power_state == "poweredOn", lambda: invalid_power_state(vm.power_state, "poweredOn"))
    call.require(
        vm.tools_running, lambda: SimFault("ToolsUnavailable", "VMware Tools is not running in the guest")
    )


def not_secondary(call: Call) -> None:
    """InvalidOperationOnSecondaryVm on an FT secondary."""
    vm = call.vm
    call.require(
        vm.ft_role < 2,
        lambda: SimFault(
            "InvalidOperationOnSecondaryVm",
            "the operation is not allowed on an FT secondary",
            instanceUuid=vm.instance_uuid,
        ),
    )


def unique_in_folder(vm_or_none: VM | None, folder: Managed | None, name: str) -> Managed | None:
    """Another VM (not an FT secondary) named ``name`` in ``folder``, if there is one."""
    for child in getattr(folder, "children", ()):
        if child is not vm_or_none and child.name == name and isinstance(child, VM) and child.ft_role < 2:
            return child
    return None


def placement(call: Call, location: DataObject | None) -> tuple[Any, Any, Any]:
    """The pool, host and datastore a relocate spec names (None where it names none); the host usable."""
    location = location or {}
    refs = []
    for key in ("pool", "host", "datastore"):
        ref = location.get(key)
        refs.append(call.sim.inv.get(ref.value) if isinstance(ref, MoRef) else None)
    host_usable(call, refs[1])
    return refs[0], refs[1], refs[2]
