"""Generate the contract files from the type registry, keeping what was curated by hand.

``vsphere-harness contracts generate`` writes one YAML file per operation under ``contracts/``:
every VirtualMachine method and property GET, plus the support operations the harness and the
simulator need.  A file's ``semantics`` section, and a ``privileges`` block whose ``source`` is
``curated``, survive regeneration; privileges pyVmomi does not carry come from
``curated_privileges.yaml`` (VMware's documentation).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from ..vmodl.registry import MOREF, RELEASES, Member, Method, release
from .store import read_contract_file

#: Operations on other managed types that the harness and the simulator rely on.
SUPPORT_OPERATIONS: dict[str, dict[str, list[str]]] = {
    "ServiceInstance": {"get": ["content"], "post": ["CurrentTime"]},
    "SessionManager": {"get": ["currentSession"], "post": ["Login", "Logout"]},
    "Task": {"get": ["info"], "post": ["CancelTask"]},
    "AuthorizationManager": {
        "get": ["roleList", "privilegeList"],
        "post": [
            "AddAuthorizationRole",
            "RemoveAuthorizationRole",
            "UpdateAuthorizationRole",
            "SetEntityPermissions",
            "RetrieveEntityPermissions",
            "RetrieveAllPermissions",
            "RemoveEntityPermission",
            "HasPrivilegeOnEntity",
            "HasPrivilegeOnEntities",
            "FetchUserPrivilegeOnEntities",
        ],
    },
    "VirtualMachineSnapshot": {
        "get": ["config", "childSnapshot"],
        "post": ["RemoveSnapshot_Task", "RevertToSnapshot_Task", "RenameSnapshot"],
    },
    "Folder": {"get": ["childEntity"], "post": ["CreateVM_Task", "CreateFolder", "Destroy_Task"]},
    "HostSystem": {"get": ["runtime"], "post": ["EnterMaintenanceMode_Task", "ExitMaintenanceMode_Task"]},
    "HttpNfcLease": {
        "get": ["state", "info", "initializeProgress", "transferProgress", "mode", "capabilities", "error"],
        "post": [
            "HttpNfcLeaseProgress",
            "HttpNfcLeaseComplete",
            "HttpNfcLeaseAbort",
            "HttpNfcLeaseGetManifest",
            "HttpNfcLeaseSetManifestChecksumType",
        ],
    },
}

CURATED_PRIVILEGES_FILE = Path(__file__).with_name("curated_privileges.yaml")
DEFAULT_PROPERTY_PRIVILEGE = "System.Read"


def operation_id(managed_type: str, name: str, kind: str) -> str:
    """VMware's operationId: ``VirtualMachine_MakePrimaryVM_Task``, ``VirtualMachine_getRuntime``."""
    if kind == "property":
        return f"{managed_type}_get{name[0].upper()}{name[1:]}"
    return f"{managed_type}_{name}"


def request_type_name(method: str) -> str:
    """``MakePrimaryVM_Task`` -> ``MakePrimaryVMRequestType`` (VMware drops the ``_Task``)."""
    return method.removesuffix("_Task") + "RequestType"


def contract_path(root: Path, managed_type: str, name: str, kind: str) -> Path:
    if kind == "property":
        return root / managed_type / "get" / f"{name}.yaml"
    return root / managed_type / f"{name}.yaml"


def _type_str(member_type) -> str:
    return str(member_type)


def _first_release(predicate) -> list[str]:
    return [r for r in RELEASES if predicate(release(r))]


def _param_entry(member: Member, since: str | None, op_first: str) -> dict[str, Any]:
    rel = release(op_first)
    entry: dict[str, Any] = {
        "name": member.name,
        "type": _type_str(member.type),
        "required": not member.optional,
    }
    if member.type.name in rel.managed:
        entry["type"] = f"{MOREF}[]" if member.type.array else MOREF
        entry["moref"] = member.type.name
    if since and since != op_first:
        entry["since"] = since
    if member.privilege:
        entry["privilege"] = member.privilege
    return entry


def _method_contract(managed_type: str, name: str, curated: dict[str, Any]) -> dict[str, Any]:
    releases = _first_release(lambda r: any(m.name == name for m in r.methods(managed_type)))
    first = releases[0]
    methods: dict[str, Method] = {r: release(r).method(managed_type, name) for r in releases}
    latest = methods[releases[-1]]
    declared_by = release(releases[-1]).declaring_type(managed_type, name)
    params = []
    for p in latest.params:
        since = next(r for r in releases if any(q.name == p.name for q in methods[r].params))
        params.append(_param_entry(p, since, first))
    faults = []
    for f in latest.faults:
        since = next(r for r in releases if f in methods[r].faults)
        faults.append({"name": f, "since": since} if since != first else f)
    rel = release(first)
    response: dict[str, Any]
    if latest.returns is None:
        response = {"status": 204}
    else:
        ret = latest.returns
        response = {"status": 200}
        if ret.name in rel.managed:
            response["type"] = f"{MOREF}[]" if ret.array else MOREF
            response["moref"] = ret.name
        else:
            response["type"] = str(ret)
        if latest.returns_optional:
            response["optional"] = True
        if latest.is_task:
            response["task"] = True
            tr = latest.task_result
            if tr is not None:
                response["task_result"] = (
                    (f"{MOREF}[]" if tr.array else MOREF) if tr.name in rel.managed else str(tr)
                )
                if tr.name in rel.managed:
                    response["task_result_moref"] = tr.name
    op_id = operation_id(managed_type, name, "method")
    privileges = _privileges(op_id, latest.privilege, curated)
    return {
        "id": op_id,
        "kind": "method",
        "managed_type": managed_type,
        "declared_by": declared_by,
        "name": name,
        "http": {"method": "POST", "path": f"/{managed_type}/{{moId}}/{name}"},
        "releases": releases,
        "request": {"type": request_type_name(name) if params else None, "params": params},
        "response": response,
        "privileges": privileges,
        "faults": faults,
    }


def _property_contract(managed_type: str, name: str, curated: dict[str, Any]) -> dict[str, Any]:
    releases = _first_release(lambda r: any(p.name == name for p in r.properties(managed_type)))
    rel = release(releases[-1])
    prop = rel.property(managed_type, name)
    response: dict[str, Any] = {"status": 200}
    if prop.type.name in rel.managed:
        response["type"] = f"{MOREF}[]" if prop.type.array else MOREF
        response["moref"] = prop.type.name
    else:
        response["type"] = str(prop.type)
    if prop.optional:
        response["optional"] = True
    op_id = operation_id(managed_type, name, "property")
    return {
        "id": op_id,
        "kind": "property",
        "managed_type": managed_type,
        "declared_by": rel.declaring_type(managed_type, name),
        "name": name,
        "http": {"method": "GET", "path": f"/{managed_type}/{{moId}}/{name}"},
        "releases": releases,
        "response": response,
        "privileges": _privileges(
            op_id,
            prop.privilege or DEFAULT_PROPERTY_PRIVILEGE,
            curated,
            source="pyvmomi" if prop.privilege else "default",
        ),
        "faults": [],
    }


def _privileges(
    op_id: str, from_metadata: str | None, curated: dict[str, Any], source: str = "pyvmomi"
) -> dict[str, Any]:
    entry = curated.get(op_id)
    if entry is not None:
        out = {"source": "curated", "required": list(entry.get("required", []))}
        if entry.get("conditional"):
            out["conditional"] = entry["conditional"]
        if entry.get("reference"):
            out["reference"] = entry["reference"]
        return out
    return {"source": source, "required": [from_metadata] if from_metadata else []}


def targets() -> list[tuple[str, str, str, bool]]:
    """Every operation with a contract: (managed type, name, kind, support?)."""
    out: list[tuple[str, str, str, bool]] = []
    seen: set[tuple[str, str]] = set()
    for r in RELEASES:
        rel = release(r)
        for m in rel.methods("VirtualMachine"):
            if ("VirtualMachine", m.name) not in seen:
                seen.add(("VirtualMachine", m.name))
                out.append(("VirtualMachine", m.name, "method", False))
        for p in rel.properties("VirtualMachine"):
            if ("VirtualMachine", p.name) not in seen:
                seen.add(("VirtualMachine", p.name))
                out.append(("VirtualMachine", p.name, "property", False))
    for managed_type, ops in SUPPORT_OPERATIONS.items():
        out.extend((managed_type, name, "property", True) for name in ops.get("get", []))
        out.extend((managed_type, name, "method", True) for name in ops.get("post", []))
    return out


def load_curated_privileges() -> dict[str, Any]:
    return read_contract_file(CURATED_PRIVILEGES_FILE)  # one-line ContractError when unreadable


def generate(root: Path) -> list[Path]:
    """Write every contract under ``root``, keeping curated sections; returns the files written."""
    curated = load_curated_privileges()
    written = []
    for managed_type, name, kind, support in targets():
        path = contract_path(root, managed_type, name, kind)
        previous: dict[str, Any] = {}
        if path.exists():
            previous = yaml.safe_load(path.read_text()) or {}
        if kind == "method":
            data = _method_contract(managed_type, name, curated)
        else:
            data = _property_contract(managed_type, name, curated)
        if support:
            data["support"] = True
        if previous.get("privileges", {}).get("source") == "curated" and data["id"] not in curated:
            data["privileges"] = previous["privileges"]
        data["semantics"] = previous.get("semantics") or _default_semantics(kind)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = HEADER + yaml.safe_dump(data, sort_keys=False, width=100, allow_unicode=True)
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    return written


def _default_semantics(kind: str) -> dict[str, Any]:
    if kind == "property":
        return {"read_only": True, "effects": [], "note": "A property read changes nothing."}
    return {"curated": False}


HEADER = (
    "# Generated by `vsphere-harness contracts generate` from pyVmomi's VMODL metadata.\n"
    "# `semantics` (and `privileges` with `source: curated`) are written by hand and kept on\n"
    "# regeneration; the rest is overwritten.\n"
)
