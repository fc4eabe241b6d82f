"""Many clients at once over real sockets never corrupt state."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

from harness.sim import SimConfig, running_simulator

from .conftest import Vi


def test_concurrent_clients_keep_state_consistent():
    with running_simulator(SimConfig(vms=8, seed=2, task_delay_ms=5)) as sim:

        def worker(i: int) -> list[str]:
            vi = Vi(sim.url)
            vi.login(*sim.users["admin"])
            outcomes = []
            for j in range(8):
                vm = "vm-102" if j % 2 else "vm-105"
                method = "PowerOnVM_Task" if (i + j) % 2 else "PowerOffVM_Task"
                r = vi.vm(vm, method)
                if r.status_code == 500:
                    outcomes.append(r.json()["_typeName"])
                else:
                    outcomes.append(vi.task(r)["state"])
                r = vi.vm(
                    vm, "CreateSnapshot_Task", {"name": f"s-{i}-{j}", "memory": False, "quiesce": False}
                )
                if r.status_code == 200:
                    outcomes.append(vi.task(r)["state"])
                assert vi.get("VirtualMachine", vm, "summary").status_code == 200
            return outcomes

        with ThreadPoolExecutor(10) as pool:
            results = [o for out in pool.map(worker, range(10)) for o in out]
        assert set(results) <= {"success", "error", "TaskInProgress"}
        assert "success" in results
        vi = Vi(sim.url)
        vi.login(*sim.users["admin"])
        for vm in ("vm-102", "vm-105"):
            assert vi.prop(vm, "runtime")["powerState"] in ("poweredOn", "poweredOff")
            snaps = []
            stack = list((vi.prop(vm, "snapshot") or {}).get("rootSnapshotList", []))
            while stack:
                node = stack.pop()
                snaps.append(node["snapshot"]["value"])
                stack.extend(node.get("childSnapshotList", []))
            assert len(snaps) == len(set(snaps))
            for s in snaps:  # every snapshot in the tree exists and belongs to the VM
                assert vi.prop(s, "config", "VirtualMachineSnapshot")["uuid"] == vi.prop(vm, "config")["uuid"]
            assert vi.prop(vm, "runtime").get("consolidationNeeded") is False
            assert vi.prop(vm, "recentTask")
