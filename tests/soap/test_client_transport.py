"""The harness's ViClient over SOAP against the façade + simulator: the checks see the same VI/JSON view."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from harness.client import SESSION_HEADER, Exchange, ViClient
from harness.contract import load_contracts
from harness.sim import RunningSimulator
from harness.soap import SoapExchange, soap_client, use_soap


@pytest.fixture
def pair(soap_sim: RunningSimulator, admin: tuple[str, str]) -> Iterator[tuple[ViClient, ViClient]]:
    """A SOAP client and a VI/JSON client, both logged in as the administrator."""
    seen: list[Exchange] = []
    soap = soap_client(soap_sim.url, timeout=10)
    soap.observers.append(seen.append)
    plain = ViClient(soap_sim.url, timeout=10)
    soap.login(*admin)
    plain.login(*admin)
    soap.seen = seen  # type: ignore[attr-defined]
    yield soap, plain
    soap.logout()
    plain.logout()


def _vm(plain: ViClient, soap_sim: RunningSimulator, power: str) -> str:
    for vm in soap_sim.sim.inv.vms():
        ex = plain.get("VirtualMachine", vm.moid, "runtime")
        config = plain.get("VirtualMachine", vm.moid, "config").json
        if ex.json["powerState"] == power and not config.get("template"):
            return vm.moid
    pytest.fail(f"no {power} VM")


def test_content_and_login_go_over_soap(pair: tuple[ViClient, ViClient]) -> None:
    soap, plain = pair
    assert soap.content == plain.content
    login = next(ex for ex in soap.seen if ex.url.endswith("/Login"))  # type: ignore[attr-defined]
    assert isinstance(login, SoapExchange)
    assert login.soap_method == "Login" and login.soap_url.endswith("/sdk")
    assert login.headers[SESSION_HEADER] == soap.session_id  # the vmware_soap_session cookie
    assert b"<Login" in login.soap_request and login.status == 200
    assert login.json["userName"] == "administrator@vsphere.local"


def test_property_read_is_retrieve_properties_ex(pair, soap_sim: RunningSimulator) -> None:
    soap, plain = pair
    moid = soap_sim.sim.inv.vms()[0].moid
    for prop in ("runtime", "config", "summary", "name", "snapshot", "datastore"):
        ex = soap.get("VirtualMachine", moid, prop)
        assert ex.soap_method == "RetrievePropertiesEx"
        assert (ex.status, ex.json) == (200, plain.get("VirtualMachine", moid, prop).json), prop


def test_task_runs_and_is_polled_over_soap(pair, soap_sim: RunningSimulator) -> None:
    soap, plain = pair
    moid = _vm(plain, soap_sim, "poweredOff")
    ex = soap.invoke("VirtualMachine", moid, "PowerOnVM_Task")
    assert ex.status == 200 and ex.json["type"] == "Task"
    polls: list[Exchange] = []
    infos = soap.wait_task(ex.json, timeout=10, exchanges=polls)
    assert infos[-1]["state"] == "success"
    assert all(p.soap_method == "RetrievePropertiesEx" for p in polls)
    assert soap.get("VirtualMachine", moid, "runtime").json["powerState"] == "poweredOn"
    off = soap.invoke("VirtualMachine", moid, "PowerOffVM_Task")
    assert soap.wait_task(off.json, timeout=10)[-1]["state"] == "success"


def test_void_method_is_204(pair, soap_sim: RunningSimulator) -> None:
    soap, plain = pair
    moid = _vm(plain, soap_sim, "poweredOff")
    ex = soap.invoke("VirtualMachine", moid, "ResetGuestInformation")
    same = plain.invoke("VirtualMachine", moid, "ResetGuestInformation")
    assert (ex.status, ex.body) == (same.status, same.body) == (204, b"")
    ex = soap.invoke("VirtualMachine", moid, "NoSuchMethod")
    same = plain.invoke("VirtualMachine", moid, "NoSuchMethod")
    assert (ex.status, ex.json) == (same.status, same.json)
    assert ex.fault_type == "MethodNotFound"


def test_fault_is_the_same_json_fault(pair, soap_sim: RunningSimulator, limited) -> None:
    soap, plain = pair
    moid = _vm(plain, soap_sim, "poweredOff")
    ex = soap.invoke(
        "VirtualMachine",
        moid,
        "PowerOnVM_Task",
        {"host": {"_typeName": "ManagedObjectReference", "type": "HostSystem", "value": "host-nope"}},
    )
    same = plain.invoke(
        "VirtualMachine",
        moid,
        "PowerOnVM_Task",
        {"host": {"_typeName": "ManagedObjectReference", "type": "HostSystem", "value": "host-nope"}},
    )
    assert (ex.status, ex.json) == (same.status, same.json)
    assert ex.fault_type == "ManagedObjectNotFound"
    weak, weak_plain = soap.new(), plain.new()
    weak.login(*limited)
    weak_plain.login(*limited)
    denied = weak.invoke("VirtualMachine", moid, "PowerOnVM_Task")
    assert denied.fault_type == "NoPermission" and denied.status == 500
    assert denied.json == weak_plain.invoke("VirtualMachine", moid, "PowerOnVM_Task").json
    missing = soap.get("VirtualMachine", "vm-nope", "runtime")
    assert (missing.status, missing.fault_type) == (500, "ManagedObjectNotFound")


def test_no_session_is_not_authenticated(pair, soap_sim: RunningSimulator) -> None:
    soap, _ = pair
    moid = soap_sim.sim.inv.vms()[0].moid
    ex = soap.request(
        "GET", f"/VirtualMachine/{moid}/runtime", headers={SESSION_HEADER: None}, use_session=False
    )
    assert ex.fault_type == "NotAuthenticated"
    assert "Cookie" not in ex.soap_request_headers


def test_invalid_bodies_are_refused_by_the_endpoint(pair, soap_sim: RunningSimulator) -> None:
    soap, plain = pair
    moid = _vm(plain, soap_sim, "poweredOff")
    for body in (
        {"host": 5},
        {"bogus": 1},
        {"spec": {"_typeName": "VirtualMachineConfigSpec", "numCPUs": "x"}},
    ):
        method = "ReconfigVM_Task" if "spec" in body else "PowerOnVM_Task"
        ex = soap.invoke("VirtualMachine", moid, method, body)
        assert ex.status == 500 and ex.fault_type in ("InvalidRequest", "InvalidArgument"), (body, ex.json)
    ex = soap.request("POST", f"/VirtualMachine/{moid}/PowerOnVM_Task", b"{not json")
    assert ex.status == 500 and ex.fault_type == "InvalidRequest"


def test_evidence_keeps_soap_and_hides_secrets(pair, admin) -> None:
    soap, _ = pair
    login = next(ex for ex in soap.seen if ex.url.endswith("/Login"))  # type: ignore[attr-defined]
    later = soap.get("ServiceInstance", "ServiceInstance", "content")
    for ex in (login, later, soap.seen[-1]):  # type: ignore[attr-defined]
        ev = ex.evidence()
        assert admin[1] not in json.dumps(ev.__dict__)
        # the cookie and the session header never appear (UserSession.key in Login's answer is left to
        # the report writers' scrubber, as with VI/JSON)
        assert soap.session_id not in json.dumps(
            [ev.request, ev.response["headers"], ev.response["soap"]["headers"], ev.curl]
        )
    ev = login.evidence()
    assert "><redacted></password>" in ev.request["soap"]["body"]
    assert ev.request["soap"]["headers"].get("Cookie") in (None, "<redacted>")
    assert ev.request["soap"]["url"].endswith("/sdk") and ev.response["soap"]["status"] == 200
    assert "SOAPAction: urn:vim25/8.0.2.0" in ev.curl


def test_use_soap_carries_over_to_new_clients(soap_sim: RunningSimulator) -> None:
    client = use_soap(ViClient(soap_sim.url, timeout=10))
    fresh = client.new()
    assert fresh.transport is client.transport
    ex = fresh.request("GET", "/ServiceInstance/ServiceInstance/content")
    assert isinstance(ex, SoapExchange) and ex.soap_method == "RetrieveServiceContent"


def test_every_property_read_is_the_same_over_soap_and_vi_json(soap_sim):
    """The 33 VirtualMachine property reads of 8.0.2.0 through RetrievePropertiesEx and the façade
    give exactly the VI/JSON answer (a string[] once came back as SystemError)."""
    running = soap_sim
    json_client = ViClient(running.url)
    json_client.login(*running.users["admin"])
    soap = soap_client(running.url)
    soap.login(*running.users["admin"])
    vm = next(v.moid for v in running.sim.inv.vms())
    props = sorted(c.name for c in load_contracts() if c.id.startswith("VirtualMachine_get"))
    assert len(props) >= 33
    for prop in props:
        a, b = json_client.get("VirtualMachine", vm, prop), soap.get("VirtualMachine", vm, prop)
        assert (a.status, a.json) == (b.status, b.json), prop
