"""The VI/JSON codec, rule by rule (DESIGN §4), and the paths of its errors."""

from __future__ import annotations

import datetime as dt

import pytest

from harness.vmodl.codec import CodecError, array_type_name, codec
from harness.vmodl.registry import TypeRef
from harness.vmodl.values import AnyValue, DataObject, MoRef

C = codec("8.0.2.0")
VM = MoRef("VirtualMachine", "vm-42")
HOST = MoRef("HostSystem", "host-7")


def error(call, *args, **kwargs) -> CodecError:
    with pytest.raises(CodecError) as info:
        call(*args, **kwargs)
    return info.value


# --- data objects ---------------------------------------------------------------------------------
def test_data_object_carries_type_name_and_omits_unset_fields():
    about = DataObject("LocalizableMessage", key="k", message="hello")
    assert C.encode(about, "LocalizableMessage") == {
        "_typeName": "LocalizableMessage",
        "key": "k",
        "message": "hello",
    }
    assert C.decode({"_typeName": "LocalizableMessage", "key": "k"}, "LocalizableMessage") == DataObject(
        "LocalizableMessage", key="k"
    )


def test_fields_are_encoded_in_declared_order_by_their_declared_type():
    info = DataObject(
        "TaskInfo",
        key="task-1",
        task=MoRef("Task", "task-1"),
        descriptionId="d",
        state="running",
        cancelled=False,
        cancelable=True,
        queueTime=dt.datetime(2024, 5, 1, 12, 0, tzinfo=dt.UTC),
        eventChainId=3,
        reason=DataObject("TaskReasonUser", userName="root"),
    )
    out = C.encode(info, "TaskInfo")
    assert list(out)[:3] == ["_typeName", "key", "task"]
    assert out["task"] == {"_typeName": "ManagedObjectReference", "type": "Task", "value": "task-1"}
    assert out["queueTime"] == "2024-05-01T12:00:00Z"
    assert out["state"] == "running" and out["eventChainId"] == 3
    assert C.decode(out, "TaskInfo") == info


def test_missing_required_field_path_and_strict_false():
    info = DataObject("TaskInfo", key="task-1", task=MoRef("Task", "task-1"))
    e = error(C.encode, info, "TaskInfo")
    assert e.path == "descriptionId" and "required field of TaskInfo is missing" in e.reason
    assert C.encode(info, "TaskInfo", strict=False)["key"] == "task-1"
    e = error(C.decode, {"_typeName": "LocalizedMethodFault"}, "LocalizedMethodFault")
    assert e.path == "fault"
    assert C.decode(
        {"_typeName": "LocalizedMethodFault"}, "LocalizedMethodFault", strict=False
    ) == DataObject("LocalizedMethodFault")


def test_unknown_field_is_refused_on_both_sides():
    e = error(C.encode, DataObject("LocalizableMessage", key="k", bogus=1), "LocalizableMessage")
    assert e.path == "bogus" and "has no field 'bogus'" in e.reason
    e = error(C.decode, {"_typeName": "LocalizableMessage", "key": "k", "bogus": 1}, "LocalizableMessage")
    assert e.path == "bogus"


def test_field_of_a_later_release_is_unknown_in_an_earlier_one():
    later = DataObject("VirtualMachineConfigSpec", name="x")
    assert codec("8.0.2.0").encode(later, "VirtualMachineConfigSpec")["name"] == "x"
    # SnapshotSelectionSpec exists from 8.0.3.0 only
    spec = DataObject("SnapshotSelectionSpec")
    assert codec("8.0.3.0").encode(spec, "SnapshotSelectionSpec") == {"_typeName": "SnapshotSelectionSpec"}
    e = error(codec("8.0.2.0").encode, spec, "DynamicData")
    assert "unknown data type 'SnapshotSelectionSpec' in release 8.0.2.0" in str(e)


def test_subtype_in_a_base_position_keeps_its_type_name():
    disk = DataObject("VirtualDisk", key=2000, capacityInKB=1024)
    out = C.encode(disk, "VirtualDevice", strict=False)
    assert out["_typeName"] == "VirtualDisk" and out["capacityInKB"] == 1024
    back = C.decode(out, "VirtualDevice", strict=False)
    assert back.type_name == "VirtualDisk" and back == disk


def test_non_subtype_is_refused():
    e = error(C.encode, DataObject("AboutInfo"), "VirtualDevice", strict=False)
    assert e.reason == "AboutInfo is not a VirtualDevice"
    e = error(C.decode, {"_typeName": "AboutInfo"}, "VirtualDevice", strict=False)
    assert e.reason == "AboutInfo is not a VirtualDevice"
    e = error(C.decode, {"_typeName": "NoSuchType"}, "VirtualDevice")
    assert "unknown data type 'NoSuchType'" in e.reason


def test_decode_without_type_name_takes_the_declared_type():
    assert C.decode({"key": "k", "message": "m"}, "LocalizableMessage").type_name == "LocalizableMessage"


def test_wrong_json_kind_for_a_data_object():
    e = error(C.decode, "text", "LocalizableMessage")
    assert e.reason == "expected a LocalizableMessage object, got a string"
    e = error(C.encode, {"key": "k"}, "LocalizableMessage")
    assert "expected a LocalizableMessage data object, got dict" in e.reason


def test_nested_error_path():
    spec = DataObject(
        "VirtualMachineConfigSpec",
        deviceChange=[
            DataObject(
                "VirtualDeviceConfigSpec",
                operation="add",
                device=DataObject("VirtualDisk", key=1, capacityInKB=1),
            ),
            DataObject(
                "VirtualDeviceConfigSpec",
                operation="add",
                device=DataObject("VirtualDisk", key="2000", capacityInKB=1),
            ),
        ],
    )
    e = error(C.encode, spec, "VirtualMachineConfigSpec", strict=False)
    assert e.path == "deviceChange[1].device.key"
    assert str(e) == "deviceChange[1].device.key: expected int, got '2000'"
    out = C.encode(spec["deviceChange"][:1], "VirtualDeviceConfigSpec[]", strict=False)
    out[0]["operation"] = "plug"
    e = error(C.decode, {"deviceChange": out}, "VirtualMachineConfigSpec", strict=False)
    assert e.path == "deviceChange[0].operation"
    assert "'plug' is not a value of enum VirtualDeviceConfigSpecOperation" in e.reason


def test_root_error_path_reads_root():
    e = error(C.decode, 5, "string")
    assert e.path == "" and str(e).startswith("<root>: ")


# --- managed object references --------------------------------------------------------------------
def test_moref_encoding():
    assert C.encode(VM, "VirtualMachine") == {
        "_typeName": "ManagedObjectReference",
        "type": "VirtualMachine",
        "value": "vm-42",
    }
    assert C.encode(VM, "ManagedObjectReference") == C.encode(VM, "ManagedEntity")
    assert (
        C.decode(
            {"_typeName": "ManagedObjectReference", "type": "VirtualMachine", "value": "vm-42"},
            "VirtualMachine",
        )
        == VM
    )
    assert C.decode({"type": "VirtualMachine", "value": "vm-42"}, "ManagedEntity") == VM  # request side


def test_moref_of_the_wrong_managed_type():
    e = error(C.encode, HOST, "VirtualMachine")
    assert e.reason == "expected a reference to VirtualMachine, got one to HostSystem"
    e = error(C.decode, C.encode(HOST, "HostSystem"), "VirtualMachine")
    assert e.reason == "expected a reference to VirtualMachine, got one to HostSystem"


def test_moref_malformed():
    e = error(C.decode, {"type": "VirtualMachine"}, "VirtualMachine")
    assert e.reason == "expected a ManagedObjectReference, got an object"
    e = error(C.decode, {"type": "VirtualMachine", "value": "vm-1", "extra": 1}, "VirtualMachine")
    assert "only _typeName, type and value" in e.reason
    e = error(
        C.decode, {"_typeName": "VirtualMachine", "type": "VirtualMachine", "value": "vm-1"}, "VirtualMachine"
    )
    assert "only _typeName, type and value" in e.reason
    e = error(C.decode, {"type": "Toaster", "value": "t-1"}, "ManagedObjectReference")
    assert e.reason == "'Toaster' is not a managed type of release 8.0.2.0"
    e = error(C.encode, "vm-42", "VirtualMachine")
    assert e.reason == "expected a reference to VirtualMachine, got str"


def test_moref_array():
    refs = [VM, MoRef("VirtualMachine", "vm-43")]
    out = C.encode(refs, "VirtualMachine[]")
    assert [r["value"] for r in out] == ["vm-42", "vm-43"]
    assert C.decode(out, TypeRef("VirtualMachine", True)) == refs


# --- anyType --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("value", "wire"),
    [
        (AnyValue("string", "x"), {"_typeName": "string", "_value": "x"}),
        (AnyValue("long", 5), {"_typeName": "long", "_value": 5}),
        (AnyValue("boolean", True), {"_typeName": "boolean", "_value": True}),
        (AnyValue("ArrayOfString", ["a", "b"]), {"_typeName": "ArrayOfString", "_value": ["a", "b"]}),
        (AnyValue("ArrayOfInt", [1]), {"_typeName": "ArrayOfInt", "_value": [1]}),
        (
            AnyValue("dateTime", dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC)),
            {"_typeName": "dateTime", "_value": "2024-01-02T03:04:05Z"},
        ),
        (AnyValue("base64Binary", b"\x00\xff"), {"_typeName": "base64Binary", "_value": "AP8="}),
        (
            AnyValue("VirtualMachinePowerState", "poweredOn"),
            {"_typeName": "VirtualMachinePowerState", "_value": "poweredOn"},
        ),
        (
            AnyValue("ArrayOfManagedObjectReference", [VM]),
            {
                "_typeName": "ArrayOfManagedObjectReference",
                "_value": [
                    {"_typeName": "ManagedObjectReference", "type": "VirtualMachine", "value": "vm-42"}
                ],
            },
        ),
        (
            AnyValue("ArrayOfLocalizableMessage", [DataObject("LocalizableMessage", key="k")]),
            {
                "_typeName": "ArrayOfLocalizableMessage",
                "_value": [{"_typeName": "LocalizableMessage", "key": "k"}],
            },
        ),
    ],
)
def test_any_type_wrapping_round_trips(value, wire):
    assert C.encode(value, "anyType") == wire
    assert C.decode(wire, "anyType") == value


def test_any_type_data_objects_and_references_are_not_wrapped():
    msg = DataObject("LocalizableMessage", key="k")
    assert C.encode(msg, "anyType") == {"_typeName": "LocalizableMessage", "key": "k"}
    assert C.decode({"_typeName": "LocalizableMessage", "key": "k"}, "anyType") == msg
    assert C.encode(VM, "anyType")["_typeName"] == "ManagedObjectReference"
    assert C.decode(C.encode(VM, "anyType"), "anyType") == VM


@pytest.mark.parametrize(
    ("value", "type_name"),
    [
        ("x", "string"),
        (True, "boolean"),
        (7, "int"),
        (2**40, "long"),
        (1.5, "double"),
        (b"ab", "base64Binary"),
        (["a"], "ArrayOfString"),
        ([2**40], "ArrayOfLong"),
        (dt.datetime(2024, 1, 1, tzinfo=dt.UTC), "dateTime"),
    ],
)
def test_any_type_infers_the_wire_type_of_bare_values(value, type_name):
    out = C.encode(value, "anyType")
    assert out["_typeName"] == type_name
    assert C.decode(out, "anyType") == AnyValue(type_name, value)


def test_any_type_errors():
    assert error(C.decode, "x", "anyType").reason == "a value in an anyType position needs a _typeName"
    assert (
        error(C.decode, {"_value": 1}, "anyType").reason == "a value in an anyType position needs a _typeName"
    )
    e = error(C.decode, {"_typeName": "int", "_value": 1, "x": 2}, "anyType")
    assert e.reason == "a wrapped int has exactly _typeName and _value"
    e = error(C.decode, {"_typeName": "Toaster", "_value": 1}, "anyType")
    assert e.reason == "unknown type 'Toaster' in an anyType position"
    e = error(C.decode, {"_typeName": "int", "_value": "1"}, "anyType")
    assert e.path == "._value" and e.reason == "expected int, got '1'"
    e = error(C.decode, {"_typeName": "ArrayOfInt", "_value": [1, "2"]}, "anyType")
    assert e.path == "._value[1]"
    e = error(C.encode, object(), "anyType")
    assert "cannot tell the VI/JSON type of object" in e.reason
    e = error(C.encode, AnyValue("VirtualMachine", "vm-1"), "anyType")
    assert "cannot travel in an anyType position" in e.reason


def test_array_type_name():
    assert array_type_name("string") == "ArrayOfString"
    assert array_type_name("VirtualMachineSnapshotTree") == "ArrayOfVirtualMachineSnapshotTree"
    assert array_type_name("ManagedObjectReference") == "ArrayOfManagedObjectReference"


# --- enums ----------------------------------------------------------------------------------------
def test_enums_are_strings_of_the_release():
    assert C.encode("poweredOn", "VirtualMachinePowerState") == "poweredOn"
    assert C.decode("suspended", "VirtualMachinePowerState") == "suspended"
    assert (
        error(C.encode, "running", "VirtualMachinePowerState").reason
        == "'running' is not a value of enum VirtualMachinePowerState"
    )
    assert (
        error(C.decode, 1, "VirtualMachinePowerState").reason
        == "1 is not a value of enum VirtualMachinePowerState"
    )


# --- numbers --------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("byte", -128, 127),
        ("short", -(2**15), 2**15 - 1),
        ("int", -(2**31), 2**31 - 1),
        ("long", -(2**63), 2**63 - 1),
    ],
)
def test_integer_ranges(name, low, high):
    for ok in (low, 0, high):
        assert C.encode(ok, name) == ok and C.decode(ok, name) == ok
    for bad in (low - 1, high + 1):
        assert error(C.encode, bad, name).reason == f"expected {name}, got {bad!r}"
        assert error(C.decode, bad, name).reason == f"expected {name}, got {bad!r}"


def test_integers_are_not_booleans_or_floats_or_strings():
    for bad in (True, 1.0, "1"):
        assert error(C.decode, bad, "int").reason == f"expected int, got {bad!r}"


def test_floats():
    assert C.decode(1.5, "double") == 1.5 and C.decode(2, "float") == 2
    assert error(C.decode, "1.5", "double").reason == "expected double, got str"
    assert error(C.decode, True, "float").reason == "expected float, got bool"


def test_booleans_and_strings():
    assert C.decode(False, "boolean") is False
    assert error(C.decode, "false", "boolean").reason == "expected boolean, got str"
    assert error(C.decode, 0, "boolean").reason == "expected boolean, got int"
    assert error(C.decode, 3, "string").reason == "expected string, got int"


# --- dateTime and binary ---------------------------------------------------------------------------
def test_datetime_is_iso_8601_with_z():
    moment = dt.datetime(2024, 5, 1, 12, 30, 15, 250000, tzinfo=dt.UTC)
    assert C.encode(moment, "dateTime") == "2024-05-01T12:30:15.250000Z"
    assert C.encode(dt.datetime(2024, 5, 1, 12, 30), "dateTime") == "2024-05-01T12:30:00Z"  # naive is UTC
    offset = dt.datetime(2024, 5, 1, 18, 0, tzinfo=dt.timezone(dt.timedelta(hours=5, minutes=30)))
    assert C.encode(offset, "dateTime") == "2024-05-01T18:00:00+05:30"
    decoded = C.decode("2024-05-01T12:30:15.25Z", "dateTime")
    assert decoded == moment and decoded.utcoffset() == dt.timedelta(0)
    assert C.decode("2024-05-01T18:00:00+05:30", "dateTime") == offset


def test_datetime_fraction_digits_and_no_zone():
    assert C.decode("2024-05-01T12:30:15.1234567Z", "dateTime").microsecond == 123456
    assert C.decode("2024-05-01T12:30:15", "dateTime") == dt.datetime(2024, 5, 1, 12, 30, 15)


@pytest.mark.parametrize(
    "text",
    [
        "yesterday",
        "2024-05-01",
        "20240501T123000Z",
        "2024-05-01 12:30:00Z",
        "2024-05-01T12:30:00Z\n",
        "2024-13-01T12:30:00Z",
        "2024-05-01T25:00:00Z",
    ],
)
def test_datetime_must_be_a_full_xsd_datetime(text):
    assert error(C.decode, text, "dateTime").reason == f"{text!r} is not an ISO 8601 dateTime"


def test_datetime_errors():
    assert error(C.decode, "yesterday", "dateTime").reason == "'yesterday' is not an ISO 8601 dateTime"
    assert (
        error(C.decode, 1700000000, "dateTime").reason == "expected an ISO 8601 dateTime string, got a number"
    )
    assert error(C.encode, "2024-01-01", "dateTime").reason == "expected a datetime, got str"


def test_binary_is_base64():
    assert C.encode(b"hello", "base64Binary") == "aGVsbG8="
    assert C.decode("aGVsbG8=", "base64Binary") == b"hello"
    assert C.decode("aGVs\r\nbG8=", "base64Binary") == b"hello"  # line breaks, as the schema allows
    assert error(C.decode, "not base64!", "base64Binary").reason == "'not base64!' is not base64"
    assert error(C.decode, 5, "base64Binary").reason == "expected base64 text, got a number"
    assert error(C.encode, "hello", "base64Binary").reason == "expected bytes, got str"


# --- arrays ---------------------------------------------------------------------------------------
def test_arrays():
    assert C.encode(["a", "b"], "string[]") == ["a", "b"]
    assert C.encode(("a",), "string[]") == ["a"]
    assert error(C.encode, "a", "string[]").reason == "expected an array of string, got str"
    assert error(C.decode, {"a": 1}, "string[]").reason == "expected an array of string, got an object"
    assert error(C.decode, ["a", 2], "string[]").path == "[1]"


def test_null_is_absent():
    assert C.encode(None, "TaskInfo") is None and C.decode(None, "TaskInfo") is None
    msg = C.decode({"_typeName": "LocalizableMessage", "key": "k", "message": None}, "LocalizableMessage")
    assert "message" not in msg


# --- faults ---------------------------------------------------------------------------------------
def test_fault_body_with_a_method_fault_cause():
    """``faultCause`` is a MethodFault: the cause is the fault object itself (VMware's VI/JSON)."""
    fault = DataObject(
        "InvalidPowerState",
        requestedState="poweredOn",
        existingState="poweredOff",
        faultCause=DataObject("SystemError", reason="x", faultCause=DataObject("NotSupported")),
        faultMessage=[DataObject("LocalizableMessage", key="k", message="m")],
    )
    out = C.encode(fault, "MethodFault")
    assert out["faultCause"] == {
        "_typeName": "SystemError",
        "reason": "x",
        "faultCause": {"_typeName": "NotSupported"},
    }
    assert C.decode(out, "MethodFault") == fault
    wrapped = DataObject(
        "LocalizedMethodFault", localizedMessage="boom", fault=DataObject("SystemError", reason="x")
    )
    e = error(
        C.encode,
        DataObject(
            "InvalidPowerState", requestedState="poweredOn", existingState="poweredOff", faultCause=wrapped
        ),
        "MethodFault",
    )
    assert e.path == "faultCause" and e.reason == "LocalizedMethodFault is not a MethodFault"
    e = error(C.decode, {**out, "faultCause": C.encode(wrapped, "LocalizedMethodFault")}, "MethodFault")
    assert e.path == "faultCause" and e.reason == "LocalizedMethodFault is not a MethodFault"
    e = error(
        C.decode,
        {
            "_typeName": "InvalidPowerState",
            "existingState": "poweredOff",
            "requestedState": "poweredOn",
            "dynamicType": "x",
        },
        "MethodFault",
    )
    assert e.path == "dynamicType" and "has no field" in e.reason  # faults derive from Any, not DynamicData
    e = error(C.decode, {"_typeName": "TaskInfo"}, "MethodFault", strict=False)
    assert e.reason == "TaskInfo is not a MethodFault"


def test_task_info_error_is_the_fault_object():
    info = {
        "_typeName": "TaskInfo",
        "key": "task-1",
        "task": {"_typeName": "ManagedObjectReference", "type": "Task", "value": "task-1"},
        "descriptionId": "VirtualMachine.powerOn",
        "state": "error",
        "cancelled": False,
        "cancelable": False,
        "queueTime": "2024-05-01T12:00:00Z",
        "eventChainId": 1,
        "reason": {"_typeName": "TaskReasonUser", "userName": "u"},
        "error": {
            "_typeName": "InvalidPowerState",
            "existingState": "poweredOn",
            "faultMessage": [{"_typeName": "LocalizableMessage", "key": "k", "message": "m"}],
        },
    }
    decoded = C.decode(info, "TaskInfo")
    assert (
        decoded["error"].type_name == "InvalidPowerState" and decoded["error"]["existingState"] == "poweredOn"
    )
    assert C.encode(decoded, "TaskInfo") == info
    e = error(
        C.decode, {**info, "error": {"_typeName": "LocalizedMethodFault", "fault": info["error"]}}, "TaskInfo"
    )
    assert e.path == "error" and e.reason == "LocalizedMethodFault is not a MethodFault"
