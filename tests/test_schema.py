"""JSON Schema of VMODL types: polymorphism, closed objects, request mode, enums, integer ranges,
reference restrictions, anyType wrapping, fault bodies."""

from __future__ import annotations

import pytest

from harness.vmodl.schema import schema_for, validator

R = "8.0.2.0"


def moref(type_: str, value: str, typename: bool = True) -> dict:
    out = {"type": type_, "value": value}
    return {"_typeName": "ManagedObjectReference", **out} if typename else out


def disk(**extra) -> dict:
    return {"_typeName": "VirtualDisk", "key": 2000, "capacityInKB": 1024, **extra}


def task_info(**extra) -> dict:
    return {
        "_typeName": "TaskInfo",
        "key": "task-1",
        "task": moref("Task", "task-1"),
        "descriptionId": "VirtualMachine.powerOn",
        "state": "running",
        "cancelled": False,
        "cancelable": True,
        "reason": {"_typeName": "TaskReasonUser", "userName": "root"},
        "queueTime": "2024-05-01T12:00:00Z",
        "eventChainId": 7,
        **extra,
    }


def valid(type_: str, instance, request: bool = False) -> bool:
    return validator(type_, R, request).is_valid(instance)


# --- polymorphism ---------------------------------------------------------------------------------
def test_subtype_accepted_in_a_base_position():
    assert valid("VirtualDevice", disk())
    assert valid("VirtualDevice", {"_typeName": "VirtualVmxnet3", "key": 4000})
    assert valid("VirtualDevice", {"_typeName": "VirtualDevice", "key": 1})


def test_non_subtype_rejected_in_a_base_position():
    assert not valid("VirtualDevice", {"_typeName": "AboutInfo", "key": 1})
    assert not valid("VirtualDevice", {"_typeName": "NoSuchType", "key": 1})
    errors = validator("VirtualDevice", R).errors({"_typeName": "AboutInfo", "key": 1})
    assert errors and errors[0].startswith("_typeName: ")


def test_subtype_checked_against_its_own_fields():
    assert not valid("VirtualDevice", disk(thinProvisioned=True))  # a backing field, not a VirtualDisk one
    assert valid("VirtualDevice", disk(diskObjectId="1-2000"))  # a VirtualDisk field
    assert not valid("VirtualDevice", {"_typeName": "VirtualDevice", "key": 1, "capacityInKB": 5})
    assert not valid("VirtualDevice", disk(capacityInKB="big"))
    assert not valid("VirtualDevice", {"_typeName": "VirtualDisk", "key": 1})  # capacityInKB required


def test_polymorphic_array_items():
    spec = {
        "_typeName": "VirtualMachineConfigSpec",
        "deviceChange": [
            {"_typeName": "VirtualDeviceConfigSpec", "operation": "add", "device": disk()},
            {
                "_typeName": "VirtualDeviceConfigSpec",
                "operation": "remove",
                "device": {"_typeName": "VirtualE1000e", "key": 4000},
            },
        ],
    }
    assert valid("VirtualMachineConfigSpec", spec)
    spec["deviceChange"][1]["device"]["_typeName"] = "VirtualMachineConfigSpec"
    errors = validator("VirtualMachineConfigSpec", R).errors(spec)
    assert errors and errors[0].startswith("deviceChange/1/device")


# --- closed objects -------------------------------------------------------------------------------
def test_unknown_field_rejected():
    assert valid("TaskInfo", task_info())
    assert not valid("TaskInfo", task_info(colour="red"))
    assert not valid("VirtualMachineConfigSpec", {"_typeName": "VirtualMachineConfigSpec", "nam": "typo"})


def test_required_fields_and_type_name():
    info = task_info()
    del info["state"]
    assert not valid("TaskInfo", info)
    info = task_info()
    del info["_typeName"]
    assert not valid("TaskInfo", info)  # servers always send _typeName
    assert not valid("TaskInfo", task_info(_typeName="TaskFilterSpec"))


# --- request mode ---------------------------------------------------------------------------------
def test_request_mode_type_name_optional_where_no_subtypes():
    spec = {"name": "vm-copy", "numCPUs": 2}
    assert not valid("VirtualMachineConfigSpec", spec)
    assert valid("VirtualMachineConfigSpec", spec, request=True)
    assert valid("VirtualMachineConfigSpec", {"_typeName": "VirtualMachineConfigSpec", **spec}, request=True)
    assert not valid("VirtualMachineConfigSpec", {"_typeName": "VirtualDisk", **spec}, request=True)


def test_request_mode_type_name_required_where_subtypes():
    assert not valid("VirtualDevice", {"key": 1}, request=True)
    assert valid("VirtualDevice", {"_typeName": "VirtualDisk", "key": 1, "capacityInKB": 1}, request=True)


def test_request_mode_moref_type_name_optional():
    assert valid("VirtualMachine", moref("VirtualMachine", "vm-1", typename=False), request=True)
    assert not valid("VirtualMachine", moref("VirtualMachine", "vm-1", typename=False))


def test_request_mode_still_closed_and_typed():
    assert not valid("VirtualMachineConfigSpec", {"numCPUs": "two"}, request=True)
    assert not valid("VirtualMachineConfigSpec", {"colour": "red"}, request=True)


# --- enums, numbers, strings ----------------------------------------------------------------------
def test_enums():
    assert valid("VirtualMachinePowerState", "poweredOn")
    assert not valid("VirtualMachinePowerState", "running")
    assert not valid("TaskInfo", task_info(state="done"))


@pytest.mark.parametrize(
    ("type_", "low", "high"),
    [
        ("byte", -128, 127),
        ("short", -(2**15), 2**15 - 1),
        ("int", -(2**31), 2**31 - 1),
        ("long", -(2**63), 2**63 - 1),
    ],
)
def test_integer_ranges(type_, low, high):
    assert valid(type_, low) and valid(type_, high) and valid(type_, 0)
    assert not valid(type_, low - 1) and not valid(type_, high + 1)
    assert not valid(type_, 1.5) and not valid(type_, "1") and not valid(type_, True)


def test_integer_range_inside_an_object():
    assert not valid("TaskInfo", task_info(eventChainId=2**31))
    assert valid("VirtualDevice", disk(capacityInKB=2**40))  # long
    assert not valid("VirtualDevice", disk(key=2**31))  # int


def test_datetime_and_base64():
    assert valid("dateTime", "2024-05-01T12:00:00Z") and valid("dateTime", "2024-05-01T12:00:00.123+05:30")
    assert not valid("dateTime", "yesterday") and not valid("dateTime", 1714564800)
    assert valid("base64Binary", "aGVsbG8=") and not valid("base64Binary", "not base64!")
    assert not valid("TaskInfo", task_info(queueTime="May 1st"))


def test_arrays():
    assert valid("string[]", ["a", "b"]) and not valid("string[]", "a") and not valid("string[]", [1])
    assert valid("Task[]", [moref("Task", "task-1")])


# --- references -----------------------------------------------------------------------------------
def test_moref_restricted_to_the_declared_managed_type():
    assert valid("VirtualMachine", moref("VirtualMachine", "vm-1"))
    assert not valid("VirtualMachine", moref("HostSystem", "host-1"))
    assert valid("ManagedEntity", moref("VirtualMachine", "vm-1"))  # a subtype
    assert valid("ManagedEntity", moref("HostSystem", "host-1"))
    assert not valid("ManagedEntity", moref("Task", "task-1"))
    assert not valid("TaskInfo", task_info(entity=moref("Task", "task-2")))
    assert valid("TaskInfo", task_info(entity=moref("VirtualMachine", "vm-2")))


def test_moref_shape():
    assert not valid("VirtualMachine", {**moref("VirtualMachine", "vm-1"), "name": "x"})
    assert not valid("VirtualMachine", moref("VirtualMachine", ""))
    assert not valid("VirtualMachine", {"_typeName": "ManagedObjectReference", "type": "VirtualMachine"})
    assert not valid("VirtualMachine", moref("Toaster", "t-1"))
    assert not valid(
        "VirtualMachine", {"_typeName": "VirtualMachine", "type": "VirtualMachine", "value": "v"}
    )


# --- anyType --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "result",
    [
        {"_typeName": "string", "_value": "x"},
        {"_typeName": "long", "_value": 5},
        {"_typeName": "ArrayOfString", "_value": ["a"]},
        {"_typeName": "ArrayOfAnyType", "_value": [{"_typeName": "int", "_value": 1}]},
        {"_typeName": "VirtualMachinePowerState", "_value": "poweredOn"},
        {"_typeName": "ManagedObjectReference", "type": "VirtualMachine", "value": "vm-9"},
        {"_typeName": "ArrayOfManagedObjectReference", "_value": [moref("VirtualMachine", "vm-9")]},
        {"_typeName": "LocalizableMessage", "key": "k"},
    ],
)
def test_any_type_accepts_wrapped_values(result):
    assert valid("TaskInfo", task_info(result=result))
    assert valid("anyType", result)


@pytest.mark.parametrize(
    "result",
    [
        "x",
        5,
        ["a"],
        {"_value": "x"},
        {"_typeName": "int", "_value": "x"},
        {"_typeName": "int"},
        {"_typeName": "ArrayOfString", "_value": [1]},
        {"_typeName": "ArrayOfString", "_value": "a"},
        {"_typeName": "Toaster", "_value": 1},
    ],
)
def test_any_type_rejects_unwrapped_or_mistyped_values(result):
    assert not valid("TaskInfo", task_info(result=result))


# --- faults ---------------------------------------------------------------------------------------
def test_fault_body_under_method_fault():
    fault = {
        "_typeName": "InvalidPowerState",
        "requestedState": "poweredOn",
        "existingState": "poweredOff",
        "faultCause": {
            "_typeName": "SystemError",
            "reason": "disk",
            "faultCause": {"_typeName": "NotSupported"},
        },
        "faultMessage": [{"_typeName": "LocalizableMessage", "key": "msg.k", "message": "m"}],
    }
    assert valid("MethodFault", fault)
    assert not valid("MethodFault", {**fault, "existingState": "on"})
    no_existing = {k: v for k, v in fault.items() if k != "existingState"}
    assert not valid("MethodFault", no_existing)
    # faultCause is a MethodFault: the SOAP wrapper is refused there, and the cause is judged as a fault
    assert not valid(
        "MethodFault",
        {
            **fault,
            "faultCause": {
                "_typeName": "LocalizedMethodFault",
                "fault": {"_typeName": "SystemError", "reason": "x"},
                "localizedMessage": "x",
            },
        },
    )
    assert not valid(
        "MethodFault", {**fault, "faultCause": {"_typeName": "SystemError"}}
    )  # reason is required
    assert not valid("MethodFault", {**fault, "faultCause": {"_typeName": "TaskInfo"}})
    # faults derive from Any, not DynamicData: no dynamicType on a fault
    assert not valid("MethodFault", {**fault, "dynamicType": "x"})


def test_no_permission_with_missing_privileges():
    fault = {
        "_typeName": "NoPermission",
        "missingPrivileges": [
            {
                "_typeName": "NoPermissionEntityPrivileges",
                "entity": moref("VirtualMachine", "vm-1"),
                "privilegeIds": ["VirtualMachine.Interact.PowerOn"],
            }
        ],
    }
    assert valid("MethodFault", fault) and valid("NoPermission", fault)
    assert valid("MethodFault", {"_typeName": "NotAuthenticated"})
    assert not valid("NotAuthenticated", {"_typeName": "NoPermission"})  # a base is no subtype
    assert not valid("MethodFault", {"_typeName": "TaskInfo"})


def test_task_info_error_is_the_fault_object():
    error = {
        "_typeName": "InvalidPowerState",
        "existingState": "poweredOn",
        "faultMessage": [{"_typeName": "LocalizableMessage", "key": "k", "message": "m"}],
    }
    assert valid("TaskInfo", task_info(state="error", error=error))
    assert valid("TaskInfo", task_info(state="error", error={"_typeName": "RequestCanceled"}))
    wrapped = {"_typeName": "LocalizedMethodFault", "fault": error, "localizedMessage": "x"}
    assert not valid("TaskInfo", task_info(state="error", error=wrapped))
    assert not valid("TaskInfo", task_info(state="error", error={**error, "existingState": "on"}))
    assert not valid(
        "TaskInfo", task_info(state="error", error={k: v for k, v in error.items() if k != "_typeName"})
    )
    assert not valid("TaskInfo", task_info(state="error", error={"_typeName": "TaskInfo"}))


def test_fault_tolerance_compatibility_items_are_method_faults():
    issue = {"_typeName": "VmFaultToleranceConfigIssue", "reason": "hasSnapshots", "entityName": "vm"}
    assert valid("MethodFault[]", [issue, {"_typeName": "NotSupported"}])
    assert not valid("MethodFault[]", [{"_typeName": "LocalizedMethodFault", "fault": issue}])
    # LocalizedMethodFault stays a type of its own
    assert valid("LocalizedMethodFault", {"_typeName": "LocalizedMethodFault", "fault": issue})
    assert not valid("LocalizedMethodFault", {"_typeName": "LocalizedMethodFault"})


# --- documents ------------------------------------------------------------------------------------
def test_schema_document_and_caching():
    doc = schema_for("TaskInfo", R)
    assert doc["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert doc["$ref"] == "#/$defs/TaskInfo" and "TaskInfo" in doc["$defs"]
    assert doc["$defs"]["TaskInfo"]["additionalProperties"] is False
    assert schema_for("VirtualDevice[]", R)["type"] == "array"
    assert validator("TaskInfo", R) is validator("TaskInfo", R)
    assert validator("TaskInfo", R) is not validator("TaskInfo", R, True)


def test_release_specific_schema():
    spec = {"_typeName": "SnapshotSelectionSpec"}
    assert validator("DynamicData", "8.0.3.0").is_valid(spec)
    with pytest.raises(KeyError):
        validator("SnapshotSelectionSpec", "8.0.2.0")
