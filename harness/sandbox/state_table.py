"""The states a sandbox VM can be put in, what each implies, and which an operation needs.

Pure data and predicates over the curated semantics (no endpoint): :func:`states_for` picks the
states meeting an operation's target preconditions, :func:`violating_states` those breaking one.
"""

from __future__ import annotations

from typing import Any

from ..contract.model import Contract
from ..contract.semantics import holds_on_wire

#: States :meth:`harness.sandbox.Sandbox.vm` can put a virtual machine in.
STATES = (
    "poweredOff",
    "poweredOn",
    "suspended",
    "template",
    "withSnapshot",
    "toolsRunning",
    "ftPrimary",
    "ftDisabled",
    "recording",
    "toolsMounted",
)

PRESENT = "<present>"
_NOT_FT = {"runtime.faultToleranceState": "notConfigured", "config.ftInfo": None, "config.ftInfo.role": None}
_NO_SNAPSHOT = {"snapshot": None, "snapshot.currentSnapshot": None, "rootSnapshot": None}
_PLAIN = {"runtime.recordReplayState": "inactive", "runtime.toolsInstallerMounted": False}
_ON = {"runtime.powerState": "poweredOn", "config.template": False, **_NOT_FT, **_NO_SNAPSHOT}

#: What each sandbox state implies for the properties preconditions name (None: unset).
STATE_FACTS: dict[str, dict[str, Any]] = {
    "poweredOff": {"runtime.powerState": "poweredOff", "config.template": False, **_NOT_FT, **_NO_SNAPSHOT},
    "poweredOn": {"runtime.powerState": "poweredOn", "config.template": False, **_NOT_FT, **_NO_SNAPSHOT},
    "suspended": {"runtime.powerState": "suspended", "config.template": False, **_NOT_FT, **_NO_SNAPSHOT},
    "template": {"runtime.powerState": "poweredOff", "config.template": True, **_NOT_FT, **_NO_SNAPSHOT},
    "withSnapshot": {
        "runtime.powerState": "poweredOff",
        "config.template": False,
        **_NOT_FT,
        "snapshot": PRESENT,
        "snapshot.currentSnapshot": PRESENT,
        "rootSnapshot": PRESENT,
    },
    "toolsRunning": {
        "runtime.powerState": "poweredOn",
        "config.template": False,
        **_NOT_FT,
        **_NO_SNAPSHOT,
        "guest.toolsRunningStatus": "guestToolsRunning",
    },
    "ftPrimary": {
        "runtime.powerState": "poweredOn",
        "config.template": False,
        "config.ftInfo": PRESENT,
        "config.ftInfo.role": 1,
        "runtime.faultToleranceState": "running",
        **_NO_SNAPSHOT,
    },
    # an FT primary whose secondary is disabled (DisableSecondaryVM_Task)
    "ftDisabled": {
        "runtime.powerState": "poweredOn",
        "config.template": False,
        "config.ftInfo": PRESENT,
        "config.ftInfo.role": 1,
        "runtime.faultToleranceState": "disabled",
        **_NO_SNAPSHOT,
    },
    # powered on, recording (StartRecording_Task) / with the VMware Tools installer mounted
    "recording": {**_ON, "runtime.toolsInstallerMounted": False, "runtime.recordReplayState": "recording"},
    "toolsMounted": {**_ON, "runtime.recordReplayState": "inactive", "runtime.toolsInstallerMounted": True},
}

for _state in STATES[:8]:
    STATE_FACTS[_state] = {**_PLAIN, **STATE_FACTS[_state]}

#: The state an operation needs, for contracts without curated target preconditions.
STATE_BY_OP: dict[str, str] = {
    **dict.fromkeys(
        [
            "PowerOffVM_Task",
            "SuspendVM_Task",
            "ResetVM_Task",
            "AcquireMksTicket",
            "AcquireTicket",
            "CreateScreenshot_Task",
            "SendNMI",
            "PutUsbScanCodes",
            "MountToolsInstaller",
            "UnmountToolsInstaller",
            "TerminateVM",
            "StartRecording_Task",
            "StopRecording_Task",
            "StopReplaying_Task",
            "InstantClone_Task",
            "QueryConnections",
            "DropConnections",
            "CreateSecondaryVM_Task",
            "CreateSecondaryVMEx_Task",
        ],
        "poweredOn",
    ),
    **dict.fromkeys(
        [
            "ShutdownGuest",
            "RebootGuest",
            "StandbyGuest",
            "SetScreenResolution",
            "SetDisplayTopology",
            "UpgradeTools_Task",
        ],
        "toolsRunning",
    ),
    **dict.fromkeys(
        [
            "MakePrimaryVM_Task",
            "TurnOffFaultToleranceForVM_Task",
            "TerminateFaultTolerantVM_Task",
            "DisableSecondaryVM_Task",
            "EnableSecondaryVM_Task",
        ],
        "ftPrimary",
    ),
    **dict.fromkeys(
        [
            "RevertToCurrentSnapshot_Task",
            "RemoveAllSnapshots_Task",
            "StartReplaying_Task",
            "EstimateStorageForConsolidateSnapshots_Task",
            "RevertToSnapshot_Task",
            "RemoveSnapshot_Task",
            "RenameSnapshot",
        ],
        "withSnapshot",
    ),
    "MarkAsVirtualMachine": "template",
    "StopRecording_Task": "recording",
    "UnmountToolsInstaller": "toolsMounted",
}

#: Operations after which the target is gone or no longer usable: they get a VM of their own.
DESTRUCTIVE = frozenset(
    {
        "Destroy_Task",
        "UnregisterVM",
        "MakePrimaryVM_Task",
        "TerminateFaultTolerantVM_Task",
        "DisableSecondaryVM_Task",
        "EnableSecondaryVM_Task",
    }
)


def state_meets(state: str, pred: dict[str, Any]) -> bool | None:
    """Whether a sandbox state satisfies a target precondition (None: the state says nothing)."""
    facts = STATE_FACTS[state]
    path = pred.get("target")
    if path not in facts:
        return None
    fact = facts[path]
    if fact == PRESENT:
        if "present" in pred:
            return bool(pred["present"])
        if "not_equals" in pred and pred["not_equals"] is None:
            return True
        return None
    return holds_on_wire(pred, fact)


def states_for(contract: Contract) -> list[str]:
    """Sandbox states meeting the contract's target preconditions, best first."""
    pre = [p for p in contract.preconditions if "target" in p]
    preferred = STATE_BY_OP.get(contract.name, "poweredOff")
    order = [preferred] + [s for s in STATES if s != preferred]
    if not pre:
        return [preferred]
    return [s for s in order if all(state_meets(s, p) is not False for p in pre)]


def violating_states(contract: Contract) -> list[tuple[str, dict[str, Any]]]:
    """``(state, precondition)`` pairs where the state breaks exactly that target precondition
    (and meets the others as far as known); the precondition names the expected fault."""
    pre = [p for p in contract.preconditions if "target" in p and p.get("fault")]
    out = []
    for p in pre:
        for s in STATES:
            if state_meets(s, p) is False and all(state_meets(s, q) is not False for q in pre if q is not p):
                out.append((s, p))
                break
    return out
