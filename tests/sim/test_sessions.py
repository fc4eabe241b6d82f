"""Login, Logout, the session header, NotAuthenticated, the users file."""

from __future__ import annotations

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
