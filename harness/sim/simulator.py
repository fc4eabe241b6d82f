"""The simulator core: one request in, one response out, independent of the web framework.

``Simulator.handle(method, path, headers, body)`` parses the VI/JSON path, checks the session,
finds the operation in the release's table (precomputed from the contracts), decodes the request
with the project's codec, checks privileges (conditional ones included), applies server-side fault
rules and curated preconditions, runs the operation against state and encodes the answer.
"""

from __future__ import annotations

import datetime as dt
import itertools
import json
import threading
import time
import traceback
from typing import Any

from ..contract import load_contracts
from ..vmodl.codec import codec
from ..vmodl.registry import RELEASES, release
from ..vmodl.values import DataObject, MoRef
from .auth import Auth, Session, User, load_users
from .build import Builder, builder
from .config import SimConfig
from .declared import conform, undeclared
from .decode import decode_params, nested_missing
from .faults import SimFault, invalid_argument, invalid_request, not_found_object
from .lease import malformed_info
from .model import Managed, ServiceObject, Snapshot, Task
from .ops.base import HANDLERS, Call, TaskPlan
from .optable import OpSpec, build_tables
from .persist import StateError, StateFile
from .preconditions import check_preconditions
from .props import PER_USER, SUPPORT_PROPERTIES, VM_PROPERTIES
from .responses import Response, add_extra, break_value, drop_typename, release_of
from .restart import forget_tasks, next_task_number
from .rules import FaultRules
from .seed import build_inventory
from .tasks import TaskRunner

SESSION_HEADER = "vmware-api-session-id"
OPEN_OPS = {("ServiceInstance", "content"), ("SessionManager", "Login")}
#: Privileges every session holds on the service objects (they are not in the inventory).
SERVICE_PRIVILEGES = frozenset({"System.Anonymous", "System.View"})
#: Methods of the release that answer MethodNotFound under the ``unimplemented_methods`` switch (as
#: govmomi's vcsim answers 49 VirtualMachine methods).
UNIMPLEMENTED = frozenset(
    ("VirtualMachine", m) for m in ("MountToolsInstaller", "UnmountToolsInstaller", "AcquireMksTicket")
)


class Simulator:
    """All state of one simulated endpoint and the VI/JSON request handling over it."""

    def __init__(self, cfg: SimConfig):
        self.cfg = cfg
        self.started = time.monotonic()
        #: the state file (``cfg.state_file``): the inventory is read from it when it exists
        self.store = StateFile(cfg.state_file) if cfg.state_file else None
        saved = self.store.load() if self.store is not None else None
        self.resumed = saved is not None
        self.inv = saved["inv"] if saved is not None else build_inventory(cfg.vms, cfg.seed)
        self.contracts = load_contracts()
        optables = build_tables(self.contracts)
        self.tables = optables.by_release
        self.newest = optables.newest
        self.services = {
            name: self.inv.get(name) or ServiceObject(name, name)  # type: ignore[misc]
            for name in ("ServiceInstance", "SessionManager", "AuthorizationManager")
        }
        for obj in self.services.values():
            self.inv.add(obj)
        self.auth = Auth(
            load_users(cfg.users_file), optables.privileges, self.inv.root, cfg.session_timeout_s
        )
        self.rules = FaultRules(cfg.seed)
        if cfg.faults_file:
            self.rules.load_file(cfg.faults_file)
        self.misbehave: set[str] = set(cfg.misbehave)
        self.tasks = TaskRunner(self)
        self.restarts = 0  # restarts in this process (harness.sim.restart)
        self.restart_hook: Any = None  # set by the server that can restart it (harness.sim.server)
        if saved is not None:  # started again from the state file: what a restart keeps (.restart)
            self.auth.roles, self.auth.permissions = saved["roles"], saved["permissions"]
            self.auth._role_ids = saved["role_ids"]
            self.tasks._numbers = itertools.count(next_task_number(self.inv))
            forget_tasks(self.inv)
        self.tasks.start()
        self._local = threading.local()
        self.lock = threading.RLock()
        if self.store is not None and not self.resumed:
            self.persist(strict=True)  # the seed's inventory is the state from the start

    def close(self) -> None:
        self.tasks.stop()

    def persist(self, strict: bool = False) -> None:
        """Write the state file, when there is one (after a change, before it can be seen).  A file
        that cannot be written raises :class:`StateError` when ``strict`` (at start: a usage error);
        later it is counted (``store.failures``) and the endpoint answers on: a full disk is no
        fault of the request being served."""
        if self.store is not None:
            try:
                self.store.save(self.inv, self.auth)
            except StateError:
                if strict:
                    raise

    # helpers for operations ----------------------------------------------------------------------
    def current_user(self) -> User | None:
        return getattr(self._local, "user", None)

    def current_session(self) -> Session | None:
        """The session of the request being handled (None outside one, or without a session)."""
        return getattr(self._local, "session", None)

    def users(self) -> dict[str, tuple[str, str]]:
        return {u.key: (u.name, u.password) for u in self.auth.users.values()}

    def property_value(self, obj: Managed, prop: str, b: Builder) -> Any:
        """The value of ``obj.prop`` rendered for ``b``'s release (cached per object version)."""
        key = (prop, b.name)
        cacheable = obj.type_name == "VirtualMachine" and prop not in PER_USER
        hit = obj.cache.get(key) if cacheable else None
        if hit is not None and hit[0] == obj.version:
            return hit[1]
        if obj.type_name == "VirtualMachine":
            renderer = VM_PROPERTIES.get(prop)
        else:
            renderer = SUPPORT_PROPERTIES.get((obj.type_name, prop))
        if renderer is None:
            raise invalid_argument(prop, f"{obj.type_name} has no property {prop!r} here")
        with obj.lock:
            version = obj.version
            value = renderer(self, obj, b)
            if cacheable:
                obj.cache[key] = (version, value, b"")
        return value

    # the request ------------------------------------------------------------------------------------
    def handle(
        self, method: str, path: str, headers: dict[str, str], body: bytes, client: str = "127.0.0.1"
    ) -> Response:
        """One VI/JSON request."""
        try:
            return self._handle(method, path, headers, body, client)
        except SimFault as fault:
            return self.fault_response(fault, builder(release_of(path)), None)
        except Exception as exc:  # noqa: BLE001 - never a traceback to the client
            if "crash_on_invalid" in self.misbehave:
                return Response(500, traceback.format_exc().encode(), content_type="text/plain")
            return self.fault_response(
                SimFault("SystemError", f"internal error: {exc.__class__.__name__}", reason=str(exc)),
                builder(release_of(path)),
                None,
            )
        finally:
            self._local.user = None
            self._local.session = None
            if method == "POST" and self.store is not None:
                self.persist()

    def _handle(self, method: str, path: str, headers: dict[str, str], body: bytes, client: str) -> Response:
        parts = path.split("/")
        # "", "sdk", "vim25", release, type, moid, name
        if len(parts) != 7 or parts[1] != "sdk" or parts[2] != "vim25" or not all(parts[3:]):
            raise invalid_request(f"not a VI/JSON path: {path[:200]}")
        rel, type_name, moid, name = parts[3], parts[4], parts[5], parts[6]
        if rel not in self.tables:
            raise invalid_request(f"unknown release {rel[:40]!r}; this server serves {', '.join(RELEASES)}")
        b = builder(rel)
        spec = self.tables[rel].get((type_name, name))
        if spec is None:
            spec = self._missing_op(rel, type_name, moid, name)
        if "unimplemented_methods" in self.misbehave and (type_name, name) in UNIMPLEMENTED:
            raise SimFault(
                "MethodNotFound",
                f"{type_name}.{name} is not implemented",
                sync=True,
                receiver=MoRef(type_name, moid[:200]),
                method=name,
            )
        c = spec.contract
        want = "GET" if c.kind == "property" else "POST"
        if method != want:
            raise invalid_request(f"{type_name}.{name} is called with {want}, not {method}")
        # session
        session = self.auth.session(headers.get(SESSION_HEADER))
        if (type_name, name) not in OPEN_OPS and session is None:
            if "no_session_required" not in self.misbehave:
                raise SimFault(
                    "NotAuthenticated",
                    "The session is not authenticated.",
                    sync=True,
                    object=MoRef(type_name, moid) if type_name in release(rel).managed else None,
                    privilegeId="System.View",
                )
            session = Session("anonymous", self._admin(), None, None)
        if session is not None:
            session.calls += 1
            if session.login_time is not None:
                session.last_active = dt.datetime.now(dt.UTC)
            self._local.user = session.user
        self._local.session = session
        # target
        obj = self.inv.get(moid)
        if obj is None or not release(spec.release).is_subtype(obj.type_name, type_name):
            raise not_found_object(MoRef(type_name, moid))
        if (
            "forget_tasks_on_logout" in self.misbehave
            and obj.type_name == "Task"
            and getattr(obj, "session_key", None) not in self.auth.sessions
        ):
            raise not_found_object(MoRef(type_name, moid))
        call = Call(self, spec, b, obj, session, {}, headers, client)
        # request body
        if c.kind == "method":
            try:
                call.params = decode_params(spec, body, self.inv)
            except SimFault as fault:
                return self._invalid(call, fault)
            nested = nested_missing(call.params, self.inv)
            if nested is not None and "accept_invalid" not in self.misbehave:
                # vCenter resolves a reference nested in a data object inside the method: a task
                # method starts its task and the task ends in error; anything else refuses at once
                if c.is_task and "crash_on_invalid" not in self.misbehave:
                    call.deferred = nested
                else:
                    return self._invalid(call, nested)
        # privileges
        if session is not None and (type_name, name) not in OPEN_OPS:
            self._check_privileges(call)
        # fault rules
        hit = self.rules.match(self, call)
        if hit is not None:
            call.rule = hit
            if hit.fault is not None and hit.into == "response":
                resp = self.fault_response(hit.fault, b, spec)
                resp.delay_s = hit.delay_s
                return resp
        resp = self._property(call) if c.kind == "property" else self._method(call)
        if hit is not None and hit.delay_s and hit.into != "task":  # into: task slows the task instead
            resp.delay_s = hit.delay_s
        return resp

    def _admin(self) -> User:
        for u in self.auth.users.values():
            if self.auth.privileges(u, self.inv.root) >= set(self.auth.all_privileges):
                return u
        return next(iter(self.auth.users.values()))

    def _missing_op(self, rel: str, type_name: str, moid: str, name: str) -> OpSpec:
        spec = self.newest.get((type_name, name))
        if spec is not None and "serve_all_releases" in self.misbehave:
            return spec
        if type_name not in release(rel).managed:
            raise invalid_request(f"unknown managed object type {type_name[:80]!r} in release {rel}")
        receiver = MoRef(type_name, moid[:200])
        if spec is not None:
            raise SimFault(
                "MethodNotFound",
                f"{type_name}.{name} does not exist in release {rel}",
                sync=True,
                receiver=receiver,
                method=name,
            )
        try:
            release(rel).property(type_name, name)
        except KeyError:
            raise SimFault(
                "MethodNotFound",
                f"{type_name} has no method {name[:80]!r} in release {rel}",
                sync=True,
                receiver=receiver,
                method=name[:200],
            ) from None
        raise invalid_argument(name, f"{type_name}.{name} is not served by this simulator")

    def _invalid(self, call: Call, fault: SimFault) -> Response:
        """A request that cannot be decoded (or the accept/crash misbehaviours)."""
        if "crash_on_invalid" in self.misbehave:
            text = (
                'Traceback (most recent call last):\n  File "sim.py", line 1, in handle\n'
                f"ValueError: {fault.message}\n"
            )
            return Response(500, text.encode(), content_type="text/plain")
        if "accept_invalid" in self.misbehave:
            spec = call.spec
            if spec.contract.is_task:
                task = self.tasks.create(
                    call.obj,
                    call.description_id(),
                    call.user_name(),
                    method=call.spec.contract.name,
                    cancelable=False,
                    delay_s=0,
                    work=None,
                    result_type=None,
                )
                return self.ok(call, task.ref)
            value = call.b.default(spec.response) if spec.response is not None else None
            return self.ok(call, value)
        if "invalid_in_task" in self.misbehave and call.spec.contract.is_task:
            task = self.tasks.create(
                call.obj,
                call.description_id(),
                call.user_name(),
                method=call.spec.contract.name,
                cancelable=False,
                delay_s=0,
                work=None,
                result_type=None,
                error=SimFault(fault.type_name, fault.message, sync=False, **fault.fields),
            )
            return self.ok(call, task.ref)
        return self.fault_response(fault, call.b, call.spec)

    def _check_privileges(self, call: Call) -> None:
        if "ignore_privileges" in self.misbehave or call.session is None:
            return
        user = call.session.user
        missing: dict[str, tuple[Managed, list[str]]] = {}
        for entity, privs in call.required_privileges():
            if isinstance(entity, ServiceObject):  # checked, and reported, on the root folder
                need = [p for p in privs if p not in SERVICE_PRIVILEGES]
                entity = self.inv.root
                lacking = self.auth.missing(user, entity, need) if need else []
            else:
                lacking = self.auth.missing(user, entity, privs)
            if lacking:
                _, have = missing.setdefault(entity.moid, (entity, []))
                have.extend(p for p in lacking if p not in have)
        if not missing:
            return
        first_entity, first_privs = next(iter(missing.values()))
        if "nopermission_no_privileges" in self.misbehave:
            raise SimFault(
                "NoPermission",
                "Permission to perform this operation was denied.",
                sync=True,
                object=first_entity.ref,
                privilegeId="System.Anonymous",
            )
        entries = [
            DataObject("NoPermissionEntityPrivileges", entity=e.ref, privilegeIds=p)
            for e, p in missing.values()
        ]
        raise SimFault(
            "NoPermission",
            "Permission to perform this operation was denied.",
            sync=True,
            object=first_entity.ref,
            privilegeId=first_privs[0],
            missingPrivileges=entries,
        )

    # properties and methods --------------------------------------------------------------------------
    def _property(self, call: Call) -> Response:
        obj, name, b = call.obj, call.spec.contract.name, call.b
        if isinstance(obj, Task):
            self.tasks.advance(obj)
        if (call.spec.contract.managed_type, name) == ("ServiceInstance", "content"):
            return self.ok(call, self.content(b))
        if (call.spec.contract.managed_type, name) == ("SessionManager", "currentSession"):
            return self.ok(call, self.session_info(call.session, b) if call.session else None)
        if call.spec.contract.managed_type == "AuthorizationManager":
            return self.ok(call, HANDLERS[("AuthorizationManager", name)](call))
        key = (name, b.name)
        cacheable = not self.misbehave and name not in PER_USER and obj.type_name == "VirtualMachine"
        if cacheable:
            hit = obj.cache.get(key)
            if hit is not None and hit[0] == obj.version and hit[2]:
                return Response(200, hit[2])
        version = obj.version
        value = self.property_value(obj, name, b)
        resp = self.ok(call, value)
        if "lease_info_malformed" in self.misbehave and (obj.type_name, name) == ("HttpNfcLease", "info"):
            return Response(200, json.dumps(malformed_info(json.loads(resp.body or b"null"))).encode())
        if "break_existing_vms" in self.misbehave and getattr(obj, "seeded", False):
            return Response(200, json.dumps(break_value(json.loads(resp.body or b"null"))).encode())
        if cacheable:
            obj.cache[key] = (version, value, resp.body)
        return resp

    def _method(self, call: Call) -> Response:
        spec = call.spec
        handler = HANDLERS.get((spec.contract.managed_type, spec.contract.name))
        if handler is None:
            raise SimFault(
                "NotSupported", f"{spec.contract.id} is not implemented by the simulator", sync=True
            )
        with self.inv.locked(call.obj):
            try:
                call.check_busy()
                if call.deferred is not None:
                    raise call.deferred
                check_preconditions(call)
                outcome = handler(call)
            except SimFault as fault:
                return self._failed(call, fault)
        resp = call.finish(outcome)
        session = call.new_session
        if session is not None and resp.status == 200:
            resp.headers[SESSION_HEADER] = session.key
        return resp

    def _failed(self, call: Call, fault: SimFault) -> Response:
        """A precondition failed: in the response, or in a task's error (task methods)."""
        spec = call.spec
        fault = self.maybe_undeclared(conform(fault, spec), spec)
        if "effects_on_failure" in self.misbehave and fault.type_name not in (
            "TaskInProgress",
            "NoPermission",
        ):
            call.force = True
            try:
                outcome = HANDLERS[(spec.contract.managed_type, spec.contract.name)](call)
                work = outcome.work if isinstance(outcome, TaskPlan) else outcome
                if callable(work):
                    work()
            except Exception:  # noqa: BLE001 - the forced effect is best effort
                pass
            finally:
                call.force = False
            target = getattr(call.obj, "vm", call.obj)
            target.touch()
        sync = fault.sync if fault.sync is not None else self.rel(spec).is_runtime_fault(fault.type_name)
        if spec.contract.is_task and not sync:
            # a task's entity is a ManagedEntity: a refused snapshot operation's is its VM
            entity = call.obj.vm if isinstance(call.obj, Snapshot) else call.obj
            task = self.tasks.create(
                entity if not isinstance(entity, ServiceObject) else None,
                call.description_id(),
                call.user_name(),
                method=call.spec.contract.name,
                cancelable=False,
                delay_s=call.delay_s(),
                work=None,
                result_type=None,
                error=fault,
            )
            return self.ok(call, task.ref)
        return self.fault_response(fault, call.b, spec)

    def rel(self, spec: OpSpec):
        return release(spec.release)

    def maybe_undeclared(self, fault: SimFault, spec: OpSpec | None) -> SimFault:
        """With the ``undeclared_fault`` misbehaviour, a fault ``spec`` does not declare instead of ``fault``
        (authentication, permission and missing-object faults are kept)."""
        if (
            "undeclared_fault" not in self.misbehave
            or spec is None
            or fault.type_name in ("NotAuthenticated", "NoPermission", "ManagedObjectNotFound")
        ):
            return fault
        return undeclared(fault, spec)

    # responses ------------------------------------------------------------------------------------------
    def ok(self, call: Call, value: Any) -> Response:
        spec = call.spec
        if spec.response is None:
            return Response(204)
        if value is None:  # an unset property or optional result: 200 with null (nullable in the contracts)
            return Response(200, b"null")
        data = codec(spec.release).encode(value, spec.response)
        return Response(200, self._dump(data))

    def fault_response(self, fault: SimFault, b: Builder, spec: OpSpec | None) -> Response:
        fault = (
            self.maybe_undeclared(fault, spec)
            if spec is not None
            and fault.type_name
            not in ("InvalidArgument", "InvalidRequest", "MethodNotFound", "NotAuthenticated", "NoPermission")
            else fault
        )
        if "fault_as_text" in self.misbehave:
            return Response(500, f"{fault.type_name}: {fault.message}\n".encode(), content_type="text/plain")
        obj = fault.render(b)
        data = codec(b.name).encode(obj, "MethodFault")
        status = 200 if "fault_status_200" in self.misbehave else 500
        return Response(status, self._dump(data))

    def _dump(self, data: Any) -> bytes:
        if self.misbehave:
            if "drop_typename" in self.misbehave:
                data = drop_typename(data)
            if "extra_field" in self.misbehave:
                data = add_extra(data)
        return json.dumps(data, separators=(",", ":")).encode()

    # service objects --------------------------------------------------------------------------------------
    def content(self, b: Builder) -> DataObject:
        about = b.obj(
            "AboutInfo",
            name="VMware vCenter Server",
            fullName=f"VMware vCenter Server {b.name} build-24321653 (vsphere-harness simulator)",
            vendor="VMware, Inc.",
            version=b.name.rsplit(".", 1)[0],
            build="24321653",
            localeVersion="INTL",
            localeBuild="000",
            osType="linux-x64",
            productLineId="vpx",
            apiType="VirtualCenter",
            apiVersion=b.name,
            instanceUuid="6f0c1f2e-0000-4000-8000-0000000000aa",
            licenseProductName="VMware VirtualCenter Server",
            licenseProductVersion="8.0",
        )
        return b.obj(
            "ServiceContent",
            rootFolder=self.inv.root.ref,
            propertyCollector=MoRef("PropertyCollector", "propertyCollector"),
            about=about,
            sessionManager=MoRef("SessionManager", "SessionManager"),
            authorizationManager=MoRef("AuthorizationManager", "AuthorizationManager"),
            taskManager=MoRef("TaskManager", "TaskManager"),
            customFieldsManager=MoRef("CustomFieldsManager", "CustomFieldsManager"),
            searchIndex=MoRef("SearchIndex", "SearchIndex"),
            viewManager=MoRef("ViewManager", "ViewManager"),
        )

    def session_info(self, session: Session | None, b: Builder) -> DataObject | None:
        if session is None or session.login_time is None:
            return None
        return b.obj(
            "UserSession",
            key=session.key,
            userName=session.user.name,
            fullName=session.user.full_name,
            loginTime=session.login_time,
            lastActiveTime=session.last_active or session.login_time,
            locale="en",
            messageLocale="en",
            extensionSession=False,
            ipAddress=session.ip,
            userAgent=session.user_agent,
            callCount=session.calls,
        )

    def set_misbehaviour(self, names) -> None:
        self.misbehave = set(names)
        for obj in list(self.inv.objects.values()):
            obj.cache.clear()

    # run-time control ----------------------------------------------------------------------------------------
    def about(self) -> dict[str, Any]:
        return {
            "simulated": True,
            "product": "vsphere-harness simulator",
            "releases": list(RELEASES),
            "vms": len(self.inv.vms()),
            "seed": self.cfg.seed,
            "task_delay_ms": self.cfg.task_delay_ms,
            "session_timeout_s": self.cfg.session_timeout_s,
            "misbehaviour": sorted(self.misbehave),
            "fault_rules": len(self.rules.rules),
            "restarts": self.restarts,
            "state_file": str(self.store.path) if self.store is not None else None,
            "resumed": self.resumed,
        }
