"""HostSystem operations: entering and leaving maintenance mode.

EnterMaintenanceMode_Task waits for the host's powered-on VMs to be powered off or moved, as vCenter
does without DRS: with ``timeout`` seconds it lasts that long and, if powered-on VMs still run on the
host at its end, ends in ``Timedout`` with the host unchanged.  With ``timeout`` 0 vCenter would wait
without end; the simulator refuses that at once (``InvalidState`` in the task) instead of holding a
task forever.
"""

from __future__ import annotations

from ..faults import SimFault, invalid_argument
from ..model import VM, Host
from .base import Call, TaskPlan, op


def powered_on_vms(call: Call, host: Host) -> list[VM]:
    """The powered-on VMs that run on ``host``."""
    return [v for v in call.sim.inv.vms() if v.host is host and v.power_state == "poweredOn"]


@op("HostSystem", "EnterMaintenanceMode_Task")
def enter_maintenance(call: Call):
    host: Host = call.obj  # type: ignore[assignment]
    call.require(
        not host.maintenance, lambda: SimFault("InvalidState", "the host is already in maintenance mode")
    )
    timeout = call.p("timeout", 0)
    call.require(timeout >= 0, lambda: invalid_argument("timeout", "timeout is not negative"))
    running = powered_on_vms(call, host)
    call.require(
        timeout > 0 or not running,
        lambda: SimFault("InvalidState", f"{len(running)} powered-on virtual machines run on the host"),
    )

    def work() -> None:
        still = powered_on_vms(call, host)
        if still:
            if "maintenance_half_done" in call.sim.misbehave:
                host.maintenance = True
                host.touch()
            raise SimFault(
                "Timedout",
                f"{len(still)} powered-on virtual machines still run on the host after {timeout} s",
            )
        host.maintenance = True
        host.touch()

    return TaskPlan(work, min_delay_s=float(timeout) if running else 0.0)


@op("HostSystem", "ExitMaintenanceMode_Task")
def exit_maintenance(call: Call):
    host: Host = call.obj  # type: ignore[assignment]
    call.require(host.maintenance, lambda: SimFault("InvalidState", "the host is not in maintenance mode"))

    def work() -> None:
        host.maintenance = False
        host.touch()

    return work
