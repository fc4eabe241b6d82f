"""VirtualMachine power operations: power on, off, suspend, reset, and the guest's own."""

from __future__ import annotations

from ..faults import invalid_state
from ..lifecycle import set_power
from ..model import Host, now
from .base import Call, op
from .guards import can_power_on_at, not_secondary, not_template, powered, tools_running


@op("VirtualMachine", "PowerOnVM_Task")
def power_on_vm(call: Call):
    vm = call.vm
    not_template(call)
    not_secondary(call)
    call.require(not vm.crypto_locked, lambda: invalid_state("the virtual machine is locked (encryption)"))
    powered(call, "poweredOff", "suspended", requested="poweredOn")
    host = call.ref_obj("host") or vm.host
    can_power_on_at(call, host)  # type: ignore[arg-type]

    def work() -> None:
        if isinstance(host, Host):
            vm.host = host
        set_power(vm, "poweredOn")

    return work


@op("VirtualMachine", "PowerOffVM_Task")
def power_off_vm(call: Call):
    not_template(call)
    not_secondary(call)
    powered(call, "poweredOn", "suspended", requested="poweredOff")
    return lambda: set_power(call.vm, "poweredOff")


@op("VirtualMachine", "SuspendVM_Task")
def suspend_vm(call: Call):
    not_template(call)
    not_secondary(call)
    powered(call, "poweredOn", requested="suspended")
    return lambda: set_power(call.vm, "suspended")


@op("VirtualMachine", "ResetVM_Task")
def reset_vm(call: Call):
    not_template(call)
    not_secondary(call)
    powered(call, "poweredOn")

    def work() -> None:
        call.vm.boot_time = now()
        call.vm.touch()

    return work


@op("VirtualMachine", "ShutdownGuest")
def shutdown_guest(call: Call):
    not_template(call)
    tools_running(call)
    return lambda: set_power(call.vm, "poweredOff")


@op("VirtualMachine", "RebootGuest")
def reboot_guest(call: Call):
    not_template(call)
    tools_running(call)

    def apply() -> None:
        call.vm.boot_time = now()

    return apply


@op("VirtualMachine", "StandbyGuest")
def standby_guest(call: Call):
    not_template(call)
    tools_running(call)
    return lambda: set_power(call.vm, "suspended")


@op("VirtualMachine", "TerminateVM")
def terminate_vm(call: Call):
    not_template(call)
    powered(call, "poweredOn")
    return lambda: set_power(call.vm, "poweredOff")
