"""Bad input always gets a well-formed fault, never a traceback, a hang or a dropped connection."""

from __future__ import annotations

import json
import socket

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.vmodl.schema import validator

from .conftest import fault_of

FAULT = validator("MethodFault", "8.0.2.0")


def _fault(r, name=None):
    assert r.status_code == 500, (r.status_code, r.text[:200])
    body = r.json()
    assert FAULT.is_valid(body), FAULT.errors(body)
    if name:
        assert body["_typeName"] == name, body
    return body


@pytest.mark.parametrize(
    "raw,fault",
    [
        (b"{not json", "InvalidRequest"),
        (b"[1, 2]", "InvalidRequest"),
        (b"\xff\xfe", "InvalidRequest"),
        (b'{"ticketType": 5}', "InvalidArgument"),
        (b'{"ticketType": "mks", "extra": 1}', "InvalidArgument"),
        (b"{}", "InvalidArgument"),
    ],
)
def test_malformed_bodies(admin, raw, fault):
    _fault(admin.call("VirtualMachine", "vm-101", "AcquireTicket", raw=raw), fault)


def test_ill_typed_parameters(admin):
    _fault(
        admin.vm("vm-102", "PowerOnVM_Task", {"host": {"type": "HostSystem", "value": "host-999"}}),
        "ManagedObjectNotFound",
    )
    _fault(
        admin.vm("vm-102", "PowerOnVM_Task", {"host": {"type": "Datastore", "value": "datastore-20"}}),
        "InvalidArgument",
    )
    _fault(admin.vm("vm-102", "PowerOnVM_Task", {"host": "host-10"}), "InvalidArgument")
    _fault(admin.vm("vm-102", "MigrateVM_Task", {"priority": "fastest"}), "InvalidArgument")
    _fault(admin.vm("vm-102", "SetScreenResolution", {"width": 2**40, "height": 1}), "InvalidArgument")
    _fault(
        admin.vm(
            "vm-102",
            "ReconfigVM_Task",
            {"spec": {"_typeName": "VirtualMachineConfigSpec", "numCPUs": "many"}},
        ),
        "InvalidArgument",
    )


def test_unknown_path_parts(admin, sim):
    _fault(admin.get("VirtualMachine", "vm-101", "runtime", release="7.0.0.0"), "InvalidRequest")
    _fault(admin.get("NoSuchType", "x", "runtime"), "InvalidRequest")
    _fault(admin.get("VirtualMachine", "vm-99999", "runtime"), "ManagedObjectNotFound")
    _fault(admin.get("VirtualMachine", "host-10", "runtime"), "ManagedObjectNotFound")
    _fault(admin.get("VirtualMachine", "vm-101", "noSuchProperty"))
    _fault(admin.vm("vm-101", "NoSuchMethod"), "MethodNotFound")
    _fault(admin.http.get(f"{admin.base()}/VirtualMachine/vm-101/PowerOnVM_Task"), "InvalidRequest")
    _fault(admin.http.post(f"{admin.base()}/VirtualMachine/vm-101/runtime"), "InvalidRequest")
    r = requests.get(f"{sim.url}/nowhere")
    assert r.status_code == 404 and FAULT.is_valid(r.json())
    _fault(admin.http.get(f"{admin.base()}/VirtualMachine/vm-101"), "InvalidRequest")


def test_absent_operation_in_release(admin):
    body = _fault(
        admin.call("VirtualMachine", "vm-102", "RepairVmDiskChains_Task", release="9.0.0.0"), "MethodNotFound"
    )
    assert body["method"] == "RepairVmDiskChains_Task"
    assert (
        admin.call("VirtualMachine", "vm-102", "RepairVmDiskChains_Task", release="9.1.0.0").status_code
        == 200
    )


def test_missing_session_on_bad_input(sim):
    r = requests.post(f"{sim.url}/sdk/vim25/8.0.2.0/VirtualMachine/vm-101/AcquireTicket", data=b"{nope")
    assert _fault(r)["_typeName"] == "NotAuthenticated"


def test_oversize_body_is_answered(admin, sim):
    big = b'{"ticketType": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    r = admin.call("VirtualMachine", "vm-101", "AcquireTicket", raw=big)
    _fault(r, "InvalidRequest")
    # the server is still fine
    assert admin.get("VirtualMachine", "vm-101", "name").status_code == 200


def test_truncated_request_does_not_hang_the_server(admin, sim):
    host, port = sim.host, sim.port
    with socket.create_connection((host, port), timeout=5) as s:
        s.sendall(
            b"POST /sdk/vim25/8.0.2.0/VirtualMachine/vm-101/AcquireTicket HTTP/1.1\r\nHost: x\r\n"
            b'Content-Length: 100\r\n\r\n{"tick'
        )
    assert admin.get("VirtualMachine", "vm-101", "name").status_code == 200


@settings(max_examples=60, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck))
@given(
    body=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(max_size=5),
        lambda c: st.lists(c, max_size=3) | st.dictionaries(st.text(max_size=8), c, max_size=3),
        max_leaves=8,
    ),
    method=st.sampled_from(
        [
            "ReconfigVM_Task",
            "CloneVM_Task",
            "AcquireTicket",
            "SetDisplayTopology",
            "RelocateVM_Task",
            "CreateSnapshot_Task",
        ]
    ),
)
def test_random_bodies_never_crash(admin, body, method):
    r = admin.call("VirtualMachine", "vm-102", method, raw=json.dumps(body).encode())
    if r.status_code == 500:
        assert FAULT.is_valid(r.json())
    else:
        assert r.status_code in (200, 204)
        if method.endswith("_Task"):
            admin.task(r)


def test_fault_helper(admin):
    assert fault_of(admin.vm("vm-101", "NoSuchMethod")) == "MethodNotFound"
