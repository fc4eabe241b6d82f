"""AuthorizationManager: privileges, roles, permissions and privilege queries."""

from __future__ import annotations

from ...vmodl.values import DataObject, MoRef
from ..auth import BASE_PRIVILEGES, Perm
from ..faults import SimFault, invalid_argument
from ..model import Managed
from .base import Call, op


def _entity(call: Call, ref: MoRef) -> Managed:
    obj = call.sim.inv.get(ref.value)
    if obj is None:
        raise SimFault("ManagedObjectNotFound", f"no object {ref.value}", sync=True, obj=ref)
    return obj


@op("AuthorizationManager", "privilegeList")
def privilege_list(call: Call):
    b = call.b
    if "empty_privilege_list" in call.sim.misbehave:
        return []
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
