"""govmomi's vcsim (interop/vcsim) as a real, independent endpoint: pyVmomi drives it, and the facts
recorded in interop/vcsim/FACTS.md hold.

The binary is built by interop/vcsim/build.sh (.ci/run runs it first). Without it these tests fail,
unless VSPHERE_HARNESS_VCSIM_OPTIONAL=1 says vcsim is optional here: then they are skipped.
"""

from __future__ import annotations

import importlib.util
import socket
import sys
from pathlib import Path

import pytest
from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import vim, vmodl

ROOT = Path(__file__).resolve().parents[2]


def _load(name: str, path: Path):
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


survey = _load("vsphere_harness_vcsim_survey", ROOT / "interop" / "vcsim" / "survey.py")
launch = survey.launch

if not launch.is_built() and launch.vcsim_optional():
    pytest.skip(
        f"vcsim is not built ({launch.binary_path()}) and {launch.OPTIONAL_ENV}=1 makes it optional",
        allow_module_level=True,
    )

# What vcsim 0.24.2 (Debian's golang-github-vmware-govmomi-dev 0.24.2-3) answers; see FACTS.md.
METHOD_NOT_FOUND = {
    "AcquireMksTicket", "AcquireTicket", "AnswerVM", "ApplyEvcModeVM_Task", "AttachDisk_Task",
    "CheckCustomizationSpec", "ConsolidateVMDisks_Task", "CreateScreenshot_Task", "CreateSecondaryVM_Task",
    "CreateSecondaryVMEx_Task", "CreateSnapshotEx_Task", "CryptoUnlock_Task", "DefragmentAllDisks",
    "DetachDisk_Task", "DisableSecondaryVM_Task", "DropConnections", "EnableSecondaryVM_Task",
    "EstimateStorageForConsolidateSnapshots_Task", "ExportVm", "ExtractOvfEnvironment", "InstantClone_Task",
    "MakePrimaryVM_Task", "MigrateVM_Task", "MountToolsInstaller", "PromoteDisks_Task", "PutUsbScanCodes",
    "QueryChangedDiskAreas", "QueryConnections", "QueryFaultToleranceCompatibility",
    "QueryFaultToleranceCompatibilityEx", "QueryUnownedFiles", "RebootGuest", "Reload",
    "reloadVirtualMachineFromPath_Task", "RepairVmDiskChains_Task", "ResetGuestInformation", "SendNMI",
    "SetDisplayTopology", "SetScreenResolution", "StandbyGuest", "StartRecording_Task", "StartReplaying_Task",
    "StopRecording_Task", "StopReplaying_Task", "TerminateFaultTolerantVM_Task", "TerminateVM",
    "TurnOffFaultToleranceForVM_Task", "UnmountToolsInstaller", "UpgradeTools_Task",
}  # fmt: skip
IMPLEMENTED = {
    "CloneVM_Task", "CreateSnapshot_Task", "CustomizeVM_Task", "Destroy_Task", "MarkAsTemplate",
    "MarkAsVirtualMachine", "PowerOffVM_Task", "PowerOnVM_Task", "ReconfigVM_Task", "RefreshStorageInfo",
    "RelocateVM_Task", "RemoveAllSnapshots_Task", "Rename_Task", "ResetVM_Task",
    "RevertToCurrentSnapshot_Task", "setCustomValue", "ShutdownGuest", "SuspendVM_Task", "UnregisterVM",
    "UpgradeVM_Task",
}  # fmt: skip
FAULT_TOLERANCE = {
    "CreateSecondaryVM_Task", "CreateSecondaryVMEx_Task", "DisableSecondaryVM_Task", "EnableSecondaryVM_Task",
    "MakePrimaryVM_Task", "QueryFaultToleranceCompatibility", "QueryFaultToleranceCompatibilityEx",
    "TerminateFaultTolerantVM_Task", "TurnOffFaultToleranceForVM_Task",
}  # fmt: skip
UNSET_PROPERTIES = {"alarmActionsEnabled", "guestHeartbeatStatus", "parentVApp", "resourceConfig", "snapshot"}


@pytest.fixture(scope="module")
def vcsim_url():
    try:
        with launch.running_vcsim() as url:
            yield url
    except launch.VcsimNotBuilt as exc:
        pytest.fail(f"{exc} (or set {launch.OPTIONAL_ENV}=1 to skip the vcsim tests)")


@pytest.fixture
def si(vcsim_url):
    conn = survey.connect(vcsim_url)
    yield conn
    Disconnect(conn)


def _port_open(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


# --- the launcher ----------------------------------------------------------------------------------


def test_launcher_says_how_to_build_when_the_binary_is_missing(tmp_path):
    missing = launch.running_vcsim(binary=tmp_path / "vcsim-harness")
    with pytest.raises(launch.VcsimNotBuilt, match=r"run interop/vcsim/build\.sh"), missing:
        pass  # pragma: no cover


def test_launcher_serves_on_a_loopback_port_and_stops(vcsim_url):
    assert vcsim_url.startswith("https://127.0.0.1:") and vcsim_url.endswith("/sdk")
    with launch.running_vcsim() as url:
        port = launch.port_of(url)
        assert port != launch.port_of(vcsim_url)
        assert _port_open(port)
    assert not _port_open(port)  # the process is gone, not left behind


def test_launcher_on_a_given_port_without_tls():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with launch.running_vcsim(port, tls=False) as url:
        assert url == f"http://127.0.0.1:{port}/sdk"
        conn = SmartConnect(protocol="http", host="127.0.0.1", port=port, user="u", pwd="p")
        try:
            assert conn.RetrieveContent().about.apiType == "VirtualCenter"
        finally:
            Disconnect(conn)


def test_launcher_reports_a_process_that_cannot_start():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        taken = launch.running_vcsim(s.getsockname()[1])
        with pytest.raises(launch.VcsimError, match="vcsim exited with status"), taken:
            pass  # pragma: no cover


# --- pyVmomi drives vcsim ----------------------------------------------------------------------------


def test_pyvmomi_lists_vms_and_powers_one_off_and_on(si):
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        vms = {vm.name: vm for vm in view.view}
    finally:
        view.DestroyView()
    assert set(vms) == {"DC0_H0_VM0", "DC0_H0_VM1", "DC0_C0_RP0_VM0", "DC0_C0_RP0_VM1"}
    vm = vms["DC0_H0_VM1"]
    assert vm.runtime.powerState == vim.VirtualMachinePowerState.poweredOn

    assert WaitForTask(vm.PowerOffVM_Task()) == "success"
    assert vm.runtime.powerState == vim.VirtualMachinePowerState.poweredOff
    with pytest.raises(vim.fault.InvalidPowerState):
        WaitForTask(vm.PowerOffVM_Task())

    assert WaitForTask(vm.PowerOnVM_Task()) == "success"
    assert vm.runtime.powerState == vim.VirtualMachinePowerState.poweredOn


def test_pyvmomi_creates_a_snapshot(si):
    vm = survey.all_vms(si)[0]
    assert WaitForTask(vm.CreateSnapshot_Task("s1", "from pyVmomi", False, False)) == "success"
    assert vm.snapshot.rootSnapshotList[0].name == "s1"
    assert WaitForTask(vm.RemoveAllSnapshots_Task()) == "success"


# --- the facts (FACTS.md) ----------------------------------------------------------------------------


def test_about_reports_vcenter_6_5(si):
    about = si.RetrieveContent().about
    assert (about.apiVersion, about.apiType, about.version) == ("6.5", "VirtualCenter", "6.5.0")
    assert si._stub.versionId == '"urn:vim25/6.5"'


def test_any_non_empty_login_is_accepted(vcsim_url):
    for user, pwd in [("user", "pass"), ("administrator@vsphere.local", "x"), ("root", "wrong")]:
        assert survey._login(vcsim_url, user, pwd) == "ok", (user, pwd)
    for user, pwd in [("user", ""), ("", "pass"), ("", "")]:
        assert survey._login(vcsim_url, user, pwd) == "fault InvalidLogin", (user, pwd)


def test_a_configured_user_is_the_only_login():
    with launch.running_vcsim(username="admin", password="secret") as url:
        assert survey._login(url, "admin", "secret") == "ok"
        assert survey._login(url, "admin", "wrong") == "fault InvalidLogin"
        assert survey._login(url, "user", "pass") == "fault InvalidLogin"


def test_privileges_are_not_enforced():
    facts = survey.survey_privileges()
    assert ("limited", -5) in facts["RetrieveEntityPermissions(VM)"]  # NoAccess, recorded...
    assert facts["limited: effectiveRole of the VM"] == [-1]  # ...but every session is Admin
    assert facts["HasPrivilegeOnEntity(VM, VirtualMachine.Interact.PowerOff)"] == [True]
    assert facts["limited: PowerOffVM_Task + WaitForTask"] == "ok"
    assert facts["limited: powerState after"] == "poweredOff"
    assert facts["limited: Destroy_Task + WaitForTask"] == "ok"
    assert facts["privileges defined"] == 0


def test_which_virtual_machine_methods_answer_method_not_found():
    results = survey.survey_methods()
    assert len(results) == 69
    not_found = {m for m, r in results.items() if survey.is_method_not_found(r)}
    assert not_found == METHOD_NOT_FOUND
    assert set(results) - not_found == IMPLEMENTED
    assert not_found >= FAULT_TOLERANCE


def test_reading_an_unset_property_with_pyvmomi_drops_the_connection(si):
    vm = survey.all_vms(si)[0]
    for name in sorted(UNSET_PROPERTIES):
        assert survey.outcome(lambda name=name: getattr(vm, name)).startswith(survey.DROPPED), name
        assert survey._read_ex(si, vm, name) == "ok (unset: empty propSet)", name
    assert vm.name  # the session survives the dropped connections


def test_every_other_property_reads():
    results = survey.survey_properties()
    assert len(results) == 33
    dropped = {p for p, r in results.items() if r["pyVmomi accessor (Fetch)"] != "ok"}
    assert dropped == UNSET_PROPERTIES
    assert all(r["RetrievePropertiesEx"].startswith("ok") for r in results.values())


def test_a_fault_is_a_vmodl_fault_not_a_crash(si):
    vm = survey.all_vms(si)[0]
    with pytest.raises(vmodl.fault.MethodNotFound):
        vm.MakePrimaryVM_Task(vm=vm)
