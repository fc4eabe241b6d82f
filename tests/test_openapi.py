"""OpenAPI export (VMware VI/JSON style, valid OpenAPI 3.0, loadable by schemathesis) and the diff."""

from __future__ import annotations

import json
import shutil
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from openapi_spec_validator import validate

from harness.contract import load_contracts
from harness.contract.openapi import REFINEMENT, REFINEMENTS, REQUEST_COPY, export_openapi, flatten_openapi
from harness.contract.openapi_diff import (
    SpecError,
    _refines,
    _same_type,
    descriptor,
    diff_openapi,
    differences,
    load_spec,
    render_text,
)
from harness.contract.store import default_contracts_dir
from harness.gen.strategies import values
from harness.vmodl.codec import codec

FIXTURES = Path(__file__).parent / "fixtures" / "openapi"
R = "8.0.2.0"
# keywords of JSON Schema 2019-09/2020-12 that OpenAPI 3.0 does not know
NOT_OAS30 = {
    "const",
    "$defs",
    "if",
    "then",
    "else",
    "prefixItems",
    "unevaluatedProperties",
    "unevaluatedItems",
    "dependentRequired",
    "dependentSchemas",
    "$schema",
    "contains",
    "examples",
}


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
        "type": "apiKey",
        "in": "header",
        "name": "vmware-api-session-id",
        "description": doc["components"]["securitySchemes"]["Session"]["description"],
    }
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
                "$ref": "#/components/schemas/MethodFault"
            }


def test_login_and_service_content_need_no_session(doc) -> None:
    assert _op(doc, "SessionManager_Login")["security"] == []
    assert _op(doc, "ServiceInstance_getContent")["security"] == []
    assert "security" not in _op(doc, "VirtualMachine_PowerOnVM_Task")


def test_power_on_operation(doc) -> None:
    op = doc["paths"]["/VirtualMachine/{moId}/PowerOnVM_Task"]["post"]
    assert op["operationId"] == "VirtualMachine_PowerOnVM_Task"
    assert op["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/PowerOnVMRequestType"
    }
    body = doc["components"]["schemas"]["PowerOnVMRequestType"]
    assert body["properties"]["host"] == {"$ref": "#/components/schemas/MoRefHostSystem"}
    assert "required" not in body
    assert op["responses"]["200"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/MoRefTask"
    }
    assert "***Required privileges:*** VirtualMachine.Interact.PowerOn" in op["description"]
    assert "***InvalidState***:" in op["responses"]["500"]["description"]
    assert op["x-vsphere-privileges"] == ["VirtualMachine.Interact.PowerOn"]
    assert set(op["x-vsphere-faults"]) == {
        "TaskInProgress",
        "InvalidState",
        "InsufficientResourcesFault",
        "VmConfigFault",
        "FileFault",
    }
    assert op["x-vsphere-task-result"] == {"type": "void"}


def test_void_task_result_and_conditional_privileges(doc) -> None:
    snap = _op(doc, "VirtualMachine_CreateSnapshot_Task")
    assert snap["x-vsphere-task-result"] == {
        "type": "ManagedObjectReference",
        "moref": "VirtualMachineSnapshot",
    }
    assert doc["components"]["schemas"]["CreateSnapshotRequestType"]["required"] == [
        "name",
        "memory",
        "quiesce",
    ]
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
    # VMware's root: Any, with the _typeName discriminator; DataObject and MethodFault derive from it
    root = schemas["Any"]
    assert root["discriminator"]["propertyName"] == "_typeName" and root["required"] == ["_typeName"]
    mapping = root["discriminator"]["mapping"]
    for name in (
        "VirtualMachineRuntimeInfo",
        "InvalidPowerState",
        "ManagedObjectReference",
        "int",
        "string",
        "VirtualMachinePowerState",
        "ArrayOfString",
        "ArrayOfManagedObjectReference",
        "ArrayOfVirtualMachinePowerState",
        "ArrayOfLocalizedMethodFault",
        "ArrayOfAnyType",
    ):
        assert mapping[name] == f"#/components/schemas/{name}", name
    assert "DataObject" not in mapping.values() or mapping["DataObject"] == "#/components/schemas/DataObject"
    assert schemas["DataObject"]["allOf"][0] == {"$ref": "#/components/schemas/Any"}
    assert schemas["MethodFault"]["allOf"][0] == {"$ref": "#/components/schemas/Any"}
    assert "InvalidPowerState" not in schemas["DynamicData"]["allOf"][1].get("properties", {}).get(
        "_typeName", {}
    ).get("enum", [])
    runtime = schemas["VirtualMachineRuntimeInfo"]
    assert runtime["allOf"][0] == {"$ref": "#/components/schemas/DynamicData"}
    assert runtime["allOf"][1]["properties"]["powerState"] == {
        "$ref": "#/components/schemas/VirtualMachinePowerState_enum"
    }
    assert schemas["VirtualMachinePowerState_enum"] == {
        "type": "string",
        "enum": ["poweredOff", "poweredOn", "suspended"],
    }
    # a type and its subtypes may stand where the type is declared
    assert (
        "FaultTolerancePrimaryConfigInfo"
        in schemas["FaultToleranceConfigInfo"]["allOf"][1]["properties"]["_typeName"]["enum"]
    )
    assert schemas["MoRefVirtualMachine"]["allOf"][0] == {
        "$ref": "#/components/schemas/ManagedObjectReference"
    }


def test_vmware_schema_names(doc) -> None:
    """MoTypes_enum, <Name>_enum, boxed <Name> with _value, ArrayOf<Name> (VMware's names)."""
    schemas = doc["components"]["schemas"]
    assert "MoTypesEnum" not in schemas
    assert schemas["ManagedObjectReference"]["properties"]["type"] == {
        "$ref": "#/components/schemas/MoTypes_enum"
    }
    assert "VirtualMachine" in schemas["MoTypes_enum"]["enum"]
    boxed = schemas["VirtualMachinePowerState"]["allOf"]
    assert boxed[0] == {"$ref": "#/components/schemas/Any"}
    assert boxed[1]["properties"]["_value"] == {"$ref": "#/components/schemas/VirtualMachinePowerState_enum"}
    assert boxed[1]["required"] == ["_value"]
    assert schemas["long"]["allOf"][1]["properties"]["_value"]["format"] == "int64"
    array = schemas["ArrayOfManagedObjectReference"]["allOf"][1]["properties"]["_value"]
    assert array == {"type": "array", "items": {"$ref": "#/components/schemas/ManagedObjectReference"}}
    assert schemas["ArrayOfAnyType"]["allOf"][1]["properties"]["_value"]["items"] == {
        "$ref": "#/components/schemas/Any"
    }
    # an anyType position is an Any
    info = schemas["TaskInfo"]["allOf"][1]["properties"]
    assert info["result"] == {"$ref": "#/components/schemas/Any"}


def test_faults_in_data_are_method_faults(doc) -> None:
    """TaskInfo.error, faultCause and QueryFaultToleranceCompatibility[Ex]'s items are MethodFault;
    LocalizedMethodFault is a type of its own that no property refers to."""
    schemas = doc["components"]["schemas"]
    method_fault = {"$ref": "#/components/schemas/MethodFault"}
    assert schemas["TaskInfo"]["allOf"][1]["properties"]["error"] == method_fault
    assert schemas["MethodFault"]["allOf"][1]["properties"]["faultCause"] == method_fault
    for op_id in (
        "VirtualMachine_QueryFaultToleranceCompatibility",
        "VirtualMachine_QueryFaultToleranceCompatibilityEx",
    ):
        schema = _op(doc, op_id)["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema == {"type": "array", "items": method_fault, "nullable": True}
    lmf = schemas["LocalizedMethodFault"]["allOf"][1]
    assert lmf["properties"]["fault"] == method_fault and lmf["required"] == ["fault"]
    referring = []
    for name, schema in schemas.items():
        if name in ("Any", "ArrayOfLocalizedMethodFault"):
            continue  # the discriminator mapping; the boxed array of it
        found: list[str] = []
        refs: list[str] = []
        _walk_schema(schema, found, refs)
        if "#/components/schemas/LocalizedMethodFault" in refs:
            referring.append(name)
    assert referring == []


def test_array_results_of_methods_are_nullable(doc) -> None:
    for item in doc["paths"].values():
        for op in item.values():
            ok = op["responses"].get("200")
            schema = ok["content"]["application/json"]["schema"] if ok else {}
            if schema.get("type") == "array" and op["operationId"].split("_", 1)[1][:3] != "get":
                assert schema["nullable"] is True, op["operationId"]
    assert (
        _op(doc, "VirtualMachine_QueryUnownedFiles")["responses"]["200"]["content"]["application/json"][
            "schema"
        ]["nullable"]
        is True
    )


def test_refinements_are_stated(doc) -> None:
    assert doc["info"]["x-vsphere-harness-refinements"] == REFINEMENTS
    schemas = doc["components"]["schemas"]
    marked = {n: s[REFINEMENT] for n, s in schemas.items() if REFINEMENT in s}
    assert marked and all(v == "typed-reference" for v in marked.values())
    assert set(marked) == {n for n in schemas if n.startswith("MoRef")}
    ops = {
        op["operationId"]: op.get(REFINEMENT, []) for item in doc["paths"].values() for op in item.values()
    }
    assert ops["VirtualMachine_ReconfigVM_Task"] == ["conditional-privileges"]
    assert ops["VirtualMachine_Rename_Task"] == ["curated-privileges"]
    assert ops["VirtualMachine_RelocateVM_Task"] == ["curated-privileges", "conditional-privileges"]
    assert ops["VirtualMachine_getRecentTask"] == ["default-privileges"]
    assert ops["VirtualMachine_PowerOnVM_Task"] == []
    assert {k for v in ops.values() for k in v} <= set(REFINEMENTS)
    repair = _op(export_openapi(load_contracts(), "9.1.0.0"), "VirtualMachine_RepairVmDiskChains_Task")
    assert repair[REFINEMENT] == ["conditional-privileges"] and "requestBody" not in repair
    assert repair["x-vsphere-privileges"] == []
    assert repair["x-vsphere-conditional-privileges"] == [
        {
            "when": {"target": "config.hardware.device", "present": True},
            "privileges": ["Datastore.FileManagement"],
            "on": {"target": "config.hardware.device", "each": "VirtualDisk", "path": "backing.datastore"},
            "description": repair["x-vsphere-conditional-privileges"][0]["description"],
        }
    ]


def test_release_specific_export() -> None:
    old = export_openapi(load_contracts(), "8.0.1.0")
    new = export_openapi(load_contracts(), "9.1.0.0")
    assert "/VirtualMachine/{moId}/RepairVmDiskChains_Task" in new["paths"]
    assert "/VirtualMachine/{moId}/RepairVmDiskChains_Task" not in old["paths"]
    assert "spec" in new["components"]["schemas"]["RemoveAllSnapshotsRequestType"]["properties"]
    assert "spec" not in old["components"]["schemas"]["RemoveAllSnapshotsRequestType"]["properties"]


def test_schemathesis_loads_it_and_generated_bodies_decode(doc) -> None:
    schema = schemathesis.openapi.from_dict(doc)
    operations = [op.ok() for op in schema.get_all_operations()]
    assert len(operations) == sum(len(item) for item in doc["paths"].values())
    for op_id in (
        "VirtualMachine_CreateSnapshot_Task",
        "VirtualMachine_Rename_Task",
        "VirtualMachine_AnswerVM",
    ):
        operation = next(o for o in operations if o.definition.raw.get("operationId") == op_id)
        assert _generated_bodies_decode(operation, load_contracts().get(op_id))


def _generated_bodies_decode(operation, contract) -> list[Any]:
    """Bodies schemathesis generates from the export are valid for the one codec."""
    seen: list[Any] = []

    @settings(
        max_examples=15,
        derandomize=True,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
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
SUBSET = [
    "VirtualMachine/PowerOnVM_Task.yaml",
    "VirtualMachine/MarkAsTemplate.yaml",
    "VirtualMachine/Rename_Task.yaml",
    "VirtualMachine/CreateSnapshot_Task.yaml",
    "VirtualMachine/get/runtime.yaml",
    "VirtualMachine/get/guestHeartbeatStatus.yaml",
    "Folder/CreateFolder.yaml",
]


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
    assert {(d.operation, d.aspect) for d in newer if d.aspect != "schema"} == {
        ("VirtualMachine_RepairVmDiskChains_Task", "missing"),
        ("VirtualMachine_RemoveAllSnapshots_Task", "request"),
    }
    # the schemas are compared too: 9.1.0.0 adds fields and managed types to 8.0.2.0's
    schema = {(d.operation, d.contract) for d in newer if d.aspect == "schema"}
    assert ("VirtualDisk", "diskChainBrokenIssue") in schema and ("MoTypes_enum", "TransitGateway") in schema
    assert not [d for d in newer if d.refinement]


# vi_json_equal.json and vi_json_different.json sketch their component schemas (a field or two): they
# exercise the comparison of operations, with schemas=False
def test_hand_made_equal_document(subset: Path) -> None:
    spec = load_spec(FIXTURES / "vi_json_equal.json")
    assert diff_openapi(load_contracts(subset), spec, R, schemas=False) == []
    assert diff_openapi(load_contracts(subset), spec, R, everything=True, schemas=False) == []
    assert differences(diff_openapi(load_contracts(subset), spec, R))  # the sketched schemas do differ


def test_hand_made_document_with_each_kind_of_difference(subset: Path) -> None:
    spec = load_spec(FIXTURES / "vi_json_different.json")
    found = {
        (d.operation, d.aspect, d.message)
        for d in diff_openapi(load_contracts(subset), spec, R, schemas=False)
    }
    assert found == {
        ("VirtualMachine_CreateSnapshot_Task", "method", "contract POST, document GET"),
        (
            "VirtualMachine_CreateSnapshot_Task",
            "request",
            "parameter 'memory': contract boolean, document string",
        ),
        ("VirtualMachine_MarkAsTemplate", "status", "contract 204, document 200"),
        (
            "VirtualMachine_PowerOnVM_Task",
            "privileges",
            "contract VirtualMachine.Interact.PowerOn, document VirtualMachine.Interact.PowerOff",
        ),
        (
            "VirtualMachine_PowerOnVM_Task",
            "faults",
            "FileFault is declared by the contract, not by the document",
        ),
        (
            "VirtualMachine_PowerOnVM_Task",
            "faults",
            "InvalidPowerState is declared by the document, not by the contract",
        ),
        (
            "VirtualMachine_Rename_Task",
            "request",
            "body type: contract RenameRequestType, document RenameTaskRequestType",
        ),
        (
            "VirtualMachine_Rename_Task",
            "request",
            "the document has parameter 'force' (boolean), the contract not",
        ),
        (
            "VirtualMachine_Rename_Task",
            "request",
            "parameter 'newName' is required in the contract, optional in the document",
        ),
        (
            "VirtualMachine_getGuestHeartbeatStatus",
            "missing",
            "GET /VirtualMachine/{moId}/guestHeartbeatStatus is in the contracts, not in the document",
        ),
        ("VirtualMachine_getRuntime", "operationId", "the document calls it 'VirtualMachine_getRuntimeInfo'"),
        (
            "VirtualMachine_getRuntime",
            "response",
            "response type: contract VirtualMachineRuntimeInfo, document VirtualMachineSummary",
        ),
        (
            "VirtualMachine_FooBar_Task",
            "extra",
            "POST /VirtualMachine/{moId}/FooBar_Task is in the document, not in the contracts",
        ),
    }
    everything = diff_openapi(load_contracts(subset), spec, R, everything=True, schemas=False)
    folder = [d for d in everything if d.operation == "Folder_CreateFolder"]
    assert [(d.aspect, d.contract, d.spec) for d in folder] == [
        ("privileges", ["Folder.Create"], ["Folder.Delete"])
    ]


def test_descriptors() -> None:
    assert descriptor({"$ref": "#/components/schemas/MoRefTask"}) == "moref:Task"
    assert descriptor({"$ref": "#/components/schemas/ManagedEntityStatus_enum"}) == "ManagedEntityStatus"
    assert descriptor({"type": "array", "items": {"type": "integer", "format": "int64"}}) == "long[]"
    assert (
        descriptor({"nullable": True, "allOf": [{"$ref": "#/x/VirtualMachineConfigInfo"}]})
        == "VirtualMachineConfigInfo"
    )
    assert descriptor({"type": "string", "format": "date-time"}) == "dateTime"


@pytest.mark.parametrize(
    "mine, theirs, same",
    [
        ("moref:Task", "moref", True),
        ("moref[]", "moref:Datastore[]", True),
        ("moref:Task", "moref:Folder", False),
        ("ManagedEntityStatus", "ManagedEntityStatusEnum", True),
        ("Any", "anyType", True),
        ("DataObject", "Any", False),
        ("MethodFault", "LocalizedMethodFault", False),
        ("MethodFault[]", "LocalizedMethodFault[]", False),
        ("string", "int", False),
        ("string[]", "string", False),
        ("VirtualMachineConfigInfo", "Any", False),
    ],
)
def test_type_tolerance(mine: str, theirs: str, same: bool) -> None:
    assert _same_type(mine, theirs) is same


@pytest.mark.parametrize(
    "mine, theirs, refines",
    [
        ("moref:Task", "moref", True),
        ("moref:Datastore[]", "moref[]", True),
        ("moref:Task[]", "moref", False),
        ("moref", "moref:Task", False),
        ("moref", "moref", False),
        ("moref:Task", "moref:Folder", False),
    ],
)
def test_typed_reference_refines_a_plain_one(mine: str, theirs: str, refines: bool) -> None:
    assert _refines(mine, theirs) is refines


@pytest.mark.parametrize(
    "content, message",
    [
        (None, "cannot read"),
        ("{not json", "not JSON"),
        ('{"swagger": "2.0", "paths": {}}', "not an OpenAPI 3 document"),
        ('{"openapi": "3.0.0"}', "no `paths` object"),
        ("[1, 2]", "not an OpenAPI 3 document"),
    ],
)
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


# --- VMware's format -------------------------------------------------------------------------------------
VMWARE = FIXTURES / "vi_json_vmware_9.1.0.0.json"
VMWARE_OPS = [
    "VirtualMachine/PowerOnVM_Task.yaml",
    "VirtualMachine/RepairVmDiskChains_Task.yaml",
    "VirtualMachine/QueryFaultToleranceCompatibility.yaml",
    "VirtualMachine/get/recentTask.yaml",
    "Task/get/info.yaml",
]
#: (operation or schema, aspect, refinement) that the contracts add to VMware's document, and only these
VMWARE_REFINEMENTS = {
    ("VirtualMachine_PowerOnVM_Task", "request", "typed-reference"),  # host: MoRefHostSystem
    ("VirtualMachine_PowerOnVM_Task", "response", "typed-reference"),  # MoRefTask
    ("VirtualMachine_RepairVmDiskChains_Task", "response", "typed-reference"),
    (
        "VirtualMachine_RepairVmDiskChains_Task",
        "privileges",
        "conditional-privileges",
    ),  # each disk's datastore
    ("VirtualMachine_getRecentTask", "response", "typed-reference"),  # MoRefTask[]
    ("VirtualMachine_getRecentTask", "privileges", "default-privileges"),  # System.Read
    ("TaskInfo", "schema", "typed-reference"),  # task, entity, locked
}


@pytest.fixture(scope="module")
def vmware_contracts(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("vmware") / "contracts"
    for rel in VMWARE_OPS:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(default_contracts_dir() / rel, root / rel)
    return root


def _vmware() -> dict[str, Any]:
    return load_spec(VMWARE)


def test_vmware_fixture_is_valid_openapi_in_vmware_names() -> None:
    spec = _vmware()
    validate(spec)
    schemas = spec["components"]["schemas"]
    assert {
        "TaskInfo",
        "MethodFault",
        "ManagedObjectReference",
        "MoTypes_enum",
        "VirtualMachinePowerState_enum",
        "Any",
    } <= set(schemas)
    assert not [n for n in schemas if n.startswith("MoRef")]  # VMware has no typed references
    # like with like: every schema name of VMware's document is a schema name of our export
    ours = export_openapi(load_contracts(), "9.1.0.0")["components"]["schemas"]
    assert set(schemas) <= set(ours), sorted(set(schemas) - set(ours))


def test_vmware_fixture_reports_only_the_documented_refinements(vmware_contracts: Path) -> None:
    for everything in (False, True):
        diffs = diff_openapi(load_contracts(vmware_contracts), _vmware(), "9.1.0.0", everything=everything)
        assert differences(diffs) == [], [str(d) for d in differences(diffs)]
        assert {(d.operation, d.aspect, d.refinement) for d in diffs} == VMWARE_REFINEMENTS | (
            {("Task_getInfo", "privileges", "default-privileges")} if everything else set()
        )
    typed = sorted(d.contract for d in diffs if d.operation == "TaskInfo")
    assert typed == ["moref:ManagedEntity", "moref:ManagedEntity[]", "moref:Task"]
    repair = next(d for d in diffs if d.refinement == "conditional-privileges")
    assert (
        "Datastore.FileManagement on each config.hardware.device[VirtualDisk].backing.datastore"
        in repair.message
    )
    text = render_text(diffs, "9.1.0.0", "vmware.json")
    assert text.splitlines()[-1] == "no differences between the contracts of 9.1.0.0 and vmware.json"
    assert "10 documented refinements" in text and "typed-reference: 7" in text  # TaskInfo: 3 fields


def _set(path: list[Any], value: Any) -> Callable[[dict[str, Any]], None]:
    def edit(spec: dict[str, Any]) -> None:
        node = spec
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return edit


def _schema(name: str) -> list[Any]:
    return ["components", "schemas", name]


def _props(name: str) -> list[Any]:
    return [*_schema(name), "allOf", 1, "properties"]


LMF = {"$ref": "#/components/schemas/LocalizedMethodFault"}
FT_200 = [
    "paths",
    "/VirtualMachine/{moId}/QueryFaultToleranceCompatibility",
    "post",
    "responses",
    "200",
    "content",
    "application/json",
    "schema",
]
REPAIR = ["paths", "/VirtualMachine/{moId}/RepairVmDiskChains_Task", "post"]


@pytest.mark.parametrize(
    "name, change, where, fragment",
    [
        (
            "task-error-localized",
            _set([*_props("TaskInfo"), "error"], LMF),
            ("TaskInfo", "schema"),
            "field 'error': release 9.1.0.0 MethodFault, document LocalizedMethodFault",
        ),
        (
            "fault-cause-localized",
            _set([*_props("MethodFault"), "faultCause"], LMF),
            ("MethodFault", "schema"),
            "field 'faultCause': release 9.1.0.0 MethodFault, document LocalizedMethodFault",
        ),
        (
            "method-fault-is-data",
            _set([*_schema("MethodFault"), "allOf", 0], {"$ref": "#/components/schemas/DataObject"}),
            ("MethodFault", "schema"),
            "derives from Any in release 9.1.0.0, from DataObject in the document",
        ),
        (
            "ft-items-localized",
            _set([*FT_200, "items"], LMF),
            ("VirtualMachine_QueryFaultToleranceCompatibility", "response"),
            "response type: contract MethodFault[], document LocalizedMethodFault[]",
        ),
        (
            "ft-not-nullable",
            _set([*FT_200, "nullable"], False),
            ("VirtualMachine_QueryFaultToleranceCompatibility", "response"),
            "nullable: contract true, document false",
        ),
        (
            "motype-missing",
            _set([*_schema("MoTypes_enum"), "enum"], ["Task", "VirtualMachine"]),
            ("MoTypes_enum", "schema"),
            "value 'HostSystem' is in release 9.1.0.0, not in the document",
        ),
        (
            "power-state-extra",
            _set(
                [*_schema("VirtualMachinePowerState_enum"), "enum"],
                ["poweredOff", "poweredOn", "suspended", "standby"],
            ),
            ("VirtualMachinePowerState_enum", "schema"),
            "value 'standby' is in the document, not in release 9.1.0.0",
        ),
        (
            "existing-state-optional",
            _set([*_schema("InvalidPowerState"), "allOf", 1, "required"], []),
            ("InvalidPowerState", "schema"),
            "field 'existingState' is required in release 9.1.0.0, optional in the document",
        ),
        (
            "task-info-field-renamed",
            _set([*_props("TaskInfo"), "completedTime"], {"type": "string", "format": "date-time"}),
            ("TaskInfo", "schema"),
            "the document has field 'completedTime' (dateTime), release 9.1.0.0 not",
        ),
        (
            "repair-old-guess",
            _set(
                [*REPAIR, "description"],
                "Repairs.\n\n***Required privileges:*** VirtualMachine.Config.Settings",
            ),
            ("VirtualMachine_RepairVmDiskChains_Task", "privileges"),
            "contract none, document VirtualMachine.Config.Settings",
        ),
        (
            "repair-with-body",
            _set(
                [*REPAIR, "requestBody"],
                {
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/PowerOnVMRequestType"}}
                    }
                },
            ),
            ("VirtualMachine_RepairVmDiskChains_Task", "request"),
            "the contract takes no body, the document does",
        ),
        (
            "power-on-privilege",
            _set(
                ["paths", "/VirtualMachine/{moId}/PowerOnVM_Task", "post", "description"],
                "***Required privileges:*** VirtualMachine.Interact.Reset",
            ),
            ("VirtualMachine_PowerOnVM_Task", "privileges"),
            "contract VirtualMachine.Interact.PowerOn, document VirtualMachine.Interact.Reset",
        ),
    ],
)
def test_vmware_fixture_changed_reports_the_difference(
    vmware_contracts: Path, name, change, where, fragment
) -> None:
    spec = _vmware()
    change(spec)
    found = differences(diff_openapi(load_contracts(vmware_contracts), spec, "9.1.0.0"))
    assert any((d.operation, d.aspect) == where and fragment in d.message for d in found), [
        str(d) for d in found
    ]


def _validator(document: dict[str, Any], name: str) -> Any:
    """A Draft 4 validator of one component of ``document`` (OpenAPI 3.0's schema dialect)."""
    return jsonschema.Draft4Validator(
        {"$ref": f"#/components/schemas/{name}", "components": document["components"]}
    )


def test_flattened_export_leaves_the_export_unchanged_and_has_no_inheritance(doc) -> None:
    before = json.dumps(doc, sort_keys=True)
    flat = flatten_openapi(doc)
    assert json.dumps(doc, sort_keys=True) == before  # the exported document is not touched
    schemas = flat["components"]["schemas"]
    for name in ("VirtualMachineCloneSpec", "VirtualDisk", "TaskInfo", "InvalidState", "MoRefVirtualMachine"):
        assert "allOf" not in schemas[name], name
        assert schemas[name]["type"] == "object"
    disk = schemas["VirtualDisk"]
    assert {"key", "capacityInKB", "_typeName"} <= set(disk["properties"])  # VirtualDevice's and its own
    assert (
        disk["properties"]["_typeName"]["enum"]
        == doc["components"]["schemas"]["VirtualDisk"]["allOf"][1]["properties"]["_typeName"]["enum"]
    )
    assert set(schemas["MoRefVirtualMachine"]["properties"]["type"]["enum"]) <= set(
        schemas["MoTypes_enum"]["enum"]
    )
    # request bodies point at closed copies; responses at the open schemas
    clone = _op(flat, "VirtualMachine_CloneVM_Task")
    body = clone["requestBody"]["content"]["application/json"]["schema"]["$ref"]
    assert body.endswith("CloneVMRequestType" + REQUEST_COPY)
    assert schemas["VirtualMachineCloneSpec" + REQUEST_COPY]["additionalProperties"] is False
    assert "additionalProperties" not in schemas["VirtualMachineCloneSpec"]
    assert "additionalProperties" not in schemas["Any"]
    task = _op(flat, "VirtualMachine_PowerOnVM_Task")["responses"]["200"]["content"]["application/json"][
        "schema"
    ]
    assert not task["$ref"].endswith(REQUEST_COPY)


@pytest.mark.parametrize(
    "type_name", ["VirtualMachineCloneSpec", "VirtualMachineConfigInfo", "TaskInfo", "MethodFault"]
)
def test_flattened_schemas_admit_what_the_export_admits(doc, type_name: str) -> None:
    """Same verdict from the export and from the flattened (open) schema, on valid and broken bodies."""
    flat = flatten_openapi(doc)
    exported, flattened = _validator(doc, type_name), _validator(flat, type_name)
    c = codec(R)
    bodies: list[Any] = []

    @settings(max_examples=15, database=None, deadline=None, suppress_health_check=list(HealthCheck))
    @given(values(type_name, R, max_depth=2))
    def collect(value: Any) -> None:
        bodies.append(c.encode(value, type_name))

    collect()
    broken = [{**b, "_typeName": 7} for b in bodies if isinstance(b, dict)] + [
        [],
        "x",
        {"_typeName": "NoSuchType"},
    ]
    assert bodies
    for body in bodies + broken:
        assert exported.is_valid(body) == flattened.is_valid(body), body
    assert all(exported.is_valid(b) for b in bodies)
