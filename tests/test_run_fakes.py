"""Shared fakes for the run tests (no tests here): a canned VI/JSON endpoint (responses) and a fake check registry."""

from __future__ import annotations

import json
from typing import Any

import responses

from harness.checks.base import CheckContext, CheckSpec, Inconclusive, Skip, Verdict
from harness.client import TransportError

URL = "http://vc.test:8443"
ROOT = f"{URL}/sdk/vim25/8.0.2.0"
SID = "a9f0c3d2e1b4c5d6e7f8091a2b3c4d5e"
LIMITED_SID = "0f1e2d3c4b5a69788796a5b4c3d2e1f0"
PASSWORD = "Adm1n-Pa55word!"
LIMITED_PASSWORD = "L1m1ted-Pa55word!"
ABOUT = {
    "_typeName": "AboutInfo",
    "name": "Fake vCenter",
    "fullName": "Fake vCenter 8.0.2",
    "vendor": "Test",
    "version": "8.0.2",
    "build": "1",
    "osType": "linux-x64",
    "productLineId": "vpx",
    "apiType": "VirtualCenter",
    "apiVersion": "8.0.2.0",
}


def _moref(kind: str, value: str) -> dict:
    return {"_typeName": "ManagedObjectReference", "type": kind, "value": value}


# answers valid against the schema: the run's auditor judges every answer, these too
CONTENT = {
    "_typeName": "ServiceContent",
    "about": ABOUT,
    "rootFolder": _moref("Folder", "group-d1"),
    "propertyCollector": _moref("PropertyCollector", "propertyCollector"),
    "sessionManager": _moref("SessionManager", "SessionManager"),
}


def user_session(key: str, user: str) -> dict:
    return {
        "_typeName": "UserSession",
        "key": key,
        "userName": user,
        "fullName": user,
        "loginTime": "2026-11-27T14:15:00Z",
        "lastActiveTime": "2026-11-27T14:15:00Z",
        "locale": "en",
        "messageLocale": "en",
        "extensionSession": False,
        "ipAddress": "127.0.0.1",
        "userAgent": "test",
        "callCount": 0,
    }


def fake_endpoint(rsps: responses.RequestsMock, refuse: bool = False) -> None:
    rsps.get(f"{ROOT}/ServiceInstance/ServiceInstance/content", json=CONTENT)

    def login(request: Any) -> tuple[int, dict, str]:
        body = json.loads(request.body)
        ok = {("admin", PASSWORD): SID, ("limited", LIMITED_PASSWORD): LIMITED_SID}
        sid = ok.get((body["userName"], body["password"]))
        if refuse or sid is None:
            return (
                500,
                {"Content-Type": "application/json"},
                json.dumps({"_typeName": "InvalidLogin", "faultMessage": []}),
            )
        # the session key in the body equals the session id: the scrubber must catch it in reports
        return (
            200,
            {"vmware-api-session-id": sid, "Content-Type": "application/json"},
            json.dumps(user_session(sid, body["userName"])),
        )

    rsps.add_callback(responses.POST, f"{ROOT}/SessionManager/SessionManager/Login", callback=login)
    rsps.post(f"{ROOT}/SessionManager/SessionManager/Logout", status=204)
    # a valid runtime fault (the run's auditor judges every answer) that quotes the session id
    rsps.get(
        f"{ROOT}/VirtualMachine/vm-1/runtime",
        status=500,
        json={"_typeName": "InvalidArgument", "faultMessage": [], "invalidProperty": f"session {SID}"},
    )


def spec(name: str, fn, applies=lambda c: True, changes_state: bool = False) -> CheckSpec:
    return CheckSpec(name, fn, f"fake {name}", applies, changes_state)


def ok(ctx: CheckContext, v: Verdict) -> str:
    return ""


def power_fails(ctx: CheckContext, v: Verdict) -> str:
    if "PowerOn" in ctx.contract.id:
        ex = ctx.client.get("VirtualMachine", "vm-1", "runtime")
        v.fail(f"{ctx.contract.id}: answered {ex.fault_type}", ex.evidence())  # evidence, not judged
    return ""


def boom(ctx: CheckContext, v: Verdict) -> str:
    if ctx.contract.name.startswith("Reset"):
        raise RuntimeError("bug in a check")
    if ctx.contract.name.startswith("Rename"):
        raise TransportError("GET x: connection reset")
    if ctx.contract.name.startswith("Unregister"):
        raise Inconclusive("could not tell")
    if ctx.contract.name.startswith("Mark"):
        raise Skip("no template here")
    return ""


def writes(ctx: CheckContext, v: Verdict) -> str:
    return ""


def versions(ctx: CheckContext, v: Verdict) -> str:
    present = ctx.contract.in_release(ctx.release)
    return "present" if present else "absent and refused"


def registry() -> dict[str, CheckSpec]:
    return {
        "ok": spec("ok", ok),
        "power": spec("power", power_fails),
        "boom": spec("boom", boom, applies=lambda c: c.kind == "method"),
        "writes": spec("writes", writes, changes_state=True),
        "versions": spec("versions", versions),
    }


class FakeSandbox:
    def __init__(self, client: Any, release: str, read_only: bool = False, timeout: float = 60.0, **kw: Any):
        self.client, self.release, self.read_only = client, release, read_only
        self.cleaned = False

    def cleanup(self) -> list[str]:
        self.cleaned = True
        return ["VirtualMachine vm-77 (Destroy_Task: TaskInProgress)"]
