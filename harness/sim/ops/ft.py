"""Fault Tolerance: compatibility, secondaries, failover and turning it off."""

from __future__ import annotations

from ...vmodl.values import DataObject
from ..faults import SimFault, invalid_state
from ..lifecycle import make_secondary, power_on, remove_vm
from ..model import VM, FtGroup, Host, now
from .base import Call, TaskPlan, op
from .guards import host_usable, not_secondary, not_template


def _ft_issues(call: Call, vm: VM) -> list[SimFault]:
    issues = []

    def issue(reason: str) -> SimFault:
        return SimFault(
            "VmFaultToleranceConfigIssue",
            f"fault tolerance issue: {reason}",
            reason=reason,
            entityName=vm.name,
            entity=vm.ref,
        )

    if vm.template:
        issues.append(issue("templateVm"))
    if vm.ft_role >= 2:
        issues.append(issue("ftSecondaryVm"))
    if vm.host is not None and not vm.host.ft_capable:
        issues.append(issue("ftUnsupportedHardware"))
    if vm.num_cpu > 8:
        issues.append(issue("tooManyVCPUs"))
    if vm.snapshots:
        issues.append(issue("hasSnapshots"))
    return issues


@op("VirtualMachine", "QueryFaultToleranceCompatibility", "QueryFaultToleranceCompatibilityEx")
def query_ft(call: Call):
    return lambda: [f.render(call.b) for f in _ft_issues(call, call.vm)]


def _ft_target_host(call: Call, vm: VM) -> Host:
    host = call.ref_obj("host")
    if host is None:
        candidates = [
            h
            for h in call.sim.inv.hosts
            if h.ft_capable
            and not h.maintenance
            and h is not vm.host
            and all(s.host is not h for s in (vm.ft.secondaries if vm.ft else []))
        ]
        call.require(
            bool(candidates),
            lambda: SimFault(
                "NoHostSuitableForFtSecondary", "no host can run the secondary", vm=vm.ref, vmName=vm.name
            ),
        )
        return candidates[0] if candidates else vm.host  # type: ignore[return-value]
    assert isinstance(host, Host)
    host_usable(call, host)
    call.require(
        host is not vm.host and host.ft_capable,
        lambda: SimFault(
            "IncompatibleHostForFtSecondary", f"host {host.name} cannot run the secondary", host=host.ref
        ),
    )
    return host


def _secondary_result(call: Call, secondary: VM, primary: VM) -> DataObject:
    return call.b.obj(
        "FaultToleranceSecondaryOpResult",
        vm=secondary.ref,
        powerOnAttempted=primary.power_state == "poweredOn",
    )


@op("VirtualMachine", "CreateSecondaryVM_Task", "CreateSecondaryVMEx_Task")
def create_secondary(call: Call):
    vm = call.vm
    not_template(call)
    not_secondary(call)
    issues = [i for i in _ft_issues(call, vm) if i.fields.get("reason") != "hasSnapshots"]
    call.require(not issues, lambda: issues[0])
    call.require(
        vm.ft is None or not vm.ft.secondaries,
        lambda: SimFault(
            "SecondaryVmAlreadyRegistered",
            "the virtual machine already has a secondary",
            instanceUuid=vm.ft.secondaries[0].instance_uuid if vm.ft else vm.instance_uuid,
        ),
    )
    host = _ft_target_host(call, vm)

    def work() -> DataObject:
        secondary = make_secondary(call.sim.inv, vm, host)
        vm.touch()
        return _secondary_result(call, secondary, vm)

    return work


def _group_secondary(call: Call) -> VM:
    """The ``vm`` parameter, which must be a secondary of the target's FT group."""
    vm = call.vm
    not_secondary(call)
    other = call.ref_obj("vm")
    call.require(vm.ft is not None, lambda: invalid_state(f"{vm.name} is not fault tolerant"))
    call.require(
        isinstance(other, VM) and vm.ft is not None and other in vm.ft.secondaries,
        lambda: SimFault(
            "SecondaryVmNotRegistered",
            f"{getattr(other, 'name', '?')} is not a secondary of this fault tolerant group",
            instanceUuid=getattr(other, "instance_uuid", ""),
        ),
    )
    return other  # type: ignore[return-value]


@op("VirtualMachine", "MakePrimaryVM_Task")
def make_primary(call: Call):
    vm = call.vm
    secondary = _group_secondary(call)
    if vm.ft is not None and isinstance(secondary, VM):
        call.require(
            secondary.moid not in vm.ft.disabled,
            lambda: SimFault(
                "SecondaryVmAlreadyDisabled",
                "the secondary is disabled",
                instanceUuid=secondary.instance_uuid,
            ),
        )
        host_usable(call, secondary.host)

    def work() -> None:
        group = vm.ft
        if group is not None and "ft_double_swap" in call.sim.misbehave and group.primary is secondary:
            secondary_swapped_back(group, vm)
            return
        if group is None or secondary not in group.secondaries:
            return
        idx = group.secondaries.index(secondary)
        group.secondaries[idx] = vm
        group.primary = secondary
        vm.touch()
        secondary.touch()

    return TaskPlan(work, locks=[vm, secondary])


def secondary_swapped_back(group: FtGroup, vm: VM) -> None:
    """The ``ft_double_swap`` misbehaviour: a MakePrimaryVM_Task whose swap another one already made
    swaps the roles again, so ``vm`` is the primary once more."""
    if vm in group.secondaries:
        old = group.primary
        group.secondaries[group.secondaries.index(vm)] = old
        group.primary = vm
        vm.touch()
        old.touch()


@op("VirtualMachine", "DisableSecondaryVM_Task")
def disable_secondary(call: Call):
    vm = call.vm
    secondary = _group_secondary(call)
    if vm.ft is not None and isinstance(secondary, VM):
        call.require(
            secondary.moid not in vm.ft.disabled,
            lambda: SimFault(
                "SecondaryVmAlreadyDisabled",
                "the secondary is already disabled",
                instanceUuid=secondary.instance_uuid,
            ),
        )

    def work() -> None:
        if vm.ft is not None:
            vm.ft.disabled.add(secondary.moid)
            secondary.power_state = "poweredOff"
            secondary.touch()
            vm.touch()

    return TaskPlan(work, locks=[vm, secondary])


@op("VirtualMachine", "EnableSecondaryVM_Task")
def enable_secondary(call: Call):
    vm = call.vm
    secondary = _group_secondary(call)
    if vm.ft is not None and isinstance(secondary, VM):
        call.require(
            secondary.moid in vm.ft.disabled,
            lambda: SimFault(
                "SecondaryVmAlreadyEnabled",
                "the secondary is already enabled",
                instanceUuid=secondary.instance_uuid,
            ),
        )
    host = call.ref_obj("host")
    host_usable(call, host)  # type: ignore[arg-type]

    def work() -> DataObject:
        if vm.ft is not None:
            vm.ft.disabled.discard(secondary.moid)
            if isinstance(host, Host):
                secondary.host = host
            if vm.power_state == "poweredOn":
                power_on(secondary)
            secondary.touch()
            vm.touch()
        return _secondary_result(call, secondary, vm)

    return TaskPlan(work, locks=[vm, secondary])


@op("VirtualMachine", "TerminateFaultTolerantVM_Task")
def terminate_ft(call: Call):
    vm = call.vm
    not_secondary(call)
    call.require(vm.ft is not None, lambda: invalid_state(f"{vm.name} is not fault tolerant"))
    call.require(vm.power_state == "poweredOn", lambda: invalid_state("fault tolerance is not running"))
    secondary = _group_secondary(call) if call.params.get("vm") is not None else None

    def work() -> None:
        group = vm.ft
        if group is None:
            return
        if secondary is not None:
            secondary.boot_time = now()  # the secondary is restarted
            secondary.touch()
        else:
            active = [s for s in group.secondaries if s.moid not in group.disabled]
            if active:  # failover: a secondary takes over
                new = active[0]
                group.secondaries[group.secondaries.index(new)] = vm
                group.primary = new
                vm.boot_time = now()
                new.touch()
        vm.touch()

    return TaskPlan(work, locks=[vm, *([secondary] if secondary else [])])


@op("VirtualMachine", "TurnOffFaultToleranceForVM_Task")
def turn_off_ft(call: Call):
    vm = call.vm
    not_secondary(call)
    call.require(vm.ft is not None, lambda: invalid_state(f"{vm.name} is not fault tolerant"))

    def work() -> None:
        group = vm.ft
        if group is None:
            return
        for s in list(group.secondaries):
            s.ft = None
            remove_vm(call.sim.inv, s)
        vm.ft = None
        vm.touch()

    return work
