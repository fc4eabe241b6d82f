"""Folder operations: creating folders and virtual machines, destroying a folder tree."""

from __future__ import annotations

from ...vmodl.values import MoRef
from ..faults import SimFault
from ..lifecycle import new_vm_from_spec
from ..model import VM, Folder, Managed
from .base import Call, TaskPlan, op
from .guards import valid_name


@op("Folder", "CreateFolder")
def create_folder(call: Call):
    folder: Folder = call.obj  # type: ignore[assignment]
    name = call.p("name")
    call.require(
        valid_name(name),
        lambda: SimFault("InvalidName", f"invalid folder name {name!r}", name=name, entity=folder.ref),
    )
    dup = next((c for c in folder.children if c.name == name), None)
    call.require(
        dup is None,
        lambda: SimFault("DuplicateName", f"{name} exists", name=name, object=dup.ref if dup else folder.ref),
    )

    def apply() -> MoRef:
        inv = call.sim.inv
        child = Folder(inv.new_id("group-v"), name, folder, folder.child_types)
        folder.children.append(child)
        folder.touch()
        inv.add(child)
        return child.ref

    return apply


@op("Folder", "CreateVM_Task")
def create_vm(call: Call):
    folder: Folder = call.obj  # type: ignore[assignment]
    spec = call.p("config")
    pool = call.ref_obj("pool")
    host = call.ref_obj("host")
    name = spec.get("name")
    call.require(
        isinstance(name, str) and valid_name(name),
        lambda: SimFault("InvalidName", f"invalid VM name {name!r}", name=str(name or "")),
    )
    call.require(
        "VirtualMachine" in folder.child_types,
        lambda: SimFault("InvalidState", f"folder {folder.name} does not hold virtual machines"),
    )
    dup = next((c for c in folder.children if c.name == name), None)
    call.require(
        dup is None,
        lambda: SimFault(
            "DuplicateName", f"{name} exists", name=str(name), object=dup.ref if dup else folder.ref
        ),
    )
    if host is not None:
        call.require(
            not host.maintenance, lambda: SimFault("InvalidState", "the host is in maintenance mode")
        )

    def work() -> MoRef:
        return new_vm_from_spec(call.sim.inv, folder, pool, host, spec).ref

    return TaskPlan(work, locks=[], entity=folder)


@op("Folder", "Destroy_Task")
def destroy_folder(call: Call):
    folder: Folder = call.obj  # type: ignore[assignment]
    inv = call.sim.inv
    call.require(
        folder.parent is not None
        and not folder.moid.startswith(("group-d1",))
        and folder.moid not in ("group-v3", "group-h4", "group-s5", "group-n6"),
        lambda: SimFault("InvalidState", "this folder cannot be destroyed"),
    )
    vms = [o for o in _subtree(folder) if isinstance(o, VM)]
    call.require(
        all(v.power_state != "poweredOn" for v in vms),
        lambda: SimFault("InvalidState", "the folder holds powered-on virtual machines"),
    )

    def work() -> None:
        for obj in _subtree(folder):
            if isinstance(obj, VM):
                obj.pool.vms[:] = [v for v in obj.pool.vms if v is not obj]
                for s in list(obj.iter_snapshots()):
                    inv.remove(s)
            inv.remove(obj)
        parent = folder.parent
        if isinstance(parent, Folder):
            parent.children[:] = [c for c in parent.children if c is not folder]
            parent.touch()

    return TaskPlan(work, locks=[], entity=folder)


def _subtree(folder: Folder) -> list[Managed]:
    out: list[Managed] = []
    stack: list[Managed] = [folder]
    while stack:
        obj = stack.pop()
        out.append(obj)
        stack.extend(getattr(obj, "children", ()))
    return out
