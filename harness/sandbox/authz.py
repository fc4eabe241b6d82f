"""Roles and permissions the privileges check needs, only on objects the sandbox created."""

from __future__ import annotations

from .base import SandboxBase, SetupError
from .reads import moref, unique_name


class Permissions(SandboxBase):
    """Roles created by the run and permissions on the sandbox's own objects (undone by clean-up)."""

    def create_role(self, privileges: list[str]) -> int:
        am = self.client.content["authorizationManager"]["value"]
        role = self._ok(
            self.client.invoke(
                "AuthorizationManager",
                am,
                "AddAuthorizationRole",
                {"name": f"vsphere-harness-{self.run_id}-{unique_name('role')}", "privIds": privileges},
            ),
            "create a role",
        )
        role_id = int(role)
        self.created_roles.append(role_id)
        return role_id

    def set_permission(
        self, vm: str, principal: str, role_id: int, entity_type: str = "VirtualMachine"
    ) -> None:
        """Give ``principal`` the role on a sandbox VM or folder (only on objects the sandbox created)."""
        if not self.owns(vm):
            raise SetupError(f"sandbox: refusing to set a permission on {vm}, which it did not create")
        if principal == self.user():
            raise SetupError("sandbox: refusing to change the harness's own permissions")
        am = self.client.content["authorizationManager"]["value"]
        perm = {
            "_typeName": "Permission",
            "principal": principal,
            "group": False,
            "roleId": role_id,
            "propagate": True,
        }
        self._ok(
            self.client.invoke(
                "AuthorizationManager",
                am,
                "SetEntityPermissions",
                {"entity": moref(entity_type, vm), "permission": [perm]},
            ),
            f"grant a role on {vm}",
        )
        self.permissions.append((entity_type, vm, principal))

    def remove_permission(self, vm: str, principal: str, entity_type: str = "VirtualMachine") -> None:
        am = self.client.content["authorizationManager"]["value"]
        ex = self.client.invoke(
            "AuthorizationManager",
            am,
            "RemoveEntityPermission",
            {"entity": moref(entity_type, vm), "user": principal, "isGroup": False},
        )
        if ex.ok and (entity_type, vm, principal) in self.permissions:
            self.permissions.remove((entity_type, vm, principal))

    def remove_role(self, role_id: int) -> None:
        am = self.client.content["authorizationManager"]["value"]
        ex = self.client.invoke(
            "AuthorizationManager", am, "RemoveAuthorizationRole", {"roleId": role_id, "failIfUsed": False}
        )
        if ex.ok and role_id in self.created_roles:
            self.created_roles.remove(role_id)
