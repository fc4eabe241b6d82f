"""Folders, hosts, the service instance, and the ``sim`` command (start, serve, stop)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import requests
from click.testing import CliRunner

from harness.cli import main

from .conftest import Vi, fault_of


def _ref(type_name, value):
    return {"_typeName": "ManagedObjectReference", "type": type_name, "value": value}


def test_folders_and_create_vm(admin):
    folder = admin.call("Folder", "group-v3", "CreateFolder", {"name": "sandbox-x"}).json()["value"]
    assert (
        fault_of(admin.call("Folder", "group-v3", "CreateFolder", {"name": "sandbox-x"})) == "DuplicateName"
    )
    assert fault_of(admin.call("Folder", "group-v3", "CreateFolder", {"name": ""})) == "InvalidName"
    spec = {
        "_typeName": "VirtualMachineConfigSpec",
        "name": "created",
        "numCPUs": 2,
        "memoryMB": 2048,
        "guestId": "otherGuest64",
        "files": {"_typeName": "VirtualMachineFileInfo", "vmPathName": "[datastore2]"},
    }
    info = admin.ok_task(
        admin.call(
            "Folder", folder, "CreateVM_Task", {"config": spec, "pool": _ref("ResourcePool", "resgroup-8")}
        )
    )
    vm = info["result"]["value"]
    assert admin.prop(vm, "config")["hardware"]["numCPU"] == 2
    assert admin.prop(vm, "parent")["value"] == folder
    assert [c["value"] for c in admin.prop(folder, "childEntity", "Folder")] == [vm]
    admin.failed_task(
        admin.call(
            "Folder", folder, "CreateVM_Task", {"config": spec, "pool": _ref("ResourcePool", "resgroup-8")}
        ),
        "DuplicateName",
    )
    admin.ok_task(admin.vm(vm, "PowerOnVM_Task"))
    admin.failed_task(admin.call("Folder", folder, "Destroy_Task"), "InvalidState")
    admin.ok_task(admin.vm(vm, "PowerOffVM_Task"))
    admin.ok_task(admin.call("Folder", folder, "Destroy_Task"))
    assert fault_of(admin.get("VirtualMachine", vm, "name")) == "ManagedObjectNotFound"
    assert folder not in [c["value"] for c in admin.prop("group-v3", "childEntity", "Folder")]


def test_host_maintenance_mode(admin):
    assert admin.prop("host-13", "runtime", "HostSystem")["inMaintenanceMode"] is True
    admin.failed_task(
        admin.call("HostSystem", "host-13", "EnterMaintenanceMode_Task", {"timeout": 0}), "InvalidState"
    )
    admin.ok_task(admin.call("HostSystem", "host-13", "ExitMaintenanceMode_Task", {"timeout": 0}))
    assert admin.prop("host-13", "runtime", "HostSystem")["inMaintenanceMode"] is False
    admin.ok_task(admin.call("HostSystem", "host-13", "EnterMaintenanceMode_Task", {"timeout": 0}))
    admin.failed_task(
        admin.call("HostSystem", "host-10", "EnterMaintenanceMode_Task", {"timeout": 0}), "InvalidState"
    )  # powered-on VMs run there


def test_current_time(admin):
    assert admin.call("ServiceInstance", "ServiceInstance", "CurrentTime").json()[:2] == "20"


def test_sim_command_starts_serves_and_stops(tmp_path):
    users = tmp_path / "users.yaml"
    users.write_text("users:\n  - {key: admin, name: root@local, password: pw, role: Admin}\n")
    faults = tmp_path / "faults.yaml"
    faults.write_text("rules:\n  - {method: CurrentTime, fault: SystemError}\n")
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "harness",
            "sim",
            "--port",
            "0",
            "--vms",
            "5",
            "--users",
            str(users),
            "--faults",
            str(faults),
            "--task-delay",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        lines = [proc.stdout.readline() for _ in range(3)]
        url = next(line.split()[-1] for line in lines if line.startswith("base URL:"))
        assert "root@local" in lines[2] and "pw" in lines[2]
        vi = Vi(url)
        assert vi.login("root@local", "pw").status_code == 200
        assert fault_of(vi.call("ServiceInstance", "ServiceInstance", "CurrentTime")) == "SystemError"
        assert requests.get(f"{url}/_sim/about").json()["vms"] >= 5
    finally:
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
    assert "Traceback" not in err


def test_sim_command_bad_options(tmp_path):
    bad_users = tmp_path / "u.yaml"
    bad_users.write_text("users: 5\n")
    bad_role = tmp_path / "r.yaml"
    bad_role.write_text("users:\n  - {name: a, password: b, role: Emperor}\n")
    bad_rules = tmp_path / "f.yaml"
    bad_rules.write_text("rules:\n  - {fault: NoSuchFault}\n")
    for args in (
        ["--vms", "-1"],
        ["--task-delay", "-5"],
        ["--misbehave", "nope"],
        ["--users", str(bad_users)],
        ["--users", str(bad_role)],
        ["--faults", str(bad_rules)],
        ["--faults", str(tmp_path / "missing.yaml")],
        ["--port", "70000"],
    ):
        r = CliRunner().invoke(main, ["sim", *args])
        assert r.exit_code == 2, (args, r.output)
        lines = r.output.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error:"), (args, r.output)


def test_sim_command_sigint(tmp_path):
    proc = subprocess.Popen(
        [sys.executable, "-m", "harness", "sim", "--port", "0", "--vms", "2"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    try:
        assert proc.stdout.readline().startswith("vsphere-harness simulator")
        time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=10)
    assert proc.returncode == 0, err
