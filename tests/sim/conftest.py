"""Fixtures: a simulator over a real socket, logged-in sessions, and small VI/JSON helpers."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests

from harness.sim import SimConfig, running_simulator

RELEASE = "8.0.2.0"
SESSION_HEADER = "vmware-api-session-id"


class Vi:
    """A tiny VI/JSON caller for tests (the harness's own client lives elsewhere)."""

    def __init__(self, url: str, release: str = RELEASE):
        self.url = url
        self.release = release
        self.http = requests.Session()

    def base(self, release: str | None = None) -> str:
        return f"{self.url}/sdk/vim25/{release or self.release}"

    def login(self, user: str, password: str) -> requests.Response:
        r = self.http.post(
            f"{self.base()}/SessionManager/SessionManager/Login",
            json={"userName": user, "password": password},
        )
        if r.status_code == 200:
            self.http.headers[SESSION_HEADER] = r.headers[SESSION_HEADER]
        return r

    def get(self, type_name: str, moid: str, prop: str, release: str | None = None) -> requests.Response:
        return self.http.get(f"{self.base(release)}/{type_name}/{moid}/{prop}")

    def call(
        self,
        type_name: str,
        moid: str,
        method: str,
        body: Any = None,
        release: str | None = None,
        raw: bytes | None = None,
    ) -> requests.Response:
        url = f"{self.base(release)}/{type_name}/{moid}/{method}"
        if raw is not None:
            return self.http.post(url, data=raw, headers={"content-type": "application/json"})
        return self.http.post(url, json=body) if body is not None else self.http.post(url)

    def vm(self, moid: str, method: str, body: Any = None) -> requests.Response:
        return self.call("VirtualMachine", moid, method, body)

    def prop(self, moid: str, prop: str, type_name: str = "VirtualMachine") -> Any:
        r = self.get(type_name, moid, prop)
        assert r.status_code == 200, r.text
        return r.json()

    def task(self, r: requests.Response, timeout: float = 10.0) -> dict[str, Any]:
        """Wait for the task a response names; its final TaskInfo."""
        assert r.status_code == 200, r.text
        ref = r.json()
        assert ref["type"] == "Task", ref
        deadline = time.monotonic() + timeout
        while True:
            info = self.prop(ref["value"], "info", "Task")
            if info["state"] in ("success", "error") or time.monotonic() > deadline:
                return info
            time.sleep(0.01)

    def ok_task(self, r: requests.Response) -> dict[str, Any]:
        info = self.task(r)
        assert info["state"] == "success", info
        return info

    def failed_task(self, r: requests.Response, fault: str) -> dict[str, Any]:
        info = self.task(r)
        assert info["state"] == "error", info
        assert info["error"]["_typeName"] == fault, info["error"]
        return info


def fault_of(r: requests.Response) -> str:
    assert r.status_code == 500, (r.status_code, r.text[:300])
    return r.json()["_typeName"]


@pytest.fixture(scope="session")
def sim():
    with running_simulator(SimConfig(vms=24, seed=1, task_delay_ms=0)) as running:
        yield running


@pytest.fixture(scope="session")
def admin(sim) -> Vi:
    vi = Vi(sim.url)
    name, password = sim.users["admin"]
    assert vi.login(name, password).status_code == 200
    return vi


@pytest.fixture(scope="session")
def limited(sim) -> Vi:
    vi = Vi(sim.url)
    name, password = sim.users["limited"]
    assert vi.login(name, password).status_code == 200
    return vi


@pytest.fixture
def fresh(admin) -> Any:
    """Make fresh VMs (clones of a powered-off source) for tests that change state."""
    counter = iter(range(10**6))

    def make(state: str = "poweredOff", tools: bool = True) -> str:
        source = "vm-101" if tools else "vm-102"  # on-tools / off
        name = f"t-{time.monotonic_ns()}-{next(counter)}"
        r = admin.vm(
            source,
            "CloneVM_Task",
            {
                "folder": {"_typeName": "ManagedObjectReference", "type": "Folder", "value": "group-v3"},
                "name": name,
                "spec": {
                    "_typeName": "VirtualMachineCloneSpec",
                    "location": {"_typeName": "VirtualMachineRelocateSpec"},
                    "template": False,
                    "powerOn": False,
                },
            },
        )
        moid = admin.ok_task(r)["result"]["value"]
        if state == "poweredOn":
            admin.ok_task(admin.vm(moid, "PowerOnVM_Task"))
        elif state == "suspended":
            admin.ok_task(admin.vm(moid, "PowerOnVM_Task"))
            admin.ok_task(admin.vm(moid, "SuspendVM_Task"))
        elif state == "template":
            assert admin.vm(moid, "MarkAsTemplate").status_code == 204
        return moid

    return make


@pytest.fixture(autouse=True)
def _clean_switches(sim):
    yield
    sim.set_misbehaviour(set())
    sim.clear_fault_rules()
