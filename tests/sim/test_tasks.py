"""Tasks: state moves forward with progress, recentTask, cancel, TaskInProgress."""

from __future__ import annotations

import time

import pytest

from harness.sim import SimConfig, running_simulator

from .conftest import Vi, fault_of

ORDER = {"queued": 0, "running": 1, "success": 2, "error": 2}


@pytest.fixture(scope="module")
def slow():
    with running_simulator(SimConfig(vms=12, seed=5, task_delay_ms=400)) as running:
        vi = Vi(running.url)
        vi.login(*running.users["admin"])
        yield running, vi


def _watch(vi: Vi, task: str, timeout: float = 5.0) -> list[dict]:
    seen = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        info = vi.prop(task, "info", "Task")
        seen.append(info)
        if info["state"] in ("success", "error"):
            break
        time.sleep(0.02)
    return seen


def test_task_moves_forward_with_progress(slow):
    _, vi = slow
    r = vi.vm("vm-102", "PowerOnVM_Task")
    task = r.json()["value"]
    infos = _watch(vi, task)
    states = [ORDER[i["state"]] for i in infos]
    assert states == sorted(states) and infos[-1]["state"] == "success"
    progress = [i["progress"] for i in infos if i["state"] == "running" and "progress" in i]
    assert progress == sorted(progress) and len(set(progress)) > 1
    last = infos[-1]
    assert last["descriptionId"] == "VirtualMachine.powerOn" and last["entity"]["value"] == "vm-102"
    assert last["queueTime"] <= last["startTime"] <= last["completeTime"]
    assert task in [t["value"] for t in vi.prop("vm-102", "recentTask")]
    assert vi.prop("vm-102", "runtime")["powerState"] == "poweredOn"


def test_busy_vm_answers_task_in_progress(slow):
    _, vi = slow
    r = vi.vm("vm-103", "PowerOnVM_Task")  # suspended -> on
    assert r.status_code == 200
    busy = vi.vm("vm-103", "PowerOffVM_Task")
    assert fault_of(busy) == "TaskInProgress"
    assert busy.json()["task"]["value"] == r.json()["value"]
    assert vi.vm("vm-103", "QueryFaultToleranceCompatibility").status_code == 200  # reads are never busy
    assert _watch(vi, r.json()["value"])[-1]["state"] == "success"
    assert vi.task(vi.vm("vm-103", "PowerOffVM_Task"))["state"] == "success"


def test_cancel_a_cancelable_task(slow):
    _, vi = slow
    r = vi.vm(
        "vm-102",
        "CloneVM_Task",
        {
            "folder": {"type": "Folder", "value": "group-v3"},
            "name": "to-cancel",
            "spec": {
                "_typeName": "VirtualMachineCloneSpec",
                "location": {},
                "template": False,
                "powerOn": False,
            },
        },
    )
    task = r.json()["value"]
    assert vi.prop(task, "info", "Task")["cancelable"] is True
    assert vi.call("Task", task, "CancelTask").status_code == 204
    info = vi.prop(task, "info", "Task")
    assert info["state"] == "error" and info["cancelled"] is True
    assert info["error"]["_typeName"] == "RequestCanceled"
    names = [
        vi.prop(c["value"], "name")
        for c in vi.prop("group-v3", "childEntity", "Folder")
        if c["type"] == "VirtualMachine"
    ]
    assert "to-cancel" not in names
    assert fault_of(vi.call("Task", task, "CancelTask")) == "InvalidState"


def test_cancel_a_task_that_cannot_be_cancelled(slow):
    _, vi = slow
    r = vi.vm("vm-102", "PowerOffVM_Task")
    task = r.json()["value"]
    assert vi.prop(task, "info", "Task")["cancelable"] is False
    assert fault_of(vi.call("Task", task, "CancelTask")) == "NotSupported"
    _watch(vi, task)


def test_precondition_failure_goes_into_the_task(admin):
    info = admin.failed_task(admin.vm("vm-102", "PowerOffVM_Task"), "InvalidPowerState")
    assert info["error"]["existingState"] == "poweredOff"
    # TaskInfo.error is the fault object itself (typed MethodFault), as VMware's VI/JSON sends it
    assert "fault" not in info["error"] and "localizedMessage" not in info["error"]
    assert info["error"]["faultMessage"][0]["_typeName"] == "LocalizableMessage"
    admin.failed_task(admin.vm("vm-100", "PowerOnVM_Task"), "InvalidState")  # a template


def test_task_with_zero_delay_is_done_at_once(admin):
    r = admin.vm("vm-101", "CreateScreenshot_Task")
    info = admin.prop(r.json()["value"], "info", "Task")
    assert info["state"] == "success" and info["result"]["_typeName"] == "string"


def test_task_info_names_the_wire_method_and_the_vmodl_description(admin, fresh):
    """TaskInfo.name is the method's wire name (``PowerOnVM_Task``, what SOAP clients such as
    pyVim's WaitForTask resolve), descriptionId its VMODL name (``VirtualMachine.powerOn``)."""
    info = admin.ok_task(admin.vm(fresh("poweredOff"), "PowerOnVM_Task"))
    assert (info["name"], info["descriptionId"]) == ("PowerOnVM_Task", "VirtualMachine.powerOn")
