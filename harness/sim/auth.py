"""Users, sessions, roles, permissions and privilege evaluation (vCenter's model, simplified).

A permission ties a principal (user or group) to a role on an entity; with ``propagate`` it also
applies to everything below.  A user's privileges on an entity come from the nearest level (the
entity itself, then its parents) that has a permission for the user or one of the user's groups;
permissions at the same level add up.  Service objects (SessionManager, AuthorizationManager ...)
are checked against the root folder, as vCenter does.
"""

from __future__ import annotations

import itertools
import secrets
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..vmodl.values import DataObject
from ..yamlfile import read_yaml
from .build import Builder
from .model import Managed, now

#: Privileges every role carries (vCenter adds them to each role).
BASE_PRIVILEGES = ("System.Anonymous", "System.View", "System.Read")

EXTRA_PRIVILEGES = (
    "Global.SetCustomField",
    "Global.CancelTask",
    "Folder.Create",
    "Folder.Delete",
    "Host.Config.Maintenance",
    "Authorization.ModifyRoles",
    "Authorization.ModifyPermissions",
    "Resource.AssignVMToPool",
    "Resource.HotMigrate",
    "Resource.ColdMigrate",
    "Datastore.AllocateSpace",
    "Network.Assign",
    "VirtualMachine.Inventory.Create",
    "VirtualMachine.Inventory.CreateFromExisting",
    "VirtualMachine.Inventory.Delete",
    "VirtualMachine.Inventory.Unregister",
    "VirtualMachine.Provisioning.DeployTemplate",
    "VirtualMachine.Provisioning.MarkAsTemplate",
)

SYSTEM_ROLES = {  # id -> (name, privileges or None for all)
    -1: ("Admin", None),
    -2: ("ReadOnly", BASE_PRIVILEGES),
    -3: ("View", ("System.Anonymous", "System.View")),
    -4: ("Anonymous", ("System.Anonymous",)),
    -5: ("NoAccess", ()),
}


class AuthError(ValueError):
    """A users file that cannot be used."""


@dataclass
class User:
    key: str  # short name used by tests: admin, limited
    name: str
    password: str
    full_name: str = ""
    groups: tuple[str, ...] = ()
    role: str | None = None  # role granted on the root folder (propagating), by name


@dataclass
class Session:
    key: str
    user: User
    login_time: Any
    last_active: Any
    ip: str = "127.0.0.1"
    user_agent: str = ""
    calls: int = 0
    seen: float = field(default_factory=time.monotonic)  # monotonic time of its last use (expiry)


@dataclass
class Role:
    id: int
    name: str
    privileges: frozenset[str]
    system: bool = False


@dataclass
class Perm:
    principal: str
    group: bool
    role_id: int
    propagate: bool = True


DEFAULT_USERS = (
    User("admin", "administrator@vsphere.local", "VMware1!", "Administrator", role="Admin"),
    User("limited", "limited@vsphere.local", "Limited1!", "Limited User", role=None),
)


def load_users(path: str | Path | None) -> list[User]:
    """The default users, or those of a YAML users file (see docs/simulator.md)."""
    if path is None:
        return [User(**u.__dict__) for u in DEFAULT_USERS]
    data = read_yaml(path, "users file", AuthError)
    items = data.get("users") if isinstance(data, dict) else data
    if not isinstance(items, list) or not items:
        raise AuthError(f"{path}: a users file holds a non-empty list under 'users'")
    users = []
    for i, item in enumerate(items):
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or not isinstance(item.get("password"), str)
        ):
            raise AuthError(f"{path}: users[{i}] needs a string 'name' and 'password'")
        unknown = set(item) - {"key", "name", "password", "full_name", "groups", "role"}
        if unknown:
            raise AuthError(f"{path}: users[{i}] has unknown fields {sorted(unknown)}")
        users.append(
            User(
                str(item.get("key") or item["name"].split("@")[0]),
                item["name"],
                item["password"],
                str(item.get("full_name", "")),
                tuple(item.get("groups") or ()),
                item.get("role"),
            )
        )
    return users


class Auth:
    """Users, sessions, roles and permissions of one simulator."""

    def __init__(
        self, users: list[User], privileges: set[str], root: Managed, timeout_s: float | None = None
    ):
        self.lock = threading.RLock()
        self.users = {u.name.lower(): u for u in users}
        self.sessions: dict[str, Session] = {}
        #: a session unused this long (seconds) expires; None: sessions never expire
        self.timeout_s = timeout_s
        self.all_privileges = sorted(set(privileges) | set(BASE_PRIVILEGES) | set(EXTRA_PRIVILEGES))
        self.roles: dict[int, Role] = {}
        for rid, (name, privs) in SYSTEM_ROLES.items():
            self.roles[rid] = Role(
                rid, name, frozenset(self.all_privileges if privs is None else privs), True
            )
        self._role_ids = itertools.count(1000)
        self.permissions: dict[str, list[Perm]] = {}  # entity moId -> permissions
        self.root = root
        for user in users:
            if user.role is not None:
                role = self.role_by_name(user.role)
                if role is None:
                    raise AuthError(
                        f"user {user.name}: unknown role {user.role!r} "
                        f"(known: {', '.join(r.name for r in self.roles.values())})"
                    )
                self.permissions.setdefault(root.moid, []).append(Perm(user.name, False, role.id, True))
        self.version = 0

    # sessions -------------------------------------------------------------------------------------
    def login(self, name: str, password: str, ip: str, agent: str) -> Session | None:
        user = self.users.get(name.lower())
        if user is None or not secrets.compare_digest(user.password.encode(), password.encode()):
            return None
        t = now()
        session = Session(secrets.token_hex(20), user, t, t, ip, agent)
        with self.lock:
            self.sessions[session.key] = session
        return session

    def logout(self, key: str) -> None:
        with self.lock:
            self.sessions.pop(key, None)

    def session(self, key: str | None) -> Session | None:
        """The live session of ``key`` (its use time refreshed), or None: never issued, logged out
        or expired (unused for ``timeout_s`` seconds)."""
        if not key:
            return None
        with self.lock:
            session = self.sessions.get(key)
            if session is None:
                return None
            t = time.monotonic()
            if self.timeout_s is not None and t - session.seen > self.timeout_s:
                del self.sessions[key]
                return None
            session.seen = t
            return session

    def expire(self, user: str | None = None) -> int:
        """End every session, or those of the user named ``user``, as a timeout would; how many."""
        with self.lock:
            keys = [
                k for k, s in self.sessions.items() if user is None or s.user.name.lower() == user.lower()
            ]
            for k in keys:
                del self.sessions[k]
            return len(keys)

    # roles ------------------------------------------------------------------------------------------
    def role_by_name(self, name: str) -> Role | None:
        return next((r for r in self.roles.values() if r.name == name), None)

    def add_role(self, name: str, privs: list[str]) -> Role:
        with self.lock:
            role = Role(next(self._role_ids), name, frozenset(privs) | frozenset(BASE_PRIVILEGES))
            self.roles[role.id] = role
            self.version += 1
            return role

    # evaluation -------------------------------------------------------------------------------------
    def deciding_permissions(self, user: User, entity: Managed) -> list[Perm]:
        """The permissions that decide ``user``'s rights on ``entity``: those for the user or one of
        their groups at the nearest level that has any (the entity itself, then its parents, whose
        permissions count only when they propagate)."""
        principals = {user.name.lower(), *(g.lower() for g in user.groups)}
        first = True
        for obj in entity.ancestors():
            perms = [
                p
                for p in self.permissions.get(obj.moid, ())
                if p.principal.lower() in principals and (first or p.propagate)
            ]
            if perms:
                return perms
            first = False
        return []

    def privileges(self, user: User, entity: Managed) -> frozenset[str]:
        """The privileges ``user`` holds on ``entity``: those of the roles of the deciding permissions."""
        out: set[str] = set()
        for p in self.deciding_permissions(user, entity):
            role = self.roles.get(p.role_id)
            if role is not None:
                out |= role.privileges
        return frozenset(out)

    def missing(self, user: User, entity: Managed, required: list[str] | tuple[str, ...]) -> list[str]:
        have = self.privileges(user, entity)
        return [p for p in required if p not in have]

    def effective_roles(self, user: User | None, entity: Managed) -> list[int]:
        """The ids of the roles ``user`` holds on ``entity`` (those of the deciding permissions)."""
        if user is None:
            return []
        return sorted({p.role_id for p in self.deciding_permissions(user, entity)})

    def permissions_on(self, entity: Managed, b: Builder, inherited: bool) -> list[DataObject]:
        out = []
        objs = list(entity.ancestors()) if inherited else [entity]
        for i, obj in enumerate(objs):
            for p in self.permissions.get(obj.moid, ()):
                if i == 0 or p.propagate:
                    out.append(
                        b.obj(
                            "Permission",
                            entity=obj.ref,
                            principal=p.principal,
                            group=p.group,
                            roleId=p.role_id,
                            propagate=p.propagate,
                        )
                    )
        return out
