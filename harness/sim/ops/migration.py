"""Moving a virtual machine: relocation (pool, host, datastore) and migration."""

from __future__ import annotations

from typing import Any

from ..faults import invalid_argument, invalid_power_state
from ..model import VM, Host, ResourcePool
from .base import Call, op
from .guards import host_usable, not_secondary, not_template, placement


@op("VirtualMachine", "RelocateVM_Task")
def relocate(call: Call):
    vm = call.vm
    not_secondary(call)
    spec = call.p("spec")
    pool, host, datastore = placement(call, spec)

    def work() -> None:
        _move(vm, pool, host)
        if datastore is not None:
            vm.datastores = [datastore]  # type: ignore[list-item]
            vm.files_path = f"[{datastore.name}] {vm.name}/{vm.name}.vmx"
        vm.touch()

    return work


def _move(vm: VM, pool: Any, host: Any) -> None:
    if isinstance(pool, ResourcePool) and pool is not vm.pool:
        vm.pool.vms[:] = [v for v in vm.pool.vms if v is not vm]
        vm.pool = pool
        pool.vms.append(vm)
    if isinstance(host, Host):
        vm.host = host


@op("VirtualMachine", "MigrateVM_Task")
def migrate(call: Call):
    vm = call.vm
    not_template(call)
    not_secondary(call)
    pool, host = call.ref_obj("pool"), call.ref_obj("host")
    if pool is None and host is None:
        raise invalid_argument("host", "a migration names a host, a pool or both")
    state = call.p("state")
    if state is not None:
        call.require(vm.power_state == state, lambda: invalid_power_state(vm.power_state, state))
    host_usable(call, host)  # type: ignore[arg-type]
    return lambda: _move(vm, pool, host)
