"""ExportVm's HttpNfcLease: the lease object, its state machine and its properties.

VMware's lifecycle (vSphere Web Services API, ``HttpNfcLease``): ``initializing`` while the
server prepares the disks, then ``ready`` (``info`` lists the disk URLs), then ``done`` after
``HttpNfcLeaseComplete`` or ``error`` after ``HttpNfcLeaseAbort`` or when no
``HttpNfcLeaseProgress`` renewed it within ``info.leaseTimeout`` seconds (``error`` then holds
the fault).  While the lease is open the virtual machine is locked: a method that would change it
answers ``InvalidState`` (:func:`lock_fault`).  A finished lease stays readable.

The state advances lazily, on each read or call (:func:`advance`).  The misbehaviour switches
``lease_stuck_initializing``, ``lease_info_malformed``, ``lease_complete_refused`` and
``lease_abort_ignored`` break it (their effects are here and in :mod:`.ops.lease`).
"""

from __future__ import annotations

import hashlib
import time
from typing import TYPE_CHECKING, Any

from ..vmodl.values import DataObject
from .build import Builder
from .faults import SimFault
from .model import VM, Managed

if TYPE_CHECKING:
    from .simulator import Simulator

#: Seconds a ready lease lives without HttpNfcLeaseProgress (vCenter's default, ``leaseTimeout``).
LEASE_TIMEOUT_S = 300
#: initializeProgress a lease stuck by ``lease_stuck_initializing`` shows forever.
STUCK_AT = 50
#: The first bytes of the fake VMDK served at a device URL (a monolithic sparse VMDK's magic).
VMDK_HEAD = b"KDMV\x01\x00\x00\x00" + b"\x00" * 504


class Lease(Managed):
    """One HttpNfcLease over a virtual machine."""

    type_name = "HttpNfcLease"

    def __init__(self, moid: str, vm: VM, ready_after_s: float, timeout_s: int = LEASE_TIMEOUT_S):
        super().__init__(moid, moid, None)
        self.vm = vm
        self.state = "initializing"
        self.created = time.monotonic()
        self.ready_at = self.created + ready_after_s
        self.renewed = self.created
        self.timeout_s = timeout_s
        self.initialize_progress = 0
        self.transfer_progress = 0
        self.error: SimFault | DataObject | None = None
        self.disks = _disks(vm)
        self.keys = [device_key(vm, d) for d in self.disks]  # deviceUrl[].key, one per disk
        self.checksum_types: dict[str, str] = {}  # device key -> sha1 | sha256 (SetManifestChecksumType)

    def ancestors(self):
        """Permissions flow from the exported VM."""
        yield self
        yield from self.vm.ancestors()

    @property
    def active(self) -> bool:
        return self.state in ("initializing", "ready")


def _disks(vm: VM) -> list[DataObject]:
    return [d for d in vm.devices if d.type_name == "VirtualDisk"]


def device_key(vm: VM, disk: DataObject) -> str:
    """VMware's device key of a disk: ``/<vm name>/<controller type><bus>:<unit>``."""
    ctrl = next((d for d in vm.devices if d.get("key") == disk.get("controllerKey")), None)
    kind = ctrl.type_name if ctrl is not None else "VirtualController"
    bus = ctrl.get("busNumber", 0) if ctrl is not None else 0
    return f"/{vm.name}/{kind}{bus}:{disk.get('unitNumber', 0)}"


def open_lease(sim: Simulator, vm: VM) -> Lease:
    """A new lease over ``vm``, which it locks until the lease ends."""
    lease = Lease(sim.inv.new_id("lease"), vm, ready_after_s=sim.cfg.task_delay_ms / 2000.0)
    sim.inv.add(lease)
    vm.export_lease = lease  # type: ignore[attr-defined]
    vm.touch()
    return lease


def advance(sim: Simulator, lease: Lease) -> None:
    """Move the lease on with time: initializing -> ready; ready -> error once it timed out."""
    with lease.lock:
        now = time.monotonic()
        if lease.state == "initializing":
            if "lease_stuck_initializing" in sim.misbehave:
                lease.initialize_progress = STUCK_AT
            elif now >= lease.ready_at:
                lease.state, lease.initialize_progress = "ready", 100
                lease.touch()
            else:
                span = max(lease.ready_at - lease.created, 1e-6)
                lease.initialize_progress = min(99, int(100 * (now - lease.created) / span))
        elif lease.state == "ready" and now - lease.renewed > lease.timeout_s:
            end(lease, "error", SimFault("Timedout", "the lease timed out: no progress was reported in time"))


def end(lease: Lease, state: str, error: SimFault | DataObject | None = None, unlock: bool = True) -> None:
    """Finish the lease in ``state`` (done or error) and release its VM (unless ``unlock`` is False)."""
    lease.state = state
    lease.error = error
    lease.touch()
    vm = lease.vm
    if unlock and getattr(vm, "export_lease", None) is lease:
        vm.export_lease = None  # type: ignore[attr-defined]
        vm.touch()


def lock_fault(sim: Simulator, vm: Managed) -> SimFault | None:
    """InvalidState when ``vm`` is locked by an open export lease (None otherwise)."""
    lease = getattr(vm, "export_lease", None)
    if lease is None:
        return None
    advance(sim, lease)  # a lease that timed out releases the VM
    if getattr(vm, "export_lease", None) is None:
        return None
    return SimFault("InvalidState", f"the virtual machine is locked by the export lease {lease.moid}")


# properties -------------------------------------------------------------------------------------
def _state(sim: Simulator, lease: Lease, b: Builder) -> str:
    advance(sim, lease)
    return lease.state


def _info(sim: Simulator, lease: Lease, b: Builder) -> DataObject | None:
    advance(sim, lease)
    if lease.state != "ready":  # VMware: set only while the lease is ready
        return None
    urls = []
    for n, device in enumerate(lease.keys):
        urls.append(
            b.obj(
                "HttpNfcLeaseDeviceUrl",
                key=device,
                importKey=device,
                url=f"https://*/nfc/{lease.moid}/disk-{n}.vmdk",
                sslThumbprint="",
                disk=True,
                targetId=f"disk-{n}.vmdk",
                fileSize=len(VMDK_HEAD),
            )
        )
    return b.obj(
        "HttpNfcLeaseInfo",
        lease=lease.ref,
        entity=lease.vm.ref,
        deviceUrl=urls,
        totalDiskCapacityInKB=sum(int(d.get("capacityInKB") or 0) for d in lease.disks),
        leaseTimeout=lease.timeout_s,
    )


def _error(sim: Simulator, lease: Lease, b: Builder) -> Any:
    advance(sim, lease)
    err = lease.error
    return err.render(b) if isinstance(err, SimFault) else err


def _initialize_progress(sim: Simulator, lease: Lease, b: Builder) -> int:
    advance(sim, lease)
    return lease.initialize_progress


LEASE_PROPERTIES = {
    ("HttpNfcLease", "state"): _state,
    ("HttpNfcLease", "info"): _info,
    ("HttpNfcLease", "initializeProgress"): _initialize_progress,
    ("HttpNfcLease", "transferProgress"): lambda s, lease, b: lease.transfer_progress,
    ("HttpNfcLease", "mode"): lambda s, lease, b: "pushOrGet",
    ("HttpNfcLease", "capabilities"): lambda s, lease, b: b.obj(
        "HttpNfcLeaseCapabilities", pullModeSupported=False, corsSupported=False
    ),
    ("HttpNfcLease", "error"): _error,
}


def manifest(lease: Lease, b: Builder) -> list[DataObject]:
    """HttpNfcLeaseGetManifest: one entry per disk, the digests of the bytes its device URL serves
    (``checksum`` in the type SetManifestChecksumType chose, SHA-1 by default)."""
    sha1 = hashlib.sha1(VMDK_HEAD).hexdigest()
    out = []
    for key, disk in zip(lease.keys, lease.disks, strict=True):
        kind = lease.checksum_types.get(key, "sha1")
        out.append(
            b.obj(
                "HttpNfcLeaseManifestEntry",
                key=key,
                sha1=sha1,
                checksum=hashlib.new(kind, VMDK_HEAD).hexdigest(),
                checksumType=kind,
                size=len(VMDK_HEAD),
                disk=True,
                capacity=int(disk.get("capacityInKB") or 0) * 1024,
                populatedSize=len(VMDK_HEAD),
            )
        )
    return out


def device_file(sim: Simulator, moid: str, name: str, session_key: str | None) -> tuple[int, bytes]:
    """``GET /nfc/<lease>/<disk-N.vmdk>``: (status, body) of a device URL of a ready lease; 401
    without a live session, 404 for anything else."""
    if sim.auth.session(session_key) is None:
        return 401, b"no valid session"
    lease = sim.inv.get(moid)
    if not isinstance(lease, Lease):
        return 404, b"no such lease"
    advance(sim, lease)
    names = {f"disk-{n}.vmdk" for n in range(len(lease.disks))}
    if lease.state != "ready" or name not in names:
        return 404, f"lease {moid} is {lease.state}; no file {name[:80]}".encode()
    return 200, VMDK_HEAD


def malformed_info(data: Any) -> Any:
    """``lease_info_malformed``: HttpNfcLeaseInfo without its ``lease`` and a text where a number goes."""
    if isinstance(data, dict):
        data = {k: v for k, v in data.items() if k != "lease"}
        data["totalDiskCapacityInKB"] = "lots"
    return data
