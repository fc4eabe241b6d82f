"""Measure what the project's vcsim does, with pyVmomi, and print it as tables (the source of FACTS.md).

    .venv/bin/python interop/vcsim/survey.py [--json]

Starts its own vcsim instances on 127.0.0.1 (``interop/vcsim/build.sh`` must have been run) and
measures:

* ``content.about`` (apiVersion, fullName, …);
* every VirtualMachine method pyVmomi knows (``vim.VirtualMachine`` and the ManagedEntity /
  ExtensibleManagedObject methods it inherits), each called once, on a VM of its own, with minimal
  arguments (optional ones left out, required ones the smallest value of their type, managed object
  references to an inventory object of the right type): ``MethodNotFound`` means vcsim does not
  implement it, any other answer (a result, another fault, a dropped connection) means it does;
* every VirtualMachine property, read through the PropertyCollector as pyVmomi reads them;
* logins (which user names and passwords are accepted) and privileges (roles, permissions, and
  whether a user given the NoAccess role on a VM may still power it off).

The functions are also used by tests/interop/test_vcsim.py.
"""

from __future__ import annotations

import argparse
import datetime as _dt
import http.client
import importlib.util
import json
import ssl
import sys
from collections.abc import Callable
from contextlib import suppress
from pathlib import Path
from typing import Any

from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import VmomiSupport, vim, vmodl

HERE = Path(__file__).resolve().parent
HTTP_TIMEOUT = 20  # seconds per HTTP exchange: a hung vcsim fails the survey instead of hanging it


def _load_launcher():
    name = "vsphere_harness_vcsim_launch"
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, HERE / "launch.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


launch = _load_launcher()


# --- connecting ---------------------------------------------------------------------------------


def connect(url: str, user: str = "user", pwd: str = "pass"):
    """SmartConnect to a vcsim URL (self-signed certificate, not verified)."""
    return SmartConnect(
        host="127.0.0.1",
        port=launch.port_of(url),
        user=user,
        pwd=pwd,
        disableSslCertValidation=True,
        httpConnectionTimeout=HTTP_TIMEOUT,
    )


def all_vms(si) -> list:
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        return sorted(view.view, key=lambda vm: vm._moId)
    finally:
        view.DestroyView()


def _first_of(si, mo_type) -> Any | None:
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [mo_type], True)
    try:
        found = sorted(view.view, key=lambda mo: mo._moId)
    finally:
        view.DestroyView()
    return found[0] if found else None


# --- outcomes -------------------------------------------------------------------------------------

DROPPED = "connection dropped"


def outcome(call: Callable[[], Any]) -> str:
    """What one call came to: ``ok``, ``fault <vmodl fault type>`` or ``connection dropped``."""
    try:
        call()
    except vmodl.MethodFault as fault:
        return f"fault {type(fault).__name__.split('.')[-1]}"
    except (http.client.HTTPException, ConnectionError, ssl.SSLError) as exc:
        return f"{DROPPED} ({type(exc).__name__})"
    except TimeoutError:
        return f"timeout ({HTTP_TIMEOUT}s)"
    return "ok"


def is_method_not_found(result: str) -> bool:
    return result == "fault MethodNotFound"


# --- VirtualMachine methods ---------------------------------------------------------------------


def vm_methods() -> list[tuple[str, Any]]:
    """(wsdl name, method info) of every VirtualMachine method, inherited ones included, by wsdl name."""
    seen: dict[str, Any] = {}
    for mo_type in (vim.VirtualMachine, vim.ManagedEntity, vim.ExtensibleManagedObject):
        for info in mo_type._methodInfo.values():
            seen.setdefault(info.wsdlName, info)
    return sorted(seen.items(), key=lambda item: item[0].lower())


def vm_properties() -> list[str]:
    names: set[str] = set()
    for mo_type in (vim.VirtualMachine, vim.ManagedEntity, vim.ExtensibleManagedObject):
        names.update(mo_type._propInfo)
    return sorted(names, key=str.lower)


def _minimal(param_type, stub, refs: dict, depth: int = 0) -> Any:
    if issubclass(param_type, VmomiSupport.Array):  # one element: pyVmomi takes [] for "not provided"
        return param_type([_minimal(param_type.Item, stub, refs, depth + 1)])
    if issubclass(param_type, VmomiSupport.ManagedObject):
        for mo_type, mo in refs.items():
            if issubclass(mo_type, param_type):
                return mo
        return param_type("bogus-1", stub)
    if issubclass(param_type, VmomiSupport.Enum):
        return param_type.values[0] if getattr(param_type, "values", None) else param_type("")
    if issubclass(param_type, VmomiSupport.DataObject):
        obj = param_type()
        if depth < 6:  # required fields filled in too, as pyVmomi refuses to send them unset
            for prop in param_type._GetPropertyList():
                if not prop.flags & VmomiSupport.F_OPTIONAL:
                    setattr(obj, prop.name, _minimal(prop.type, stub, refs, depth + 1))
        return obj
    if param_type is bool:
        return False
    if issubclass(param_type, bool):
        return param_type(False)
    if issubclass(param_type, str):
        return param_type("")
    if issubclass(param_type, int | float):
        return param_type(0)
    if issubclass(param_type, bytes):
        return param_type(b"")
    if issubclass(param_type, _dt.datetime):
        return _dt.datetime.now(_dt.UTC)
    if param_type is type or getattr(param_type, "__name__", "") in {"type", "ManagedMethod", "PropertyPath"}:
        return "vim.VirtualMachine"
    return None


def minimal_args(info, stub, refs: dict) -> dict[str, Any]:
    args: dict[str, Any] = {}
    for param in info.params:
        if param.flags & VmomiSupport.F_OPTIONAL:
            continue
        args[param.name] = _minimal(param.type, stub, refs)
    return args


def survey_methods(vms_per_host: int = 36) -> dict[str, str]:
    """{wsdl method name: outcome}, each method called once on a VM of its own."""
    methods = vm_methods()
    results: dict[str, str] = {}
    with launch.running_vcsim(vms=vms_per_host) as url:
        si = connect(url)
        try:
            vms = all_vms(si)
            if len(vms) < len(methods) + 1:
                raise RuntimeError(f"{len(vms)} VMs for {len(methods)} methods: raise vms_per_host")
            refs = {
                vim.VirtualMachine: vms[-1],
                vim.HostSystem: _first_of(si, vim.HostSystem),
                vim.ResourcePool: _first_of(si, vim.ResourcePool),
                vim.Datastore: _first_of(si, vim.Datastore),
                vim.Folder: si.RetrieveContent().rootFolder.childEntity[0].vmFolder,
            }
            refs = {k: v for k, v in refs.items() if v is not None}
            for (wsdl, info), vm in zip(methods, vms, strict=False):
                args = minimal_args(info, si._stub, refs)
                method = getattr(vm, info.name)
                results[wsdl] = outcome(lambda method=method, args=args: method(**args))
        finally:
            _disconnect(si)
    return results


# --- VirtualMachine properties ------------------------------------------------------------------


def _retrieve_ex(si, mo, path: str):
    """One property of one object through PropertyCollector.RetrievePropertiesEx: (set?, value)."""
    pc = vmodl.query.PropertyCollector
    spec = pc.FilterSpec(
        objectSet=[pc.ObjectSpec(obj=mo)],
        propSet=[pc.PropertySpec(type=type(mo), pathSet=[path])],
    )
    result = si.RetrieveContent().propertyCollector.RetrievePropertiesEx([spec], pc.RetrieveOptions())
    contents = result.objects if result else []
    for content in contents:
        if content.missingSet:
            fault = content.missingSet[0].fault
            raise fault if isinstance(fault, vmodl.MethodFault) else RuntimeError(str(fault))
        for prop in content.propSet:
            if prop.name == path:
                return True, prop.val
    return False, None


def _read_ex(si, mo, path: str) -> str:
    box: dict[str, bool] = {}

    def call():
        box["set"], _ = _retrieve_ex(si, mo, path)

    result = outcome(call)
    if result == "ok":
        return "ok (set)" if box["set"] else "ok (unset: empty propSet)"
    return result


def survey_properties() -> dict[str, dict[str, str]]:
    """{property: {"pyVmomi accessor (Fetch)": outcome, "RetrievePropertiesEx": outcome}} on a powered-on VM.

    pyVmomi reads ``vm.<property>`` with the PropertyCollector's internal ``Fetch`` method; SOAP
    clients such as govmomi read with ``RetrievePropertiesEx``. Both are measured.
    """
    results: dict[str, dict[str, str]] = {}
    with launch.running_vcsim() as url:
        si = connect(url)
        try:
            vm = all_vms(si)[0]
            for name in vm_properties():
                results[name] = {
                    "pyVmomi accessor (Fetch)": outcome(lambda name=name: getattr(vm, name)),
                    "RetrievePropertiesEx": _read_ex(si, vm, name),
                }
        finally:
            _disconnect(si)
    return results


def survey_snapshot_read() -> dict[str, str]:
    """``snapshot`` through pyVmomi's accessor, before and after CreateSnapshot_Task on the VM."""
    with launch.running_vcsim() as url:
        si = connect(url)
        try:
            vm = all_vms(si)[0]
            before = outcome(lambda: vm.snapshot)
            created = outcome(lambda: WaitForTask(vm.CreateSnapshot_Task("s1", "", False, False)))
            after = outcome(lambda: vm.snapshot.currentSnapshot)
            return {"before": before, "CreateSnapshot_Task": created, "after": after}
        finally:
            _disconnect(si)


# --- about, logins, privileges ------------------------------------------------------------------


def survey_about() -> dict[str, Any]:
    with launch.running_vcsim() as url:
        si = connect(url)
        try:
            about = si.RetrieveContent().about
            fields = (
                "apiVersion",
                "apiType",
                "fullName",
                "version",
                "build",
                "productLineId",
                "instanceUuid",
            )
            facts = {name: getattr(about, name) for name in fields}
            facts["negotiated"] = si._stub.versionId
            facts["vms"] = [(vm.name, str(vm.runtime.powerState)) for vm in all_vms(si)]
            return facts
        finally:
            _disconnect(si)


LOGINS = [
    ("user", "pass"),
    ("administrator@vsphere.local", "VMware1!"),
    ("nobody", "x"),
    ("root", "wrong"),
    ("user", ""),
    ("", "pass"),
    ("", ""),
]


def _login(url: str, user: str, pwd: str) -> str:
    def call():
        si = connect(url, user, pwd)
        _disconnect(si)

    return outcome(call)


def survey_logins() -> dict[str, dict[str, str]]:
    """{'default': {"user/pwd": outcome}, 'with -username admin -password secret': {...}}."""
    results: dict[str, dict[str, str]] = {}
    with launch.running_vcsim() as url:
        results["default"] = {f"{u!r}/{p!r}": _login(url, u, p) for u, p in LOGINS}
    with launch.running_vcsim(username="admin", password="secret") as url:
        pairs = [("admin", "secret"), ("admin", "wrong"), ("user", "pass"), ("other", "secret")]
        results["-username admin -password secret"] = {f"{u!r}/{p!r}": _login(url, u, p) for u, p in pairs}
    return results


def survey_privileges() -> dict[str, Any]:
    """Roles, permissions and whether NoAccess on a VM keeps a user from powering it off."""
    facts: dict[str, Any] = {}
    with launch.running_vcsim() as url:
        admin = connect(url)
        try:
            content = admin.RetrieveContent()
            auth = content.authorizationManager
            roles = auth.roleList
            facts["roles"] = sorted((r.roleId, r.name) for r in roles)
            facts["privileges defined"] = len(auth.privilegeList or [])
            vm = all_vms(admin)[0]
            facts["effectiveRole of the VM for user"] = list(vm.effectiveRole or [])
            no_access = next(r.roleId for r in roles if r.name == "NoAccess")
            perm = vim.AuthorizationManager.Permission(
                principal="limited", group=False, roleId=no_access, propagate=True
            )
            facts["SetEntityPermissions(VM, limited: NoAccess)"] = outcome(
                lambda: auth.SetEntityPermissions(entity=vm, permission=[perm])
            )
            facts["RetrieveEntityPermissions(VM)"] = [
                (p.principal, p.roleId) for p in auth.RetrieveEntityPermissions(entity=vm, inherited=False)
            ]
            facts["HasPrivilegeOnEntity(VM, VirtualMachine.Interact.PowerOff)"] = list(
                auth.HasPrivilegeOnEntity(
                    entity=vm, sessionId="nonexistent", privId=["VirtualMachine.Interact.PowerOff"]
                )
            )
            vm_id = vm._moId
        finally:
            _disconnect(admin)

        limited = connect(url, "limited", "limited")
        try:
            vm = vim.VirtualMachine(vm_id, limited._stub)
            facts["limited: read runtime.powerState"] = outcome(lambda: vm.runtime.powerState)
            facts["limited: effectiveRole of the VM"] = list(vm.effectiveRole or [])

            def power_off():
                WaitForTask(vm.PowerOffVM_Task())

            facts["limited: PowerOffVM_Task + WaitForTask"] = outcome(power_off)
            facts["limited: powerState after"] = str(vm.runtime.powerState)

            def destroy():
                WaitForTask(vm.Destroy_Task())

            facts["limited: Destroy_Task + WaitForTask"] = outcome(destroy)
        finally:
            _disconnect(limited)
    return facts


def survey_unauthenticated() -> dict[str, str]:
    """What a session that has logged out may still do."""
    with launch.running_vcsim() as url:
        si = connect(url)
        vm = all_vms(si)[0]
        si.RetrieveContent().sessionManager.Logout()
        return {
            "pyVmomi accessor: vm.name": outcome(lambda: vm.name),
            "RetrievePropertiesEx: name": _read_ex(si, vm, "name"),
            "PowerOffVM_Task": outcome(vm.PowerOffVM_Task),
        }


def _disconnect(si) -> None:
    with suppress(Exception):  # a dropped connection on logout changes nothing here
        Disconnect(si)


# --- output -------------------------------------------------------------------------------------


def run_all() -> dict[str, Any]:
    return {
        "about": survey_about(),
        "logins": survey_logins(),
        "privileges": survey_privileges(),
        "after Logout": survey_unauthenticated(),
        "methods": survey_methods(),
        "properties": survey_properties(),
        "snapshot read": survey_snapshot_read(),
    }


def _table(title: str, rows: list[tuple[str, str]]) -> str:
    width = max((len(k) for k, _ in rows), default=4)
    lines = [f"## {title}", "", f"| {'name'.ljust(width)} | outcome |", f"|{'-' * (width + 2)}|---------|"]
    lines += [f"| {k.ljust(width)} | {v} |" for k, v in rows]
    return "\n".join(lines) + "\n"


def render(facts: dict[str, Any]) -> str:
    out = []
    out.append(_table("content.about", [(k, str(v)) for k, v in facts["about"].items()]))
    for mode, rows in facts["logins"].items():
        out.append(_table(f"logins ({mode})", list(rows.items())))
    out.append(_table("privileges", [(k, str(v)) for k, v in facts["privileges"].items()]))
    out.append(_table("after Logout", list(facts["after Logout"].items())))
    methods = facts["methods"]
    missing = [m for m, r in methods.items() if is_method_not_found(r)]
    out.append(
        _table(
            f"VirtualMachine methods ({len(missing)} of {len(methods)} MethodNotFound)", list(methods.items())
        )
    )
    props = facts["properties"]
    fetch, ex = "pyVmomi accessor (Fetch)", "RetrievePropertiesEx"
    bad = [p for p, r in props.items() if r[fetch] != "ok"]
    bad_ex = [p for p, r in props.items() if not r[ex].startswith("ok")]
    unset = [p for p, r in props.items() if r[ex].startswith("ok (unset")]
    title = f"VirtualMachine properties ({len(bad)} of {len(props)} not read by pyVmomi, {len(bad_ex)} by RetrievePropertiesEx)"
    width = max(len(p) for p in props)
    lines = [
        f"## {title}",
        "",
        f"| {'property'.ljust(width)} | {fetch} | {ex} |",
        f"|{'-' * (width + 2)}|---|---|",
    ]
    lines += [f"| {p.ljust(width)} | {r[fetch]} | {r[ex]} |" for p, r in props.items()]
    out.append("\n".join(lines) + "\n")
    out.append(_table("snapshot read through pyVmomi's accessor", list(facts["snapshot read"].items())))
    out.append(f"MethodNotFound ({len(missing)}): " + ", ".join(missing) + "\n")
    out.append(
        f"implemented ({len(methods) - len(missing)}): "
        + ", ".join(m for m in methods if m not in missing)
        + "\n"
    )
    out.append(
        f"properties pyVmomi cannot read ({len(bad)}): "
        + ", ".join(f"{p} ({props[p][fetch]})" for p in bad)
        + "\n"
    )
    out.append(
        f"properties unset (RetrievePropertiesEx, empty propSet) ({len(unset)}): " + ", ".join(unset) + "\n"
    )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", action="store_true", help="print the facts as JSON instead of tables")
    args = parser.parse_args(argv)
    try:
        facts = run_all()
    except launch.VcsimNotBuilt as exc:
        print(f"survey: {exc}", file=sys.stderr)
        return 2
    print(json.dumps(facts, indent=2, default=str) if args.json else render(facts))
    return 0


if __name__ == "__main__":
    sys.exit(main())
