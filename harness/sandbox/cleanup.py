"""Clean-up: everything the sandbox created goes, and what could not is reported."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

from .base import SandboxBase
from .reads import moref
from .states import VmStates

#: How many VMs clean-up destroys at once (each on the sandbox's client: requests' connection pool
#: and the run's auditor are thread-safe; the endpoint sees a few concurrent sessions' worth).
CLEANUP_WORKERS = 4


class Cleanup(VmStates, SandboxBase):
    """Open export leases, permissions, roles, VMs (FT primaries first), then the folders, in that order."""

    def cleanup(self) -> list[str]:
        """Destroy what the sandbox created; what could not be cleaned, one line each."""
        problems: list[str] = self.leases.release(self.client)  # an open lease locks its VM
        if self.read_only:
            return problems
        am = (self.client.content.get("authorizationManager") or {}).get("value")
        for etype, moid, principal in reversed(self.permissions):
            ex = self._try(
                lambda e=etype, m=moid, p=principal: self.client.invoke(
                    "AuthorizationManager",
                    am,
                    "RemoveEntityPermission",
                    {"entity": moref(e, m), "user": p, "isGroup": False},
                )
            )
            if ex is not None and not ex.ok and ex.fault_type not in ("NotFound", "ManagedObjectNotFound"):
                problems.append(f"permission of {principal} on {moid}: {ex.fault_type or ex.status}")
        roles = self._try(lambda: self.client.get("AuthorizationManager", am, "roleList"))
        prefix = f"vsphere-harness-{self.run_id}-"
        for role in roles.json if roles is not None and roles.ok and isinstance(roles.json, list) else []:
            if isinstance(role, dict) and str(role.get("name", "")).startswith(prefix):
                self.created_roles.append(role.get("roleId"))  # made by a check's AddAuthorizationRole
        for role in list(dict.fromkeys(self.created_roles)):
            ex = self._try(
                lambda r=role: self.client.invoke(
                    "AuthorizationManager", am, "RemoveAuthorizationRole", {"roleId": r, "failIfUsed": False}
                )
            )
            if ex is None or not ex.ok and ex.fault_type != "NotFound":
                problems.append(f"role {role}: {ex.fault_type if ex is not None else 'no answer'}")
        vms = list(dict.fromkeys(self.created_vms + self._folder_vms()))
        for vm in vms:  # FT primaries first: turning FT off removes their secondaries
            facts = self._try(lambda v=vm: self.observe(v))
            if facts and facts["ftRole"] == 1:
                try:
                    self.run_task(
                        "VirtualMachine", vm, "TurnOffFaultToleranceForVM_Task", what=f"turn off FT of {vm}"
                    )
                except Exception as exc:  # noqa: BLE001 - report, never raise, in cleanup
                    problems.append(f"VM {vm}: {exc}")
        problems += [p for p in self._destroy_vms(list(dict.fromkeys(vms + self._folder_vms()))) if p]
        for folder in reversed(self.created_folders):
            gone = self._try(lambda f=folder: self.client.get("Folder", f, "childEntity"))
            if gone is not None and gone.fault_type == "ManagedObjectNotFound":
                continue  # destroyed already (by a check, or with its parent)
            try:
                self.run_task("Folder", folder, "Destroy_Task", what=f"destroy folder {folder}")
            except Exception as exc:  # noqa: BLE001 - report, never raise, in cleanup
                problems.append(f"folder {folder}: {exc}")
        return problems

    def _try(self, fn: Any) -> Any:
        try:
            return fn()
        except Exception:  # noqa: BLE001 - cleanup reports instead of raising
            return None

    def _folder_vms(self) -> list[str]:
        out, folders = [], list(self.created_folders)
        while folders:
            folder = folders.pop(0)
            ex = self._try(lambda f=folder: self.client.get("Folder", f, "childEntity"))
            for child in ex.json if ex is not None and ex.ok and isinstance(ex.json, list) else []:
                if child.get("type") == "VirtualMachine":
                    out.append(child["value"])
                elif child.get("type") == "Folder":
                    folders.append(child["value"])
        return out

    def _destroy_vms(self, vms: list[str]) -> list[str | None]:
        """Destroy ``vms`` (each powered off first), up to :data:`CLEANUP_WORKERS` at a time: a VM's
        tasks lock only that VM, and most of a destroy is waiting for its tasks.  A problem per VM, in
        the order of ``vms``."""
        if len(vms) <= 1:
            return [self._destroy_vm(vm) for vm in vms]
        with ThreadPoolExecutor(max_workers=CLEANUP_WORKERS, thread_name_prefix="cleanup") as pool:
            return list(pool.map(self._destroy_vm, vms))

    def _destroy_vm(self, vm: str) -> str | None:
        try:
            facts = self.observe(vm)
            if facts is None:
                return None
            if facts["ftRole"]:
                return f"VM {vm}: still in a Fault Tolerance pair (role {facts['ftRole']})"
            if facts["powerState"] in ("poweredOn", "suspended"):
                self.run_task("VirtualMachine", vm, "PowerOffVM_Task", what=f"power off {vm}")
            self.run_task("VirtualMachine", vm, "Destroy_Task", what=f"destroy {vm}")
        except Exception as exc:  # noqa: BLE001 - report, never raise, in cleanup
            return f"VM {vm}: {exc}"
        return None
