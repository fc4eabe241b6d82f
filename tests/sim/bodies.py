"""Neutral request bodies for any operation (required parameters, MoRefs to existing objects)."""

from __future__ import annotations

import json

from harness.sim.build import builder
from harness.sim.simulator import Simulator
from harness.vmodl.codec import codec
from harness.vmodl.registry import release
from harness.vmodl.values import MoRef

PICK = {
    "HostSystem": "host-11",
    "ResourcePool": "resgroup-8",
    "Folder": "group-v3",
    "Datastore": "datastore-20",
    "ManagedEntity": "vm-102",
}


def neutral_body(sim: Simulator, contract, rel: str, target: str) -> bytes:
    """A request with every required parameter (neutral values) and MoRefs to existing objects."""
    b, c = builder(rel), codec(rel)
    vm = sim.inv.get(target)
    types = {m.name: m.type for m in release(rel).method(contract.managed_type, contract.name).params}
    body = {}
    for p in contract.params_for(rel):
        if not p.required and p.moref is None:
            continue
        declared = p.moref + ("[]" if p.type.endswith("[]") else "") if p.moref else p.type
        if p.moref == "VirtualMachine":
            other = vm.ft.secondaries[0].moid if vm.ft and vm.ft.secondaries else "vm-102"
            value = MoRef("VirtualMachine", other)
        elif p.moref == "VirtualMachineSnapshot":
            snaps = list(vm.iter_snapshots())
            value = MoRef("VirtualMachineSnapshot", snaps[0].moid if snaps else "snapshot-1")
        elif p.moref is not None:
            value = MoRef(p.moref, PICK.get(p.moref, "group-d1"))
        else:
            value = b.default(types[p.name])
        if p.moref and p.type.endswith("[]"):
            value = [value]
        body[p.name] = c.encode(value, declared)
    return json.dumps(body).encode()
