"""Contract breaks the simulator's misbehaviour switches do not make, injected by rewriting the clean
simulator's answers; each must make the named check fail with a useful message, and the clean
endpoint must pass the same checks (the controls)."""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest

from .conftest import SESSIONS, USERS, Req, Resp, Rule, answer, edit

RUNTIME = r"/VirtualMachine/[^/]+/runtime$"
CONFIG = r"/VirtualMachine/[^/]+/config$"
STATUS = r"/VirtualMachine/[^/]+/overallStatus$"
TASK_INFO = r"/Task/[^/]+/info$"
MOREF = "ManagedObjectReference"


def OK(req: Req, resp: Resp) -> bool:  # noqa: N802 - reads as a constant in the table
    return resp.status == 200


def task_edit(fn: Callable[[dict[str, Any]], Any], state: str | None = None) -> Rule:
    """Rewrite TaskInfo reads (only those in ``state`` when given)."""
    return edit(
        "GET",
        TASK_INFO,
        fn,
        when=lambda q, r: r.status == 200 and (state is None or (r.json or {}).get("state") == state),
    )


def put(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """Set a dotted path in a JSON object (None deletes it)."""
    *head, last = path.split(".")

    def fn(obj: dict[str, Any]) -> None:
        for seg in head:
            obj = obj[seg]
        if value is None:
            obj.pop(last, None)
        else:
            obj[last] = copy.deepcopy(value)

    return fn


def is_fault(name: str) -> Callable[[Req, Resp], bool]:
    return lambda q, r: r.status >= 300 and isinstance(r.json, dict) and r.json.get("_typeName") == name


def frozen(path: str) -> Rule:
    """A property that keeps answering what it answered first (the change never shows)."""
    first: dict[str, bytes] = {}

    def after(req: Req, resp: Resp) -> Resp | None:
        if resp.status != 200:
            return None
        key = req.path.rsplit("/", 2)[-2]
        first.setdefault(key, resp.body)
        return Resp(resp.status, resp.headers, first[key])

    return Rule("GET", path, after=after)


def behind_refusal(fault: str) -> Callable[[Req, Resp], Req | None]:
    """Answer the refusal, but run the call as the administrator behind the client's back."""
    return lambda q, r: q.as_user("admin") if is_fault(fault)(q, r) else None


def forget_finished() -> Rule:
    """Task.info answers ManagedObjectNotFound once the task was seen finished."""
    finished: set[str] = set()

    def after(req: Req, resp: Resp) -> Resp | None:
        key = req.path.rsplit("/", 2)[-2]
        if key in finished:
            return Resp(
                500, {"content-type": "application/json"}, __import__("json").dumps(NOT_FOUND).encode()
            )
        if resp.status == 200 and (resp.json or {}).get("state") in ("success", "error"):
            finished.add(key)
        return None

    return Rule("GET", TASK_INFO, after=after)


def trust_unknown_session_ids() -> list[Rule]:
    """Session ids the endpoint issued are checked; one it never issued is taken for the administrator's."""
    issued: set[str] = set()

    def remember(req: Req, resp: Resp) -> None:
        if sid := resp.headers.get("vmware-api-session-id"):
            issued.add(sid)

    def before(req: Req) -> None:
        sid = req.headers.get("vmware-api-session-id")
        if sid and sid not in issued and sid not in SESSIONS.values():
            req.headers["vmware-api-session-id"] = SESSIONS["admin"] or ""

    return [Rule("POST", r"/Login$", after=remember), Rule("*", ".*", before=before)]


def _as_admin_when_anonymous(req: Req) -> None:
    """A request without a session is served as the administrator's."""
    if not req.headers.get("vmware-api-session-id"):
        req.headers["vmware-api-session-id"] = SESSIONS["admin"] or ""


def _run_known_part(req: Req, resp: Resp) -> Req | None:
    """An invalid PowerOnVM_Task is refused, but its known parameters are run behind the refusal."""
    body = req.json
    if resp.status != 500 or not isinstance(body, dict):
        return None
    known = {k: v for k, v in body.items() if k == "host" and isinstance(v, dict) and v.get("value")}
    return Req(
        req.method, req.path, {**req.as_user("admin").headers}, __import__("json").dumps(known).encode()
    )


def swallow_logout() -> Rule:
    """Logout answers 204 but the session stays valid."""
    return Rule("POST", r"/SessionManager/[^/]+/Logout$", before=lambda q: Resp(204, {}, b""))


def refuse_with(fault: dict[str, Any], status: int = 500) -> Callable[[Any], Any]:
    return lambda _: fault


def missing_privileges(fn: Callable[[list[dict[str, Any]]], Any]) -> Rule:
    def edit_fault(body: dict[str, Any]) -> None:
        fn(body.setdefault("missingPrivileges", []))

    return edit("POST", r"/PowerOnVM_Task$", edit_fault, when=is_fault("NoPermission"))


def _other_current_snapshot(info: Any) -> None:
    """The VM's current snapshot is reported as another snapshot than the one just created."""
    if isinstance(info, dict) and isinstance(info.get("currentSnapshot"), dict):
        info["currentSnapshot"]["value"] += "-other"


def other_vm(entries: list[dict[str, Any]]) -> None:
    for e in entries:
        e["entity"] = {"_typeName": MOREF, "type": "VirtualMachine", "value": "vm-100"}


def on_folder(entries: list[dict[str, Any]]) -> None:
    for e in entries:
        e["entity"] = {"_typeName": MOREF, "type": "Folder", "value": "group-d1"}


def no_ids(entries: list[dict[str, Any]]) -> None:
    for e in entries:
        e["privilegeIds"] = []


def _task_state(state: str, **fields: Any) -> Callable[[dict[str, Any]], None]:
    def fn(info: dict[str, Any]) -> None:
        info["state"] = state
        for k, v in fields.items():
            if v is None:
                info.pop(k, None)
            else:
                info[k] = v

    return fn


NOT_FOUND = {
    "_typeName": "ManagedObjectNotFound",
    "faultMessage": [],
    "obj": {"_typeName": MOREF, "type": "VirtualMachine", "value": "x"},
}
RUNTIME_FAULT = {"_typeName": "SystemError", "faultMessage": [], "reason": "x"}


def _vm_ref(value: str) -> dict[str, str]:
    return {"_typeName": MOREF, "type": "VirtualMachine", "value": value}


# (id, check, operation, rules factory, words the failure message must hold (any of them))
BREAKS: list[tuple[str, str, str, Callable[[], list[Rule]], tuple[str, ...]]] = [
    # --- shape: values that do not fit their declared type --------------------------------------
    (
        "enum-value-unknown",
        "shape",
        "VirtualMachine_getRuntime",
        lambda: [edit("GET", RUNTIME, put("connectionState", "up"))],
        ("connectionState",),
    ),
    (
        "int-as-string",
        "shape",
        "VirtualMachine_getRuntime",
        lambda: [edit("GET", RUNTIME, put("numMksConnections", "1"))],
        ("numMksConnections",),
    ),
    (
        "int-out-of-range",
        "shape",
        "VirtualMachine_getRuntime",
        lambda: [edit("GET", RUNTIME, put("maxCpuUsage", 2**40))],
        ("maxCpuUsage",),
    ),
    (
        "datetime-without-time",
        "shape",
        "VirtualMachine_getRuntime",
        lambda: [edit("GET", RUNTIME, put("bootTime", "2026-11-27"))],
        ("bootTime",),
    ),
    (
        "datetime-impossible",
        "shape",
        "VirtualMachine_getRuntime",
        lambda: [edit("GET", RUNTIME, put("bootTime", "2026-13-45T25:61:00Z"))],
        ("bootTime",),
    ),
    (
        "required-missing-deep",
        "shape",
        "VirtualMachine_getConfig",
        lambda: [edit("GET", CONFIG, put("hardware.numCPU", None))],
        ("numCPU",),
    ),
    (
        "field-of-a-newer-release",
        "shape",
        "VirtualMachine_getConfig",
        lambda: [edit("GET", CONFIG, put("metroFtEnabled", True))],
        ("metroFtEnabled",),
    ),
    (
        "typename-not-a-subtype",
        "shape",
        "VirtualMachine_getRuntime",
        lambda: [edit("GET", RUNTIME, put("_typeName", "VirtualMachineSummary"))],
        ("_typeName", "VirtualMachine"),
    ),
    (
        "moref-wrong-managed-type",
        "shape",
        "VirtualMachine_getRuntime",
        lambda: [edit("GET", RUNTIME, put("host.type", "Datastore"))],
        ("Datastore",),
    ),
    (
        "moref-empty-value",
        "shape",
        "VirtualMachine_getRuntime",
        lambda: [edit("GET", RUNTIME, put("host.value", ""))],
        ("host",),
    ),
    (
        "required-property-null",
        "shape",
        "VirtualMachine_getOverallStatus",
        lambda: [answer("GET", STATUS, 200, None, when=OK)],
        ("without a value",),
    ),
    (
        "json-sent-as-text",
        "shape",
        "VirtualMachine_getRuntime",
        lambda: [
            Rule("GET", RUNTIME, after=lambda q, r: Resp(r.status, {"content-type": "text/plain"}, r.body))
        ],
        ("text/plain",),
    ),
    (
        "task-method-returns-a-vm",
        "shape",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [edit("POST", r"/PowerOnVM_Task$", put("type", "VirtualMachine"))],
        ("VirtualMachine",),
    ),
    (
        "fault-body-bad-field-type",
        "shape",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [
            answer(
                "POST",
                r"/PowerOnVM_Task$",
                500,
                {"_typeName": "InvalidPowerState", "faultMessage": [], "existingState": "on"},
            )
        ],
        ("existingState",),
    ),
    (
        "fault-cause-wrapped-in-localized-method-fault",
        "shape",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [
            answer(
                "POST",
                r"/PowerOnVM_Task$",
                500,
                {
                    "_typeName": "InvalidPowerState",
                    "faultMessage": [],
                    "existingState": "poweredOn",
                    "faultCause": {
                        "_typeName": "LocalizedMethodFault",
                        "fault": RUNTIME_FAULT,
                        "localizedMessage": "x",
                    },
                },
            )
        ],
        ("faultCause",),
    ),
    (
        "fault-cause-malformed",
        "shape",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [
            answer(
                "POST",
                r"/PowerOnVM_Task$",
                500,
                {
                    "_typeName": "InvalidPowerState",
                    "faultMessage": [],
                    "existingState": "poweredOn",
                    "faultCause": {"_typeName": "InvalidPowerState", "existingState": "on"},
                },
            )
        ],
        ("faultCause",),
    ),
    (
        "ft-compatibility-items-wrapped",
        "shape",
        "VirtualMachine_QueryFaultToleranceCompatibility",
        lambda: [
            answer(
                "POST",
                r"/QueryFaultToleranceCompatibility$",
                200,
                [
                    {
                        "_typeName": "LocalizedMethodFault",
                        "localizedMessage": "x",
                        "fault": {"_typeName": "VmFaultToleranceConfigIssue", "reason": "hasSnapshots"},
                    }
                ],
                when=OK,
            )
        ],
        ("LocalizedMethodFault",),
    ),
    (
        "ft-compatibility-item-malformed",
        "shape",
        "VirtualMachine_QueryFaultToleranceCompatibility",
        lambda: [
            answer(
                "POST",
                r"/QueryFaultToleranceCompatibility$",
                200,
                [{"_typeName": "VmFaultToleranceConfigIssue", "reason": "hasSnapshots", "entityName": 7}],
                when=OK,
            )
        ],
        ("entityName",),
    ),
    # --- faults: statuses and fault objects -------------------------------------------------------
    (
        "void-method-200-with-body",
        "faults",
        "VirtualMachine_MarkAsTemplate",
        lambda: [answer("POST", r"/MarkAsTemplate$", 200, True, when=lambda q, r: r.status == 204)],
        ("HTTP 200",),
    ),
    (
        "value-method-204",
        "faults",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [answer("POST", r"/PowerOnVM_Task$", 204, None, when=lambda q, r: r.status == 200)],
        ("HTTP 204",),
    ),
    (
        "required-property-204",
        "faults",
        "VirtualMachine_getOverallStatus",
        lambda: [answer("GET", STATUS, 204, None, when=OK)],
        ("HTTP 204",),
    ),
    (
        "required-property-null-200",
        "faults",
        "VirtualMachine_getOverallStatus",
        lambda: [answer("GET", STATUS, 200, None, when=OK)],
        ("without a value",),
    ),
    (
        "fault-with-404",
        "faults",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [
            edit(
                "POST",
                r"/PowerOnVM_Task$",
                lambda f: None,
                when=is_fault("ManagedObjectNotFound"),
                status=404,
            )
        ],
        ("HTTP 404",),
    ),
    (
        "fault-with-503",
        "faults",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [
            edit(
                "POST",
                r"/PowerOnVM_Task$",
                lambda f: None,
                when=is_fault("ManagedObjectNotFound"),
                status=503,
            )
        ],
        ("HTTP 503",),
    ),
    (
        "fault-with-400",
        "faults",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [
            edit(
                "POST",
                r"/PowerOnVM_Task$",
                lambda f: None,
                when=is_fault("ManagedObjectNotFound"),
                status=400,
            )
        ],
        ("HTTP 400",),
    ),
    (
        "fault-body-not-a-fault",
        "faults",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [
            edit(
                "POST",
                r"/PowerOnVM_Task$",
                refuse_with({"error": "x"}),
                when=is_fault("ManagedObjectNotFound"),
            )
        ],
        ("without a fault object",),
    ),
    (
        "fault-of-a-data-type",
        "faults",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [
            edit(
                "POST",
                r"/PowerOnVM_Task$",
                refuse_with({"_typeName": "VirtualMachineRuntimeInfo"}),
                when=is_fault("ManagedObjectNotFound"),
            )
        ],
        ("not a fault type",),
    ),
    (
        "refused-though-precondition-holds",
        "faults",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [
            answer(
                "POST",
                r"/PowerOnVM_Task$",
                500,
                {"_typeName": "InvalidPowerState", "faultMessage": [], "existingState": "poweredOff"},
                when=OK,
            )
        ],
        ("precondition naming it holds",),
    ),
    (
        "not-found-fault-malformed",
        "faults",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [edit("POST", r"/PowerOnVM_Task$", put("obj", None), when=is_fault("ManagedObjectNotFound"))],
        ("obj",),
    ),
    (
        "task-error-fault-malformed",
        "faults",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [task_edit(lambda i: i["error"].update(existingState="on"), state="error")],
        ("existingState",),
    ),
    (
        "task-error-wrapped-in-localized-method-fault",
        "faults",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [
            task_edit(
                lambda i: i.update(
                    error={"_typeName": "LocalizedMethodFault", "fault": i["error"], "localizedMessage": "x"}
                ),
                state="error",
            )
        ],
        ("LocalizedMethodFault",),
    ),
    (
        "task-error-cause-malformed",
        "faults",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [
            task_edit(lambda i: i["error"].update(faultCause={"_typeName": "SystemError"}), state="error")
        ],
        ("faultCause", "reason"),
    ),
    (
        "unmet-precondition-task-success",
        "faults",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [task_edit(_task_state("success", error=None, progress=100), state="error")],
        ("succeeded",),
    ),
    # --- privileges --------------------------------------------------------------------------------
    (
        "nopermission-other-vm",
        "privileges",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [missing_privileges(other_vm)],
        ("vm-100",),
    ),
    (
        "nopermission-on-the-folder",
        "privileges",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [missing_privileges(on_folder)],
        ("group-d1",),
    ),
    (
        "nopermission-empty-list",
        "privileges",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [missing_privileges(list.clear)],
        ("without missingPrivileges",),
    ),
    (
        "nopermission-no-privilege-ids",
        "privileges",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [missing_privileges(no_ids)],
        ("expected exactly",),
    ),
    (
        "nopermission-http-403",
        "privileges",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [
            edit("POST", r"/PowerOnVM_Task$", lambda f: None, when=is_fault("NoPermission"), status=403)
        ],
        ("HTTP 403",),
    ),
    (
        "refused-yet-done",
        "privileges",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [Rule("POST", r"/PowerOnVM_Task$", shadow=behind_refusal("NoPermission"))],
        ("yet runtime",),
    ),
    # --- session -----------------------------------------------------------------------------------
    (
        "notauthenticated-as-nopermission",
        "session",
        "VirtualMachine_getRuntime",
        lambda: [
            edit(
                "GET",
                RUNTIME,
                refuse_with({"_typeName": "NoPermission", "faultMessage": []}),
                when=is_fault("NotAuthenticated"),
            )
        ],
        ("NoPermission",),
    ),
    (
        "notauthenticated-http-401",
        "session",
        "VirtualMachine_getRuntime",
        lambda: [edit("GET", RUNTIME, lambda f: None, when=is_fault("NotAuthenticated"), status=401)],
        ("HTTP 401",),
    ),
    (
        "logged-out-session-works",
        "session",
        "VirtualMachine_getRuntime",
        lambda: [swallow_logout()],
        ("logged-out",),
    ),
    (
        "no-session-yet-done",
        "session",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [Rule("POST", r"/PowerOnVM_Task$", shadow=behind_refusal("NotAuthenticated"))],
        ("yet runtime",),
    ),
    (
        "forged-session-id-works",
        "session",
        "VirtualMachine_getRuntime",
        lambda: trust_unknown_session_ids(),
        ("never issued",),
    ),
    (
        "current-session-without-session",
        "session",
        "SessionManager_getCurrentSession",
        lambda: [Rule("GET", r"/currentSession$", before=_as_admin_when_anonymous)],
        ("with data",),
    ),
    (
        "login-any-password",
        "session",
        "SessionManager_Login",
        lambda: [Rule("POST", r"/SessionManager/[^/]+/Login$", before=_any_password)],
        ("succeeded",),
    ),
    (
        "login-refused-as-nopermission",
        "session",
        "SessionManager_Login",
        lambda: [
            edit(
                "POST",
                r"/Login$",
                refuse_with({"_typeName": "NoPermission", "faultMessage": []}),
                when=is_fault("InvalidLogin"),
            )
        ],
        ("not InvalidLogin",),
    ),
    # --- tasks -------------------------------------------------------------------------------------
    (
        "progress-over-100",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [task_edit(put("progress", 150), state="success")],
        ("progress",),
    ),
    (
        "progress-negative",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [
            task_edit(put("progress", -5), state="queued"),
            task_edit(put("progress", -5), state="running"),
        ],
        ("progress",),
    ),
    (
        "complete-before-start",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [task_edit(put("completeTime", "2000-01-01T00:00:00Z"), state="success")],
        ("out of order",),
    ),
    (
        "success-with-error",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [
            task_edit(
                put("error", RUNTIME_FAULT),
                state="success",
            )
        ],
        ("error",),
    ),
    (
        "error-without-error",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [task_edit(_task_state("error", error=None), state="success")],
        ("without error",),
    ),
    (
        "error-undeclared-fault",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [
            task_edit(
                _task_state(
                    "error",
                    progress=None,
                    error={"_typeName": "SnapshotNoChange", "faultMessage": []},
                ),
                state="success",
            )
        ],
        ("SnapshotNoChange",),
    ),
    (
        "error-wrapped-in-localized-method-fault",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [
            task_edit(
                _task_state(
                    "error",
                    progress=None,
                    error={
                        "_typeName": "LocalizedMethodFault",
                        "localizedMessage": "x",
                        "fault": RUNTIME_FAULT,
                    },
                ),
                state="success",
            )
        ],
        ("LocalizedMethodFault",),
    ),
    (
        "void-task-with-result",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [task_edit(put("result", {"_typeName": "string", "_value": "x"}), state="success")],
        ("result",),
    ),
    (
        "result-wrong-managed-type",
        "tasks",
        "VirtualMachine_CloneVM_Task",
        lambda: [
            task_edit(
                put("result", {"_typeName": MOREF, "type": "HostSystem", "value": "host-10"}), state="success"
            )
        ],
        ("HostSystem",),
    ),
    (
        "entity-other-vm",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [task_edit(put("entity", _vm_ref("vm-100")))],
        ("entity",),
    ),
    (
        "entity-wrong-type-same-value",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [task_edit(lambda i: i["entity"].update(type="Folder") if i.get("entity") else None)],
        ("entity",),
    ),
    (
        "description-id-unrelated",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [task_edit(put("descriptionId", "Folder.createVm"))],
        ("descriptionId",),
    ),
    (
        "taskinfo-names-another-task",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [task_edit(lambda i: i["task"].update(value="task-999999"))],
        ("task-999999",),
    ),
    (
        "result-does-not-exist",
        "tasks",
        "VirtualMachine_CreateSnapshot_Task",
        lambda: [
            task_edit(
                put(
                    "result",
                    {"_typeName": MOREF, "type": "VirtualMachineSnapshot", "value": "snapshot-999999"},
                ),
                state="success",
            )
        ],
        ("does not exist",),
    ),
    (
        "busy-target-accepted",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [
            edit("POST", r"/Rename_Task$", lambda f: f["task"], when=is_fault("TaskInProgress"), status=200)
        ],
        ("not TaskInProgress",),
    ),
    (
        "running-with-complete-time",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [task_edit(put("completeTime", "2030-01-01T00:00:00Z"), state="running")],
        ("already carries",),
    ),
    (
        "cancelled-but-success",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [task_edit(put("cancelled", True), state="success")],
        ("cancelled",),
    ),
    (
        "never-terminal",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [task_edit(_task_state("running", progress=99, completeTime=None), state="success")],
        ("not finished",),
    ),
    (
        "task-info-not-found",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [answer("GET", TASK_INFO, 500, NOT_FOUND)],
        ("answered ManagedObjectNotFound",),
    ),
    (
        "finished-task-forgotten",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [forget_finished()],
        ("finished task",),
    ),
    (
        "not-in-recent-task",
        "tasks",
        "VirtualMachine_Rename_Task",
        lambda: [edit("GET", r"/VirtualMachine/[^/]+/recentTask$", lambda v: [])],
        ("recentTask",),
    ),
    # --- effects -----------------------------------------------------------------------------------
    (
        "power-on-stays-off",
        "effects",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [frozen(RUNTIME)],
        ("effect not seen",),
    ),
    (
        "rename-changes-nothing-visible",
        "effects",
        "VirtualMachine_Rename_Task",
        lambda: [frozen(r"/VirtualMachine/[^/]+/name$")],
        ("effect not seen",),
    ),
    (
        "snapshot-not-current",
        "effects",
        "VirtualMachine_CreateSnapshot_Task",
        lambda: [frozen(r"/VirtualMachine/[^/]+/snapshot$")],
        ("effect not seen",),
    ),
    (
        "snapshot-result-is-not-the-current-snapshot",
        "effects",
        "VirtualMachine_CreateSnapshot_Task",
        lambda: [edit("GET", r"/VirtualMachine/[^/]+/snapshot$", _other_current_snapshot)],
        ("the one the task returned",),
    ),
    (
        "rename-to-another-name",
        "effects",
        "VirtualMachine_Rename_Task",
        lambda: [Rule("POST", r"/Rename_Task$", before=_rename_other)],
        ("effect not seen",),
    ),
    # --- negative ----------------------------------------------------------------------------------
    (
        "missing-param-accepted",
        "negative",
        "VirtualMachine_ReconfigVM_Task",
        lambda: [
            answer(
                "POST",
                r"/ReconfigVM_Task$",
                200,
                {"_typeName": MOREF, "type": "Task", "value": "task-1"},
                when=lambda q, r: r.status != 200,
            )
        ],
        ("accepted with HTTP 200",),
    ),
    (
        "malformed-json-html-500",
        "negative",
        "VirtualMachine_ReconfigVM_Task",
        lambda: [
            answer(
                "POST",
                r"/ReconfigVM_Task$",
                500,
                b"<html>Internal Server Error</html>",
                "text/html",
                when=lambda q, r: r.status != 200,
            )
        ],
        ("without a fault object",),
    ),
    (
        "unknown-param-ignored",
        "negative",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [Rule("POST", r"/PowerOnVM_Task$", before=_drop_param("vsphereHarnessUnknown"))],
        ("unknown parameter: accepted",),
    ),
    (
        "refused-invalid-yet-done",
        "negative",
        "VirtualMachine_PowerOnVM_Task",
        lambda: [Rule("POST", r"/PowerOnVM_Task$", shadow=_run_known_part)],
        ("yet runtime",),
    ),
    (
        "invalid-answered-400",
        "negative",
        "VirtualMachine_ReconfigVM_Task",
        lambda: [
            edit("POST", r"/ReconfigVM_Task$", lambda f: None, when=lambda q, r: r.status == 500, status=400)
        ],
        ("HTTP 400",),
    ),
    (
        "invalid-answered-non-fault-type",
        "negative",
        "VirtualMachine_ReconfigVM_Task",
        lambda: [
            edit(
                "POST",
                r"/ReconfigVM_Task$",
                refuse_with({"_typeName": "VirtualMachineRuntimeInfo"}),
                when=lambda q, r: r.status == 500,
            )
        ],
        ("not a fault",),
    ),
    # --- versions ----------------------------------------------------------------------------------
    (
        "absent-release-non-fault-500",
        "versions",
        "VirtualMachine_RemoveAllSnapshots_Task",
        lambda: [
            answer(
                "POST", r"/RemoveAllSnapshots_Task$", 500, {"error": "x"}, when=lambda q, r: r.status == 500
            )
        ],
        ("without a fault object",),
    ),
    (
        "later-param-accepted",
        "versions",
        "VirtualMachine_RemoveAllSnapshots_Task",
        lambda: [Rule("POST", r"/RemoveAllSnapshots_Task$", before=_drop_param("spec"))],
        ("served with HTTP",),
    ),
]


def _rename_other(req: Req) -> None:
    """Rename_Task renames to something else than asked."""
    body = req.json
    if isinstance(body, dict) and "newName" in body:
        body["newName"] = body["newName"] + "-other"
        req.body = __import__("json").dumps(body).encode()


def _any_password(req: Req) -> None:
    """Login accepts any password of the administrator."""
    body = req.json
    user, password = USERS["admin"]
    if isinstance(body, dict) and body.get("userName") == user and body.get("password") != password:
        body["password"] = password
        req.body = __import__("json").dumps(body).encode()


def _drop_param(name: str) -> Callable[[Req], None]:
    """The server ignores a parameter it does not know instead of refusing it."""

    def before(req: Req) -> None:
        body = req.json
        if isinstance(body, dict) and name in body:
            body.pop(name)
            req.body = __import__("json").dumps(body).encode()

    return before


CONTROLS = sorted({(check, op) for _, check, op, _, _ in BREAKS})


@pytest.mark.parametrize(("check", "op"), CONTROLS, ids=[f"{c}-{o.split('_', 1)[1]}" for c, o in CONTROLS])
def test_clean_endpoint_passes(env, check, op):
    result = env.run(check, op, [])
    assert result.status == "passed", result.message


@pytest.mark.parametrize(("name", "check", "op", "rules", "words"), BREAKS, ids=[b[0] for b in BREAKS])
def test_break_is_caught(env, name, check, op, rules, words):
    active = rules()
    result = env.run(check, op, active, timeout=3.0)
    assert any(r.fired for r in active), "the break was never injected"
    assert result.status == "failed", f"{result.status}: {result.message}"
    assert any(w in result.message for w in words), result.message
    assert result.evidence, "a failure carries the exchange that shows it"


@pytest.mark.parametrize("check", ["session", "privileges", "negative", "faults", "tasks"])
def test_a_slow_network_is_error_not_failed(env, check):
    """The reads the new rules add (watched properties, preconditions, Task.info) time out: ``error``."""
    slow = env.admin.new()
    slow.timeout = 0.3
    slow.login(*USERS["admin"])
    sid = slow.session_id
    stall = Rule(
        "GET",
        r"/(runtime|info|recentTask)$",
        delay=lambda q: 0.6 if q.headers.get("vmware-api-session-id") == sid else 0.0,
    )
    op = "VirtualMachine_Rename_Task" if check == "tasks" else "VirtualMachine_PowerOnVM_Task"
    try:
        result = env.run(check, op, [stall], client=slow)
    finally:
        slow.close()
    assert stall.fired, "the network was never slowed"
    assert result.status == "error", f"{result.status}: {result.message}"
    assert "network" in result.message, result.message
