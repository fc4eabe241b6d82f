"""Privileges: NoPermission with missingPrivileges, conditional privileges, roles, permissions and
their propagation down the inventory."""

from __future__ import annotations

from .conftest import fault_of


def _ref(type_name, value):
    return {"_typeName": "ManagedObjectReference", "type": type_name, "value": value}


def _perm(principal, role, propagate=True):
    return {
        "_typeName": "Permission",
        "principal": principal,
        "group": False,
        "roleId": role,
        "propagate": propagate,
    }


def _missing(r):
    assert fault_of(r) == "NoPermission", r.text
    return [(m["entity"]["value"], m["privilegeIds"]) for m in r.json()["missingPrivileges"]]


def test_limited_user_is_refused_with_missing_privileges(limited):
    assert _missing(limited.get("VirtualMachine", "vm-101", "runtime")) == [("vm-101", ["System.Read"])]
    assert _missing(limited.vm("vm-101", "PowerOffVM_Task")) == [
        ("vm-101", ["VirtualMachine.Interact.PowerOff"])
    ]
    # session objects stay usable
    assert limited.prop("SessionManager", "currentSession", "SessionManager")["userName"].startswith(
        "limited"
    )


def test_conditional_privileges(limited):
    assert _missing(limited.vm("vm-101", "AcquireTicket", {"ticketType": "mks"})) == [
        ("vm-101", ["VirtualMachine.Interact.ConsoleInteract"])
    ]
    assert _missing(limited.vm("vm-101", "AcquireTicket", {"ticketType": "guestControl"})) == [
        ("vm-101", ["VirtualMachine.Interact.GuestControl"])
    ]
    spec = {"_typeName": "VirtualMachineConfigSpec", "numCPUs": 2, "annotation": "x"}
    missing = dict(_missing(limited.vm("vm-102", "ReconfigVM_Task", {"spec": spec})))
    assert set(missing["vm-102"]) == {"VirtualMachine.Config.CPUCount", "VirtualMachine.Config.Annotation"}
    # a template needs DeployTemplate, a VM Clone; the folder needs CreateFromExisting
    clone = {
        "folder": _ref("Folder", "group-v3"),
        "name": "c",
        "spec": {"_typeName": "VirtualMachineCloneSpec", "location": {}, "template": False, "powerOn": False},
    }
    missing = dict(_missing(limited.vm("vm-100", "CloneVM_Task", clone)))
    assert missing["vm-100"] == ["VirtualMachine.Provisioning.DeployTemplate"]
    assert missing["group-v3"] == ["VirtualMachine.Inventory.CreateFromExisting"]
    assert dict(_missing(limited.vm("vm-102", "CloneVM_Task", clone)))["vm-102"] == [
        "VirtualMachine.Provisioning.Clone"
    ]
    # a parameter's privilege is checked on the object it names
    missing = dict(
        _missing(limited.vm("vm-100", "MarkAsVirtualMachine", {"pool": _ref("ResourcePool", "resgroup-9")}))
    )
    assert missing == {
        "vm-100": ["VirtualMachine.Provisioning.MarkAsVM"],
        "resgroup-9": ["Resource.AssignVMToPool"],
    }
    migrate = {"host": _ref("HostSystem", "host-10"), "priority": "defaultPriority"}
    assert _missing(limited.vm("vm-101", "MigrateVM_Task", migrate)) == [("vm-101", ["Resource.HotMigrate"])]
    assert _missing(limited.vm("vm-102", "MigrateVM_Task", migrate)) == [("vm-102", ["Resource.ColdMigrate"])]


def test_roles_permissions_and_propagation(admin, limited, sim, fresh):
    user = sim.users["limited"][0]
    role = admin.call(
        "AuthorizationManager",
        "AuthorizationManager",
        "AddAuthorizationRole",
        {
            "name": "power-users",
            "privIds": ["VirtualMachine.Interact.PowerOn", "VirtualMachine.Interact.PowerOff"],
        },
    ).json()
    assert any(
        r["roleId"] == role for r in admin.prop("AuthorizationManager", "roleList", "AuthorizationManager")
    )
    assert (
        fault_of(
            admin.call(
                "AuthorizationManager",
                "AuthorizationManager",
                "AddAuthorizationRole",
                {"name": "power-users"},
            )
        )
        == "AlreadyExists"
    )
    vm = fresh("poweredOff")
    # grant on the VM's folder, propagating: the VM inherits
    r = admin.call(
        "AuthorizationManager",
        "AuthorizationManager",
        "SetEntityPermissions",
        {"entity": _ref("Folder", "group-v3"), "permission": [_perm(user, role)]},
    )
    assert r.status_code == 204, r.text
    assert limited.prop(vm, "runtime")["powerState"] == "poweredOff"
    limited.ok_task(limited.vm(vm, "PowerOnVM_Task"))
    assert _missing(limited.vm(vm, "SuspendVM_Task")) == [(vm, ["VirtualMachine.Interact.Suspend"])]
    assert limited.prop(vm, "effectiveRole") == [role]
    perms = admin.call(
        "AuthorizationManager",
        "AuthorizationManager",
        "RetrieveEntityPermissions",
        {"entity": _ref("VirtualMachine", vm), "inherited": True},
    ).json()
    assert any(p["principal"] == user and p["entity"]["value"] == "group-v3" for p in perms)
    # a permission on the VM itself overrides the inherited one
    r = admin.call(
        "AuthorizationManager",
        "AuthorizationManager",
        "SetEntityPermissions",
        {"entity": _ref("VirtualMachine", vm), "permission": [_perm(user, -5)]},
    )  # NoAccess
    assert _missing(limited.get("VirtualMachine", vm, "runtime")) == [(vm, ["System.Read"])]
    has = admin.call(
        "AuthorizationManager",
        "AuthorizationManager",
        "HasPrivilegeOnEntity",
        {
            "entity": _ref("VirtualMachine", vm),
            "sessionId": limited.http.headers["vmware-api-session-id"],
            "privId": ["System.Read"],
        },
    ).json()
    assert has == [False]
    r = admin.call(
        "AuthorizationManager",
        "AuthorizationManager",
        "RemoveEntityPermission",
        {"entity": _ref("VirtualMachine", vm), "user": user, "isGroup": False},
    )
    assert r.status_code == 204
    fetched = admin.call(
        "AuthorizationManager",
        "AuthorizationManager",
        "FetchUserPrivilegeOnEntities",
        {"entities": [_ref("VirtualMachine", vm)], "userName": user},
    ).json()
    assert "VirtualMachine.Interact.PowerOn" in fetched[0]["privileges"]
    # a non-propagating permission does not reach the children
    admin.call(
        "AuthorizationManager",
        "AuthorizationManager",
        "SetEntityPermissions",
        {"entity": _ref("Folder", "group-v3"), "permission": [_perm(user, role, propagate=False)]},
    )
    assert fault_of(limited.get("VirtualMachine", vm, "name")) == "NoPermission"
    assert (
        fault_of(
            admin.call(
                "AuthorizationManager",
                "AuthorizationManager",
                "RemoveAuthorizationRole",
                {"roleId": role, "failIfUsed": True},
            )
        )
        == "RemoveFailed"
    )
    assert (
        admin.call(
            "AuthorizationManager",
            "AuthorizationManager",
            "RemoveAuthorizationRole",
            {"roleId": role, "failIfUsed": False},
        ).status_code
        == 204
    )
    assert (
        fault_of(
            admin.call(
                "AuthorizationManager",
                "AuthorizationManager",
                "UpdateAuthorizationRole",
                {"roleId": role, "newName": "x"},
            )
        )
        == "NotFound"
    )
    all_perms = admin.call("AuthorizationManager", "AuthorizationManager", "RetrieveAllPermissions").json()
    assert not any(p["principal"] == user for p in all_perms)
    assert (
        fault_of(
            admin.call(
                "AuthorizationManager",
                "AuthorizationManager",
                "SetEntityPermissions",
                {"entity": _ref("Folder", "group-v3"), "permission": [_perm("ghost@nowhere", -2)]},
            )
        )
        == "UserNotFound"
    )


def test_limited_user_cannot_change_permissions(limited, sim):
    r = limited.call("AuthorizationManager", "AuthorizationManager", "AddAuthorizationRole", {"name": "x"})
    assert _missing(r) == [("group-d1", ["Authorization.ModifyRoles"])]
    r = limited.call(
        "AuthorizationManager",
        "AuthorizationManager",
        "SetEntityPermissions",
        {"entity": _ref("VirtualMachine", "vm-101"), "permission": [_perm(sim.users["limited"][0], -1)]},
    )
    assert fault_of(r) == "NoPermission"


def test_repair_disk_chains_needs_file_management_on_each_disk_datastore(admin, limited, sim, fresh):
    """RepairVmDiskChains_Task (9.1.0.0, no request body): VMware's text requires Datastore.FileManagement
    on the datastore where each virtual disk resides, and no privilege on the virtual machine itself."""
    r91, user = "9.1.0.0", sim.users["limited"][0]
    vm = fresh("poweredOff")
    disks = [d for d in admin.prop(vm, "config")["hardware"]["device"] if d["_typeName"] == "VirtualDisk"]
    first = disks[0]["backing"]["datastore"]["value"]
    second = next(ds for ds in ("datastore-20", "datastore-21") if ds != first)  # the seed has these two
    attach = {"diskId": {"_typeName": "ID", "id": f"fcd-{vm}"}, "datastore": _ref("Datastore", second)}
    admin.ok_task(admin.vm(vm, "AttachDisk_Task", attach))

    def repair(vi):
        return vi.call("VirtualMachine", vm, "RepairVmDiskChains_Task", release=r91)

    # lacking it everywhere: NoPermission names each disk's datastore, nothing on the VM
    assert sorted(_missing(repair(limited))) == sorted(
        [(first, ["Datastore.FileManagement"]), (second, ["Datastore.FileManagement"])]
    )
    role = admin.call(
        "AuthorizationManager",
        "AuthorizationManager",
        "AddAuthorizationRole",
        {"name": f"file-management-{vm}", "privIds": ["Datastore.FileManagement"]},
    ).json()
    granted = []
    try:
        for ds in (first, second):
            r = admin.call(
                "AuthorizationManager",
                "AuthorizationManager",
                "SetEntityPermissions",
                {"entity": _ref("Datastore", ds), "permission": [_perm(user, role)]},
            )
            assert r.status_code == 204, r.text
            granted.append(ds)
            if ds == first:  # holding it on one datastore: refused for the other one only
                assert _missing(repair(limited)) == [(second, ["Datastore.FileManagement"])]
        # holding it on the datastore of each disk: served, and the task succeeds
        admin.ok_task(repair(limited))
    finally:
        for ds in granted:
            admin.call(
                "AuthorizationManager",
                "AuthorizationManager",
                "RemoveEntityPermission",
                {"entity": _ref("Datastore", ds), "user": user, "isGroup": False},
            )
        admin.call(
            "AuthorizationManager",
            "AuthorizationManager",
            "RemoveAuthorizationRole",
            {"roleId": role, "failIfUsed": False},
        )
    assert len(_missing(repair(limited))) == 2
