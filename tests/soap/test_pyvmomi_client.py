"""pyVmomi itself — a real SOAP client nobody here wrote — drives the simulator through the façade."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from pyVim.connect import Disconnect, SmartConnect
from pyVim.task import WaitForTask
from pyVmomi import vim

from harness.sim import RunningSimulator

API = "vim.version.v8_0_2_0"


def _connect(sim: RunningSimulator, user: tuple[str, str]) -> vim.ServiceInstance:
    return SmartConnect(
        protocol="http",
        host=sim.host,
        port=sim.port,
        user=user[0],
        pwd=user[1],
        preferredApiVersions=[API],
    )


@pytest.fixture
def si(soap_sim: RunningSimulator, admin: tuple[str, str]) -> Iterator[vim.ServiceInstance]:
    si = _connect(soap_sim, admin)
    yield si
    Disconnect(si)


def _vms(si: vim.ServiceInstance) -> list[vim.VirtualMachine]:
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    try:
        return list(view.view)
    finally:
        view.DestroyView()


def _powered_off_vm(si: vim.ServiceInstance) -> vim.VirtualMachine:
    for vm in _vms(si):
        if not vm.config.template and vm.runtime.powerState == "poweredOff":
            return vm
    pytest.fail("no powered-off VM in the simulator's inventory")


def test_smartconnect_reads_service_content(si: vim.ServiceInstance) -> None:
    content = si.RetrieveContent()
    assert "vsphere-harness simulator" in content.about.fullName
    assert content.about.apiVersion == "8.0.2.0"
    assert si._stub.cookie and "vmware_soap_session" in si._stub.cookie
    assert content.sessionManager.currentSession.userName == "administrator@vsphere.local"


def test_container_view_of_vms_and_power_state(si: vim.ServiceInstance, soap_sim: RunningSimulator) -> None:
    vms = _vms(si)
    expected = {vm.moid for vm in soap_sim.sim.inv.vms()}
    assert {vm._moId for vm in vms} == expected
    states = {vm.runtime.powerState for vm in vms}
    assert states <= {"poweredOn", "poweredOff", "suspended"}
    assert all(isinstance(vm.name, str) and vm.name for vm in vms)


def test_retrieve_properties_ex_with_traversal(si: vim.ServiceInstance) -> None:
    """What pyVmomi's community samples do: a view, a TraversalSpec over it, nested paths."""
    content = si.RetrieveContent()
    view = content.viewManager.CreateContainerView(content.rootFolder, [vim.VirtualMachine], True)
    pc = vim.PropertyCollector
    spec = pc.FilterSpec(
        objectSet=[
            pc.ObjectSpec(
                obj=view,
                skip=True,
                selectSet=[pc.TraversalSpec(name="v", path="view", skip=False, type=vim.view.ContainerView)],
            )
        ],
        propSet=[pc.PropertySpec(type=vim.VirtualMachine, pathSet=["name", "runtime.powerState"])],
    )
    result = content.propertyCollector.RetrievePropertiesEx([spec], pc.RetrieveOptions())
    rows = {o.obj._moId: {p.name: p.val for p in o.propSet} for o in result.objects}
    assert len(rows) == len(view.view)
    for values in rows.values():
        assert values["runtime.powerState"] in ("poweredOn", "poweredOff", "suspended")
        assert isinstance(values["name"], str)
    view.DestroyView()


def test_power_on_and_wait_for_task(si: vim.ServiceInstance) -> None:
    vm = _powered_off_vm(si)
    task = vm.PowerOnVM_Task()
    assert isinstance(task, vim.Task)
    assert WaitForTask(task) == "success"
    assert vm.runtime.powerState == "poweredOn"
    assert task.info.state == "success" and task.info.entity._moId == vm._moId
    assert WaitForTask(vm.PowerOffVM_Task()) == "success"


def test_fault_comes_back_as_the_pyvmomi_fault(si: vim.ServiceInstance) -> None:
    vm = _powered_off_vm(si)
    with pytest.raises(vim.fault.InvalidPowerState):
        WaitForTask(vm.PowerOffVM_Task())  # already off: the task (or the call) says so


def test_limited_user_gets_no_permission(soap_sim: RunningSimulator, limited: tuple[str, str], si) -> None:
    target = _powered_off_vm(si)._moId
    other = _connect(soap_sim, limited)
    try:
        vm = vim.VirtualMachine(target, other._stub)
        with pytest.raises(vim.fault.NoPermission) as caught:
            vm.PowerOnVM_Task()
        assert caught.value.missingPrivileges
        assert caught.value.missingPrivileges[0].privilegeIds == ["VirtualMachine.Interact.PowerOn"]
    finally:
        Disconnect(other)


def test_create_snapshot_task(si: vim.ServiceInstance) -> None:
    vm = _powered_off_vm(si)
    task = vm.CreateSnapshot_Task(name="soap-snap", description="by pyVmomi", memory=False, quiesce=False)
    assert WaitForTask(task) == "success"
    snapshot = task.info.result
    assert isinstance(snapshot, vim.vm.Snapshot)
    assert vm.snapshot.currentSnapshot._moId == snapshot._moId
    assert any(t.name == "soap-snap" for t in vm.snapshot.rootSnapshotList)


def test_no_session_is_not_authenticated(soap_sim: RunningSimulator, si: vim.ServiceInstance) -> None:
    vm = _vms(si)[0]
    stranger = vim.VirtualMachine(vm._moId, type(si._stub)(url=f"{soap_sim.url}/sdk", version=API))
    with pytest.raises(vim.fault.NotAuthenticated):
        _ = stranger.runtime
