"""The guest and the rest: custom values, NMI, OVF, encryption, EVC, questions, customization."""

from __future__ import annotations

from ..faults import SimFault, invalid_argument, invalid_state
from ..model import now
from .base import Call, op
from .guards import not_template, powered


@op("VirtualMachine", "setCustomValue")
def set_custom_value(call: Call):
    key, value = call.p("key"), call.p("value")
    if not key:
        raise invalid_argument("key", "a custom field needs a name")

    def apply() -> None:
        field_key = call.sim.inv.field_key(key)
        call.vm.custom[field_key] = value
        for vm in call.sim.inv.vms():
            vm.touch()  # availableField changed everywhere

    return apply


@op("VirtualMachine", "SendNMI")
def send_nmi(call: Call):
    not_template(call)
    powered(call, "poweredOn")

    def apply() -> None:
        call.vm.nmi_count += 1

    return apply


@op("VirtualMachine", "ExtractOvfEnvironment")
def extract_ovf(call: Call):
    vm = call.vm
    powered(call, "poweredOn")
    return lambda: (
        f'<?xml version="1.0" encoding="UTF-8"?><Environment xmlns="http://schemas.dmtf.org/ovf/'
        f'environment/1" ovfenv:id="{vm.moid}"><PlatformSection><Kind>VMware ESXi</Kind>'
        f"</PlatformSection></Environment>"
    )


@op("VirtualMachine", "CryptoUnlock_Task")
def crypto_unlock(call: Call):
    vm = call.vm
    call.require(vm.encrypted, lambda: invalid_state("the virtual machine is not encrypted"))
    call.require(vm.crypto_locked, lambda: invalid_state("the virtual machine is not locked"))

    def work() -> None:
        vm.crypto_locked = False
        vm.touch()

    return work


@op("VirtualMachine", "ApplyEvcModeVM_Task")
def apply_evc(call: Call):
    vm = call.vm
    not_template(call)
    powered(call, "poweredOff", requested="poweredOff")
    mask = call.p("mask")

    def work() -> None:
        vm.feature_mask = list(mask or [])
        vm.touch()

    return work


@op("VirtualMachine", "RefreshStorageInfo")
def refresh_storage(call: Call):
    def apply() -> None:
        call.vm.modified = now()

    return apply


@op("VirtualMachine", "ResetGuestInformation")
def reset_guest_info(call: Call):
    powered(call, "poweredOff", "suspended", requested="poweredOff")

    def apply() -> None:
        call.vm.guest_info_reset += 1

    return apply


@op("VirtualMachine", "AnswerVM")
def answer_vm(call: Call):
    vm = call.vm
    question = vm.question
    call.require(
        question is not None and question["id"] == call.p("questionId"),
        lambda: SimFault("ConcurrentAccess", "the question was already answered or does not exist"),
    )
    if question is not None:
        choices = [c["key"] for c in question["choice"]["choiceInfo"]]
        if call.p("answerChoice") not in choices:
            raise invalid_argument("answerChoice", f"choose one of {', '.join(choices)}")

    def apply() -> None:
        vm.question = None

    return apply


def _customization_checks(call: Call) -> None:
    spec = call.p("spec")
    identity = spec.get("identity")
    linux = not call.vm.guest_id.startswith("win")
    call.require(
        not (linux and identity is not None and identity.type_name == "CustomizationSysprep"),
        lambda: SimFault(
            "UncustomizableGuest",
            "a Linux guest cannot take a Sysprep identity",
            uncustomizableGuestOS=call.vm.guest_id,
        ),
    )
    call.require(
        call.vm.tools_installed, lambda: SimFault("CustomizationFault", "VMware Tools is not installed")
    )


@op("VirtualMachine", "CheckCustomizationSpec")
def check_customization(call: Call):
    _customization_checks(call)
    return lambda: None


@op("VirtualMachine", "CustomizeVM_Task")
def customize(call: Call):
    vm = call.vm
    _customization_checks(call)
    call.require(
        vm.power_state == "poweredOff",
        lambda: SimFault("CustomizationFault", "the virtual machine must be powered off"),
    )
    call.require(
        vm.customization_applied is None,
        lambda: SimFault("CustomizationPending", "a customization is already pending"),
    )

    def work() -> None:
        vm.customization_applied = call.p("spec")
        vm.touch()

    return work
