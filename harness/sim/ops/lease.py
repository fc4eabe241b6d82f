"""ExportVm and the methods of the HttpNfcLease it returns (the lease itself: :mod:`harness.sim.lease`).

Faults as VMware declares them: Complete and GetManifest on a lease that is not ``ready``, and
Abort on a lease that has ended, answer ``InvalidState``; Progress declares only ``Timedout``, which
it answers on a lease that has ended (on an initializing lease it is accepted and changes nothing);
SetManifestChecksumType on an ended lease answers ``InvalidState``.
"""

from __future__ import annotations

import time

from ..faults import SimFault, invalid_argument, invalid_state
from ..lease import Lease, advance, end, manifest, open_lease
from .base import Call, op
from .guards import not_template, powered

#: HttpNfcLeaseManifestEntryChecksumType
CHECKSUM_TYPES = ("sha1", "sha256")


@op("VirtualMachine", "ExportVm")
def export_vm(call: Call):
    not_template(call)
    powered(call, "poweredOff", requested="poweredOff")
    return lambda: open_lease(call.sim, call.vm).ref


def _lease(call: Call) -> Lease:
    lease: Lease = call.obj  # type: ignore[assignment]
    advance(call.sim, lease)
    return lease


@op("HttpNfcLease", "HttpNfcLeaseProgress")
def lease_progress(call: Call):
    lease = _lease(call)
    percent = call.p("percent", 0)
    if not isinstance(percent, int) or not 0 <= percent <= 100:
        raise invalid_argument("percent", "percent is from 0 to 100")
    call.require(
        lease.active,
        lambda: SimFault("Timedout", f"the lease is {lease.state}: it takes no progress any more"),
    )

    def apply() -> None:
        if lease.state == "ready":
            lease.transfer_progress = percent
            lease.renewed = time.monotonic()
            lease.touch()

    return apply


@op("HttpNfcLease", "HttpNfcLeaseComplete")
def lease_complete(call: Call):
    lease = _lease(call)
    call.require(lease.state == "ready", lambda: invalid_state(f"the lease is {lease.state}, not ready"))
    if "lease_complete_refused" in call.sim.misbehave:
        raise invalid_state("the lease cannot be completed now")

    def apply() -> None:
        lease.transfer_progress = 100
        end(lease, "done")

    return apply


@op("HttpNfcLease", "HttpNfcLeaseAbort")
def lease_abort(call: Call):
    lease = _lease(call)
    call.require(lease.active, lambda: invalid_state(f"the lease has ended ({lease.state})"))
    given = call.p("fault")
    error = given if given is not None else SimFault("RequestCanceled", "the lease was aborted by the client")

    def apply() -> None:
        if "lease_abort_ignored" in call.sim.misbehave:
            end(lease, "done", unlock=False)  # answers OK, but the lease is done and the VM stays locked
        else:
            end(lease, "error", error)

    return apply


@op("HttpNfcLease", "HttpNfcLeaseSetManifestChecksumType")
def lease_checksum_type(call: Call):
    lease = _lease(call)
    call.require(lease.active, lambda: invalid_state(f"the lease has ended ({lease.state})"))
    chosen: dict[str, str] = {}
    for pair in call.p("deviceUrlsToChecksumTypes", []):
        key, kind = pair.get("key"), pair.get("value")
        if key not in lease.keys:
            raise invalid_argument(
                "deviceUrlsToChecksumTypes", f"no device URL has the key {str(key)[:80]!r}"
            )
        if kind not in CHECKSUM_TYPES:
            raise invalid_argument(
                "deviceUrlsToChecksumTypes", f"checksum types are {', '.join(CHECKSUM_TYPES)}"
            )
        chosen[key] = kind

    def apply() -> None:
        lease.checksum_types.update(chosen)

    return apply


@op("HttpNfcLease", "HttpNfcLeaseGetManifest")
def lease_manifest(call: Call):
    lease = _lease(call)
    call.require(lease.state == "ready", lambda: invalid_state(f"the lease is {lease.state}, not ready"))
    return lambda: manifest(lease, call.b)
