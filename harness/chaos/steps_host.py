"""Scenario steps about hosts and Fault Tolerance, and the checks that go with them.

Steps (actions or rollback steps of a scenario)::

    - host: {connection: notResponding}   # the host stops responding, as a crashed host does
      target: $vm_host                     # (default $vm_host); "connected" restores it.  There is no
                                           # API for it: the simulator's /_sim/hosts/{moId}/connection;
                                           # a scenario with such a step is skipped elsewhere.  The
                                           # harness restores the host when the faults end.
    - check: {runtime.inMaintenanceMode: {equals: false}}   # read now with a clean client; a
      target: $free_host                                    # predicate that breaks fails the scenario

and an option of ``invoke``::

    - invoke: PowerOnVM_Task
      ends: [InvalidState]     # follow each task the call started to its end: it must end in one of
                               # these (``success`` or a fault type), else the scenario fails; a
                               # task still running after ``wait_s`` (default the run's timeout) or
                               # a fault that a server rule may have injected is undecided (error)

The hypothesis ``roles_swap_once: true`` (a scenario whose VM is an FT primary, ``vm: ftPrimary``)
holds when, after the actions, the VM's secondary at the start is the group's primary and the VM is
no longer one: the roles swapped exactly once (twice would leave the VM primary again).
"""

from __future__ import annotations

import contextlib
from fnmatch import fnmatchcase
from typing import Any

import requests

from ..client import ClientError, TaskTimeout, ViClient
from ..contract.semantics import holds, walk
from ..outcomes import Skip

#: The HostSystemConnectionState values the ``host`` step may give a host.
CONNECTION_STATES = ("connected", "notResponding", "disconnected")

HOST_STEP_SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["connection"],
    "properties": {"connection": {"enum": list(CONNECTION_STATES)}},
}
ENDS_SCHEMA: dict[str, Any] = {"type": "array", "minItems": 1, "items": {"type": "string"}}


#: The scenario targets that name a host (which the harness never creates).
HOST_TARGETS = ("$free_host", "$vm_host")


def needs_simulator(steps: list[dict[str, Any]]) -> bool:
    """Whether the steps include one only our simulator may be given: a host's connection (there is
    no API for it), or a method invoked on a host (on a real endpoint the harness changes no host
    it did not create; reading one is fine)."""
    return any("host" in step or ("invoke" in step and step.get("target") in HOST_TARGETS) for step in steps)


def host_step(run: Any, action: dict[str, Any]) -> tuple[str, str]:
    """Carry out a ``host`` or ``check`` step; what it did and its outcome, for the timeline."""
    if "check" in action:
        return check_state(run, action)
    return set_connection(run, action)


def set_connection(run: Any, action: dict[str, Any]) -> tuple[str, str]:
    """Give the target host a connection state through the simulator's control; the first change
    of a host registers its restoration for when the faults end."""
    state = action["host"]["connection"]
    try:
        type_name, host = run._target(action.get("target", "$vm_host"))
    except Skip as exc:
        run.step_errors.append(f"no host to make {state}: {exc}")
        return f"host {state}", f"not done: {exc}"
    what = f"host {host} {state}"
    if type_name != "HostSystem":
        run.step_errors.append(f"{what}: the target is a {type_name}, not a host")
        return what, "not done: the target is no host"
    if not run.conn.simulated:
        return what, "skipped: a host's connection can be changed only in the built-in simulator"
    try:
        done = _post_connection(run, host, state)
    except (RuntimeError, ValueError, OSError) as exc:
        run.step_errors.append(f"{what}: {exc}")
        return what, f"not done: {exc}"
    if state != "connected" and host not in run.faulted_hosts and done.get("was") == "connected":
        run.faulted_hosts.add(host)
        run._cleanups.append(lambda: _post_connection(run, host, "connected"))
    return what, f"done (was {done.get('was', '?')})"


def _post_connection(run: Any, host: str, state: str) -> dict[str, Any]:
    sim = run.conn.simulator
    if sim is not None:
        return sim.set_host_connection(host, state)
    resp = requests.post(
        f"{run.conn.url}/_sim/hosts/{host}/connection",
        json={"state": state},
        timeout=10,
        verify=run.conn.admin.verify,
    )
    if resp.status_code != 200:
        raise RuntimeError(f"the simulator answered HTTP {resp.status_code} {resp.text[:200]}")
    return resp.json()


def check_state(run: Any, action: dict[str, Any]) -> tuple[str, str]:
    """Read the target's properties with the clean client now: a predicate that breaks fails the
    scenario; a property the harness could not read leaves it undecided (error)."""
    try:
        type_name, moid = run._target(action.get("target", "$vm"))
    except Skip as exc:
        run.step_errors.append(f"nothing to check: {exc}")
        return "check", f"not done: {exc}"
    clean: ViClient = run.conn.admin
    results: list[str] = []
    for path, predicate in action["check"].items():
        prop, _, rest = path.partition(".")
        try:
            ex = clean.get(type_name, moid, prop)
        except ClientError as exc:
            run.step_errors.append(f"could not read {path} of {moid}: {exc}")
            results.append(f"{path}: not read")
            continue
        if not ex.ok:
            run.step_errors.append(f"could not read {path} of {moid}: HTTP {ex.status} {ex.fault_type or ''}")
            results.append(f"{path}: not read")
            continue
        value = walk(ex.json, rest) if rest else ex.json
        if holds(predicate, value):
            results.append(f"{path} = {value!r} holds")
        else:
            results.append(f"{path} = {value!r} broken")
            run.step_failures.append(
                f"{path} of {moid} = {value!r} breaks {predicate} (checked mid-sequence)"
            )
    return f"check {moid}", "; ".join(results)


def task_end(run: Any, client: ViClient, task: str, action: dict[str, Any], method: str) -> str:
    """Follow ``task`` to its end; it must end in one of the action's ``ends``."""
    allowed = action["ends"]
    limit = float(action.get("wait_s", run.timeout))
    try:
        infos = client.wait_task(task, timeout=limit)
    except TaskTimeout:
        run.undecided.append(task)
        run.step_errors.append(f"{method} task {task} still ran after {limit:g} s (undecided)")
        return f"undecided: still running after {limit:g} s (an error, not a failure)"
    except ClientError as exc:
        run.step_errors.append(f"{method} task {task} could not be followed: {exc}")
        return f"not followed: {exc}"
    info = infos[-1]
    end = (
        "success" if info.get("state") == "success" else str((info.get("error") or {}).get("_typeName", "?"))
    )
    if end in allowed:
        return f"ended {end}, as expected"
    if _injectable(run, method):
        run.step_errors.append(f"{method} task {task} ended {end}: a server rule may have injected it")
        return f"ended {end}: not judged (a server rule may have injected it)"
    run.step_failures.append(f"{method} task {task} ended {end}, expected one of {', '.join(allowed)}")
    return f"ended {end}, expected one of {', '.join(allowed)}"


def _injectable(run: Any, method: str) -> bool:
    """Whether a server rule of the scenario may inject a fault into ``method``'s tasks."""
    return any(
        "fault" in f["server"] and fnmatchcase(method, f["server"].get("method", "*"))
        for f in run.s.faults
        if "server" in f
    )


def verify(run: Any, clean: ViClient) -> list[str]:
    """The failures the steps recorded, and the roles_swap_once hypothesis."""
    failures = list(run.step_failures)
    if run.s.hypotheses.get("roles_swap_once"):
        failures.extend(roles_swapped_once(run, clean))
    return failures


def _failovers(run: Any, clean: ViClient) -> int | None:
    """How many of the tasks the scenario started were a MakePrimaryVM_Task that succeeded; None
    when a task could not be read (the network, or an answer that is no TaskInfo): not counted,
    so not judged (an error, never a failure)."""
    count = 0
    for task in sorted(run.tasks):
        try:
            ex = clean.get("Task", task, "info")
        except ClientError as exc:
            run.step_errors.append(f"roles_swap_once not judged: task {task} could not be read: {exc}")
            return None
        if not ex.ok or not isinstance(ex.json, dict):
            if ex.fault_type == "ManagedObjectNotFound":
                continue  # a task the endpoint no longer keeps: not one the scenario can count
            run.step_errors.append(
                f"roles_swap_once not judged: task {task} answered {ex.fault_type or f'HTTP {ex.status}'}"
            )
            return None
        info = ex.json
        name = str(info.get("name") or "")
        described = str(info.get("descriptionId") or "").lower()
        if info.get("state") == "success" and (
            name.startswith("MakePrimaryVM") or described.endswith(".makeprimary")
        ):
            count += 1
    run.timeline.add("verify", "failovers", f"{count} MakePrimaryVM_Task tasks succeeded")
    return count


def roles_swapped_once(run: Any, clean: ViClient) -> list[str]:
    """The VM's secondary at the start is now the primary, the VM is no longer one, and exactly one
    MakePrimaryVM_Task the scenario started succeeded (three swaps would also leave the roles
    swapped)."""
    try:
        secondary = run._target("$ft_secondary")[1]
    except Exception as exc:  # noqa: BLE001 - no secondary: the harness cannot judge (error)
        run.step_errors.append(f"roles_swap_once not judged: {exc}")
        return []
    roles: dict[str, Any] = {}
    for name, moid in (("the VM", run.vm), ("its secondary", secondary)):
        ex = None
        with contextlib.suppress(ClientError):
            ex = clean.get("VirtualMachine", moid, "config")
        if ex is not None and ex.fault_type == "ManagedObjectNotFound":
            roles[name] = "gone"
            continue
        if ex is None or not ex.ok or not isinstance(ex.json, dict):
            run.step_errors.append(f"roles_swap_once not judged: config of {moid} could not be read")
            return []
        roles[name] = walk(ex.json, "ftInfo.role") if ex.json.get("ftInfo") else "not fault tolerant"
    run.timeline.add(
        "verify",
        "roles swap once",
        f"{run.vm} (the primary at the start) role {roles['the VM']}, "
        f"{secondary} (its secondary) role {roles['its secondary']}",
    )
    swaps = _failovers(run, clean)
    out = (
        []
        if swaps in (1, None)
        else [f"{swaps} MakePrimaryVM_Task tasks succeeded: the roles swapped not exactly once"]
    )
    if roles["its secondary"] != 1:
        out.append(
            f"the secondary {secondary} is not the primary after the failover (role {roles['its secondary']})"
        )
    if roles["the VM"] == 1:
        out.append(f"{run.vm} is still (or again) the primary: the roles did not swap exactly once")
    return out
