"""The curated semantics (docs/semantics.md) and curated privileges of every contract hold up against
the VMODL type registry, in every release a contract names.

``semantics_problems`` checks one contract mapping: every VirtualMachine method (and support method)
is curated; every property path resolves (no path into an array); predicate values fit the leaf's type
(enum values exist, string fields VMware documents as enums included); faults are declared, subtypes
of declared faults, or runtime faults; ``reported`` is ``sync`` for non-task methods and ``task`` for
task methods (``sync`` only for runtime faults, which vCenter answers at once, e.g. InvalidArgument);
``observable: false`` and effect-less methods carry a ``note``.  The negative cases break an in-memory
copy of a good contract and expect the precise problem.
"""

from __future__ import annotations

import copy
import re
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from harness.contract import load_contracts
from harness.contract.generate import CURATED_PRIVILEGES_FILE
from harness.contract.model import Contract, from_mapping
from harness.contract.store import read_contract_file
from harness.vmodl.registry import RELEASES, TypeRef, release

PREDICATES = ("equals", "not_equals", "in", "not_in", "present")
EFFECT_PREDICATES = (*PREDICATES, "changed", "equals_param", "equals_task_result")
SUBJECTS = ("target", "param", "object")
SEMANTICS_KEYS = {
    "curated",
    "summary",
    "read_only",
    "observable",
    "note",
    "cancelable",
    "locks",
    "preconditions",
    "effects",
    "on_failure_unchanged",
}
PRECONDITION_KEYS = {"id", "description", "fault", "reported", *SUBJECTS, *PREDICATES}
EFFECT_KEYS = {"description", "target", "task_result", *EFFECT_PREDICATES}
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")
PRIVILEGE_ID = re.compile(r"^[A-Z][A-Za-z0-9]*(\.[A-Z][A-Za-z0-9]*)+$")
INTEGERS = {"byte", "short", "int", "long"}

#: Fields typed ``string`` in VMODL whose values VMware documents as an enum.
STRING_ENUMS: dict[tuple[str, str], str] = {
    ("GuestInfo", "toolsRunningStatus"): "VirtualMachineToolsRunningStatus",
    ("GuestInfo", "toolsVersionStatus2"): "VirtualMachineToolsVersionStatus",
    ("GuestInfo", "guestState"): "VirtualMachineGuestState",
    ("VirtualMachineRuntimeInfo", "cryptoState"): "VirtualMachineCryptoState",
    ("AcquireTicketRequestType", "ticketType"): "VirtualMachineTicketType",
}

CONTRACTS = load_contracts()
METHODS = [c for c in CONTRACTS if c.kind == "method"]
VM_METHODS = [c for c in METHODS if c.managed_type == "VirtualMachine" and not c.support]


class PathError(Exception):
    """A path that does not resolve through the registry."""


# --- resolution -----------------------------------------------------------------------------------
def _field(rel, type_name: str, name: str):
    """A field of a data type or of one of its subtypes (a polymorphic field may hold a subtype)."""
    for t in rel.subtypes(type_name):
        for f in rel.fields(t):
            if f.name == name:
                return f, t
    return None, None


def _walk(rel, ref: TypeRef, owner: str, rest: list[str], path: str) -> tuple[TypeRef, str, str]:
    """Follow data-type fields from ``ref``; returns (leaf type, owner type, leaf name)."""
    leaf = owner_name = ""
    for name in rest:
        if ref.array:
            raise PathError(f"{path!r} goes into an array at {name!r}")
        if rel.kind(ref.name) != "data":
            raise PathError(f"{path!r}: {ref.name} has no field {name!r}")
        member, owner_name = _field(rel, ref.name, name)
        if member is None:
            raise PathError(f"{path!r}: {ref.name} has no field {name!r} in {rel.name}")
        ref, leaf = member.type, name
    return ref, owner_name or owner, leaf


def resolve_property(rel, managed_type: str, path: str) -> tuple[TypeRef, str, str]:
    head, *rest = path.split(".")
    prop = next((p for p in rel.properties(managed_type) if p.name == head), None)
    if prop is None:
        raise PathError(f"{path!r}: {managed_type} has no property {head!r} in {rel.name}")
    return _walk(rel, prop.type, managed_type, rest, path)


def resolve_param(rel, c: Contract, path: str) -> tuple[TypeRef, str, str] | None:
    """The leaf of a request path; None when the parameter does not exist in this release yet."""
    head, *rest = path.split(".")
    if not any(p.name == head for p in c.params):
        raise PathError(f"{path!r}: {c.name} has no parameter {head!r}")
    p = next((p for p in c.params_for(rel.name) if p.name == head), None)
    if p is None:
        return None
    array = p.type.endswith("[]")
    ref = TypeRef(p.moref, array) if p.moref else TypeRef(p.type.removesuffix("[]"), array)
    owner = c.request_type or ""
    return _walk(rel, ref, owner, rest, path) if rest else (ref, owner, head)


def resolve_object(rel, c: Contract, spec: Any) -> tuple[TypeRef, str, str] | None:
    if not isinstance(spec, dict) or set(spec) != {"param", "path"}:
        raise PathError(f"object {spec!r} must be {{param: P, path: PATH}}")
    p = next((p for p in c.params if p.name == spec["param"]), None)
    if p is None or not p.moref or p.type.endswith("[]"):
        raise PathError(f"object.param {spec['param']!r} is not a single object-reference parameter")
    if not p.in_release(rel.name):
        return None
    return resolve_property(rel, p.moref, spec["path"])


def value_problem(rel, leaf: tuple[TypeRef, str, str], value: Any) -> str | None:
    ref, owner, name = leaf
    if ref.array:
        return None if isinstance(value, list) else f"{value!r} is not a list ({ref})"
    enum = ref.name if rel.kind(ref.name) == "enum" else STRING_ENUMS.get((owner, name))
    if enum is not None:
        values = rel.enums[enum].values
        return (
            None
            if value in values
            else f"{value!r} is not a {enum} value in {rel.name} ({', '.join(values)})"
        )
    if ref.name == "boolean":
        return None if isinstance(value, bool) else f"{value!r} is not a boolean"
    if ref.name in INTEGERS:
        return (
            None if isinstance(value, int) and not isinstance(value, bool) else f"{value!r} is not an integer"
        )
    if ref.name == "string":
        return None if isinstance(value, str) else f"{value!r} is not a string"
    return None


# --- the checker ----------------------------------------------------------------------------------
def semantics_problems(data: dict[str, Any]) -> list[str]:
    """Every problem of a contract mapping's ``semantics`` section (empty: it is good)."""
    c = from_mapping(data)
    sem = data.get("semantics") or {}
    out: list[str] = []
    if c.kind == "property":
        if sem.get("read_only") is not True:
            out.append("a property read is read_only: true")
        return out
    for key in sorted(set(sem) - SEMANTICS_KEYS):
        out.append(f"unknown semantics key {key!r}")
    if sem.get("curated") is not True:
        out.append("not curated (curated: true)")
        return out
    if not isinstance(sem.get("summary"), str) or not sem["summary"].strip():
        out.append("summary missing")
    for flag in ("read_only", "observable", "cancelable"):
        if not isinstance(sem.get(flag), bool):
            out.append(f"{flag} must be stated as a boolean")
    if sem.get("cancelable") is True and not c.is_task:
        out.append("cancelable: only a task can be cancelable")
    note = sem.get("note")
    has_note = isinstance(note, str) and bool(note.strip())
    effects = sem.get("effects") or []
    property_effects = [e for e in effects if isinstance(e, dict) and "target" in e]
    changing = [e for e in property_effects if e.get("changed") is True or "equals_param" in e]
    if sem.get("observable") is False and not has_note:
        out.append("observable: false needs a note saying why")
    if sem.get("observable") is False and changing:
        out.append("observable: false, yet an effect asserts a change")
    if sem.get("read_only") is True and (changing or sem.get("observable") is not False):
        out.append("read_only: true changes nothing: observable: false and no changing effect")
    if not property_effects and not has_note:
        out.append("no property effect and no note saying why")
    for i, lock in enumerate(sem.get("locks") or []):
        p = next((p for p in c.params if p.name == lock), None)
        if lock != "target" and (p is None or not p.moref):
            out.append(f"locks[{i}]: {lock!r} is neither target nor an object-reference parameter")
    has_result = any(isinstance(e, dict) and e.get("task_result") == "present" for e in effects)
    if c.is_task and c.task_result and not has_result:
        out.append(f"the task returns a {c.task_result}: effects need `task_result: present`")
    for i, pre in enumerate(sem.get("preconditions") or []):
        out += [f"preconditions[{i}]: {m}" for m in _precondition(c, pre, sem["preconditions"][:i])]
    for i, eff in enumerate(effects):
        out += [f"effects[{i}]: {m}" for m in _effect(c, eff)]
    for i, path in enumerate(sem.get("on_failure_unchanged") or []):
        for r in c.releases:
            try:
                resolve_property(release(r), c.managed_type, path)
            except PathError as exc:
                out.append(f"on_failure_unchanged[{i}]: {exc}")
                break
    return out


def _one(item: dict[str, Any], keys: tuple[str, ...], what: str) -> list[str]:
    found = [k for k in keys if k in item]
    return (
        [] if len(found) == 1 else [f"needs exactly one {what} of {', '.join(keys)} (has {found or 'none'})"]
    )


def _subject_leaf(rel, c: Contract, item: dict[str, Any]) -> tuple[TypeRef, str, str] | None:
    if "target" in item:
        return resolve_property(rel, c.managed_type, item["target"])
    if "param" in item:
        return resolve_param(rel, c, item["param"])
    return resolve_object(rel, c, item["object"])


def _values(rel, leaf, item: dict[str, Any]) -> list[str]:
    out = []
    for key in ("equals", "not_equals"):
        if key in item and (why := value_problem(rel, leaf, item[key])):
            out.append(f"{key}: {why}")
    for key in ("in", "not_in"):
        if key in item:
            if not isinstance(item[key], list) or not item[key]:
                out.append(f"{key}: needs a non-empty list")
                continue
            out += [f"{key}: {why}" for v in item[key] if (why := value_problem(rel, leaf, v))]
    for key in ("present", "changed"):
        if key in item and not isinstance(item[key], bool):
            out.append(f"{key}: {item[key]!r} is not a boolean")
    return out


def _precondition(c: Contract, pre: Any, earlier: list[Any]) -> list[str]:
    if not isinstance(pre, dict):
        return ["not a mapping"]
    out = [f"unknown key {k!r}" for k in sorted(set(pre) - PRECONDITION_KEYS)]
    if not isinstance(pre.get("id"), str) or not KEBAB.match(pre["id"]):
        out.append(f"id {pre.get('id')!r} is not kebab-case")
    elif any(isinstance(e, dict) and e.get("id") == pre["id"] for e in earlier):
        out.append(f"id {pre['id']!r} is not unique")
    out += _one(pre, SUBJECTS, "subject") + _one(pre, PREDICATES, "predicate")
    fault, reported = pre.get("fault"), pre.get("reported")
    if reported not in ("task", "sync"):
        out.append(f"reported {reported!r} is neither task nor sync")
    elif reported == "task" and not c.is_task:
        out.append("reported: task, but the method is not a task (sync)")
    if out:
        return out
    for r in c.releases:
        rel = release(r)
        try:
            leaf = _subject_leaf(rel, c, pre)
        except PathError as exc:
            return [str(exc)]
        if leaf is not None:
            out += _values(rel, leaf, pre)
        if not isinstance(fault, str) or not rel.is_fault(fault):
            return out + [f"fault {fault!r} is not a fault in {r}"]
        declared = c.faults_for(r)
        if not (rel.is_runtime_fault(fault) or any(rel.is_subtype(fault, d) for d in declared)):
            out.append(
                f"fault {fault!r} is neither declared ({', '.join(declared)}) nor a subtype of one "
                f"nor a runtime fault in {r}"
            )
        if c.is_task and reported == "sync" and not rel.is_runtime_fault(fault):
            out.append(f"reported: sync on a task for {fault}: vCenter reports it in TaskInfo.error (task)")
        if out:
            return sorted(set(out))
    return out


def _effect(c: Contract, eff: Any) -> list[str]:
    if not isinstance(eff, dict):
        return ["not a mapping"]
    out = [f"unknown key {k!r}" for k in sorted(set(eff) - EFFECT_KEYS)]
    if "task_result" in eff:
        if eff["task_result"] != "present" or len(set(eff) - {"description"}) != 1:
            out.append("a task_result effect is just `task_result: present`")
        elif not (c.is_task and c.task_result):
            out.append(f"task_result: {c.name} has no task result")
        return out
    if "target" not in eff:
        return [*out, "an effect names a target (or is task_result)"]
    out += _one(eff, EFFECT_PREDICATES, "predicate")
    if out:
        return out
    for r in c.releases:
        rel = release(r)
        try:
            leaf = resolve_property(rel, c.managed_type, eff["target"])
            out += _values(rel, leaf, eff)
            if "equals_param" in eff:
                pleaf = resolve_param(rel, c, eff["equals_param"])
                integers = {"byte", "short", "int", "long"}  # the same JSON numbers: comparable
                kinds = (
                    [("integer" if t.name in integers else t.name, t.array) for t in (pleaf[0], leaf[0])]
                    if pleaf is not None
                    else []
                )
                if pleaf is not None and kinds[0] != kinds[1]:
                    out.append(f"equals_param: the parameter is a {pleaf[0]}, the property a {leaf[0]}")
        except PathError as exc:
            out.append(str(exc))
        if out:
            return sorted(set(out))
    return out


# --- the contracts as they are ----------------------------------------------------------------------
@cache
def raw(c_id: str) -> dict[str, Any]:
    return read_contract_file(Path(CONTRACTS.get(c_id).source_file))


def test_every_virtual_machine_method_is_covered():
    at_802 = [c.name for c in VM_METHODS if c.in_release("8.0.2.0")]
    assert len(at_802) == 68
    assert [c.name for c in VM_METHODS if not c.in_release("9.0.0.0")] == ["RepairVmDiskChains_Task"]
    assert all(c.semantics.get("curated") is True for c in VM_METHODS)


@pytest.mark.parametrize("c_id", [c.id for c in CONTRACTS])
def test_semantics_hold_up(c_id: str):
    assert semantics_problems(raw(c_id)) == []


def test_task_preconditions_report_in_the_task_unless_runtime():
    sync_on_tasks = {
        (c.name, p["id"]) for c in METHODS if c.is_task for p in c.preconditions if p["reported"] == "sync"
    }
    assert sync_on_tasks == {
        ("CloneVM_Task", "name-not-empty"),
        ("InstantClone_Task", "name-not-empty"),
        ("MigrateVM_Task", "known-priority"),
    }


def test_known_facts():
    """Spot checks of what VMware documents, so that a wrong curation cannot pass unnoticed."""

    def pre(name: str, pid: str) -> dict[str, Any]:
        return next(p for p in CONTRACTS.get(f"VirtualMachine_{name}").preconditions if p["id"] == pid)

    assert pre("PowerOnVM_Task", "not-template")["fault"] == "InvalidState"
    on = pre("PowerOnVM_Task", "not-powered-on")
    assert {k: on.get(k) for k in ("target", "not_equals", "fault", "reported")} == {
        "target": "runtime.powerState",
        "not_equals": "poweredOn",
        "fault": "InvalidPowerState",
        "reported": "task",
    }
    assert pre("ShutdownGuest", "tools-running")["fault"] == "ToolsUnavailable"
    assert pre("RevertToCurrentSnapshot_Task", "has-current-snapshot")["fault"] == "NotFound"
    assert pre("MountToolsInstaller", "not-mounted")["target"] == "runtime.toolsInstallerMounted"
    assert pre("MakePrimaryVM_Task", "vm-is-secondary")["object"] == {
        "param": "vm",
        "path": "config.ftInfo.role",
    }
    assert CONTRACTS.get("VirtualMachine_MakePrimaryVM_Task").locks == ["target", "vm"]
    assert not CONTRACTS.get("VirtualMachine_RemoveAllSnapshots_Task").preconditions
    cancelable = {c.name for c in VM_METHODS if c.cancelable}
    assert cancelable == {"CloneVM_Task", "RelocateVM_Task", "MigrateVM_Task"}
    read_only = {c.name for c in VM_METHODS if c.semantics["read_only"]}
    assert {"QueryConnections", "AcquireTicket", "CheckCustomizationSpec", "Reload"} <= read_only
    assert "CreateScreenshot_Task" not in read_only
    unobservable = {c.name for c in VM_METHODS if c.semantics["observable"] is False}
    assert {
        "SendNMI",
        "PutUsbScanCodes",
        "DefragmentAllDisks",
        "RefreshStorageInfo",
        "Reload",
    } <= unobservable


# --- curated privileges ----------------------------------------------------------------------------
def privilege_problems(curated: dict[Any, Any]) -> list[str]:
    out = []
    for op_id, entry in curated.items():
        if op_id not in CONTRACTS.by_id:
            out.append(f"{op_id}: no such contract")
            continue
        c = CONTRACTS.get(op_id)
        privs = list(entry.get("required", []))
        for i, cond in enumerate(entry.get("conditional", [])):
            loc = f"{op_id}.conditional[{i}]"
            bad_keys = [k for k in cond if not isinstance(k, str)]
            if bad_keys:
                out.append(f"{loc}: key {bad_keys[0]!r} is not a string (write 'on' in quotes)")
                continue
            out += [
                f"{loc}: unknown key {k!r}" for k in set(cond) - {"when", "privileges", "on", "description"}
            ]
            privs += cond.get("privileges", [])
            when = cond.get("when") or {}
            subjects = [k for k in ("param", "target") if k in when]
            preds = [k for k in ("equals", "in", "present") if k in when]
            if len(subjects) != 1 or len(preds) != 1 or len(when) != 2:
                out.append(
                    f"{loc}: a condition has one subject (param|target) and one predicate (equals|in|present)"
                )
                continue
            for r in c.releases:
                rel = release(r)
                try:
                    leaf = (
                        resolve_param(rel, c, when["param"])
                        if "param" in when
                        else resolve_property(rel, c.managed_type, when["target"])
                    )
                    if leaf is not None:
                        out += [f"{loc}: {m}" for m in _values(rel, leaf, when)]
                    on = cond.get("on", "target")
                    if isinstance(on, dict):
                        out += [f"{loc}: on {m}" for m in _objects_on_problems(rel, c, on)]
                    elif on != "target":
                        on_leaf = resolve_param(rel, c, on)
                        if on_leaf is not None and rel.kind(on_leaf[0].name) != "managed":
                            out.append(f"{loc}: on {on!r} is not an object reference")
                except PathError as exc:
                    out.append(f"{loc}: {exc}")
        out += [f"{op_id}: {p!r} is not a privilege id" for p in privs if not PRIVILEGE_ID.match(str(p))]
    return sorted(set(out))


def _objects_on_problems(rel, c: Contract, on: dict[str, Any]) -> list[str]:
    """``on: {target, each, path}``: a property path of the target, an array when ``each`` selects its
    items by type, then a field path within an item, ending at managed object references."""
    if set(on) - {"target", "each", "path"} or "target" not in on:
        return [f"{on!r} must be {{target: PATH, each: TYPE, path: PATH}}"]
    ref, _, _ = resolve_property(rel, c.managed_type, on["target"])
    item = ref.name
    if "each" in on:
        if not ref.array:
            return [f"{on['target']!r} is not an array: `each` selects array items"]
        if on["each"] not in rel.data or not rel.is_subtype(on["each"], item):
            return [f"{on['each']!r} is not a {item}"]
        item = on["each"]
    leaf = TypeRef(item, ref.array and "each" not in on)
    if on.get("path"):
        leaf = _walk(rel, TypeRef(item), item, on["path"].split("."), on["path"])[0]
    return [] if leaf.name in rel.managed else [f"{on!r} leads to a {leaf}, not to object references"]


def curated_privileges() -> dict[Any, Any]:
    return yaml.safe_load(CURATED_PRIVILEGES_FILE.read_text())


def test_curated_privileges_hold_up():
    assert privilege_problems(curated_privileges()) == []


def test_contract_files_carry_the_curated_privileges():
    """``contracts generate`` was run after the last edit of curated_privileges.yaml."""
    for op_id, entry in curated_privileges().items():
        c = CONTRACTS.get(op_id)
        assert c.privileges_source == "curated", op_id
        assert list(c.privileges) == entry.get("required", []), op_id
        assert [(cp.when, list(cp.privileges), cp.on) for cp in c.conditional_privileges] == [
            (e["when"], e["privileges"], e.get("on", "target")) for e in entry.get("conditional", [])
        ], op_id


def test_inherited_and_conditional_privileges():
    priv = {c.name: c.privileges for c in VM_METHODS}
    assert priv["Destroy_Task"] == ("VirtualMachine.Inventory.Delete",)
    assert priv["Rename_Task"] == ("VirtualMachine.Config.Rename",)
    assert priv["setCustomValue"] == ("Global.SetCustomField",)
    clone = {
        (tuple(cp.when.items()), cp.on): cp.privileges
        for cp in CONTRACTS.get("VirtualMachine_CloneVM_Task").conditional_privileges
    }
    assert clone[((("target", "config.template"), ("equals", True)), "target")] == (
        "VirtualMachine.Provisioning.DeployTemplate",
    )
    assert clone[((("param", "folder"), ("present", True)), "folder")] == (
        "VirtualMachine.Inventory.CreateFromExisting",
    )
    ticket = CONTRACTS.get("VirtualMachine_AcquireTicket").conditional_privileges
    covered = [v for cp in ticket for v in cp.when["in"]]
    assert sorted(covered) == sorted(release("8.0.2.0").enums["VirtualMachineTicketType"].values)


# --- the checker fails on broken sections ---------------------------------------------------------------
def _pre(data: dict[str, Any], i: int = 0) -> dict[str, Any]:
    return data["semantics"]["preconditions"][i]


def _eff(data: dict[str, Any], i: int = 0) -> dict[str, Any]:
    return data["semantics"]["effects"][i]


BREAKS = {
    "unknown property": (
        "PowerOnVM_Task",
        lambda d: _pre(d, 1).update(target="runtime.powerStat"),
        "no field 'powerStat'",
    ),
    "unknown enum value": (
        "PowerOnVM_Task",
        lambda d: _pre(d, 1).update(not_equals="poweredUp"),
        "'poweredUp' is not a VirtualMachinePowerState value",
    ),
    "string enum value": (
        "ShutdownGuest",
        lambda d: _pre(d, 1).update(equals="running"),
        "'running' is not a VirtualMachineToolsRunningStatus value",
    ),
    "wrong value type": ("PowerOnVM_Task", lambda d: _pre(d, 0).update(equals="no"), "'no' is not a boolean"),
    "undeclared fault": (
        "PowerOffVM_Task",
        lambda d: _pre(d).update(fault="FileFault"),
        "'FileFault' is neither declared",
    ),
    "not a fault": (
        "PowerOffVM_Task",
        lambda d: _pre(d).update(fault="VirtualMachineRuntimeInfo"),
        "is not a fault",
    ),
    "sync on a task": (
        "PowerOffVM_Task",
        lambda d: _pre(d).update(reported="sync"),
        "reported: sync on a task for InvalidPowerState",
    ),
    "task on a non-task": (
        "MarkAsTemplate",
        lambda d: _pre(d).update(reported="task"),
        "the method is not a task",
    ),
    "path into an array": (
        "PowerOnVM_Task",
        lambda d: _pre(d, 1).update(target="config.hardware.device.key"),
        "goes into an array",
    ),
    "duplicate id": ("PowerOnVM_Task", lambda d: _pre(d, 1).update(id="not-template"), "is not unique"),
    "two predicates": (
        "PowerOnVM_Task",
        lambda d: _pre(d, 1).update(equals="poweredOff"),
        "exactly one predicate",
    ),
    "unknown key": ("PowerOnVM_Task", lambda d: _pre(d, 1).update(expect="x"), "unknown key 'expect'"),
    "object on a non-reference": (
        "MakePrimaryVM_Task",
        lambda d: _pre(d, 2).update(object={"param": "nope", "path": "name"}),
        "not a single object-reference parameter",
    ),
    "not curated": ("PowerOnVM_Task", lambda d: d["semantics"].update(curated=False), "not curated"),
    "unobservable without note": (
        "SendNMI",
        lambda d: d["semantics"].pop("note"),
        "observable: false needs a note",
    ),
    "read-only that changes": (
        "QueryConnections",
        lambda d: d["semantics"]["effects"].append({"target": "name", "changed": True}),
        "read_only: true changes nothing",
    ),
    "no effect, no note": (
        "UnregisterVM",
        lambda d: d["semantics"].pop("note"),
        "no property effect and no note",
    ),
    "cancelable non-task": (
        "MarkAsTemplate",
        lambda d: d["semantics"].update(cancelable=True),
        "only a task can be cancelable",
    ),
    "lock on a value": (
        "Rename_Task",
        lambda d: d["semantics"].update(locks=["newName"]),
        "neither target nor an object-reference parameter",
    ),
    "missing task result": (
        "CloneVM_Task",
        lambda d: d["semantics"]["effects"].pop(0),
        "effects need `task_result: present`",
    ),
    "task result of a void task": (
        "PowerOnVM_Task",
        lambda d: d["semantics"]["effects"].append({"task_result": "present"}),
        "has no task result",
    ),
    "unknown parameter": (
        "Rename_Task",
        lambda d: _eff(d).update(equals_param="newname"),
        "has no parameter 'newname'",
    ),
    "parameter of another type": (
        "Rename_Task",
        lambda d: _eff(d).update(target="config.template"),
        "the parameter is a string, the property a boolean",
    ),
    "unchanged path unknown": (
        "PowerOnVM_Task",
        lambda d: d["semantics"].update(on_failure_unchanged=["nope"]),
        "has no property 'nope'",
    ),
    "property read not read-only": (
        "getRuntime",
        lambda d: d["semantics"].update(read_only=False),
        "a property read is read_only: true",
    ),
}


@pytest.mark.parametrize("case", sorted(BREAKS))
def test_a_broken_section_fails(case: str):
    name, breaker, expected = BREAKS[case]
    data = copy.deepcopy(raw(f"VirtualMachine_{name}"))
    assert semantics_problems(data) == [], "the unbroken contract must pass"
    breaker(data)
    problems = semantics_problems(data)
    assert any(expected in p for p in problems), problems


PRIVILEGE_BREAKS = {
    "bare on": (
        lambda p: p["VirtualMachine_CloneVM_Task"]["conditional"][3].update({True: "folder"}),
        "is not a string (write 'on' in quotes)",
    ),
    "two subjects": (
        lambda p: p["VirtualMachine_CloneVM_Task"]["conditional"][0]["when"].update(param="name"),
        "one subject",
    ),
    "unknown ticket type": (
        lambda p: p["VirtualMachine_AcquireTicket"]["conditional"][0]["when"]["in"].append("vnc"),
        "'vnc' is not a VirtualMachineTicketType value",
    ),
    "unknown request path": (
        lambda p: p["VirtualMachine_ReconfigVM_Task"]["conditional"][0]["when"].update(param="spec.nmae"),
        "has no field 'nmae'",
    ),
    "bad privilege id": (
        lambda p: p["VirtualMachine_Destroy_Task"].update(required=["delete"]),
        "'delete' is not a privilege id",
    ),
    "on a value": (
        lambda p: p["VirtualMachine_CloneVM_Task"]["conditional"][3].update(on="name"),
        "is not an object reference",
    ),
    "on each of a wrong type": (
        lambda p: p["VirtualMachine_RepairVmDiskChains_Task"]["conditional"][0]["on"].update(
            each="VirtualMachineConfigSpec"
        ),
        "'VirtualMachineConfigSpec' is not a VirtualDevice",
    ),
    "on each to a value": (
        lambda p: p["VirtualMachine_RepairVmDiskChains_Task"]["conditional"][0]["on"].update(
            path="backing.fileName"
        ),
        "leads to a string, not to object references",
    ),
    "on each through a missing field": (
        lambda p: p["VirtualMachine_RepairVmDiskChains_Task"]["conditional"][0]["on"].update(
            path="backing.store"
        ),
        "has no field 'store'",
    ),
}


@pytest.mark.parametrize("case", sorted(PRIVILEGE_BREAKS))
def test_broken_curated_privileges_fail(case: str):
    breaker, expected = PRIVILEGE_BREAKS[case]
    data = curated_privileges()
    breaker(data)
    problems = privilege_problems(data)
    assert any(expected in p for p in problems), problems


def test_every_release_is_checked():
    """A path valid in a later release only is reported for the releases that lack it."""
    fields = {r: {f.name for f in release(r).fields("VirtualMachineRuntimeInfo")} for r in RELEASES}
    later = sorted(fields[RELEASES[-1]] - fields[RELEASES[0]])[0]
    data = copy.deepcopy(raw("VirtualMachine_PowerOnVM_Task"))
    pre = _pre(data, 1)
    pre.pop("not_equals")
    pre.update(target=f"runtime.{later}", present=True)
    assert any(f"no field {later!r} in {RELEASES[0]}" in p for p in semantics_problems(data))
