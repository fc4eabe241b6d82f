"""Configuration: reconfiguring, upgrading hardware and VMware Tools, renaming, reloading."""

from __future__ import annotations

from ..faults import SimFault, invalid_argument, invalid_power_state, invalid_state
from ..lifecycle import apply_config_spec
from ..model import now
from .base import Call, op
from .guards import not_secondary, not_template, powered, tools_running, unique_in_folder, valid_name

LATEST_HW = "vmx-21"


LATEST_TOOLS = 12416


@op("VirtualMachine", "ReconfigVM_Task")
def reconfig(call: Call):
    vm = call.vm
    spec = call.p("spec")
    not_secondary(call)
    if spec.get("name") is not None:
        name = spec["name"]
        call.require(
            valid_name(name), lambda: SimFault("InvalidName", f"invalid name {name!r}", name=str(name))
        )
        dup = unique_in_folder(vm, vm.parent, name)
        call.require(
            dup is None,
            lambda: SimFault("DuplicateName", f"{name} exists", name=name, object=dup.ref if dup else vm.ref),
        )
    if spec.get("numCPUs") is not None:
        if spec["numCPUs"] < 1 or spec["numCPUs"] > 768:
            raise invalid_argument("spec.numCPUs", "numCPUs is from 1 to 768")
        call.require(
            vm.power_state != "poweredOn" or spec["numCPUs"] == vm.num_cpu,
            lambda: invalid_power_state(
                vm.power_state, "poweredOff", "CPU hot plug is not enabled for this virtual machine"
            ),
        )
    if spec.get("memoryMB") is not None:
        if spec["memoryMB"] < 4 or spec["memoryMB"] % 4:
            raise invalid_argument("spec.memoryMB", "memoryMB is a positive multiple of 4")
        call.require(
            vm.power_state != "poweredOn" or spec["memoryMB"] >= vm.memory_mb,
            lambda: invalid_power_state(
                vm.power_state, "poweredOff", "memory cannot shrink while powered on"
            ),
        )
        call.require(
            vm.ft is None or spec["memoryMB"] == vm.memory_mb,
            lambda: invalid_state("memory of a fault tolerant virtual machine cannot change"),
        )
    keys = {d.get("key") for d in vm.devices}
    for i, change in enumerate(spec.get("deviceChange") or []):
        device, operation = change.get("device"), change.get("operation")
        if operation in ("remove", "edit") and device.get("key") not in keys:
            raise SimFault(
                "InvalidDeviceSpec",
                f"no device with key {device.get('key')}",
                sync=False,
                deviceIndex=i,
                property="deviceChange",
            )
        if operation is None:
            raise SimFault(
                "InvalidDeviceSpec",
                "a device change needs an operation",
                deviceIndex=i,
                property="deviceChange.operation",
            )
    return lambda: apply_config_spec(vm, spec, call.sim.inv)


@op("VirtualMachine", "UpgradeVM_Task")
def upgrade_vm(call: Call):
    vm = call.vm
    version = call.p("version") or LATEST_HW
    if not (isinstance(version, str) and version.startswith("vmx-") and version[4:].isdigit()):
        raise invalid_argument("version", f"{version!r} is not a hardware version such as {LATEST_HW}")
    powered(call, "poweredOff", requested="poweredOff")
    call.require(
        int(version[4:]) > int(vm.hw_version[4:]),
        lambda: SimFault("AlreadyUpgraded", f"the virtual machine is already at {vm.hw_version}"),
    )

    def work() -> None:
        vm.hw_version = version
        vm.modified = now()
        vm.touch()

    return work


@op("VirtualMachine", "UpgradeTools_Task")
def upgrade_tools(call: Call):
    not_template(call)
    tools_running(call)

    def work() -> None:
        call.vm.tools_version = LATEST_TOOLS
        call.vm.touch()

    return work


@op("VirtualMachine", "MountToolsInstaller")
def mount_tools(call: Call):
    vm = call.vm
    not_template(call)
    powered(call, "poweredOn")
    call.require(
        not vm.tools_installer_mounted, lambda: invalid_state("the tools installer is already mounted")
    )

    def apply() -> None:
        vm.tools_installer_mounted = True

    return apply


@op("VirtualMachine", "UnmountToolsInstaller")
def unmount_tools(call: Call):
    vm = call.vm
    call.require(vm.tools_installer_mounted, lambda: invalid_state("the tools installer is not mounted"))

    def apply() -> None:
        vm.tools_installer_mounted = False

    return apply


@op("VirtualMachine", "Rename_Task")
def rename(call: Call):
    vm = call.vm
    name = call.p("newName")
    call.require(
        valid_name(name),
        lambda: SimFault("InvalidName", f"invalid name {name!r}", name=str(name), entity=vm.ref),
    )
    dup = unique_in_folder(vm, vm.parent, name)
    call.require(
        dup is None,
        lambda: SimFault("DuplicateName", f"{name} exists", name=name, object=dup.ref if dup else vm.ref),
    )

    def work() -> None:
        vm.name = name
        vm.modified = now()
        vm.touch()

    return work


@op("VirtualMachine", "Reload")
def reload(call: Call):
    return lambda: None


@op("VirtualMachine", "reloadVirtualMachineFromPath_Task")
def reload_from_path(call: Call):
    vm = call.vm
    path = call.p("configurationPath")
    powered(call, "poweredOff", requested="poweredOff")
    call.require(
        isinstance(path, str) and path.startswith("[") and "]" in path and path.endswith(".vmx"),
        lambda: SimFault("FileNotFound", f"file {path} was not found", file=str(path)),
    )

    def work() -> None:
        vm.files_path = path
        vm.touch()

    return work
