"""``contracts check``: the file format schema and the cross-check with the type registry.

A copy of the repository's contracts is broken in many files, one way per file; the check must
report each breakage with a precise message, and nothing in the files left alone.
"""

from __future__ import annotations

import copy
import functools
import json
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.contract.lint import (
    SCHEMA_FILE,
    check_contracts,
    check_mapping,
    contract_schema,
    schema_problems,
)
from harness.contract.store import default_contracts_dir
from harness.vmodl.registry import RELEASES

ALL = "releases 8.0.1.0 to 9.1.0.0"


def _sem(**extra: Any) -> dict[str, Any]:
    return {"curated": True, "summary": "A test.", "note": "Written by a test.", **extra}


def _pre(**fields: Any) -> dict[str, Any]:
    return {"id": "p", "description": "A precondition.", **fields}


def _set(key: str, value: Any) -> Callable[[dict], None]:
    def fn(d: dict) -> None:
        d[key] = value

    return fn


def _semantics(**extra: Any) -> Callable[[dict], None]:
    return _set("semantics", _sem(**extra))


def _extra_param(d: dict) -> None:
    d["request"]["params"].append({"name": "bogus", "type": "string", "required": False})


def _param_type(d: dict) -> None:
    d["request"]["params"][0]["type"] = "int"


def _faults_add(*names: str) -> Callable[[dict], None]:
    def fn(d: dict) -> None:
        d["faults"] += list(names)

    return fn


def _drop_first_fault(d: dict) -> None:
    d["faults"].pop(0)


def _drop_release(d: dict) -> None:
    d["releases"].remove("9.1.0.0")


def _add_release(d: dict) -> None:
    d["releases"] = ["9.0.0.0", *d["releases"]]


def _drop_since(d: dict) -> None:
    for p in d["request"]["params"]:
        p.pop("since", None)


def _priv(required: list[str]) -> Callable[[dict], None]:
    def fn(d: dict) -> None:
        d["privileges"]["required"] = required

    return fn


def _bool_key(d: dict) -> None:  # what YAML 1.1 makes of a bare `on:`
    d["privileges"]["conditional"] = [
        {"when": {"param": "host", "present": True}, True: "host", "privileges": ["Host.Config.Maintenance"]}
    ]


def _conditional(when: dict) -> Callable[[dict], None]:
    def fn(d: dict) -> None:
        d["privileges"]["conditional"] = [
            {"when": when, "privileges": ["VirtualMachine.Interact.ConsoleInteract"]}
        ]

    return fn


def _on(on: object) -> Callable[[dict], None]:
    def fn(d: dict) -> None:
        d["privileges"]["conditional"] = [
            {
                "when": {"target": "config.hardware.device", "present": True},
                "on": on,
                "privileges": ["Datastore.FileManagement"],
            }
        ]

    return fn


DISKS = {"target": "config.hardware.device", "each": "VirtualDisk", "path": "backing.datastore"}

# file -> (how it is broken, [(location, expected message fragment), ...])
BREAKAGES: dict[str, tuple[Callable[[dict], None], list[tuple[str, str]]]] = {
    "VirtualMachine/PowerOnVM_Task.yaml": (
        _semantics(preconditions=[_pre(target="runtime.powerState", equals="poweredOff", fault="Foo")]),
        [("semantics.preconditions[0].fault", f"'Foo' is not a fault in {ALL}")],
    ),
    "VirtualMachine/PowerOffVM_Task.yaml": (
        _semantics(preconditions=[_pre(target="runtime.powerState", equals="poweredOn")]),
        [("semantics.preconditions[0]", "missing key 'fault'")],
    ),
    "VirtualMachine/SuspendVM_Task.yaml": (
        _semantics(
            preconditions=[_pre(target="runtime.powerState", equal="poweredOn", fault="InvalidState")]
        ),
        [("semantics.preconditions[0]", "unknown key 'equal' (did you mean 'equals'?)")],
    ),
    "VirtualMachine/ResetVM_Task.yaml": (
        _semantics(
            preconditions=[
                _pre(target="runtime.powerState", equals="poweredOn", present=True, fault="InvalidState")
            ]
        ),
        [("semantics.preconditions[0]", "a precondition has exactly one predicate")],
    ),
    "VirtualMachine/MarkAsTemplate.yaml": (
        _semantics(preconditions=[_pre(target="config.tempate", equals=False, fault="InvalidState")]),
        [
            (
                "semantics.preconditions[0].target",
                f"VirtualMachineConfigInfo has no field 'tempate' in {ALL} (did you mean 'template'?)",
            )
        ],
    ),
    "VirtualMachine/MarkAsVirtualMachine.yaml": (
        _semantics(preconditions=[_pre(target="runtime.powerState", equals="off", fault="InvalidState")]),
        [("semantics.preconditions[0].equals", "'off' is not a value of enum VirtualMachinePowerState")],
    ),
    "VirtualMachine/ShutdownGuest.yaml": (
        _semantics(preconditions=[_pre(param="spec.name", present=True, fault="InvalidState")]),
        [("semantics.preconditions[0].param", "'spec' is not a parameter of VirtualMachine.ShutdownGuest")],
    ),
    "VirtualMachine/Rename_Task.yaml": (
        _semantics(
            preconditions=[_pre(target="runtime.powerState", equals="poweredOff", fault="InvalidPowerState")]
        ),
        [
            (
                "semantics.preconditions[0].fault",
                "'InvalidPowerState' is neither declared by the contract "
                "(DuplicateName, InvalidName) nor a subtype",
            )
        ],
    ),
    "VirtualMachine/TerminateVM.yaml": (
        _semantics(
            preconditions=[_pre(target="config.hardware.device.key", present=True, fault="InvalidState")]
        ),
        [("semantics.preconditions[0].target", "'config.hardware.device' is an array (VirtualDevice[])")],
    ),
    "VirtualMachine/RebootGuest.yaml": (
        _semantics(
            preconditions=[
                _pre(target="runtime.powerState", equals="poweredOn", fault="InvalidState", reported="task")
            ]
        ),
        [("semantics.preconditions[0].reported", "RebootGuest is not a task")],
    ),
    "VirtualMachine/StopRecording_Task.yaml": (
        _semantics(effects=[{"task_result": "present"}]),
        [("semantics.effects[0].task_result", "task has no result")],
    ),
    "VirtualMachine/MakePrimaryVM_Task.yaml": (
        _semantics(effects=[{"object": {"param": "vm", "path": "config.ftInfo.rol"}, "equals": 1}]),
        [("semantics.effects[0].object.path", "FaultToleranceConfigInfo has no field 'rol'")],
    ),
    "VirtualMachine/setCustomValue.yaml": (
        _semantics(effects=[{"target": "runtime.powerState", "equals_param": "key"}]),
        [
            (
                "semantics.effects[0].equals_param",
                "the parameter is a string, the property a VirtualMachinePowerState",
            )
        ],
    ),
    "VirtualMachine/UnmountToolsInstaller.yaml": (
        _set("semantics", {"curated": True, "observable": False}),
        [("semantics", "`observable: false` needs a `note`")],
    ),
    "VirtualMachine/UnregisterVM.yaml": (
        _semantics(locks=["target", "vmm"]),
        [("semantics.locks[1]", "'vmm' is neither `target` nor a parameter")],
    ),
    "VirtualMachine/StandbyGuest.yaml": (
        _set("semantics", {"curated": False}),
        [("semantics.curated", "not curated yet")],
    ),
    "VirtualMachine/CreateSnapshot_Task.yaml": (
        _extra_param,
        [("request.params[4]", "'bogus' is not a parameter of VirtualMachine.CreateSnapshot_Task")],
    ),
    "VirtualMachine/AnswerVM.yaml": (_param_type, [("request.params[0].type", "'int' should be 'string'")]),
    "VirtualMachine/ConsolidateVMDisks_Task.yaml": (
        _faults_add("VirtualMachineConfigInfo", "NoSuchFault"),
        [
            ("faults[", f"'VirtualMachineConfigInfo' is not a fault in {ALL}"),
            ("faults[", f"'NoSuchFault' is not a type in {ALL}"),
        ],
    ),
    "VirtualMachine/DefragmentAllDisks.yaml": (
        _drop_first_fault,
        [("faults", "missing 'InvalidState', declared by VirtualMachine.DefragmentAllDisks")],
    ),
    "VirtualMachine/QueryConnections.yaml": (
        _faults_add("InvalidLogin"),
        [("faults[", "'InvalidLogin' is not declared by VirtualMachine.QueryConnections")],
    ),
    "VirtualMachine/get/runtime.yaml": (
        lambda d: d["response"].update(type="VirtualMachineRuntimeInfoo"),
        [
            ("response.type", "type 'VirtualMachineRuntimeInfoo' does not exist in " + ALL),
            ("response.type", "'VirtualMachineRuntimeInfoo' should be 'VirtualMachineRuntimeInfo'"),
        ],
    ),
    "VirtualMachine/get/summary.yaml": (
        _set("id", "VirtualMachine_getSumary"),
        [("id", "'VirtualMachine_getSumary' should be 'VirtualMachine_getSummary'")],
    ),
    "VirtualMachine/UpgradeVM_Task.yaml": (
        _drop_release,
        [("releases", "VirtualMachine.UpgradeVM_Task exists in release 9.1.0.0, which is not listed")],
    ),
    "VirtualMachine/RepairVmDiskChains_Task.yaml": (
        _add_release,
        [("releases", "VirtualMachine has no method 'RepairVmDiskChains_Task' in release 9.0.0.0")],
    ),
    "VirtualMachine/RemoveAllSnapshots_Task.yaml": (
        _drop_since,
        [("request.params[1].since", "None should be '8.0.3.0'")],
    ),
    "VirtualMachine/UpgradeTools_Task.yaml": (
        _priv(["VirtualMachine Interact"]),
        [("privileges.required[0]", "a privilege id looks like")],
    ),
    "VirtualMachine/StartRecording_Task.yaml": (
        _priv(["VirtualMachine.Interact.Record2"]),
        [
            (
                "privileges.required",
                "['VirtualMachine.Interact.Record2'] should be ['VirtualMachine.Interact.Record']",
            )
        ],
    ),
    "VirtualMachine/AcquireTicket.yaml": (
        _conditional({"param": "ticketTyp", "equals": "mks"}),
        [
            (
                "privileges.conditional[0].when.param",
                "'ticketTyp' is not a parameter of VirtualMachine.AcquireTicket",
            )
        ],
    ),
    "VirtualMachine/AcquireMksTicket.yaml": (
        _conditional({"all": [{"target": "runtime.powerState", "in": ["poweredOn", "on"]}]}),
        [
            (
                "privileges.conditional[0].when.all[0].in[1]",
                "'on' is not a value of enum VirtualMachinePowerState",
            )
        ],
    ),
    "VirtualMachine/Destroy_Task.yaml": (
        _priv(["VirtualMachine.Inventory.Remove"]),
        [("privileges", "differs from curated_privileges.yaml: run `vsphere-harness contracts generate`")],
    ),
    "VirtualMachine/AttachDisk_Task.yaml": (
        _on({**DISKS, "each": "VirtualCdrom2"}),
        [
            (
                "privileges.conditional[0].on.each",
                "'VirtualCdrom2' is not VirtualDevice nor one of its subtypes",
            )
        ],
    ),
    "VirtualMachine/DetachDisk_Task.yaml": (
        _on({**DISKS, "path": "backing.datastor"}),
        [("privileges.conditional[0].on.path", "VirtualDeviceBackingInfo has no field 'datastor'")],
    ),
    "VirtualMachine/PromoteDisks_Task.yaml": (
        _on({**DISKS, "path": "backing.fileName"}),
        [("privileges.conditional[0].on", "leads to a string, not to managed object references")],
    ),
    "VirtualMachine/EstimateStorageForConsolidateSnapshots_Task.yaml": (
        _on({**DISKS, "target": "runtime.host"}),
        [("privileges.conditional[0].on.each", "'runtime.host' is a HostSystem, not an array")],
    ),
    "VirtualMachine/QueryChangedDiskAreas.yaml": (
        _on({**DISKS, "per": "disk"}),
        [("privileges.conditional[0].on", "{target: <property path>, each: <type>, path: <path>}")],
    ),
    "HostSystem/EnterMaintenanceMode_Task.yaml": (
        _bool_key,
        [("privileges.conditional[0]", "key True is not a string")],
    ),
}

RENAMED = ("VirtualMachine/SendNMI.yaml", "VirtualMachine/Send_NMI.yaml")
DUPLICATED = ("VirtualMachine/Reload.yaml", "VirtualMachine/Reload2.yaml")
REMOVED = "VirtualMachine/get/tag.yaml"
NOT_YAML = "VirtualMachine/Broken.yaml"


def _copy(dst: Path) -> Path:
    root = dst / "contracts"
    shutil.copytree(default_contracts_dir(), root)
    return root


@pytest.fixture(scope="module")
def checked(tmp_path_factory) -> tuple[set[str], set[str]]:
    """(problems of an untouched copy, problems of the broken copy)."""
    base = check_contracts(_copy(tmp_path_factory.mktemp("base")))
    root = _copy(tmp_path_factory.mktemp("broken"))
    for rel, (breaker, _) in BREAKAGES.items():
        path = root / rel
        data = yaml.safe_load(path.read_text())
        breaker(data)
        path.write_text(yaml.safe_dump(data, sort_keys=False))
    (root / RENAMED[0]).rename(root / RENAMED[1])
    shutil.copy(root / DUPLICATED[0], root / DUPLICATED[1])
    (root / REMOVED).unlink()
    (root / NOT_YAML).write_text("id: [VirtualMachine_Broken\nkind: method\n")
    broken = check_contracts(root)
    return {str(p) for p in base.problems}, {str(p) for p in broken.problems}


@pytest.mark.parametrize("rel", sorted(BREAKAGES))
def test_each_breakage_is_reported_precisely(checked, rel: str) -> None:
    _, broken = checked
    for where, fragment in BREAKAGES[rel][1]:
        prefix = f"contracts/{rel}: {where}"
        hits = [p for p in broken if p.startswith(prefix) and fragment in p]
        assert hits, f"no problem {prefix}...{fragment!r}; got:\n" + "\n".join(
            sorted(p for p in broken if p.startswith(f"contracts/{rel}"))
        )


def test_file_level_breakages(checked) -> None:
    _, broken = checked
    assert (
        f"contracts/{RENAMED[1]}: the contract VirtualMachine_SendNMI belongs in contracts/{RENAMED[0]}"
        in broken
    )
    assert (
        f"contracts/{DUPLICATED[1]}: id: 'VirtualMachine_Reload' is also the id of contracts/{DUPLICATED[0]}"
        in broken
    )
    assert (
        f"contracts/{REMOVED}: missing: VirtualMachine property 'tag' exists in {ALL} but has no contract"
        in broken
    )
    assert f"contracts/{NOT_YAML}: line 2 is not valid YAML" in broken


def test_nothing_else_is_reported(checked) -> None:
    base, broken = checked
    touched = {f"contracts/{r}" for r in [*BREAKAGES, RENAMED[1], DUPLICATED[1], REMOVED, NOT_YAML]}
    stray = [p for p in broken - base if p.split(": ", 1)[0] not in touched]
    assert not stray


def test_repository_contracts_pass() -> None:
    outcome = check_contracts()
    assert outcome.ok, "\n".join(map(str, outcome.problems))
    assert outcome.vm_operations["8.0.2.0"] == 101
    assert outcome.vm_operations["9.1.0.0"] == 102
    assert outcome.summary().startswith(f"{outcome.files} contract files OK")


def test_schema_is_a_valid_schema_with_the_registry_releases() -> None:
    schema = json.loads(SCHEMA_FILE.read_text())
    jsonschema_rs.meta.validate(schema)
    assert schema["$defs"]["release"]["enum"] == list(RELEASES)


@pytest.mark.parametrize(
    "semantics, expected",
    [
        (
            {
                "curated": True,
                "preconditions": [
                    {"id": "x", "target": "name", "present": True, "fault": "X", "reportd": "sync"}
                ],
            },
            "unknown key 'reportd' (did you mean 'reported'?)",
        ),
        (
            {"preconditions": [{"id": "Not Kebab", "target": "name", "present": True, "fault": "X"}]},
            "'Not Kebab': an id in kebab-case",
        ),
        ({"preconditions": [{"id": "x", "present": True, "fault": "X"}]}, "exactly one subject"),
        ({"effects": [{"target": "name", "changed": True, "equals": "a"}]}, "an effect is"),
        ({"effects": [{"task_result": "maybe"}]}, "'maybe' is not one of 'present', 'absent'"),
        ({"locks": "target"}, 'is not of type "array"'),
        ({"cancellable": True}, "unknown key 'cancellable' (did you mean 'cancelable'?)"),
    ],
)
def test_semantics_typos_are_rejected(semantics: dict, expected: str) -> None:
    data = yaml.safe_load((default_contracts_dir() / "VirtualMachine/PowerOnVM_Task.yaml").read_text())
    data["semantics"] = semantics
    found = [f"{loc}: {msg}" for loc, msg in schema_problems(data)]
    assert any(expected in f for f in found), found


def test_documented_semantics_example_is_accepted() -> None:
    """The example of docs/semantics.md (minus its comments) fits the schema."""
    example = {
        "curated": True,
        "summary": "Powers on the virtual machine.",
        "read_only": False,
        "observable": True,
        "note": "...",
        "cancelable": False,
        "locks": ["target"],
        "preconditions": [
            {
                "id": "not-template",
                "description": "The virtual machine is not a template.",
                "target": "config.template",
                "equals": False,
                "fault": "InvalidState",
                "reported": "task",
            },
            {
                "id": "obj",
                "object": {"param": "vm", "path": "runtime.powerState"},
                "in": ["poweredOff"],
                "fault": "InvalidState",
            },
        ],
        "effects": [
            {"description": "On.", "target": "runtime.powerState", "equals": "poweredOn"},
            {"target": "name", "equals_param": "newName"},
            {"target": "snapshot.currentSnapshot", "changed": True},
            {"task_result": "present"},
        ],
        "on_failure_unchanged": ["runtime.powerState"],
    }
    data = yaml.safe_load((default_contracts_dir() / "VirtualMachine/PowerOnVM_Task.yaml").read_text())
    data["semantics"] = example
    assert schema_problems(data) == []
    assert contract_schema()["$defs"]["semantics"]["additionalProperties"] is False


# --- no input makes the check crash ---------------------------------------------------------------------
_SAMPLES = [
    "VirtualMachine/PowerOnVM_Task.yaml",
    "VirtualMachine/CloneVM_Task.yaml",
    "VirtualMachine/get/runtime.yaml",
    "VirtualMachine/MakePrimaryVM_Task.yaml",
    "VirtualMachine/ReconfigVM_Task.yaml",
    "VirtualMachine/RemoveAllSnapshots_Task.yaml",
]
_WORDS = [
    "VirtualMachine",
    "InvalidState",
    "runtime.powerState",
    "config.ftInfo.role",
    "8.0.2.0",
    "9.1.0.0",
    "poweredOn",
    "ManagedObjectReference",
    "string[]",
    "Task",
    "vm",
    "spec.name",
    "System.Read",
    "all",
    "target",
    "param",
    "object",
    "equals",
    "fault",
    "present",
    "task_result",
    "NoSuchType",
    "",
]
_KEYS = [
    "param",
    "target",
    "object",
    "equals",
    "in",
    "all",
    "fault",
    "id",
    "name",
    "type",
    "since",
    "moref",
    "path",
    "present",
    "changed",
    "equals_param",
    "task_result",
    "status",
    "releases",
    "privileges",
]
_values = st.recursive(
    st.none() | st.booleans() | st.integers(-3, 300) | st.sampled_from(_WORDS),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.sampled_from(_KEYS), inner, max_size=3),
    max_leaves=6,
)


def _locations(node: Any, here: tuple = ()) -> list[tuple]:
    out = [here]
    items = node.items() if isinstance(node, dict) else enumerate(node) if isinstance(node, list) else []
    for key, value in items:
        out += _locations(value, (*here, key))
    return out


@settings(
    max_examples=400,
    derandomize=True,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(data=st.data())
def test_no_mutation_crashes_the_check(data) -> None:
    rel = data.draw(st.sampled_from(_SAMPLES))
    doc = copy.deepcopy(_sample(rel))
    where_ = data.draw(st.sampled_from(_locations(doc)[1:]))
    parent = doc
    for key in where_[:-1]:
        parent = parent[key]
    action = data.draw(st.sampled_from(["replace", "delete", "add"]))
    if action == "replace":
        parent[where_[-1]] = data.draw(_values)
    elif action == "delete":
        del parent[where_[-1]]
    elif isinstance(parent, dict):
        parent[data.draw(st.sampled_from(_KEYS))] = data.draw(_values)
    contract, found = check_mapping(doc, rel)
    for loc, message in found:
        assert isinstance(loc, str) and isinstance(message, str) and message and "\n" not in message


@functools.cache
def _sample(rel: str) -> dict[str, Any]:
    return yaml.safe_load((default_contracts_dir() / rel).read_text())


_PATHS = st.sampled_from(
    [
        "runtime.powerState",
        "config.ftInfo.role",
        "config.hardware.device.key",
        "name",
        "snapshot.currentSnapshot",
        "runtime.host.name",
        "spec",
        "spec.name",
        "host",
        "vm",
        "config.nosuch",
        "nosuch",
        "summary.runtime",
        "config.template",
        "runtime",
    ]
)
_SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-2, 3)
    | st.sampled_from(_WORDS)
    | st.lists(st.sampled_from(_WORDS), max_size=2)
)
_PREDICATES = ["equals", "not_equals", "in", "not_in", "present"]


@st.composite
def _condition(draw, effect: bool = False) -> dict[str, Any]:
    out: dict[str, Any] = {}
    subject = draw(st.sampled_from(["target", "object"] if effect else ["target", "param", "object"]))
    if subject == "object":
        out["object"] = {
            "param": draw(st.sampled_from(["vm", "host", "spec", "nosuch"])),
            "path": draw(_PATHS),
        }
    else:
        out[subject] = draw(_PATHS)
    predicate = draw(st.sampled_from(_PREDICATES + (["changed", "equals_param"] if effect else [])))
    if predicate in ("in", "not_in"):
        out[predicate] = draw(st.lists(_SCALARS, min_size=1, max_size=2))
    elif predicate in ("present", "changed"):
        out[predicate] = draw(st.booleans())
    elif predicate == "equals_param":
        out[predicate] = draw(_PATHS)
    else:
        out[predicate] = draw(_SCALARS)
    return out


@settings(max_examples=150, derandomize=True, deadline=None, database=None)
@given(
    rel=st.sampled_from(_SAMPLES),
    pres=st.lists(_condition(), max_size=3),
    effects=st.lists(_condition(effect=True), max_size=3),
    fault=st.sampled_from(["InvalidState", "InvalidPowerState", "NotSupported", "Foo", "VirtualMachine"]),
    locks=st.lists(st.sampled_from(["target", "vm", "host", "spec", "nosuch"]), max_size=2, unique=True),
)
def test_well_formed_semantics_never_crash_the_cross_check(rel, pres, effects, fault, locks) -> None:
    doc = copy.deepcopy(_sample(rel))
    doc["semantics"] = _sem(
        locks=locks,
        effects=effects,
        preconditions=[{**p, "id": f"p-{i}", "fault": fault} for i, p in enumerate(pres)],
    )
    contract, found = check_mapping(doc, rel)
    assert contract is not None, found  # well-formed: only the cross-check can object
    assert all(isinstance(m, str) and "\n" not in m for _, m in found)
