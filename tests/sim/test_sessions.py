"""Login, Logout, the session header, NotAuthenticated, the users file."""

from __future__ import annotations

import time

import requests

from harness.sim import SimConfig, running_simulator

from .conftest import SESSION_HEADER, Vi, fault_of


def test_content_needs_no_session(sim):
    vi = Vi(sim.url)
    content = vi.prop("ServiceInstance", "content", "ServiceInstance")
    assert content["sessionManager"]["value"] == "SessionManager"
    assert content["rootFolder"]["value"] == "group-d1"
    assert content["about"]["apiVersion"] == "8.0.2.0"
    assert requests.get(f"{sim.url}/_sim/about").json()["simulated"] is True


def test_login_sets_header_and_logout_ends_session(sim):
    vi = Vi(sim.url)
    assert fault_of(vi.get("VirtualMachine", "vm-101", "name")) == "NotAuthenticated"
    name, password = sim.users["admin"]
    r = vi.login(name, password)
    assert r.status_code == 200 and r.json()["userName"] == name
    key = r.headers[SESSION_HEADER]
    assert vi.get("VirtualMachine", "vm-101", "name").json().startswith("sim-vm-")
    current = vi.prop("SessionManager", "currentSession", "SessionManager")
    assert current["key"] == key and current["callCount"] >= 1
    assert vi.call("SessionManager", "SessionManager", "Logout").status_code == 204
    assert fault_of(vi.get("VirtualMachine", "vm-101", "name")) == "NotAuthenticated"
    assert fault_of(vi.call("SessionManager", "SessionManager", "Logout")) == "NotAuthenticated"


def test_bad_login_and_bad_session(sim):
    vi = Vi(sim.url)
    assert fault_of(vi.login("administrator@vsphere.local", "wrong")) == "InvalidLogin"
    assert fault_of(vi.login("nobody", "x")) == "InvalidLogin"
    vi.http.headers[SESSION_HEADER] = "0" * 40
    r = vi.vm("vm-101", "PowerOffVM_Task")
    assert fault_of(r) == "NotAuthenticated"
    assert r.json()["faultMessage"][0]["message"]


def test_sessions_expire_after_the_timeout_or_on_demand():
    with running_simulator(SimConfig(vms=3, task_delay_ms=0, session_timeout_s=0.3)) as sim:
        vi, other = Vi(sim.url), Vi(sim.url)
        vi.login(*sim.users["admin"])
        other.login(*sim.users["limited"])
        assert vi.get("VirtualMachine", "vm-101", "name").status_code == 200
        time.sleep(0.5)
        assert fault_of(vi.get("VirtualMachine", "vm-101", "name")) == "NotAuthenticated"
        vi.login(*sim.users["admin"])
        r = requests.post(f"{sim.url}/_sim/sessions/expire", json={"user": sim.users["limited"][0]})
        assert r.status_code == 200 and r.json() == {"expired": 1}
        assert vi.get("VirtualMachine", "vm-101", "name").status_code == 200
        assert fault_of(other.get("VirtualMachine", "vm-101", "name")) == "NotAuthenticated"
        assert requests.post(f"{sim.url}/_sim/sessions/expire").json() == {"expired": 1}
        assert fault_of(vi.get("VirtualMachine", "vm-101", "name")) == "NotAuthenticated"
        assert requests.post(f"{sim.url}/_sim/sessions/expire", json=[1]).status_code == 400
        assert requests.get(f"{sim.url}/_sim/about").json()["session_timeout_s"] == 0.3


def test_sessions_never_expire_by_default(sim):
    vi = Vi(sim.url)
    vi.login(*sim.users["admin"])
    assert sim.sim.auth.timeout_s is None
    assert vi.get("VirtualMachine", "vm-101", "name").status_code == 200


def test_every_release_is_served(admin):
    for rel in ("8.0.1.0", "8.0.2.0", "8.0.3.0", "9.0.0.0", "9.1.0.0"):
        r = admin.get("VirtualMachine", "vm-101", "runtime", release=rel)
        assert r.status_code == 200, (rel, r.text)


def test_users_file_replaces_defaults(tmp_path):
    users = tmp_path / "users.yaml"
    users.write_text(
        "users:\n  - {key: ops, name: ops@corp.local, password: s3cret, role: Admin}\n"
        "  - {key: viewer, name: viewer@corp.local, password: v, role: ReadOnly}\n"
    )
    with running_simulator(SimConfig(vms=3, users_file=str(users), task_delay_ms=0)) as sim:
        assert set(sim.users) == {"ops", "viewer"}
        vi = Vi(sim.url)
        assert fault_of(vi.login("administrator@vsphere.local", "VMware1!")) == "InvalidLogin"
        assert vi.login("viewer@corp.local", "v").status_code == 200
        assert vi.get("VirtualMachine", "vm-100", "name").status_code == 200
        r = vi.vm("vm-101", "PowerOffVM_Task")
        assert fault_of(r) == "NoPermission"
        assert r.json()["missingPrivileges"][0]["privilegeIds"] == ["VirtualMachine.Interact.PowerOff"]
