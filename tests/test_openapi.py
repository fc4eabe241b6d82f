"""OpenAPI export (VMware VI/JSON style, valid OpenAPI 3.0, loadable by schemathesis) and the diff."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from harness.contract import load_contracts
from harness.contract.openapi import export_openapi
from harness.contract.openapi_diff import SpecError, _same_type, descriptor, diff_openapi, load_spec
from harness.contract.store import default_contracts_dir
from harness.vmodl.codec import codec

FIXTURES = Path(__file__).parent / "fixtures" / "openapi"
R = "8.0.2.0"
# keywords of JSON Schema 2019-09/2020-12 that OpenAPI 3.0 does not know
NOT_OAS30 = {"const", "$defs", "if", "then", "else", "prefixItems", "unevaluatedProperties",
             "unevaluatedItems", "dependentRequired", "dependentSchemas", "$schema", "contains", "examples"}


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return export_openapi(load_contracts(), R)


def _op(doc: dict[str, Any], op_id: str) -> dict[str, Any]:
    for item in doc["paths"].values():
        for op in item.values():
            if op["operationId"] == op_id:
                return op
    raise AssertionError(op_id)


def _walk_schema(node: Any, found: list[str], refs: list[str]) -> None:
    if isinstance(node, list):
        for x in node:
            _walk_schema(x, found, refs)
    elif isinstance(node, dict):
        for key, value in node.items():
            if key in NOT_OAS30:
                found.append(key)
            if key == "$ref":
                refs.append(value)
            if key in ("properties", "mapping"):
                for sub in value.values():
                    _walk_schema(sub, found, refs)
            elif key not in ("enum", "required"):
                _walk_schema(value, found, refs)


def test_export_is_fast_and_valid_openapi_30(doc) -> None:
    from openapi_spec_validator import validate

    started = time.perf_counter()
    export_openapi(load_contracts(), R)
    assert time.perf_counter() - started < 5
    assert doc["openapi"].startswith("3.0.")
    validate(doc)  # ~7 s for 3000 schemas: once per test run


def test_vmware_style_frame(doc) -> None:
    server = doc["servers"][0]
    assert server["url"] == "https://{vcenter-host}/sdk/vim25/{release}"
    assert server["variables"]["release"]["default"] == R
    assert "vcenter-host" in server["variables"]
    assert doc["components"]["securitySchemes"]["Session"] == {
        "type": "apiKey", "in": "header", "name": "vmware-api-session-id",
        "description": doc["components"]["securitySchemes"]["Session"]["description"]}
    assert doc["security"] == [{"Session": []}]
    ids = [op["operationId"] for item in doc["paths"].values() for op in item.values()]
    contracts = load_contracts().for_release(R)
    assert sorted(ids) == sorted(c.id for c in contracts)
    for item in doc["paths"].values():
        for op in item.values():
            assert [p["name"] for p in op["parameters"]] == ["moId"]
            assert op["parameters"][0]["in"] == "path" and op["parameters"][0]["required"] is True
            assert "500" in op["responses"]
            assert op["responses"]["500"]["content"]["application/json"]["schema"] == {
                "$ref": "#/components/schemas/MethodFault"}


def test_login_and_service_content_need_no_session(doc) -> None:
    assert _op(doc, "SessionManager_Login")["security"] == []
    assert _op(doc, "ServiceInstance_getContent")["security"] == []
    assert "security" not in _op(doc, "VirtualMachine_PowerOnVM_Task")


def test_power_on_operation(doc) -> None:
    op = doc["paths"]["/VirtualMachine/{moId}/PowerOnVM_Task"]["post"]
    assert op["operationId"] == "VirtualMachine_PowerOnVM_Task"
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PowerOnVMRequestType"}
    body = doc["components"]["schemas"]["PowerOnVMRequestType"]
    assert body["properties"]["host"] == {"$ref": "#/components/schemas/MoRefHostSystem"}
    assert "required" not in body
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/MoRefTask"}
    assert "***Required privileges:*** VirtualMachine.Interact.PowerOn" in op["description"]
    assert "***InvalidState***:" in op["responses"]["500"]["description"]
    assert op["x-vsphere-privileges"] == ["VirtualMachine.Interact.PowerOn"]
    assert set(op["x-vsphere-faults"]) == {"TaskInProgress", "InvalidState", "InsufficientResourcesFault",
                                           "VmConfigFault", "FileFault"}
    assert op["x-vsphere-task-result"] == {"type": "void"}


def test_void_task_result_and_conditional_privileges(doc) -> None:
    snap = _op(doc, "VirtualMachine_CreateSnapshot_Task")
    assert snap["x-vsphere-task-result"] == {"type": "ManagedObjectReference", "moref": "VirtualMachineSnapshot"}
    assert doc["components"]["schemas"]["CreateSnapshotRequestType"]["required"] == ["name", "memory", "quiesce"]
    template = _op(doc, "VirtualMachine_MarkAsTemplate")
    assert set(template["responses"]) == {"204", "500"} and "requestBody" not in template
    clone = _op(doc, "VirtualMachine_CloneVM_Task")
    assert clone["x-vsphere-conditional-privileges"]
    assert all(c["privileges"] for c in clone["x-vsphere-conditional-privileges"])
    assert "x-vsphere-task-result" not in _op(doc, "VirtualMachine_getRuntime")


def test_schemas_are_openapi_30_with_allof_inheritance_and_discriminator(doc) -> None:
    schemas = doc["components"]["schemas"]
    assert len(schemas) > 2000
    found: list[str] = []
    refs: list[str] = []
    _walk_schema(doc, found, refs)
    assert not found, sorted(set(found))
    missing = {r for r in refs if r.rsplit("/", 1)[-1] not in schemas}
    assert not missing
    root = schemas["DataObject"]
    assert root["discriminator"]["propertyName"] == "_typeName"
    assert root["discriminator"]["mapping"]["VirtualMachineRuntimeInfo"] == \
        "#/components/schemas/VirtualMachineRuntimeInfo"
    runtime = schemas["VirtualMachineRuntimeInfo"]
    assert runtime["allOf"][0] == {"$ref": "#/components/schemas/DynamicData"}
    assert runtime["allOf"][1]["properties"]["powerState"] == {"$ref": "#/components/schemas/VirtualMachinePowerState_enum"}
    assert schemas["VirtualMachinePowerState_enum"] == {"type": "string",
                                                        "enum": ["poweredOff", "poweredOn", "suspended"]}
    # a type and its subtypes may stand where the type is declared
    assert "FaultTolerancePrimaryConfigInfo" in schemas["FaultToleranceConfigInfo"]["allOf"][1]["properties"][
        "_typeName"]["enum"]
    assert schemas["MoRefVirtualMachine"]["allOf"][0] == {"$ref": "#/components/schemas/ManagedObjectReference"}


def test_release_specific_export() -> None:
    old = export_openapi(load_contracts(), "8.0.1.0")
    new = export_openapi(load_contracts(), "9.1.0.0")
    assert "/VirtualMachine/{moId}/RepairVmDiskChains_Task" in new["paths"]
    assert "/VirtualMachine/{moId}/RepairVmDiskChains_Task" not in old["paths"]
    assert "spec" in new["components"]["schemas"]["RemoveAllSnapshotsRequestType"]["properties"]
    assert "spec" not in old["components"]["schemas"]["RemoveAllSnapshotsRequestType"]["properties"]


def test_schemathesis_loads_it_and_generated_bodies_decode(doc) -> None:
    import schemathesis

    schema = schemathesis.openapi.from_dict(doc)
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) == sum(len(item) for item in doc["paths"].values())
    for op_id in ("VirtualMachine_CreateSnapshot_Task", "VirtualMachine_Rename_Task", "VirtualMachine_AnswerVM"):
        operation = next(o for o in operations if o.definition.raw.get("operationId") == op_id)
        assert _generated_bodies_decode(operation, load_contracts().get(op_id))


def _generated_bodies_decode(operation, contract) -> list[Any]:
    """Bodies schemathesis generates from the export are valid for the one codec."""
    seen: list[Any] = []

    @settings(max_examples=15, derandomize=True, deadline=None, database=None,
              suppress_health_check=list(HealthCheck))
    @given(operation.as_strategy())
    def body_decodes(case) -> None:
        seen.append(case.body)
        for p in contract.params_for(R):
            if p.name in case.body:
                codec(R).decode(case.body[p.name], p.type, strict=True)
            else:
                assert not p.required

    body_decodes()
    return seen


# --- the diff -------------------------------------------------------------------------------------------
SUBSET = ["VirtualMachine/PowerOnVM_Task.yaml", "VirtualMachine/MarkAsTemplate.yaml",
          "VirtualMachine/Rename_Task.yaml", "VirtualMachine/CreateSnapshot_Task.yaml",
          "VirtualMachine/get/runtime.yaml", "VirtualMachine/get/guestHeartbeatStatus.yaml",
          "Folder/CreateFolder.yaml"]


@pytest.fixture(scope="module")
def subset(tmp_path_factory) -> Path:
    """A contracts directory with just the operations of the hand-made documents."""
    root = tmp_path_factory.mktemp("subset") / "contracts"
    for rel in SUBSET:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(default_contracts_dir() / rel, root / rel)
    return root


def test_export_and_contracts_do_not_differ(doc) -> None:
    contracts = load_contracts()
    assert diff_openapi(contracts, doc, R) == []
    assert diff_openapi(contracts, doc, R, everything=True) == []
    newer = diff_openapi(contracts, doc, "9.1.0.0")
    assert {(d.operation, d.aspect) for d in newer} == {
        ("VirtualMachine_RepairVmDiskChains_Task", "missing"), ("VirtualMachine_RemoveAllSnapshots_Task", "request")}


def test_hand_made_equal_document(subset: Path) -> None:
    spec = load_spec(FIXTURES / "vi_json_equal.json")
    assert diff_openapi(load_contracts(subset), spec, R) == []
    assert diff_openapi(load_contracts(subset), spec, R, everything=True) == []


def test_hand_made_document_with_each_kind_of_difference(subset: Path) -> None:
    spec = load_spec(FIXTURES / "vi_json_different.json")
    found = {(d.operation, d.aspect, d.message) for d in diff_openapi(load_contracts(subset), spec, R)}
    assert found == {
        ("VirtualMachine_CreateSnapshot_Task", "method", "contract POST, document GET"),
        ("VirtualMachine_CreateSnapshot_Task", "request", "parameter 'memory': contract boolean, document string"),
        ("VirtualMachine_MarkAsTemplate", "status", "contract 204, document 200"),
        ("VirtualMachine_PowerOnVM_Task", "privileges",
         "contract VirtualMachine.Interact.PowerOn, document VirtualMachine.Interact.PowerOff"),
        ("VirtualMachine_PowerOnVM_Task", "faults", "FileFault is declared by the contract, not by the document"),
        ("VirtualMachine_PowerOnVM_Task", "faults",
         "InvalidPowerState is declared by the document, not by the contract"),
        ("VirtualMachine_Rename_Task", "request", "body type: contract RenameRequestType, document RenameTaskRequestType"),
        ("VirtualMachine_Rename_Task", "request", "the document has parameter 'force' (boolean), the contract not"),
        ("VirtualMachine_Rename_Task", "request",
         "parameter 'newName' is required in the contract, optional in the document"),
        ("VirtualMachine_getGuestHeartbeatStatus", "missing",
         "GET /VirtualMachine/{moId}/guestHeartbeatStatus is in the contracts, not in the document"),
        ("VirtualMachine_getRuntime", "operationId", "the document calls it 'VirtualMachine_getRuntimeInfo'"),
        ("VirtualMachine_getRuntime", "response",
         "response type: contract VirtualMachineRuntimeInfo, document VirtualMachineSummary"),
        ("VirtualMachine_FooBar_Task", "extra", "POST /VirtualMachine/{moId}/FooBar_Task is in the document, not in "
                                                "the contracts"),
    }
    everything = diff_openapi(load_contracts(subset), spec, R, everything=True)
    folder = [d for d in everything if d.operation == "Folder_CreateFolder"]
    assert [(d.aspect, d.contract, d.spec) for d in folder] == [("privileges", ["Folder.Create"], ["Folder.Delete"])]


def test_descriptors() -> None:
    assert descriptor({"$ref": "#/components/schemas/MoRefTask"}) == "moref:Task"
    assert descriptor({"$ref": "#/components/schemas/ManagedEntityStatus_enum"}) == "ManagedEntityStatus"
    assert descriptor({"type": "array", "items": {"type": "integer", "format": "int64"}}) == "long[]"
    assert descriptor({"nullable": True, "allOf": [{"$ref": "#/x/VirtualMachineConfigInfo"}]}) == \
        "VirtualMachineConfigInfo"
    assert descriptor({"type": "string", "format": "date-time"}) == "dateTime"


@pytest.mark.parametrize("mine, theirs, same", [
    ("moref:Task", "moref", True), ("moref[]", "moref:Datastore[]", True), ("moref:Task", "moref:Folder", False),
    ("ManagedEntityStatus", "ManagedEntityStatusEnum", True), ("DataObject", "Any", True),
    ("string", "int", False), ("string[]", "string", False), ("VirtualMachineConfigInfo", "Any", False),
])
def test_type_tolerance(mine: str, theirs: str, same: bool) -> None:
    assert _same_type(mine, theirs) is same


@pytest.mark.parametrize("content, message", [
    (None, "cannot read"),
    ("{not json", "not JSON"),
    ('{"swagger": "2.0", "paths": {}}', "not an OpenAPI 3 document"),
    ('{"openapi": "3.0.0"}', "no `paths` object"),
    ("[1, 2]", "not an OpenAPI 3 document"),
])
def test_unreadable_or_non_openapi_files(tmp_path: Path, content: str | None, message: str) -> None:
    path = tmp_path / "spec.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(SpecError, match=message) as err:
        load_spec(path)
    assert "\n" not in str(err.value)


def test_json_fixtures_are_what_the_tests_say() -> None:
    equal = json.loads((FIXTURES / "vi_json_equal.json").read_text())
    assert {p.split("/")[1] for p in equal["paths"]} == {"VirtualMachine", "Folder"}
