"""HostSystem operations: entering and leaving maintenance mode."""

from __future__ import annotations

from ..faults import SimFault, invalid_argument
from ..model import Host
from .base import Call, op


@op("HostSystem", "EnterMaintenanceMode_Task")
def enter_maintenance(call: Call):
    host: Host = call.obj  # type: ignore[assignment]
    call.require(
        not host.maintenance, lambda: SimFault("InvalidState", "the host is already in maintenance mode")
    )
    running = [v for v in call.sim.inv.vms() if v.host is host and v.power_state == "poweredOn"]
    call.require(
        not running,
        lambda: SimFault("InvalidState", f"{len(running)} powered-on virtual machines run on the host"),
    )
    call.require(call.p("timeout", 0) >= 0, lambda: invalid_argument("timeout", "timeout is not negative"))

    def work() -> None:
        host.maintenance = True
        host.touch()

    return work


@op("HostSystem", "ExitMaintenanceMode_Task")
def exit_maintenance(call: Call):
    host: Host = call.obj  # type: ignore[assignment]
    call.require(host.maintenance, lambda: SimFault("InvalidState", "the host is not in maintenance mode"))

    def work() -> None:
        host.maintenance = False
        host.touch()

    return work
