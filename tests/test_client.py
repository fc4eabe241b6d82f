"""The VI/JSON client against canned replies (responses) and a few raw sockets."""

from __future__ import annotations

import json
import socket
import threading

import pytest
import requests
import responses

from harness.client import (
    SESSION_HEADER,
    BadAnswer,
    Fault,
    LoginRefused,
    TaskTimeout,
    TransportError,
    ViClient,
    normalize_endpoint,
)

BASE = "http://vc.example:8080"
ROOT = f"{BASE}/sdk/vim25/8.0.2.0"
CONTENT = {
    "_typeName": "ServiceContent",
    "sessionManager": {
        "_typeName": "ManagedObjectReference",
        "type": "SessionManager",
        "value": "SessionManager",
    },
}
SID = "5f1c0ffee0ddba11deadbeefcafe0001"
PASSWORD = "S3cret-Passw0rd!"


def task_info(state: str, progress: int | None = None) -> dict:
    info = {"_typeName": "TaskInfo", "key": "task-1", "state": state}
    if progress is not None:
        info["progress"] = progress
    return info


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(f"{ROOT}/ServiceInstance/ServiceInstance/content", json=CONTENT)
        rsps.post(
            f"{ROOT}/SessionManager/SessionManager/Login",
            json={"_typeName": "UserSession", "key": "k"},
            headers={SESSION_HEADER: SID},
        )
        yield rsps


def logged_in() -> ViClient:
    c = ViClient(BASE, "8.0.2.0")
    c.login("administrator@vsphere.local", PASSWORD)
    return c


def test_login_keeps_the_session_and_sends_it(mocked):
    mocked.post(
        f"{ROOT}/VirtualMachine/vm-1/PowerOnVM_Task",
        json={"_typeName": "ManagedObjectReference", "type": "Task", "value": "task-1"},
    )
    c = logged_in()
    assert c.session_id == SID
    login = mocked.calls[1].request
    assert json.loads(login.body) == {"userName": "administrator@vsphere.local", "password": PASSWORD}
    assert SESSION_HEADER not in login.headers
    ex = c.invoke("VirtualMachine", "vm-1", "PowerOnVM_Task")
    assert ex.ok and ex.json["value"] == "task-1"
    assert mocked.calls[-1].request.headers[SESSION_HEADER] == SID
    assert mocked.calls[-1].request.body is None
    assert SID not in repr(c)


def test_login_refused(mocked):
    mocked.replace(
        responses.POST,
        f"{ROOT}/SessionManager/SessionManager/Login",
        status=500,
        json={"_typeName": "InvalidLogin", "faultMessage": []},
    )
    c = ViClient(BASE)
    with pytest.raises(LoginRefused, match="InvalidLogin"):
        c.login("someone", "wrong")
    assert c.session_id is None


def test_invoke_body_and_void_and_faults(mocked):
    mocked.post(
        f"{ROOT}/VirtualMachine/vm-1/RenameVM_Task",
        json={"_typeName": "ManagedObjectReference", "type": "Task", "value": "task-2"},
    )
    mocked.post(f"{ROOT}/VirtualMachine/vm-1/ResetGuestInformation", status=204)
    mocked.post(
        f"{ROOT}/VirtualMachine/vm-1/PowerOffVM_Task",
        status=500,
        json={"_typeName": "InvalidPowerState", "faultMessage": [], "existingState": "poweredOff"},
    )
    mocked.post(
        f"{ROOT}/VirtualMachine/vm-1/MarkAsTemplate",
        status=200,
        json={"_typeName": "InvalidState", "faultMessage": []},
    )
    c = logged_in()
    ex = c.invoke(
        "VirtualMachine", {"type": "VirtualMachine", "value": "vm-1"}, "RenameVM_Task", {"newName": "x"}
    )
    assert json.loads(mocked.calls[-1].request.body) == {"newName": "x"}
    assert ex.request_json() == {"newName": "x"}
    assert mocked.calls[-1].request.headers["Content-Type"] == "application/json"
    void = c.invoke("VirtualMachine", "vm-1", "ResetGuestInformation")
    assert void.status == 204 and void.ok and void.json is None and void.fault is None
    fault = c.invoke("VirtualMachine", "vm-1", "PowerOffVM_Task")
    assert not fault.ok and fault.fault_type == "InvalidPowerState"
    fault200 = c.invoke("VirtualMachine", "vm-1", "MarkAsTemplate")
    assert fault200.status == 200 and fault200.fault_type == "InvalidState" and not fault200.ok


def test_property_get_and_a_data_object_named_like_no_fault(mocked):
    mocked.get(
        f"{ROOT}/VirtualMachine/vm-1/runtime",
        json={"_typeName": "VirtualMachineRuntimeInfo", "powerState": "poweredOn"},
    )
    ex = logged_in().get("VirtualMachine", "vm-1", "runtime")
    assert ex.ok and ex.fault is None and ex.json["powerState"] == "poweredOn"
    assert ex.elapsed_ms >= 0


def test_wait_task_returns_every_distinct_info(mocked):
    url = f"{ROOT}/Task/task-1/info"
    for info in (
        task_info("queued"),
        task_info("running", 10),
        task_info("running", 10),
        task_info("running", 60),
        task_info("success", 100),
    ):
        mocked.get(url, json=info)
    c = logged_in()
    polls: list = []
    infos = c.wait_task(
        {"_typeName": "ManagedObjectReference", "type": "Task", "value": "task-1"}, timeout=5, exchanges=polls
    )
    assert [(i["state"], i.get("progress")) for i in infos] == [
        ("queued", None),
        ("running", 10),
        ("running", 60),
        ("success", 100),
    ]
    assert len(polls) == 5


def test_wait_task_timeout_is_a_clear_error(mocked):
    mocked.get(f"{ROOT}/Task/task-1/info", json=task_info("running", 5))
    with pytest.raises(
        TaskTimeout, match=r"task task-1 not finished after 0.2 s \(last state: running\)"
    ) as err:
        logged_in().wait_task("task-1", timeout=0.2)
    assert err.value.infos == [task_info("running", 5)]


def test_wait_task_on_an_unreadable_task_raises_fault(mocked):
    mocked.get(f"{ROOT}/Task/task-9/info", status=500, json={"_typeName": "ManagedObjectNotFound"})
    with pytest.raises(Fault, match="ManagedObjectNotFound"):
        logged_in().wait_task("task-9", timeout=1)


def test_cancel_task(mocked):
    mocked.post(f"{ROOT}/Task/task-1/CancelTask", status=204)
    assert logged_in().cancel_task("task-1").status == 204


def test_relogin_once_when_the_session_expired(mocked):
    url = f"{ROOT}/VirtualMachine/vm-1/runtime"
    mocked.get(url, status=500, json={"_typeName": "NotAuthenticated", "faultMessage": []})
    mocked.get(url, json={"_typeName": "VirtualMachineRuntimeInfo", "powerState": "poweredOff"})
    c = logged_in()
    ex = c.get("VirtualMachine", "vm-1", "runtime")
    assert ex.ok and c.relogins == 1
    logins = [x for x in mocked.calls if x.request.url.endswith("/Login")]
    assert len(logins) == 2


def test_no_relogin_after_logout_nor_when_disabled(mocked):
    url = f"{ROOT}/VirtualMachine/vm-1/runtime"
    mocked.post(f"{ROOT}/SessionManager/SessionManager/Logout", status=204)
    mocked.get(url, status=500, json={"_typeName": "NotAuthenticated", "faultMessage": []})
    c = logged_in()
    assert c.get("VirtualMachine", "vm-1", "runtime", relogin=False).fault_type == "NotAuthenticated"
    assert c.logout().status == 204 and c.session_id is None
    assert c.get("VirtualMachine", "vm-1", "runtime").fault_type == "NotAuthenticated"
    assert c.relogins == 0
    assert SESSION_HEADER not in mocked.calls[-1].request.headers


def test_a_failing_relogin_is_login_refused(mocked):
    url = f"{ROOT}/VirtualMachine/vm-1/runtime"
    mocked.get(url, status=500, json={"_typeName": "NotAuthenticated"})
    c = logged_in()
    mocked.replace(
        responses.POST,
        f"{ROOT}/SessionManager/SessionManager/Login",
        status=500,
        json={"_typeName": "InvalidLogin"},
    )
    with pytest.raises(LoginRefused):
        c.get("VirtualMachine", "vm-1", "runtime")


def test_raw_request_overrides_headers_and_sends_bytes(mocked):
    mocked.post(
        f"{ROOT}/VirtualMachine/vm-1/PowerOnVM_Task", status=500, json={"_typeName": "NotAuthenticated"}
    )
    c = logged_in()
    ex = c.request(
        "POST", "/VirtualMachine/vm-1/PowerOnVM_Task", b"{not json", headers={SESSION_HEADER: None}
    )
    sent = mocked.calls[-1].request
    assert SESSION_HEADER not in sent.headers and sent.body == b"{not json"
    assert ex.fault_type == "NotAuthenticated" and c.relogins == 0
    c.request("POST", "/VirtualMachine/vm-1/PowerOnVM_Task", headers={SESSION_HEADER: "bogus"})
    assert mocked.calls[-1].request.headers[SESSION_HEADER] == "bogus"


def test_evidence_redacts_password_and_session_and_has_a_curl_line(mocked):
    mocked.post(
        f"{ROOT}/VirtualMachine/vm-1/AcquireTicket",
        status=500,
        json={"_typeName": "InvalidState", "faultMessage": []},
    )
    c = logged_in()
    ex = c.invoke("VirtualMachine", "vm-1", "AcquireTicket", {"ticketType": "mks"})
    ev = ex.evidence()
    assert ev.request["headers"][SESSION_HEADER] == "<redacted>"
    assert ev.request["body"] == {"ticketType": "mks"}
    assert ev.response["status"] == 500 and ev.response["body"]["_typeName"] == "InvalidState"
    assert ev.curl.startswith("curl -sS -X POST ") and "$VSPHERE_SESSION_ID" in ev.curl
    assert '--data-raw \'{"ticketType":"mks"}\'' in ev.curl
    # the login exchange itself
    login = c.request(
        "POST",
        "/SessionManager/SessionManager/Login",
        {"userName": "administrator@vsphere.local", "password": PASSWORD},
        use_session=False,
    )
    text = json.dumps([ev.__dict__, login.evidence().__dict__])
    assert PASSWORD not in text and SID not in text
    assert login.evidence().response["headers"][SESSION_HEADER] == "<redacted>"


def test_a_complete_non_json_body_is_a_bad_answer_not_a_network_error(mocked):
    mocked.get(
        f"{ROOT}/VirtualMachine/vm-1/config",
        body='{"_typeName": "VirtualMachineConf',
        content_type="application/json",
    )
    mocked.post(
        f"{ROOT}/VirtualMachine/vm-1/PowerOnVM_Task", status=500, body="Traceback (most recent call last)"
    )
    c = logged_in()
    seen = []
    c.observers.append(seen.append)
    with pytest.raises(BadAnswer, match="the body is not JSON") as err:
        c.get("VirtualMachine", "vm-1", "config")
    assert not isinstance(err.value, TransportError)
    assert err.value.evidence()[0].response["status"] == 200
    crash = c.invoke("VirtualMachine", "vm-1", "PowerOnVM_Task")
    assert crash.status == 500 and crash.json is None and crash.fault is None and not crash.ok
    assert crash.defect == "the body is not JSON"
    assert [ex.status for ex in seen] == [200, 500]  # observers see every answer, the bad ones too
    assert crash.evidence().response["body"].startswith("Traceback")


@pytest.mark.parametrize(
    "exc, reason",
    [
        (requests.ConnectionError("Connection refused"), "connection refused"),
        (requests.ConnectionError("Connection reset by peer"), "connection reset"),
        (requests.ReadTimeout("read timed out"), "timed out"),
        (requests.exceptions.ChunkedEncodingError("IncompleteRead"), "truncated response"),
    ],
)
def test_network_problems_are_transport_errors(mocked, exc, reason):
    mocked.get(f"{ROOT}/VirtualMachine/vm-1/runtime", body=exc)
    c = logged_in()
    with pytest.raises(TransportError, match=reason) as err:
        c.get("VirtualMachine", "vm-1", "runtime")
    (ev,) = err.value.evidence()
    assert ev.response is None and ev.request["headers"][SESSION_HEADER] == "<redacted>"
    assert SID not in ev.curl


def test_connection_refused_over_a_real_socket():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(TransportError, match="connection refused"):
        ViClient(f"http://127.0.0.1:{port}", timeout=2).content  # noqa: B018


def test_truncated_body_over_a_real_socket():
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)

    def serve() -> None:
        conn, _ = server.accept()
        conn.recv(65536)
        conn.sendall(
            b'HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 200\r\n\r\n{"_typeN'
        )
        conn.close()

    t = threading.Thread(target=serve, daemon=True)
    t.start()
    try:
        with pytest.raises(TransportError, match="truncated"):
            ViClient(f"http://127.0.0.1:{server.getsockname()[1]}", timeout=2).content  # noqa: B018
    finally:
        t.join(2)
        server.close()


@pytest.mark.parametrize(
    "url, expected",
    [
        ("http://127.0.0.1:8989", "http://127.0.0.1:8989"),
        ("https://vc.example/", "https://vc.example"),
        ("https://vc.example/sdk/vim25/8.0.2.0", "https://vc.example"),
    ],
)
def test_normalize_endpoint(url, expected):
    assert normalize_endpoint(url) == expected


@pytest.mark.parametrize(
    "url",
    ["vc.example", "ftp://vc.example", "https://u:p@vc.example", "http://h:99999", "https://vc.example/api"],
)
def test_bad_endpoints_are_value_errors(url):
    with pytest.raises(ValueError):
        normalize_endpoint(url)


def test_response_headers_are_case_insensitive(mocked):
    mocked.replace(
        responses.POST,
        f"{ROOT}/SessionManager/SessionManager/Login",
        json={"_typeName": "UserSession"},
        headers={"VMware-API-Session-Id": SID},
    )
    c = logged_in()
    assert c.session_id == SID
    mocked.get(f"{ROOT}/VirtualMachine/vm-1/name", json="vm one", headers={"X-Thing": "1"})
    ex = c.get("VirtualMachine", "vm-1", "name")
    assert ex.headers["x-thing"] == "1" and ex.json == "vm one" and ex.ok
