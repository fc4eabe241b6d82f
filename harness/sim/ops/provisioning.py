"""Provisioning: templates, clones, and destroying or unregistering a virtual machine."""

from __future__ import annotations

from ...vmodl.values import DataObject, MoRef
from ..faults import SimFault, invalid_argument, invalid_state
from ..lifecycle import apply_config_spec, clone_vm, remove_vm
from ..model import Folder, Host, ResourcePool
from .base import Call, TaskPlan, op
from .guards import host_usable, not_secondary, not_template, placement, powered, unique_in_folder, valid_name


@op("VirtualMachine", "MarkAsTemplate")
def mark_as_template(call: Call):
    vm = call.vm
    call.require(not vm.template, lambda: invalid_state(f"{vm.name} is already a template"))
    call.require(
        vm.ft is None, lambda: invalid_state("a fault tolerant virtual machine cannot become a template")
    )
    powered(call, "poweredOff", requested="poweredOff")

    def apply() -> None:
        vm.template = True
        vm.touch()

    return apply


@op("VirtualMachine", "MarkAsVirtualMachine")
def mark_as_vm(call: Call):
    vm = call.vm
    call.require(vm.template, lambda: invalid_state(f"{vm.name} is not a template"))
    pool, host = call.ref_obj("pool"), call.ref_obj("host")
    host_usable(call, host)  # type: ignore[arg-type]

    def apply() -> None:
        vm.template = False
        if isinstance(pool, ResourcePool) and pool is not vm.pool:
            vm.pool.vms[:] = [v for v in vm.pool.vms if v is not vm]
            vm.pool = pool
            pool.vms.append(vm)
        if isinstance(host, Host):
            vm.host = host
        vm.touch()

    return apply


@op("VirtualMachine", "CloneVM_Task")
def clone(call: Call):
    vm = call.vm
    not_secondary(call)
    folder = call.ref_obj("folder")
    name = call.p("name")
    if not valid_name(name):
        raise invalid_argument("name", f"invalid virtual machine name {name!r}")
    spec = call.p("spec") or DataObject("VirtualMachineCloneSpec")
    pool, host, datastore = placement(call, spec.get("location"))
    call.require(
        isinstance(folder, Folder) and "VirtualMachine" in folder.child_types,
        lambda: invalid_state("the destination is not a virtual machine folder"),
    )
    call.require(
        unique_in_folder(None, folder, name) is None,
        lambda: SimFault(
            "FileAlreadyExists",
            f"a virtual machine named {name} exists in the folder",
            file=f"[datastore1] {name}/{name}.vmx",
        ),
    )
    power = bool(spec.get("powerOn"))
    template = bool(spec.get("template"))

    def work() -> MoRef:
        new = clone_vm(call.sim.inv, vm, folder, name, pool, host, datastore, template, power)  # type: ignore[arg-type]
        if spec.get("customization") is not None:
            new.customization_applied = spec["customization"]
        if spec.get("config") is not None:
            try:
                apply_config_spec(new, spec["config"], call.sim.inv)
            except SimFault:
                remove_vm(call.sim.inv, new)
                raise
        return new.ref

    return TaskPlan(work, locks=[])


@op("VirtualMachine", "InstantClone_Task")
def instant_clone(call: Call):
    vm = call.vm
    not_template(call)
    not_secondary(call)
    powered(call, "poweredOn", requested="poweredOn")
    spec = call.p("spec")
    name = spec.get("name")
    if not valid_name(name):
        raise invalid_argument("spec.name", f"invalid virtual machine name {name!r}")
    pool, host, datastore = placement(call, spec.get("location"))
    folder_ref = (spec.get("location") or {}).get("folder")
    folder = call.sim.inv.get(folder_ref.value) if isinstance(folder_ref, MoRef) else vm.parent
    call.require(
        unique_in_folder(None, folder, name) is None,
        lambda: SimFault(
            "FileAlreadyExists",
            f"a virtual machine named {name} exists in the folder",
            file=f"[datastore1] {name}/{name}.vmx",
        ),
    )

    def work() -> MoRef:
        return clone_vm(call.sim.inv, vm, folder, name, pool, host, datastore, False, True).ref  # type: ignore[arg-type]

    return TaskPlan(work, locks=[])


@op("VirtualMachine", "Destroy_Task")
def destroy(call: Call):
    vm = call.vm
    powered(call, "poweredOff", "suspended", requested="poweredOff")
    not_secondary(call)

    def work() -> None:
        remove_vm(call.sim.inv, vm)

    return work


@op("VirtualMachine", "UnregisterVM")
def unregister(call: Call):
    powered(call, "poweredOff", "suspended", requested="poweredOff")
    return lambda: remove_vm(call.sim.inv, call.vm)
