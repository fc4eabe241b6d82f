"""ExportVm's HttpNfcLease over real sockets: its state machine, its faults, the VM it locks, its
switches, over VI/JSON and over SOAP (pyVmomi)."""

from __future__ import annotations

import hashlib
import time

import pytest
import requests
from pyVim.connect import Disconnect, SmartConnect
from pyVmomi import vim, vmodl

from harness.sim import SimConfig, running_simulator
from harness.vmodl.schema import validator

from .conftest import RELEASE, Vi, fault_of

LEASE = "HttpNfcLease"


def _export(admin: Vi, vm: str) -> str:
    r = admin.vm(vm, "ExportVm")
    assert r.status_code == 200, r.text
    ref = r.json()
    assert ref["_typeName"] == "ManagedObjectReference" and ref["type"] == LEASE
    return ref["value"]


def _ready(admin: Vi, lease: str, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while (state := admin.prop(lease, "state", LEASE)) == "initializing" and time.monotonic() < deadline:
        time.sleep(0.01)
    return state


def test_a_lease_goes_ready_done_and_unlocks_its_vm(admin, fresh):
    vm = fresh("poweredOff")
    lease = _export(admin, vm)
    assert _ready(admin, lease) == "ready"
    info = admin.prop(lease, "info", LEASE)
    assert validator("HttpNfcLeaseInfo", RELEASE).is_valid(info), info
    assert info["lease"]["value"] == lease and info["entity"] == {
        "_typeName": "ManagedObjectReference",
        "type": "VirtualMachine",
        "value": vm,
    }
    assert info["deviceUrl"] and info["deviceUrl"][0]["url"].startswith("https://*/nfc/")
    assert info["totalDiskCapacityInKB"] > 0 and info["leaseTimeout"] == 300
    assert admin.prop(lease, "initializeProgress", LEASE) == 100
    assert admin.prop(lease, "mode", LEASE) == "pushOrGet"
    assert admin.prop(lease, "capabilities", LEASE)["_typeName"] == "HttpNfcLeaseCapabilities"
    manifest = admin.call(LEASE, lease, "HttpNfcLeaseGetManifest").json()
    assert manifest and manifest[0]["_typeName"] == "HttpNfcLeaseManifestEntry"
    # the VM is locked while the lease is open
    assert fault_of(admin.vm(vm, "MarkAsTemplate")) == "InvalidState"
    admin.failed_task(admin.vm(vm, "PowerOnVM_Task"), "InvalidState")
    assert fault_of(admin.vm(vm, "ExportVm")) == "InvalidState"
    assert admin.prop(vm, "runtime")["powerState"] == "poweredOff"  # reads still work
    assert admin.call(LEASE, lease, "HttpNfcLeaseProgress", {"percent": 40}).status_code == 204
    assert admin.prop(lease, "transferProgress", LEASE) == 40
    assert admin.call(LEASE, lease, "HttpNfcLeaseComplete").status_code == 204
    assert admin.prop(lease, "state", LEASE) == "done"
    assert admin.prop(lease, "info", LEASE) is None and admin.prop(lease, "error", LEASE) is None
    # ended: Complete and Abort answer InvalidState, Progress Timedout (its only declared fault)
    assert fault_of(admin.call(LEASE, lease, "HttpNfcLeaseComplete")) == "InvalidState"
    assert fault_of(admin.call(LEASE, lease, "HttpNfcLeaseAbort", {})) == "InvalidState"
    assert fault_of(admin.call(LEASE, lease, "HttpNfcLeaseProgress", {"percent": 50})) == "Timedout"
    assert fault_of(admin.call(LEASE, lease, "HttpNfcLeaseGetManifest")) == "InvalidState"
    admin.ok_task(admin.vm(vm, "PowerOnVM_Task"))  # unlocked


def test_an_aborted_lease_ends_in_error_with_the_fault_and_unlocks(admin, fresh):
    vm = fresh("poweredOff")
    lease = _export(admin, vm)
    assert _ready(admin, lease) == "ready"
    assert admin.call(LEASE, lease, "HttpNfcLeaseProgress", {"percent": 40}).status_code == 204
    assert admin.call(LEASE, lease, "HttpNfcLeaseAbort", {}).status_code == 204
    assert admin.prop(lease, "state", LEASE) == "error"
    assert admin.prop(lease, "error", LEASE)["_typeName"] == "RequestCanceled"
    admin.ok_task(admin.vm(vm, "PowerOnVM_Task"))
    # the fault the client names is the lease's error
    other = fresh("poweredOff")
    lease2 = _export(admin, other)
    fault = {"_typeName": "SystemError", "reason": "disk write failed"}
    assert admin.call(LEASE, lease2, "HttpNfcLeaseAbort", {"fault": fault}).status_code == 204
    assert admin.prop(lease2, "error", LEASE)["_typeName"] == "SystemError"


def test_faults_of_a_lease_not_ready_and_of_unknown_leases(admin, fresh, sim):
    sim.set_misbehaviour({"lease_stuck_initializing"})
    vm = fresh("poweredOff")
    lease = _export(admin, vm)
    time.sleep(0.05)
    assert admin.prop(lease, "state", LEASE) == "initializing"
    assert admin.prop(lease, "initializeProgress", LEASE) == 50
    assert admin.prop(lease, "info", LEASE) is None
    assert fault_of(admin.call(LEASE, lease, "HttpNfcLeaseComplete")) == "InvalidState"
    assert fault_of(admin.call(LEASE, lease, "HttpNfcLeaseGetManifest")) == "InvalidState"
    assert admin.call(LEASE, lease, "HttpNfcLeaseProgress", {"percent": 10}).status_code == 204
    assert fault_of(admin.call(LEASE, lease, "HttpNfcLeaseProgress", {"percent": 101})) == "InvalidArgument"
    assert admin.call(LEASE, lease, "HttpNfcLeaseAbort", {}).status_code == 204  # abort while initializing
    assert admin.prop(lease, "state", LEASE) == "error"
    assert fault_of(admin.get(LEASE, "lease-nope", "state")) == "ManagedObjectNotFound"
    assert fault_of(admin.call(LEASE, "lease-nope", "HttpNfcLeaseAbort", {})) == "ManagedObjectNotFound"
    assert fault_of(admin.vm(fresh("poweredOn"), "ExportVm")) == "InvalidPowerState"


def test_the_lease_switches(admin, fresh, sim):
    vm = fresh("poweredOff")
    lease = _export(admin, vm)
    assert _ready(admin, lease) == "ready"
    sim.set_misbehaviour({"lease_info_malformed"})
    info = admin.prop(lease, "info", LEASE)
    assert not validator("HttpNfcLeaseInfo", RELEASE).is_valid(info)
    sim.set_misbehaviour({"lease_complete_refused"})
    assert fault_of(admin.call(LEASE, lease, "HttpNfcLeaseComplete")) == "InvalidState"
    sim.set_misbehaviour({"lease_abort_ignored"})
    assert admin.call(LEASE, lease, "HttpNfcLeaseAbort", {}).status_code == 204
    assert admin.prop(lease, "state", LEASE) == "done"
    admin.failed_task(admin.vm(vm, "PowerOnVM_Task"), "InvalidState")  # still locked


def test_a_lease_without_progress_times_out(admin, fresh, sim):
    vm = fresh("poweredOff")
    lease = _export(admin, vm)
    assert _ready(admin, lease) == "ready"
    obj = sim.sim.inv.get(lease)
    obj.renewed -= obj.timeout_s + 1  # as if leaseTimeout passed without HttpNfcLeaseProgress
    assert admin.prop(lease, "state", LEASE) == "error"
    assert admin.prop(lease, "error", LEASE)["_typeName"] == "Timedout"
    admin.ok_task(admin.vm(vm, "PowerOnVM_Task"))


@pytest.fixture(scope="module")
def soap_sim():
    with running_simulator(SimConfig(vms=6, seed=1, task_delay_ms=30)) as running:
        yield running


def test_the_lease_over_soap_with_pyvmomi(soap_sim):
    user, pwd = soap_sim.users["admin"]
    si = SmartConnect(
        protocol="http",
        host=soap_sim.host,
        port=soap_sim.port,
        user=user,
        pwd=pwd,
        preferredApiVersions=["vim.version.v8_0_2_0"],
    )
    try:
        content = si.RetrieveContent()
        view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
        vm = next(v for v in view.view if not v.config.template and v.runtime.powerState == "poweredOff")
        view.DestroyView()
        lease = vm.ExportVm()
        assert isinstance(lease, vim.HttpNfcLease)
        deadline = time.monotonic() + 5
        while lease.state == "initializing" and time.monotonic() < deadline:
            time.sleep(0.01)
        assert lease.state == "ready"
        assert lease.info.entity == vm and lease.info.deviceUrl[0].disk is True
        lease.HttpNfcLeaseProgress(40)
        assert lease.transferProgress == 40
        with pytest.raises(vim.fault.InvalidState):
            vm.MarkAsTemplate()
        lease.HttpNfcLeaseAbort()
        assert lease.state == "error"
        assert isinstance(lease.error, vmodl.fault.RequestCanceled)
        with pytest.raises(vim.fault.InvalidState):
            lease.HttpNfcLeaseComplete()
    finally:
        Disconnect(si)


def test_the_device_urls_serve_the_disk_while_the_lease_is_ready(admin, fresh, sim):
    vm = fresh("poweredOff")
    lease = _export(admin, vm)
    assert _ready(admin, lease) == "ready"
    url = admin.prop(lease, "info", LEASE)["deviceUrl"][0]["url"].replace("https://*", sim.url)
    got = admin.http.get(url)
    assert got.status_code == 200 and got.content.startswith(b"KDMV")
    entry = admin.call(LEASE, lease, "HttpNfcLeaseGetManifest").json()[0]
    assert entry["size"] == len(got.content) and entry["sha1"] == hashlib.sha1(got.content).hexdigest()
    assert requests.get(url).status_code == 401  # no session
    assert admin.http.get(url.replace("disk-0", "disk-9")).status_code == 404
    assert admin.call(LEASE, lease, "HttpNfcLeaseComplete").status_code == 204
    assert admin.http.get(url).status_code == 404  # the lease is done


def test_the_manifest_checksum_type_is_chosen_per_device(admin, fresh):
    vm = fresh("poweredOff")
    lease = _export(admin, vm)
    assert _ready(admin, lease) == "ready"
    key = admin.prop(lease, "info", LEASE)["deviceUrl"][0]["key"]
    assert key.startswith(f"/{admin.prop(vm, 'name')}/") and key.endswith(":0")
    (entry,) = admin.call(LEASE, lease, "HttpNfcLeaseGetManifest").json()
    assert entry["key"] == key and entry["checksumType"] == "sha1" and entry["checksum"] == entry["sha1"]
    pair = {"_typeName": "KeyValue", "key": key, "value": "sha256"}
    body = {"deviceUrlsToChecksumTypes": [pair]}
    assert admin.call(LEASE, lease, "HttpNfcLeaseSetManifestChecksumType", body).status_code == 204
    (entry,) = admin.call(LEASE, lease, "HttpNfcLeaseGetManifest").json()
    assert entry["checksumType"] == "sha256" and len(entry["checksum"]) == 64
    for bad in ({**pair, "key": "/nope"}, {**pair, "value": "md5"}):
        got = admin.call(
            LEASE, lease, "HttpNfcLeaseSetManifestChecksumType", {"deviceUrlsToChecksumTypes": [bad]}
        )
        assert fault_of(got) == "InvalidArgument"
    assert admin.call(LEASE, lease, "HttpNfcLeaseAbort", {}).status_code == 204
    assert fault_of(admin.call(LEASE, lease, "HttpNfcLeaseSetManifestChecksumType", body)) == "InvalidState"
