"""Fault Tolerance, reconfiguration, disks, tools, console, record/replay and the rest."""

from __future__ import annotations

from .conftest import fault_of


def _ref(type_name, value):
    return {"_typeName": "ManagedObjectReference", "type": type_name, "value": value}


def _ft_vm(admin, fresh, on=True):
    vm = fresh("poweredOn" if on else "poweredOff")
    admin.ok_task(
        admin.vm(vm, "MigrateVM_Task", {"host": _ref("HostSystem", "host-10"), "priority": "defaultPriority"})
    )
    info = admin.ok_task(admin.vm(vm, "CreateSecondaryVM_Task", {"host": _ref("HostSystem", "host-11")}))
    return vm, info["result"]["vm"]["value"]


def test_fault_tolerance_lifecycle(admin, fresh):
    vm, sec = _ft_vm(admin, fresh)
    assert admin.prop(vm, "config")["ftInfo"]["role"] == 1
    assert admin.prop(sec, "config")["ftInfo"]["role"] == 2
    assert admin.prop(vm, "runtime")["faultToleranceState"] == "running"
    assert admin.prop(sec, "runtime")["host"]["value"] == "host-11"
    # a second secondary is refused; operations on the secondary are refused
    admin.failed_task(admin.vm(vm, "CreateSecondaryVM_Task", {}), "VmFaultToleranceConfigIssue")
    admin.failed_task(
        admin.vm(sec, "MakePrimaryVM_Task", {"vm": _ref("VirtualMachine", vm)}),
        "InvalidOperationOnSecondaryVm",
    )
    # naming a VM outside the group
    info = admin.task(admin.vm(vm, "MakePrimaryVM_Task", {"vm": _ref("VirtualMachine", "vm-102")}))
    assert info["state"] == "error"
    assert info["error"]["_typeName"] in ("VmFaultToleranceIssue", "SecondaryVmNotRegistered")
    # swap roles
    admin.ok_task(admin.vm(vm, "MakePrimaryVM_Task", {"vm": _ref("VirtualMachine", sec)}))
    assert admin.prop(sec, "config")["ftInfo"]["role"] == 1
    assert admin.prop(vm, "config")["ftInfo"]["role"] == 2
    primary, secondary = sec, vm
    admin.ok_task(admin.vm(primary, "DisableSecondaryVM_Task", {"vm": _ref("VirtualMachine", secondary)}))
    assert admin.prop(primary, "runtime")["faultToleranceState"] == "disabled"
    admin.failed_task(
        admin.vm(primary, "DisableSecondaryVM_Task", {"vm": _ref("VirtualMachine", secondary)}),
        "SecondaryVmAlreadyDisabled",
    )
    admin.ok_task(admin.vm(primary, "EnableSecondaryVM_Task", {"vm": _ref("VirtualMachine", secondary)}))
    assert admin.prop(primary, "runtime")["faultToleranceState"] == "running"
    admin.failed_task(
        admin.vm(primary, "EnableSecondaryVM_Task", {"vm": _ref("VirtualMachine", secondary)}),
        "SecondaryVmAlreadyEnabled",
    )
    admin.ok_task(
        admin.vm(primary, "TerminateFaultTolerantVM_Task", {"vm": _ref("VirtualMachine", secondary)})
    )
    admin.ok_task(admin.vm(primary, "TurnOffFaultToleranceForVM_Task"))
    assert admin.prop(primary, "runtime")["faultToleranceState"] == "notConfigured"
    assert "ftInfo" not in admin.prop(primary, "config")
    assert fault_of(admin.get("VirtualMachine", secondary, "runtime")) == "ManagedObjectNotFound"
    admin.failed_task(admin.vm(primary, "TurnOffFaultToleranceForVM_Task"), "VmFaultToleranceIssue")


def test_ft_compatibility_and_hosts(admin, fresh):
    issues = admin.vm("vm-100", "QueryFaultToleranceCompatibility").json()
    # each issue is the fault object itself (typed MethodFault), not a LocalizedMethodFault wrapper
    assert all(i["_typeName"] == "VmFaultToleranceConfigIssue" and "fault" not in i for i in issues)
    assert any(i.get("reason") == "templateVm" for i in issues)
    vm = fresh("poweredOff")
    admin.ok_task(
        admin.vm(vm, "MigrateVM_Task", {"host": _ref("HostSystem", "host-12"), "priority": "defaultPriority"})
    )
    issues = admin.vm(vm, "QueryFaultToleranceCompatibilityEx", {"forLegacyFt": False}).json()
    assert [i["reason"] for i in issues] == ["ftUnsupportedHardware"]
    admin.ok_task(
        admin.vm(vm, "MigrateVM_Task", {"host": _ref("HostSystem", "host-10"), "priority": "defaultPriority"})
    )
    assert admin.vm(vm, "QueryFaultToleranceCompatibility").json() == []
    admin.failed_task(
        admin.vm(vm, "CreateSecondaryVM_Task", {"host": _ref("HostSystem", "host-10")}),
        "IncompatibleHostForFtSecondary",
    )
    admin.failed_task(
        admin.vm(vm, "CreateSecondaryVM_Task", {"host": _ref("HostSystem", "host-13")}), "InvalidState"
    )  # maintenance mode
    info = admin.ok_task(admin.vm(vm, "CreateSecondaryVMEx_Task", {}))
    assert info["result"]["powerOnAttempted"] is False
    assert admin.prop(vm, "runtime")["faultToleranceState"] == "enabled"


def test_reconfigure_rename_upgrade(admin, fresh):
    vm = fresh("poweredOff")
    before = admin.prop(vm, "config")["changeVersion"]
    spec = {
        "_typeName": "VirtualMachineConfigSpec",
        "numCPUs": 4,
        "memoryMB": 4096,
        "annotation": "hello",
        "extraConfig": [
            {
                "_typeName": "OptionValue",
                "key": "guestinfo.x",
                "value": {"_typeName": "string", "_value": "1"},
            }
        ],
        "deviceChange": [
            {
                "_typeName": "VirtualDeviceConfigSpec",
                "operation": "remove",
                "device": {"_typeName": "VirtualVmxnet3", "key": 4000},
            }
        ],
    }
    admin.ok_task(admin.vm(vm, "ReconfigVM_Task", {"spec": spec}))
    config = admin.prop(vm, "config")
    assert config["hardware"]["numCPU"] == 4 and config["hardware"]["memoryMB"] == 4096
    assert config["annotation"] == "hello" and config["changeVersion"] != before
    assert not any(d["key"] == 4000 for d in config["hardware"]["device"])
    assert config["extraConfig"][0]["value"]["_value"] == "1"
    bad = {
        "_typeName": "VirtualMachineConfigSpec",
        "deviceChange": [
            {
                "_typeName": "VirtualDeviceConfigSpec",
                "operation": "edit",
                "device": {"_typeName": "VirtualVmxnet3", "key": 4711},
            }
        ],
    }
    admin.failed_task(admin.vm(vm, "ReconfigVM_Task", {"spec": bad}), "InvalidDeviceSpec")
    assert (
        fault_of(
            admin.vm(
                vm, "ReconfigVM_Task", {"spec": {"_typeName": "VirtualMachineConfigSpec", "memoryMB": 1001}}
            )
        )
        == "InvalidArgument"
    )
    admin.ok_task(admin.vm(vm, "Rename_Task", {"newName": "renamed-vm"}))
    assert admin.prop(vm, "name") == "renamed-vm" and admin.prop(vm, "config")["name"] == "renamed-vm"
    admin.failed_task(admin.vm(vm, "Rename_Task", {"newName": ""}), "InvalidName")
    other = fresh("poweredOff")
    admin.failed_task(admin.vm(other, "Rename_Task", {"newName": "renamed-vm"}), "DuplicateName")
    admin.ok_task(admin.vm(vm, "UpgradeVM_Task", {"version": "vmx-21"}))
    assert admin.prop(vm, "config")["version"] == "vmx-21"
    admin.failed_task(admin.vm(vm, "UpgradeVM_Task", {"version": "vmx-20"}), "AlreadyUpgraded")


def test_destroy_unregister_reload(admin, fresh):
    on = fresh("poweredOn")
    admin.failed_task(admin.vm(on, "Destroy_Task"), "InvalidPowerState")
    assert fault_of(admin.vm(on, "UnregisterVM")) == "InvalidPowerState"
    vm = fresh("poweredOff")
    admin.failed_task(
        admin.vm(vm, "reloadVirtualMachineFromPath_Task", {"configurationPath": "nope"}), "FileNotFound"
    )
    admin.ok_task(
        admin.vm(
            vm, "reloadVirtualMachineFromPath_Task", {"configurationPath": "[datastore2] moved/moved.vmx"}
        )
    )
    assert admin.prop(vm, "config")["files"]["vmPathName"] == "[datastore2] moved/moved.vmx"
    assert admin.vm(vm, "Reload").status_code == 204
    admin.ok_task(admin.vm(vm, "Destroy_Task"))
    assert fault_of(admin.get("VirtualMachine", vm, "name")) == "ManagedObjectNotFound"
    other = fresh("suspended")
    assert admin.vm(other, "UnregisterVM").status_code == 204
    assert fault_of(admin.vm(other, "PowerOnVM_Task")) == "ManagedObjectNotFound"


def test_relocate_migrate(admin, fresh):
    vm = fresh("poweredOn")
    admin.ok_task(
        admin.vm(
            vm,
            "RelocateVM_Task",
            {
                "spec": {
                    "_typeName": "VirtualMachineRelocateSpec",
                    "host": _ref("HostSystem", "host-12"),
                    "datastore": _ref("Datastore", "datastore-21"),
                    "pool": _ref("ResourcePool", "resgroup-9"),
                }
            },
        )
    )
    assert admin.prop(vm, "runtime")["host"]["value"] == "host-12"
    assert [d["value"] for d in admin.prop(vm, "datastore")] == ["datastore-21"]
    assert admin.prop(vm, "resourcePool")["value"] == "resgroup-9"
    admin.failed_task(
        admin.vm(
            vm, "MigrateVM_Task", {"host": _ref("HostSystem", "host-13"), "priority": "defaultPriority"}
        ),
        "InvalidState",
    )
    admin.failed_task(
        admin.vm(
            vm,
            "MigrateVM_Task",
            {"host": _ref("HostSystem", "host-10"), "priority": "defaultPriority", "state": "poweredOff"},
        ),
        "InvalidPowerState",
    )
    assert admin.prop(vm, "runtime")["host"]["value"] == "host-12"


def test_disks(admin, fresh):
    vm = fresh("poweredOff")
    disk = {"diskId": {"_typeName": "ID", "id": "fcd-1"}, "datastore": _ref("Datastore", "datastore-20")}
    admin.ok_task(admin.vm(vm, "AttachDisk_Task", disk))
    assert any(
        d.get("vDiskId", {}).get("id") == "fcd-1" for d in admin.prop(vm, "config")["hardware"]["device"]
    )
    admin.failed_task(admin.vm(vm, "AttachDisk_Task", disk), "InvalidState")
    admin.failed_task(
        admin.vm(
            vm, "AttachDisk_Task", {**disk, "diskId": {"_typeName": "ID", "id": "fcd-2"}, "controllerKey": 99}
        ),
        "InvalidController",
    )
    admin.ok_task(admin.vm(vm, "DetachDisk_Task", {"diskId": {"_typeName": "ID", "id": "fcd-1"}}))
    admin.failed_task(
        admin.vm(vm, "DetachDisk_Task", {"diskId": {"_typeName": "ID", "id": "fcd-1"}}), "NotFound"
    )
    assert admin.vm(vm, "DefragmentAllDisks").status_code == 204
    admin.ok_task(admin.vm(vm, "PromoteDisks_Task", {"unlink": True}))
    admin.ok_task(admin.vm(vm, "ConsolidateVMDisks_Task"))
    admin.ok_task(admin.vm(vm, "RepairVmDiskChains_Task")) if False else None
    assert (
        fault_of(
            admin.vm(vm, "QueryChangedDiskAreas", {"deviceKey": 2000, "startOffset": 0, "changeId": "*"})
        )
        == "FileFault"
    )
    admin.ok_task(
        admin.vm(
            vm,
            "ReconfigVM_Task",
            {"spec": {"_typeName": "VirtualMachineConfigSpec", "changeTrackingEnabled": True}},
        )
    )
    info = admin.vm(
        vm, "QueryChangedDiskAreas", {"deviceKey": 2000, "startOffset": 0, "changeId": "*"}
    ).json()
    assert info["_typeName"] == "DiskChangeInfo" and info["changedArea"]
    assert (
        fault_of(admin.vm(vm, "QueryChangedDiskAreas", {"deviceKey": 7, "startOffset": 0, "changeId": "*"}))
        == "NotFound"
    )
    assert admin.vm(vm, "QueryUnownedFiles").json() == []
    est = admin.ok_task(admin.vm(vm, "EstimateStorageForConsolidateSnapshots_Task"))
    assert est["result"]["_typeName"] == "ArrayOfStorageRequirement"
    on = fresh("poweredOn")
    assert fault_of(admin.vm(on, "DefragmentAllDisks")) == "InvalidPowerState"


def test_tools_console_tickets(admin, fresh):
    vm = fresh("poweredOn")
    assert admin.vm(vm, "MountToolsInstaller").status_code == 204
    assert admin.prop(vm, "runtime")["toolsInstallerMounted"] is True
    assert fault_of(admin.vm(vm, "MountToolsInstaller")) == "InvalidState"
    assert admin.vm(vm, "UnmountToolsInstaller").status_code == 204
    assert fault_of(admin.vm(vm, "UnmountToolsInstaller")) == "InvalidState"
    admin.ok_task(admin.vm(vm, "UpgradeTools_Task", {}))
    assert admin.vm(vm, "AcquireMksTicket").json()["_typeName"] == "VirtualMachineMksTicket"
    assert admin.vm(vm, "AcquireTicket", {"ticketType": "webmks"}).json()["url"].startswith("wss://")
    assert fault_of(admin.vm(vm, "AcquireTicket", {"ticketType": "bogus"})) == "InvalidArgument"
    assert fault_of(admin.vm("vm-102", "AcquireTicket", {"ticketType": "mks"})) in (
        "InvalidState",
        "InvalidPowerState",
    )
    assert admin.vm(vm, "SetScreenResolution", {"width": 1280, "height": 800}).status_code == 204
    assert admin.prop(vm, "guest")["screen"]["width"] == 1280
    assert (
        admin.vm(
            vm,
            "SetDisplayTopology",
            {
                "displays": [
                    {
                        "_typeName": "VirtualMachineDisplayTopology",
                        "x": 0,
                        "y": 0,
                        "width": 800,
                        "height": 600,
                    }
                ]
            },
        ).status_code
        == 204
    )
    spec = {
        "_typeName": "UsbScanCodeSpec",
        "keyEvents": [{"_typeName": "UsbScanCodeSpecKeyEvent", "usbHidCode": 4}],
    }
    assert admin.vm(vm, "PutUsbScanCodes", {"spec": spec}).json() == 1
    assert admin.vm(vm, "SendNMI").status_code == 204
    assert "Environment" in admin.vm(vm, "ExtractOvfEnvironment").json()
    conns = admin.vm("vm-101", "QueryConnections").json()
    assert conns and admin.vm("vm-101", "DropConnections", {"listOfConnections": conns}).json() is True
    assert admin.vm("vm-101", "QueryConnections").json() == []
    off = fresh("poweredOff")
    assert fault_of(admin.vm(off, "SendNMI")) == "InvalidPowerState"
    lease = admin.vm(off, "ExportVm").json()
    assert lease["type"] == "HttpNfcLease"
    assert admin.call("HttpNfcLease", lease["value"], "HttpNfcLeaseAbort", {}).status_code == 204  # unlocks
    assert fault_of(admin.vm(vm, "ExportVm")) == "InvalidPowerState"
    assert admin.vm(off, "ResetGuestInformation").status_code == 204
    assert fault_of(admin.vm(vm, "ResetGuestInformation")) == "InvalidPowerState"
    admin.ok_task(
        admin.vm(
            off,
            "ApplyEvcModeVM_Task",
            {"mask": [{"_typeName": "HostFeatureMask", "key": "k", "featureName": "f", "value": "v"}]},
        )
    )
    assert admin.prop(off, "runtime")["featureMask"][0]["key"] == "k"
    admin.failed_task(admin.vm(vm, "ApplyEvcModeVM_Task", {}), "InvalidPowerState")
    assert admin.vm(vm, "RefreshStorageInfo").status_code == 204
    shot = admin.ok_task(admin.vm(vm, "CreateScreenshot_Task"))
    assert shot["result"]["_value"].endswith(".png")


def test_record_replay(admin, fresh):
    vm = fresh("poweredOn")
    snap = admin.ok_task(admin.vm(vm, "StartRecording_Task", {"name": "rec"}))["result"]["value"]
    assert admin.prop(vm, "runtime")["recordReplayState"] == "recording"
    admin.failed_task(admin.vm(vm, "StartRecording_Task", {"name": "rec2"}), "InvalidState")
    admin.ok_task(admin.vm(vm, "StopRecording_Task"))
    admin.failed_task(admin.vm(vm, "StopRecording_Task"), "InvalidState")
    admin.failed_task(
        admin.vm(vm, "StartReplaying_Task", {"replaySnapshot": _ref("VirtualMachineSnapshot", snap)}),
        "InvalidPowerState",
    )
    admin.ok_task(admin.vm(vm, "PowerOffVM_Task"))
    admin.ok_task(
        admin.vm(vm, "StartReplaying_Task", {"replaySnapshot": _ref("VirtualMachineSnapshot", snap)})
    )
    assert admin.prop(vm, "runtime")["recordReplayState"] == "replaying"
    admin.ok_task(admin.vm(vm, "StopReplaying_Task"))
    assert admin.prop(vm, "runtime")["recordReplayState"] == "inactive"


def test_question_custom_values_crypto_customization(admin, fresh):
    question = admin.prop("vm-107", "runtime")["question"]
    assert (
        fault_of(admin.vm("vm-107", "AnswerVM", {"questionId": question["id"], "answerChoice": "9"}))
        == "InvalidArgument"
    )
    assert (
        admin.vm("vm-107", "AnswerVM", {"questionId": question["id"], "answerChoice": "1"}).status_code == 204
    )
    assert "question" not in admin.prop("vm-107", "runtime")
    assert fault_of(admin.vm("vm-107", "AnswerVM", {"questionId": question["id"], "answerChoice": "1"})) in (
        "InvalidArgument",
        "ConcurrentAccess",
    )
    vm = fresh("poweredOff")
    assert admin.vm(vm, "setCustomValue", {"key": "owner", "value": "qa"}).status_code == 204
    field = next(f for f in admin.prop(vm, "availableField") if f["name"] == "owner")
    assert {"_typeName": "CustomFieldStringValue", "key": field["key"], "value": "qa"} in admin.prop(
        vm, "customValue"
    )
    assert admin.prop(vm, "value") == admin.prop(vm, "customValue")
    assert admin.prop("vm-108", "runtime")["cryptoState"] == "locked"
    admin.failed_task(admin.vm("vm-108", "PowerOnVM_Task"), "InvalidState")  # locked
    admin.ok_task(admin.vm("vm-108", "CryptoUnlock_Task"))
    assert admin.prop("vm-108", "runtime")["cryptoState"] == "unlocked"
    admin.failed_task(admin.vm(vm, "CryptoUnlock_Task"), "NotSupported")
    spec = {
        "_typeName": "CustomizationSpec",
        "identity": {
            "_typeName": "CustomizationLinuxPrep",
            "hostName": {"_typeName": "CustomizationFixedName", "name": "h"},
            "domain": "local",
        },
        "globalIPSettings": {"_typeName": "CustomizationGlobalIPSettings"},
        "nicSettingMap": [],
    }
    assert admin.vm(vm, "CheckCustomizationSpec", {"spec": spec}).status_code == 204
    admin.ok_task(admin.vm(vm, "CustomizeVM_Task", {"spec": spec}))
    assert admin.prop(vm, "config")["tools"]["pendingCustomization"]
    admin.failed_task(admin.vm(vm, "CustomizeVM_Task", {"spec": spec}), "CustomizationPending")
    sysprep = {
        **spec,
        "identity": {
            "_typeName": "CustomizationSysprep",
            "guiUnattended": {
                "_typeName": "CustomizationGuiUnattended",
                "autoLogon": False,
                "autoLogonCount": 0,
                "timeZone": 0,
            },
            "userData": {
                "_typeName": "CustomizationUserData",
                "fullName": "a",
                "orgName": "b",
                "computerName": {"_typeName": "CustomizationFixedName", "name": "c"},
                "productId": "",
            },
            "identification": {"_typeName": "CustomizationIdentification"},
        },
    }
    assert fault_of(admin.vm(vm, "CheckCustomizationSpec", {"spec": sysprep})) == "UncustomizableGuest"
