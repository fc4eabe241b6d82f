"""Run-time control of a host's connection: what a crashed or unplugged host looks like to vCenter.

There is no API to make a host stop responding; ``POST /_sim/hosts/{moId}/connection`` with
``{"state": "notResponding"}`` (or ``disconnected``, ``connected`` to restore) does it here.  The
host's ``runtime.connectionState`` says so, the VMs on it are ``disconnected``
(``runtime.connectionState``), and operations that need the host (powering a VM on there, placing a
VM or a secondary there) answer InvalidState until it is connected again.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .model import Host

if TYPE_CHECKING:
    from .simulator import Simulator

#: The HostSystemConnectionState values a host may be given.
CONNECTION_STATES = ("connected", "notResponding", "disconnected")


class HostControlError(ValueError):
    """An unknown host or connection state (one-line message)."""


def set_host_connection(sim: Simulator, moid: str, state: str) -> dict[str, str]:
    """Give host ``moid`` the connection ``state``; what it was and is now."""
    if state not in CONNECTION_STATES:
        raise HostControlError(f"state must be one of {', '.join(CONNECTION_STATES)}, not {state!r}")
    host = sim.inv.get(moid)
    if not isinstance(host, Host):
        raise HostControlError(f"no host {moid!r}")
    with sim.inv.locked(host):
        before = host.connection_state
        host.connection_state = state
        host.touch()
    for vm in sim.inv.vms():
        if vm.host is host:
            vm.touch()
    return {"host": moid, "was": before, "connectionState": state}
