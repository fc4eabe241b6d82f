"""Driving sandbox VMs into the states preconditions need, through the API (power, suspend,
snapshot, template, Fault Tolerance primary, recording, tools installer mounted)."""

from __future__ import annotations

import time
from typing import Any

from ..contract.semantics import walk
from ..outcomes import Skip
from .base import SandboxBase, SetupError
from .reads import moref, unique_name
from .state_table import STATES

_POWER = {"poweredOff", "poweredOn", "suspended"}


class VmStates(SandboxBase):
    """Shared, fresh and per-user sandbox VMs in a state (:meth:`vm`, :meth:`fresh_vm`, :meth:`own_vm`);
    in a read-only run, existing VMs found in the state."""

    def observe(self, vm: str) -> dict[str, Any] | None:
        """The facts of a VM that states depend on (None when the VM is gone)."""
        rt = self.client.get("VirtualMachine", vm, "runtime")
        if not rt.ok:
            if rt.fault_type == "ManagedObjectNotFound" or rt.status == 404:
                return None
            raise SetupError(f"sandbox: cannot read runtime of {vm}: {rt.fault_type or rt.status}", rt)
        cfg = self.client.get("VirtualMachine", vm, "config")
        snap = self.client.get("VirtualMachine", vm, "snapshot")
        config = cfg.json if cfg.ok and isinstance(cfg.json, dict) else {}
        return {
            "powerState": (rt.json or {}).get("powerState"),
            "template": bool(config.get("template")),
            "snapshot": walk(snap.json, ["currentSnapshot", "value"]) if snap.ok else None,
            "ftRole": walk(config, ["ftInfo", "role"]),
            "ftState": (rt.json or {}).get("faultToleranceState"),
            "recordReplay": (rt.json or {}).get("recordReplayState"),
            "toolsMounted": bool((rt.json or {}).get("toolsInstallerMounted")),
            "vmPathName": walk(config, ["files", "vmPathName"]),
        }

    def _in_state(self, vm: str, state: str, facts: dict[str, Any]) -> bool:
        if state != "withSnapshot" and facts["snapshot"]:
            return False
        if state == "template":
            return facts["template"]
        if facts["template"]:
            return False
        if state in _POWER:
            return facts["powerState"] == state and not facts["ftRole"]
        if state == "withSnapshot":
            return bool(facts["snapshot"]) and not facts["ftRole"]
        if state == "toolsRunning":
            return facts["powerState"] == "poweredOn" and self._tools_running(vm)
        if state == "recording":
            return facts["powerState"] == "poweredOn" and facts.get("recordReplay") == "recording"
        if state == "toolsMounted":
            return facts["powerState"] == "poweredOn" and facts.get("toolsMounted") is True
        if state in ("ftPrimary", "ftDisabled"):
            ft_state = "disabled" if state == "ftDisabled" else "running"
            return (
                facts["ftRole"] == 1
                and vm in self.secondaries
                and facts["powerState"] == "poweredOn"
                and facts.get("ftState", ft_state) == ft_state
            )
        raise ValueError(f"unknown sandbox state {state!r}")

    def _tools_running(self, vm: str) -> bool:
        ex = self.client.get("VirtualMachine", vm, "guest")
        return (
            ex.ok and isinstance(ex.json, dict) and ex.json.get("toolsRunningStatus") == "guestToolsRunning"
        )

    def _power(self, vm: str, facts: dict[str, Any], want: str) -> None:
        have = facts["powerState"]
        if have == want:
            return
        if want == "poweredOff":
            self.run_task("VirtualMachine", vm, "PowerOffVM_Task", what=f"power off {vm}")
        elif want == "poweredOn":
            self.run_task("VirtualMachine", vm, "PowerOnVM_Task", what=f"power on {vm}")
        elif want == "suspended":
            if have != "poweredOn":
                self.run_task("VirtualMachine", vm, "PowerOnVM_Task", what=f"power on {vm}")
            self.run_task("VirtualMachine", vm, "SuspendVM_Task", what=f"suspend {vm}")
        facts["powerState"] = want

    def _drive(self, vm: str, state: str, facts: dict[str, Any] | None = None) -> dict[str, Any]:
        """Drive a sandbox VM into ``state`` through the API; its facts afterwards (``facts``: as just
        observed, to spare reading them again; read again after the VM was driven)."""
        facts = facts or self.observe(vm)
        if facts is None:
            raise SetupError(f"sandbox VM {vm} is gone")
        if self._in_state(vm, state, facts):
            return facts
        if facts["ftRole"] and facts["ftRole"] != 1:
            raise SetupError(
                f"sandbox VM {vm} is an FT secondary (role {facts['ftRole']}); it cannot be driven"
            )
        if facts["ftRole"]:
            self.run_task(
                "VirtualMachine", vm, "TurnOffFaultToleranceForVM_Task", what=f"turn off FT of {vm}"
            )
            self.secondaries.pop(vm, None)
            facts["ftRole"] = None
        if facts["template"] and state != "template":
            self._ok(
                self.invoke_when_idle(
                    "VirtualMachine",
                    vm,
                    "MarkAsVirtualMachine",
                    {"pool": moref("ResourcePool", self.inventory.pool or "")},
                ),
                f"mark {vm} as a virtual machine",
            )
            facts["template"] = False
        if facts["snapshot"] and state != "withSnapshot":
            self.run_task(
                "VirtualMachine", vm, "RemoveAllSnapshots_Task", what=f"remove the snapshots of {vm}"
            )
            facts["snapshot"] = None
        if state in _POWER:
            self._power(vm, facts, state)
        elif state == "template":
            self._power(vm, facts, "poweredOff")
            self._ok(
                self.invoke_when_idle("VirtualMachine", vm, "MarkAsTemplate"), f"mark {vm} as a template"
            )
        elif state == "withSnapshot":
            if not facts["snapshot"]:
                self.run_task(
                    "VirtualMachine",
                    vm,
                    "CreateSnapshot_Task",
                    {"name": unique_name("snapshot"), "memory": False, "quiesce": False},
                    f"snapshot {vm}",
                )
        elif state == "toolsRunning":
            self._power(vm, facts, "poweredOn")
            deadline = time.monotonic() + min(self.timeout, 3.0)
            while not self._tools_running(vm):
                if time.monotonic() > deadline:
                    raise Skip("VMware Tools do not run in the sandbox's (empty) VMs")
                time.sleep(0.2)
        elif state == "recording":
            self._power(vm, facts, "poweredOn")
            self.run_task(
                "VirtualMachine",
                vm,
                "StartRecording_Task",
                {"name": unique_name("recording")},
                f"record {vm}",
            )
        elif state == "toolsMounted":
            self._power(vm, facts, "poweredOn")
            self._ok(
                self.invoke_when_idle("VirtualMachine", vm, "MountToolsInstaller"), f"mount tools on {vm}"
            )
        elif state in ("ftPrimary", "ftDisabled"):
            self._power(vm, facts, "poweredOn")
            self._make_ft_primary(vm)
            if state == "ftDisabled":
                self.run_task(
                    "VirtualMachine",
                    vm,
                    "DisableSecondaryVM_Task",
                    {"vm": moref("VirtualMachine", self.secondaries[vm])},
                    f"disable the FT secondary of {vm}",
                )
        after = self.observe(vm)
        if after is None:
            raise SetupError(f"sandbox VM {vm} is gone")
        return after

    def _make_ft_primary(self, vm: str) -> None:
        hosts = self.inventory.hosts
        body = {"host": moref("HostSystem", hosts[1])} if len(hosts) > 1 else None
        ex = self.client.invoke("VirtualMachine", vm, "CreateSecondaryVM_Task", body)
        if not ex.ok:
            raise Skip(
                f"cannot make a Fault Tolerance primary: CreateSecondaryVM_Task answered {ex.fault_type}"
            )
        info = self.client.wait_task(ex.json, timeout=self.timeout)[-1]
        if info.get("state") != "success":
            fault = (info.get("error") or {}).get("_typeName", "an error")
            raise Skip(f"cannot make a Fault Tolerance primary (needs an FT-capable host pair): {fault}")
        secondary = walk(info.get("result"), ["vm", "value"])
        if not secondary:
            raise SetupError("CreateSecondaryVM_Task succeeded without the secondary in its result")
        self.secondaries[vm] = secondary

    def _reach(self, vm: str, state: str, facts: dict[str, Any] | None = None) -> dict[str, Any]:
        """Drive ``vm`` into ``state`` (a state found unreachable once is skipped at once); its facts."""
        if state in self._skips:
            raise Skip(self._skips[state])
        try:
            facts = self._drive(vm, state, facts)
        except Skip as exc:
            self._skips[state] = str(exc)
            raise
        self.reached.add(state)
        return facts

    def vm(self, state: str = "poweredOff") -> dict[str, str]:
        """A shared sandbox VM in ``state`` (its MoRef JSON); re-driven when a check changed it."""
        return moref("VirtualMachine", self.vm_in(state)[0])

    def vm_in(self, state: str = "poweredOff") -> tuple[str, dict[str, Any]]:
        """A shared sandbox VM in ``state`` and its facts (:meth:`observe`) as they are now."""
        if state not in STATES:
            raise ValueError(f"unknown sandbox state {state!r}; known: {', '.join(STATES)}")
        if self.read_only:
            vm = self._existing_vm(state)
            return vm, self.observe(vm) or {}
        vm = self._shared.get(state)
        facts = self.observe(vm) if vm is not None else None
        if facts is None:
            vm = self._shared[state] = self.create_vm()
        assert vm is not None
        try:
            return vm, self._reach(vm, state, facts)
        except SetupError:
            # a check may have left the shared VM where it cannot be driven back: start afresh
            vm = self._shared[state] = self.create_vm()
            return vm, self._reach(vm, state)

    def fresh_vm(self, state: str = "poweredOff") -> dict[str, str]:
        """A new sandbox VM in ``state``, not shared with other checks (for destructive operations)."""
        return moref("VirtualMachine", self.fresh_vm_in(state)[0])

    def fresh_vm_in(self, state: str = "poweredOff") -> tuple[str, dict[str, Any]]:
        """A new sandbox VM in ``state`` and its facts."""
        if self.read_only:
            raise Skip("read-only run: the harness creates no sandbox")
        vm = self.create_vm()
        return vm, self._reach(vm, state)

    def own_vm(self, key: str) -> str:
        """A VM dedicated to one user (``key``), created on first use and kept for the run."""
        if self.read_only:
            raise Skip("read-only run: the harness creates no sandbox")
        vm = self._shared.get(f"own:{key}")
        if vm is None or self.observe(vm) is None:
            vm = self._shared[f"own:{key}"] = self.create_vm()
        return vm

    def set_own_vm(self, key: str, vm: str) -> None:
        """``vm`` (a sandbox VM) now serves ``key`` (after an FT failover, say)."""
        self._shared[f"own:{key}"] = vm

    def reset_vm(self, vm: str) -> None:
        """Back to a plain VM: no FT, not a template, powered off, no snapshots."""
        facts = self._drive(vm, "poweredOff")
        if facts["snapshot"]:
            self.run_task(
                "VirtualMachine", vm, "RemoveAllSnapshots_Task", what=f"remove the snapshots of {vm}"
            )

    def _existing_vm(self, state: str) -> str:
        """Read-only mode: an existing VM in ``state`` (found, never changed)."""
        key = f"existing:{state}"
        if key in self._shared:
            return self._shared[key]
        folders = [self.inventory.vm_folder] if self.inventory.vm_folder else []
        seen = 0
        while folders and seen < 200:
            ex = self.client.get("Folder", folders.pop(0), "childEntity")
            for child in ex.json if ex.ok and isinstance(ex.json, list) else []:
                if child.get("type") == "Folder":
                    folders.append(child["value"])
                elif child.get("type") == "VirtualMachine":
                    seen += 1
                    facts = self.observe(child["value"])
                    if (
                        facts
                        and state in ("poweredOff", "poweredOn", "suspended", "template", "withSnapshot")
                        and self._in_state(child["value"], state, facts)
                    ):
                        self._shared[key] = child["value"]
                        return child["value"]
        raise Skip(f"read-only run: no existing VM is {state}")
