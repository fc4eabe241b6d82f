"""Judging what real inventories hold: the seeded inventory's variety, coherent virtual hardware, the
stratified and deterministic sample of existing VMs, the shape check on it, and the guarantee that
nothing but read-only operations ever reaches a VM the harness did not create."""

from __future__ import annotations

import json
import random
import re
from collections import Counter
from typing import Any

import pytest
from click.testing import CliRunner

from harness.checks.base import CheckContext, registered
from harness.cli import main
from harness.client import ViClient
from harness.contract import load_contracts
from harness.run import RunOptions, exit_code, run_contracts
from harness.sandbox import Sandbox
from harness.sandbox.survey import KINDS, Sampled, choose, kinds_of, survey
from harness.sim import SimConfig, running_simulator
from harness.sim.devices import CONTROLLERS, kind
from harness.sim.seed import build_inventory
from harness.sim.simulator import Simulator

RELEASE = "8.0.2.0"


# --- the seeded inventory -------------------------------------------------------------------------------
def _hardware(vm) -> list[tuple[str, int, Any, Any]]:
    return [(d.type_name, d["key"], d.get("controllerKey"), d.get("unitNumber")) for d in vm.devices]


def assert_coherent(devices: list[Any], where: str) -> None:
    """Unique keys; every device on a controller that exists and lists it; unit numbers unique per controller."""
    keys = Counter(d["key"] for d in devices)
    assert all(n == 1 for n in keys.values()), f"{where}: duplicate keys {keys}"
    by_key = {d["key"]: d for d in devices}
    units: Counter = Counter()
    for d in devices:
        ck = d.get("controllerKey")
        if ck is None:
            continue
        assert ck in by_key and kind(by_key[ck].type_name) in CONTROLLERS, (
            f"{where}: {d} on a missing controller"
        )
        assert d["key"] in by_key[ck].get("device", []), f"{where}: controller {ck} does not list {d['key']}"
        units[(ck, d.get("unitNumber"))] += 1
    assert all(n == 1 for n in units.values()), f"{where}: a unit number used twice {units}"
    for d in devices:
        if kind(d.type_name) in CONTROLLERS:
            assert all(by_key[k].get("controllerKey") == d["key"] for k in d.get("device", [])), where


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_seeded_inventory_has_every_kind_of_vm_and_device(seed):
    inv = build_inventory(32, seed)
    vms = inv.vms()
    states = Counter("template" if v.template else v.power_state for v in vms)
    assert {"template", "poweredOn", "poweredOff", "suspended"} <= set(states)
    assert any(s.children for v in vms for s in v.snapshots), "a snapshot tree"
    assert {v.ft_role for v in vms if v.ft} == {1, 2}, "an FT primary and its secondary"
    (vapp,) = [p for p in inv.pools if p.type_name == "VirtualApp"]
    assert len(vapp.vms) == 1 and vapp.vms[0].parent is vapp and not vapp.vms[0].template, "a vApp child"
    per_vm = [Counter(kind(d.type_name) for d in v.devices) for v in vms]
    assert any(c["disk"] >= 2 for c in per_vm) and any(c["disk"] == 0 for c in per_vm)
    assert any(c["nic"] >= 2 for c in per_vm) and any(c["cdrom"] for c in per_vm)
    assert any(c["sata"] for c in per_vm) and all(c["pci"] == 1 and c["ide"] == 2 for c in per_vm)
    assert len({tuple(_hardware(v)) for v in vms}) >= 5, "hardware varies"
    for v in vms:
        assert_coherent(v.devices, v.moid)
        for d in v.devices:
            if kind(d.type_name) == "disk":
                assert d["backing"]["fileName"].startswith(v.files_path.rsplit("/", 1)[0] + "/")
                assert d["capacityInBytes"] == d["capacityInKB"] * 1024
    assert all(v.seeded for v in vms)


def test_seeded_inventory_is_deterministic_and_keeps_the_drawn_states():
    a, b, c = build_inventory(32, 5), build_inventory(32, 5), build_inventory(32, 6)
    assert [_hardware(v) for v in a.vms()] == [_hardware(v) for v in b.vms()]
    assert [_hardware(v) for v in a.vms()] != [_hardware(v) for v in c.vms()]
    # the fixed VMs keep their fixed hardware whatever the seed (tests rely on disk 2000, adapter 4000)
    for inv in (a, c):
        off = next(v for v in inv.vms() if v.name.endswith("-off"))
        keys = {d["key"]: d.type_name for d in off.devices}
        assert keys[2000] == "VirtualDisk" and keys[4000] == "VirtualVmxnet3" and keys[3000] == "VirtualCdrom"


# --- a simulator over a socket --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def sim():
    with running_simulator(SimConfig(vms=16, seed=0, task_delay_ms=0)) as running:
        yield running


@pytest.fixture(scope="module")
def admin(sim):
    client = ViClient(sim.url, RELEASE)
    client.login(*sim.users["admin"])
    return client


@pytest.fixture(scope="module")
def sandbox(admin):
    sb = Sandbox(admin, RELEASE, run_id="inv", timeout=10)
    yield sb
    assert sb.cleanup() == []


def test_sandbox_vms_have_real_hardware_reported_coherently(admin, sandbox):
    vm = sandbox.create_vm()
    config = admin.get("VirtualMachine", vm, "config").json
    devices = config["hardware"]["device"]
    by_kind = Counter(kind(d["_typeName"]) for d in devices)
    assert by_kind["disk"] == 1 and by_kind["nic"] == 1 and by_kind["cdrom"] == 1
    assert by_kind["scsi"] == 1 and by_kind["sata"] == 1 and by_kind["ide"] == 2 and by_kind["pci"] == 1
    assert all(d["key"] >= 0 for d in devices), "temporary keys replaced"

    class D(dict):  # kind() wants type_name
        @property
        def type_name(self):
            return self["_typeName"]

    assert_coherent([D(d) for d in devices], vm)
    disk = next(d for d in devices if kind(d["_typeName"]) == "disk")
    folder = config["files"]["vmPathName"].rsplit("/", 1)[0]
    assert disk["backing"]["fileName"] == f"{folder}/{config['name']}.vmdk"
    assert disk["backing"]["datastore"]["value"].startswith("datastore-")
    nic = next(d for d in devices if kind(d["_typeName"]) == "nic")
    assert re.fullmatch(r"00:50:56(:[0-9a-f]{2}){3}", nic["macAddress"]) and nic["addressType"] == "assigned"
    assert admin.get("VirtualMachine", vm, "network").json == [nic["backing"]["network"]]
    summary = admin.get("VirtualMachine", vm, "summary").json["config"]
    assert summary["numVirtualDisks"] == 1 and summary["numEthernetCards"] == 1
    layout = admin.get("VirtualMachine", vm, "layoutEx").json
    files = {f["key"]: f for f in layout["file"]}
    assert [d["key"] for d in layout["disk"]] == [disk["key"]]
    chain = [files[k]["name"] for unit in layout["disk"][0]["chain"] for k in unit["fileKey"]]
    assert chain[0] == disk["backing"]["fileName"] and chain[1].endswith("-flat.vmdk")
    # a snapshot shows in layoutEx with its files
    info = sandbox.run_task(
        "VirtualMachine", vm, "CreateSnapshot_Task", {"name": "s1", "memory": False, "quiesce": False}
    )
    layout = admin.get("VirtualMachine", vm, "layoutEx").json
    (snap,) = layout["snapshot"]
    assert snap["key"] == info["result"] and files.keys() <= {f["key"] for f in layout["file"]}
    assert snap["dataKey"] in {f["key"] for f in layout["file"]} and snap["memoryKey"] == -1


def test_reconfiguring_devices_keeps_them_coherent(admin, sandbox):
    vm = sandbox.create_vm()

    def reconfig(*changes):
        spec = {"_typeName": "VirtualMachineConfigSpec", "deviceChange": list(changes)}
        task = admin.invoke("VirtualMachine", vm, "ReconfigVM_Task", {"spec": spec}).json
        return admin.wait_task(task, timeout=10)[-1]

    def add(device, file_operation=None):
        out = {"_typeName": "VirtualDeviceConfigSpec", "operation": "add", "device": device}
        return {**out, "fileOperation": file_operation} if file_operation else out

    info = reconfig(
        add({"_typeName": "ParaVirtualSCSIController", "key": -1, "busNumber": 1, "sharedBus": "noSharing"}),
        add(
            {
                "_typeName": "VirtualDisk",
                "key": -2,
                "controllerKey": -1,
                "capacityInKB": 2048,
                "backing": {
                    "_typeName": "VirtualDiskFlatVer2BackingInfo",
                    "fileName": "",
                    "diskMode": "persistent",
                },
            },
            "create",
        ),
    )
    assert info["state"] == "success", info
    devices = admin.get("VirtualMachine", vm, "config").json["hardware"]["device"]
    scsi1 = next(d for d in devices if d["_typeName"] == "ParaVirtualSCSIController" and d["busNumber"] == 1)
    new_disk = next(d for d in devices if d.get("controllerKey") == scsi1["key"])
    assert scsi1["key"] == 1001 and new_disk["key"] == 2001 and scsi1["device"] == [2001]
    assert new_disk["unitNumber"] == 0 and new_disk["backing"]["fileName"].endswith("_1.vmdk")
    assert new_disk["capacityInBytes"] == 2048 * 1024
    layout = admin.get("VirtualMachine", vm, "layoutEx").json
    assert sorted(d["key"] for d in layout["disk"]) == [2000, 2001]
    # a device on a controller that does not exist; removing a controller that still holds a disk
    bad = reconfig(add({"_typeName": "VirtualDisk", "key": -3, "controllerKey": 4711, "capacityInKB": 1}))
    assert bad["state"] == "error" and bad["error"]["_typeName"] == "InvalidController"
    bad = reconfig({"_typeName": "VirtualDeviceConfigSpec", "operation": "remove", "device": scsi1})
    assert bad["state"] == "error" and bad["error"]["_typeName"] == "InvalidDeviceSpec"
    assert admin.get("VirtualMachine", vm, "config").json["hardware"]["device"] == devices


# --- the sample -----------------------------------------------------------------------------------------
def _fake(n: int, seed: int = 0) -> list[Sampled]:
    """Candidates with kinds in realistic proportions: few FT VMs and templates, many powered on."""

    rng = random.Random(seed)
    out = []
    for i in range(n):
        power = rng.choices(["poweredOn", "poweredOff", "suspended", "template"], [50, 30, 8, 4])[0]
        extra = [
            k for k, p in (("withSnapshot", 0.15), ("multiDisk", 0.2), ("noNic", 0.05)) if rng.random() < p
        ]
        out.append(Sampled(f"vm-{100 + i}", f"n{i}", tuple(k for k in KINDS if k in {power, *extra})))
    out.append(Sampled("vm-999", "ftp", ("ftPrimary", "poweredOn")))
    out.append(Sampled("vm-998", "fts", ("ftSecondary", "poweredOn")))
    return out


def test_the_sample_is_stratified_and_deterministic():
    candidates = _fake(300)
    present = {k for c in candidates for k in c.kinds}
    sample = choose(candidates, 20, seed=7)
    assert len(sample) == 20 and len({s.moid for s in sample}) == 20
    assert present <= {k for s in sample for k in s.kinds}, "every kind is in the sample"
    assert choose(list(reversed(candidates)), 20, seed=7) == sample, "the order found does not matter"
    others = [choose(candidates, 20, seed=s) for s in range(8)]
    assert len({tuple(x.moid for x in o) for o in others}) > 1, "the seed chooses"
    # a small sample takes the rarest kinds first; a large one everything; none when asked for none
    small = choose(candidates, 3, seed=1)
    assert {"ftPrimary", "ftSecondary"} <= {k for s in small for k in s.kinds}
    assert len(choose(candidates[:10], 50, seed=1)) == 10 and choose(candidates, 0, seed=1) == []
    # spread: beyond one of each, the kinds take turns (no kind fills the sample alone)
    counts = Counter(
        k for s in sample for k in s.kinds if k in ("poweredOn", "poweredOff", "suspended", "template")
    )
    assert counts["suspended"] >= 2 and counts["template"] >= 2


def test_kinds_come_from_summary_and_snapshot():
    summary = {
        "config": {"template": False, "ftInfo": {"role": 2}, "numVirtualDisks": 0, "numEthernetCards": 3},
        "runtime": {"powerState": "poweredOn", "question": {"id": "q"}, "connectionState": "orphaned"},
        "guest": {"toolsRunningStatus": "guestToolsRunning"},
    }
    tree = {"rootSnapshotList": [{"childSnapshotList": [{}]}]}
    assert kinds_of(summary, tree, in_vapp=True) == (
        "ftSecondary",
        "snapshotTree",
        "withSnapshot",
        "poweredOn",
        "vAppChild",
        "question",
        "notConnected",
        "toolsRunning",
        "noDisk",
        "multiNic",
    )
    assert kinds_of({"config": {"template": True}, "runtime": {"powerState": "poweredOff"}}, None) == (
        "template",
    )
    assert kinds_of("garbage", 42) == ()


def test_survey_walks_the_inventory_and_leaves_the_sandbox_out(admin, sandbox):
    mine = sandbox.create_vm()
    found = survey(admin, limit=100, skip=sandbox._not_sampled)
    moids = [c.moid for c in found.candidates]
    assert mine not in moids and not found.notes and not found.truncated
    assert {"vm-100", "vm-104", "vm-106"} <= set(moids)  # template, snapshot tree, FT primary
    kinds = {k for c in found.candidates for k in c.kinds}
    assert {
        "template",
        "poweredOn",
        "poweredOff",
        "suspended",
        "withSnapshot",
        "snapshotTree",
        "ftPrimary",
        "ftSecondary",
        "question",
        "encrypted",
        "toolsRunning",
        "vAppChild",
        "noDisk",
        "multiDisk",
        "noNic",
        "multiNic",
    } <= kinds
    snap = next(c for c in found.candidates if c.moid == "vm-104")
    assert snap.snapshot and snap.snapshot.startswith("snapshot-") and snap.vm_path
    assert len(survey(admin, limit=5).candidates) == 5 and survey(admin, limit=5).truncated


def _ctx(admin, sandbox, op: str) -> CheckContext:
    return CheckContext(
        contract=load_contracts().get(op),
        release=RELEASE,
        client=admin,
        sandbox=sandbox,
        examples=1,
        seed=0,
        timeout=10.0,
        simulated=True,
    )


def test_shape_judges_each_sampled_vm_and_names_the_one_that_breaks_the_schema(sim, admin):
    sampled = Sandbox(admin, RELEASE, run_id="inv-s", timeout=10, inventory_sample=6, seed=3)
    alone = Sandbox(admin, RELEASE, run_id="inv-a", timeout=10, inventory_sample=0)
    shape = registered()["shape"].run
    try:
        ok = shape(_ctx(admin, sampled, "VirtualMachine_getRuntime"))
        assert ok.status == "passed" and "6 of them from existing VMs" in ok.message, ok.message
        assert [s.moid for s in sampled.sample()] == [
            s.moid for s in Sandbox(admin, RELEASE, run_id="x", inventory_sample=6, seed=3).sample()
        ], "the seed fixes the sample"
        sim.set_misbehaviour({"break_existing_vms"})
        # the sandbox's own VMs keep the contract: alone, they pass
        assert shape(_ctx(admin, alone, "VirtualMachine_getRuntime")).status == "passed"
        bad = shape(_ctx(admin, sampled, "VirtualMachine_getRuntime"))
        assert bad.status == "failed", bad.message
        first = sampled.sample()[0]
        assert bad.message.startswith(
            f"on existing VM {first.label}: response body is not a valid VirtualMachineRuntimeInfo"
        ), bad.message
        assert "poweredSideways" in bad.message
        assert bad.evidence and bad.evidence[0].request["url"].endswith(
            f"/VirtualMachine/{first.moid}/runtime"
        )
        # a read-only method is judged there too (its answers are fine); a state-changing one never goes there
        assert shape(_ctx(admin, sampled, "VirtualMachine_QueryConnections")).status == "passed"
        assert list(sampled.sample_targets(load_contracts().get("VirtualMachine_PowerOnVM_Task"))) == []
    finally:
        sim.set_misbehaviour(set())
        sampled.cleanup()
        alone.cleanup()


def test_the_run_option_turns_the_sample_on_and_off():
    base = dict(
        operations=("VirtualMachine_getRuntime",),
        checks=("shape", "faults"),
        scenarios=(),
        sim={"vms": 12, "task_delay_ms": 0, "misbehave": ["break_existing_vms"]},
    )
    off = run_contracts(RunOptions(**base, inventory_sample=0))
    assert off.summary()["failed"] == 0 and exit_code(off) == 0 and "inventory_sample" not in off.stats
    assert off.options["inventory_sample"] == 0
    on = run_contracts(RunOptions(**base, inventory_sample=4))
    checks = {c.check: c for c in on.operations[0].checks}
    assert checks["shape"].status == "failed" and "on existing VM vm-1" in checks["shape"].message
    assert checks["faults"].status == "passed" and "4 of them from existing VMs" in checks["faults"].message
    assert exit_code(on) == 1
    stats = on.stats["inventory_sample"]
    assert stats["size"] == 4 and len(stats["vms"]) == 4 and stats["kinds"]


# --- nothing but reads reaches an existing VM ------------------------------------------------------------
def test_no_state_changing_request_ever_reaches_an_existing_vm(monkeypatch):
    contracts = load_contracts()
    seen: list[tuple[str, str, bytes]] = []
    existing: set[str] = set()
    handle = Simulator.handle

    def recording(self, method, path, headers, body, client="127.0.0.1"):
        if not existing:
            existing.update(v.moid for v in self.inv.vms() if v.seeded)
            existing.update(s.moid for v in self.inv.vms() if v.seeded for s in v.iter_snapshots())
        seen.append((method, path, body))
        return handle(self, method, path, headers, body, client)

    monkeypatch.setattr(Simulator, "handle", recording)
    ops = (
        "VirtualMachine_getRuntime",
        "VirtualMachine_getConfig",
        "VirtualMachine_QueryConnections",
        "VirtualMachine_QueryChangedDiskAreas",
        "VirtualMachine_AcquireTicket",
        "VirtualMachine_EstimateStorage*",
        "VirtualMachine_PowerOnVM_Task",
        "VirtualMachine_ReconfigVM_Task",
        "VirtualMachine_Destroy_Task",
        "VirtualMachine_MakePrimaryVM_Task",
        "VirtualMachine_AnswerVM",
        "VirtualMachine_RevertToCurrentSnapshot_Task",
        "VirtualMachineSnapshot_*",
    )
    result = run_contracts(
        RunOptions(
            operations=ops, examples=2, scenarios=(), inventory_sample=10, sim={"vms": 20, "task_delay_ms": 5}
        )
    )
    assert result.summary()["failed"] == 0, [
        (o.id, c.check, c.message) for o in result.operations for c in o.checks if c.status == "failed"
    ]
    reads = writes = 0
    for method, path, body in seen:
        parts = path.split("/")
        if len(parts) != 7 or parts[4] not in ("VirtualMachine", "VirtualMachineSnapshot"):
            continue
        mtype, moid, name = parts[4], parts[5], parts[6]
        changes = method == "POST" and contracts.get(f"{mtype}_{name}").changes_state
        if moid in existing:
            assert not changes, f"{method} {path} changes an existing object"
            reads += 1
        if changes:
            writes += 1
            named = {m.group(1) for m in re.finditer(r'"value":\s*"([^"]+)"', body.decode() if body else "")}
            assert not named & existing, (
                f"{method} {path} names existing objects {named & existing}: {body[:300]}"
            )
    assert writes > 20, "state-changing operations ran (on the sandbox)"
    assert reads > 100, "the sample was read"
    posts = {
        p.split("/")[6]
        for m, p, _ in seen
        if m == "POST" and p.split("/")[5:6] and p.split("/")[5] in existing
    }
    assert {"QueryConnections", "AcquireTicket", "EstimateStorageForConsolidateSnapshots_Task"} <= posts
    assert any(
        p.split("/")[4] == "VirtualMachineSnapshot" and p.split("/")[5] in existing
        for _, p, _ in seen
        if len(p.split("/")) == 7
    ), "snapshots of sampled VMs were read"
    assert json.dumps(result.stats["inventory_sample"])  # recorded in results.json


def test_cli_option(tmp_path):
    def run(n: str) -> dict:
        out = tmp_path / n
        result = CliRunner().invoke(
            main,
            [
                "run",
                "-o",
                "VirtualMachine_getName",
                "-c",
                "shape",
                "--no-scenarios",
                "-q",
                "--inventory-sample",
                n,
                "--report-dir",
                str(out),
            ],
            catch_exceptions=False,
        )
        assert result.exit_code == 0, result.output
        return json.loads((out / "results.json").read_text())

    off, on = run("0"), run("3")
    assert off["options"]["inventory_sample"] == 0 and "inventory_sample" not in off["stats"]
    assert "existing VMs" not in off["operations"][0]["checks"][0]["message"]
    assert on["options"]["inventory_sample"] == 3 and len(on["stats"]["inventory_sample"]["vms"]) == 3
    assert "3 of them from existing VMs" in on["operations"][0]["checks"][0]["message"]
