"""A sample of the endpoint's existing VMs and templates, for judging read-only operations on them.

A real endpoint's shapes live in its existing VMs: devices of every kind, snapshot trees, Fault
Tolerance pairs, templates, vApps.  The sandbox's own VMs show only what the harness made.  So
property reads and read-only methods are also sent to a sample of the VMs the endpoint already has
— only those (the caller never sends anything that changes state: :meth:`harness.run.sandbox.Sandbox.sample_targets`).

**Survey** (:func:`survey`): the inventory is walked as a client without a PropertyCollector would:
``ServiceContent.rootFolder`` → ``Folder.childEntity`` → ``Datacenter.vmFolder`` → folders, vApps
(``VirtualApp.vm``, ``VirtualApp.resourcePool``) and VMs, breadth first.  For each VM two reads
(``summary`` and ``snapshot``) give its *kinds*: power state, template, snapshot (and a snapshot tree:
more than one snapshot), FT primary or secondary, vApp child, disk and adapter counts (none, several),
VMware Tools running, a pending question, encrypted, not connected.  The walk is bounded (at most
``limit`` VMs and a proportional number of folder reads), skips what the sandbox made (its folders and
VMs, and ``vsphere-harness-*`` leftovers of other runs), and reads that fail only leave the VM out.

**Choice** (:func:`choose`): stratified over the kinds and deterministic from the seed — the
candidates sorted by moId, a ``random.Random`` seeded from the run's seed; first every kind present
gets one VM (rarest kinds first, so a small sample still spans them), then the kinds take turns
adding a VM not chosen yet until the sample is full.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

#: The kinds (strata), in the order that breaks ties between equally rare kinds.
KINDS = (
    "ftPrimary",
    "ftSecondary",
    "template",
    "snapshotTree",
    "withSnapshot",
    "suspended",
    "poweredOn",
    "poweredOff",
    "vAppChild",
    "question",
    "encrypted",
    "notConnected",
    "toolsRunning",
    "noDisk",
    "multiDisk",
    "noNic",
    "multiNic",
)
DEFAULT_SAMPLE = 20
HARNESS_PREFIX = "vsphere-harness-"


@dataclass(frozen=True)
class Sampled:
    """An existing VM (or template) of the endpoint and what it is."""

    moid: str
    name: str
    kinds: tuple[str, ...]
    snapshot: str | None = None  # the current snapshot's moId
    vm_path: str | None = None  # summary.config.vmPathName

    @property
    def label(self) -> str:
        """``vm-104 (poweredOn, snapshotTree, withSnapshot)`` — how messages name it."""
        return f"{self.moid} ({', '.join(self.kinds) or 'plain'})"


@dataclass
class Survey:
    """What the walk found: candidates, and why some could not be read."""

    candidates: list[Sampled] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    truncated: bool = False


def _json(ex: Any) -> Any:
    return ex.json if getattr(ex, "ok", False) else None


def _refs(value: Any, *types: str) -> list[tuple[str, str]]:
    out = []
    for item in value if isinstance(value, list) else []:
        if (
            isinstance(item, dict)
            and isinstance(item.get("value"), str)
            and (not types or item.get("type") in types)
        ):
            out.append((item.get("type", ""), item["value"]))
    return out


def kinds_of(summary: Any, snapshot: Any, in_vapp: bool = False) -> tuple[str, ...]:
    """The kinds of a VM from its ``summary`` and ``snapshot`` answers (loosely read: a value of the
    wrong shape just adds no kind; the checks judge the shapes)."""
    s = summary if isinstance(summary, dict) else {}
    config = s.get("config") if isinstance(s.get("config"), dict) else {}
    runtime = s.get("runtime") if isinstance(s.get("runtime"), dict) else {}
    guest = s.get("guest") if isinstance(s.get("guest"), dict) else {}
    out: set[str] = set()
    if config.get("template") is True:
        out.add("template")
    elif runtime.get("powerState") in ("poweredOn", "poweredOff", "suspended"):
        out.add(runtime["powerState"])
    ft = config.get("ftInfo") if isinstance(config.get("ftInfo"), dict) else {}
    role = ft.get("role")
    if isinstance(role, int) and not isinstance(role, bool) and role >= 1:
        out.add("ftPrimary" if role == 1 else "ftSecondary")
    tree = snapshot.get("rootSnapshotList") if isinstance(snapshot, dict) else None
    if isinstance(tree, list) and tree:
        out.add("withSnapshot")
        if len(tree) > 1 or any(isinstance(t, dict) and t.get("childSnapshotList") for t in tree):
            out.add("snapshotTree")
    if in_vapp:
        out.add("vAppChild")
    if runtime.get("question"):
        out.add("question")
    if runtime.get("cryptoState"):
        out.add("encrypted")
    if runtime.get("connectionState") not in (None, "connected"):
        out.add("notConnected")
    if guest.get("toolsRunningStatus") == "guestToolsRunning":
        out.add("toolsRunning")
    for key, none, many in (
        ("numVirtualDisks", "noDisk", "multiDisk"),
        ("numEthernetCards", "noNic", "multiNic"),
    ):
        n = config.get(key)
        if isinstance(n, int) and not isinstance(n, bool):
            if n == 0:
                out.add(none)
            elif n > 1:
                out.add(many)
    return tuple(k for k in KINDS if k in out)


def survey(client: Any, limit: int, skip: Callable[[str, str], bool] = lambda t, m: False) -> Survey:
    """Walk the inventory from the root folder; at most ``limit`` VMs are read.  ``skip(type, moid)``
    leaves objects out (the sandbox's own folders and VMs)."""
    out = Survey()
    root = (client.content.get("rootFolder") or {}).get("value")
    if not root:
        out.notes.append("ServiceContent has no rootFolder")
        return out
    queue: list[tuple[str, str, bool]] = [("Folder", root, False)]  # (type, moid, inside a vApp)
    seen: set[str] = set()
    reads = 0
    budget = 4 * limit + 50  # container reads (folders, datacenters, vApps)
    while queue:
        mtype, moid, in_vapp = queue.pop(0)
        if moid in seen or skip(mtype, moid):
            continue
        seen.add(moid)
        if mtype == "VirtualMachine":
            if len(out.candidates) >= limit:
                out.truncated = True
                continue
            sampled = _read_vm(client, moid, in_vapp, out)
            if sampled is not None and not sampled.name.startswith(HARNESS_PREFIX):
                out.candidates.append(sampled)
            continue
        if reads >= budget:
            out.truncated = True
            continue
        reads += 1
        if mtype == "Folder":
            children = _json(client.get("Folder", moid, "childEntity"))
            queue.extend(
                (t, m, False)
                for t, m in _refs(children, "Folder", "Datacenter", "VirtualMachine", "VirtualApp")
            )
        elif mtype == "Datacenter":
            ref = _json(client.get("Datacenter", moid, "vmFolder"))
            if isinstance(ref, dict) and isinstance(ref.get("value"), str):
                queue.append(("Folder", ref["value"], False))
        elif mtype == "VirtualApp":
            queue.extend(
                ("VirtualMachine", m, True) for _, m in _refs(_json(client.get("VirtualApp", moid, "vm")))
            )
            queue.extend(
                (t, m, False)
                for t, m in _refs(_json(client.get("VirtualApp", moid, "resourcePool")), "VirtualApp")
            )
    out.candidates.sort(key=lambda s: _natural(s.moid))
    return out


def _read_vm(client: Any, moid: str, in_vapp: bool, out: Survey) -> Sampled | None:
    ex = client.get("VirtualMachine", moid, "summary")
    summary = _json(ex)
    if not isinstance(summary, dict):
        out.notes.append(
            f"{moid}: summary unreadable ({getattr(ex, 'fault_type', None) or getattr(ex, 'status', '?')})"
        )
        return None
    snapshot = _json(client.get("VirtualMachine", moid, "snapshot"))
    config = summary.get("config") if isinstance(summary.get("config"), dict) else {}
    current = snapshot.get("currentSnapshot") if isinstance(snapshot, dict) else None
    return Sampled(
        moid,
        str(config.get("name") or moid),
        kinds_of(summary, snapshot, in_vapp),
        snapshot=current.get("value")
        if isinstance(current, dict) and isinstance(current.get("value"), str)
        else None,
        vm_path=config.get("vmPathName") if isinstance(config.get("vmPathName"), str) else None,
    )


def _natural(moid: str) -> tuple:
    head, _, tail = moid.rpartition("-")
    return (head, int(tail), "") if tail.isdigit() else (moid, -1, moid)


def choose(candidates: Iterable[Sampled], n: int, seed: int) -> list[Sampled]:
    """``n`` candidates stratified over their kinds, deterministic from ``seed`` (see the module doc)."""
    pool = sorted(candidates, key=lambda s: _natural(s.moid))
    if n <= 0 or not pool:
        return []
    rng = random.Random(f"inventory-sample-{seed}")
    by_kind: dict[str, list[Sampled]] = {}
    for s in pool:
        for k in s.kinds or ("plain",):
            by_kind.setdefault(k, []).append(s)
    order = sorted(by_kind, key=lambda k: (len(by_kind[k]), KINDS.index(k) if k in KINDS else len(KINDS)))
    chosen: list[Sampled] = []
    picked: set[str] = set()

    def take(kind: str) -> bool:
        left = [s for s in by_kind[kind] if s.moid not in picked]
        if not left or len(chosen) >= n:
            return False
        s = rng.choice(left)
        chosen.append(s)
        picked.add(s.moid)
        return True

    for kind in order:  # every kind once (a VM chosen for an earlier kind may already carry it)
        if not any(kind in (s.kinds or ("plain",)) for s in chosen):
            take(kind)
    while len(chosen) < n:
        if not any([take(kind) for kind in order]):
            break
    return sorted(chosen, key=lambda s: _natural(s.moid))


def coverage(sample: Iterable[Sampled]) -> dict[str, int]:
    """How many sampled VMs carry each kind."""
    out: dict[str, int] = {}
    for s in sample:
        for k in s.kinds:
            out[k] = out.get(k, 0) + 1
    return {k: out[k] for k in KINDS if k in out}
