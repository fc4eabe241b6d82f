"""Support operations: sessions, tasks, authorization, snapshots, folders, hosts."""

from __future__ import annotations

from ...vmodl.values import DataObject, MoRef
from ..faults import SimFault, invalid_argument
from ..model import VM, Folder, Host, Managed, Snapshot, Task, now
from . import Call, TaskPlan, op
from .vm import new_vm_from_spec, revert_to, valid_name


# --- ServiceInstance, SessionManager ----------------------------------------------------------------
@op("ServiceInstance", "CurrentTime")
def current_time(call: Call):
    return lambda: now()


@op("SessionManager", "Login")
def login(call: Call):
    sim = call.sim
    session = sim.auth.login(
        call.p("userName", ""), call.p("password", ""), call.client, call.headers.get("user-agent", "")
    )
    if session is None:
        raise SimFault(
            "InvalidLogin", "Cannot complete login due to an incorrect user name or password.", sync=True
        )
    if call.p("locale") not in (None, "", "en", "en_US", "C"):
        sim.auth.logout(session.key)
        raise SimFault("InvalidLocale", f"unknown locale {call.p('locale')!r}", sync=True)
    call.new_session = session  # type: ignore[attr-defined]
    return lambda: sim.session_info(session, call.b)


@op("SessionManager", "Logout")
def logout(call: Call):
    def apply() -> None:
        if call.session is not None:
            call.sim.auth.logout(call.session.key)

    return apply


# --- Task -----------------------------------------------------------------------------------------------
@op("Task", "CancelTask")
def cancel_task(call: Call):
    task: Task = call.obj  # type: ignore[assignment]
    return lambda: call.sim.tasks.cancel(task)


# --- AuthorizationManager --------------------------------------------------------------------------------
def _entity(call: Call, ref: MoRef) -> Managed:
    obj = call.sim.inv.get(ref.value)
    if obj is None:
        raise SimFault("ManagedObjectNotFound", f"no object {ref.value}", sync=True, obj=ref)
    return obj


@op("AuthorizationManager", "privilegeList")
def privilege_list(call: Call):
    b = call.b
    return [
        b.obj(
            "AuthorizationPrivilege",
            privId=p,
            onParent=False,
            name=p.rsplit(".", 1)[-1],
            privGroupName=p.rsplit(".", 1)[0] if "." in p else p,
        )
        for p in call.sim.auth.all_privileges
    ]


@op("AuthorizationManager", "roleList")
def role_list(call: Call):
    b = call.b
    return [
        b.obj(
            "AuthorizationRole",
            roleId=r.id,
            system=r.system,
            name=r.name,
            info=b.obj("Description", label=r.name, summary=r.name),
            privilege=sorted(r.privileges),
        )
        for r in call.sim.auth.roles.values()
    ]


def _check_privs(call: Call, privs: list[str]) -> None:
    unknown = [p for p in privs if p not in call.sim.auth.all_privileges]
    if unknown:
        raise invalid_argument("privIds", f"unknown privileges {unknown[:5]}")


@op("AuthorizationManager", "AddAuthorizationRole")
def add_role(call: Call):
    auth, name, privs = call.sim.auth, call.p("name"), list(call.p("privIds", []))
    if not name.strip():
        raise SimFault("InvalidName", "a role needs a name", sync=True, name=name)
    if auth.role_by_name(name) is not None:
        raise SimFault("AlreadyExists", f"role {name} exists", sync=True, name=name)
    _check_privs(call, privs)
    return lambda: auth.add_role(name, privs).id


def _custom_role(call: Call, verb: str):
    """The role ``roleId`` names: NotFound when there is none, InvalidArgument for a system role."""
    role = call.sim.auth.roles.get(call.p("roleId"))
    if role is None:
        raise SimFault("NotFound", f"no role {call.p('roleId')}", sync=True)
    if role.system:
        raise invalid_argument("roleId", f"a system role cannot be {verb}")
    return role


@op("AuthorizationManager", "UpdateAuthorizationRole")
def update_role(call: Call):
    auth = call.sim.auth
    role = _custom_role(call, "changed")
    name, privs = call.p("newName"), call.p("privIds")
    other = auth.role_by_name(name)
    if other is not None and other.id != role.id:
        raise SimFault("AlreadyExists", f"role {name} exists", sync=True, name=name)
    if not name.strip():
        raise SimFault("InvalidName", "a role needs a name", sync=True, name=name)
    if privs is not None:
        _check_privs(call, list(privs))

    def apply() -> None:
        from ..auth import BASE_PRIVILEGES

        role.name = name
        if privs is not None:
            role.privileges = frozenset(privs) | frozenset(BASE_PRIVILEGES)
        auth.version += 1

    return apply


@op("AuthorizationManager", "RemoveAuthorizationRole")
def remove_role(call: Call):
    auth = call.sim.auth
    role = _custom_role(call, "removed")
    used = any(p.role_id == role.id for perms in auth.permissions.values() for p in perms)
    if used and call.p("failIfUsed"):
        raise SimFault("RemoveFailed", f"role {role.name} is in use", sync=True)

    def apply() -> None:
        for perms in auth.permissions.values():
            perms[:] = [p for p in perms if p.role_id != role.id]
        auth.roles.pop(role.id, None)
        auth.version += 1

    return apply


@op("AuthorizationManager", "SetEntityPermissions")
def set_permissions(call: Call):
    from ..auth import Perm

    auth = call.sim.auth
    entity = _entity(call, call.p("entity"))
    _require_modify(call, entity)
    perms: list[Perm] = []
    for p in call.p("permission", []):
        if p.get("roleId") not in auth.roles:
            raise SimFault("NotFound", f"no role {p.get('roleId')}", sync=True)
        if not p.get("group") and p["principal"].lower() not in auth.users:
            raise SimFault(
                "UserNotFound",
                f"no user {p['principal']}",
                sync=True,
                principal=p["principal"],
                unresolved=True,
            )
        perms.append(Perm(p["principal"], bool(p.get("group")), p["roleId"], bool(p.get("propagate"))))

    def apply() -> None:
        with auth.lock:
            current = auth.permissions.setdefault(entity.moid, [])
            for new in perms:
                current[:] = [
                    p for p in current if (p.principal.lower(), p.group) != (new.principal.lower(), new.group)
                ]
                current.append(new)
            auth.version += 1
            _touch_tree(entity)

    return apply


def _require_modify(call: Call, entity: Managed) -> None:
    if "ignore_privileges" in call.sim.misbehave or call.session is None:
        return
    missing = call.sim.auth.missing(call.session.user, entity, ["Authorization.ModifyPermissions"])
    if missing:
        raise SimFault(
            "NoPermission",
            "Permission to perform this operation was denied.",
            sync=True,
            object=entity.ref,
            privilegeId=missing[0],
            missingPrivileges=[
                DataObject("NoPermissionEntityPrivileges", entity=entity.ref, privilegeIds=missing)
            ],
        )


def _touch_tree(entity: Managed) -> None:
    stack = [entity]
    while stack:
        obj = stack.pop()
        obj.touch()
        stack.extend(getattr(obj, "children", ()))


@op("AuthorizationManager", "RemoveEntityPermission")
def remove_permission(call: Call):
    auth = call.sim.auth
    entity = _entity(call, call.p("entity"))
    _require_modify(call, entity)
    user, group = call.p("user"), bool(call.p("isGroup"))
    current = auth.permissions.get(entity.moid, [])
    if not any((p.principal.lower(), p.group) == (user.lower(), group) for p in current):
        raise SimFault("NotFound", f"no permission for {user} on {entity.moid}", sync=True)

    def apply() -> None:
        current[:] = [p for p in current if (p.principal.lower(), p.group) != (user.lower(), group)]
        auth.version += 1
        _touch_tree(entity)

    return apply


@op("AuthorizationManager", "RetrieveEntityPermissions")
def retrieve_entity_permissions(call: Call):
    entity = _entity(call, call.p("entity"))
    return lambda: call.sim.auth.permissions_on(entity, call.b, inherited=bool(call.p("inherited")))


@op("AuthorizationManager", "RetrieveAllPermissions")
def retrieve_all_permissions(call: Call):
    def apply() -> list[DataObject]:
        out = []
        for moid in list(call.sim.auth.permissions):
            obj = call.sim.inv.get(moid)
            if obj is not None:
                out.extend(call.sim.auth.permissions_on(obj, call.b, inherited=False))
        return out

    return apply


def _session_user(call: Call, session_id: str):
    session = call.sim.auth.session(session_id)
    if session is None:
        raise invalid_argument("sessionId", "no such session")
    return session.user


@op("AuthorizationManager", "HasPrivilegeOnEntity")
def has_privilege_on_entity(call: Call):
    entity = _entity(call, call.p("entity"))
    user = _session_user(call, call.p("sessionId"))
    privs = list(call.p("privId", []))
    return lambda: [p in call.sim.auth.privileges(user, entity) for p in privs]


@op("AuthorizationManager", "HasPrivilegeOnEntities")
def has_privilege_on_entities(call: Call):
    entities = [_entity(call, r) for r in call.p("entity", [])]
    user = _session_user(call, call.p("sessionId"))
    privs = list(call.p("privId", []))
    b = call.b

    def apply() -> list[DataObject]:
        out = []
        for e in entities:
            have = call.sim.auth.privileges(user, e)
            out.append(
                b.obj(
                    "EntityPrivilege",
                    entity=e.ref,
                    privAvailability=[
                        b.obj("PrivilegeAvailability", privId=p, isGranted=p in have) for p in privs
                    ],
                )
            )
        return out

    return apply


@op("AuthorizationManager", "FetchUserPrivilegeOnEntities")
def fetch_user_privileges(call: Call):
    entities = [_entity(call, r) for r in call.p("entities", [])]
    user = call.sim.auth.users.get(call.p("userName", "").lower())
    if user is None:
        raise invalid_argument("userName", "no such user")
    return lambda: [
        call.b.obj("UserPrivilegeResult", entity=e.ref, privileges=sorted(call.sim.auth.privileges(user, e)))
        for e in entities
    ]


# --- VirtualMachineSnapshot ----------------------------------------------------------------------------
@op("VirtualMachineSnapshot", "RemoveSnapshot_Task")
def remove_snapshot(call: Call):
    snap: Snapshot = call.obj  # type: ignore[assignment]
    vm, inv = snap.vm, call.sim.inv

    def work() -> None:
        if snap.moid not in inv.objects:
            return
        siblings = snap.parent_snap.children if snap.parent_snap else vm.snapshots
        idx = siblings.index(snap) if snap in siblings else len(siblings)
        removed = [snap]
        if call.p("removeChildren"):
            stack = list(snap.children)
            while stack:
                s = stack.pop()
                removed.append(s)
                stack.extend(s.children)
            replacement: list[Snapshot] = []
        else:
            replacement = list(snap.children)
            for child in replacement:
                child.parent_snap = snap.parent_snap
        siblings[idx : idx + 1] = replacement
        current = vm.current_snapshot
        if current in removed:
            vm.current_snapshot = snap.parent_snap
        for s in removed:
            inv.remove(s)
        vm.touch()

    return work


@op("VirtualMachineSnapshot", "RevertToSnapshot_Task")
def revert_snapshot(call: Call):
    snap: Snapshot = call.obj  # type: ignore[assignment]
    vm = snap.vm
    call.require(not vm.template, lambda: SimFault("InvalidState", "a template cannot be reverted"))
    host = call.ref_obj("host")
    if host is not None:
        call.require(
            not host.maintenance, lambda: SimFault("InvalidState", "the host is in maintenance mode")
        )

    def work() -> None:
        revert_to(vm, snap, bool(call.p("suppressPowerOn")), host)

    return TaskPlan(work, locks=[vm], entity=vm)


@op("VirtualMachineSnapshot", "RenameSnapshot")
def rename_snapshot(call: Call):
    snap: Snapshot = call.obj  # type: ignore[assignment]
    name, description = call.p("name"), call.p("description")
    if name is not None:
        call.require(
            valid_name(name), lambda: SimFault("InvalidName", f"invalid snapshot name {name!r}", name=name)
        )

    def apply() -> None:
        if name is not None:
            snap.name = name
        if description is not None:
            snap.description = description
        snap.touch()
        snap.vm.touch()

    return apply


# --- Folder ------------------------------------------------------------------------------------------------
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


# --- HostSystem -----------------------------------------------------------------------------------------------
@op("HostSystem", "EnterMaintenanceMode_Task")
def enter_maintenance(call: Call):
    host: Host = call.obj  # type: ignore[assignment]
    call.require(
        not host.maintenance, lambda: SimFault("InvalidState", "the host is already in maintenance mode")
    )
    running = [v for v in call.sim.inv.vms() if v.host is host and v.power_state == "poweredOn"]
    call.require(
        not running,
        lambda: SimFault("InvalidState", f"{len(running)} powered-on virtual machines run on the host"),
    )
    call.require(call.p("timeout", 0) >= 0, lambda: invalid_argument("timeout", "timeout is not negative"))

    def work() -> None:
        host.maintenance = True
        host.touch()

    return work


@op("HostSystem", "ExitMaintenanceMode_Task")
def exit_maintenance(call: Call):
    host: Host = call.obj  # type: ignore[assignment]
    call.require(host.maintenance, lambda: SimFault("InvalidState", "the host is not in maintenance mode"))

    def work() -> None:
        host.maintenance = False
        host.touch()

    return work
