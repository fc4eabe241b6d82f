"""The target of the HttpNfcLease support operations: a ready export lease of a sandbox VM."""

from __future__ import annotations

import time

from ..contract.model import Contract
from ..outcomes import Skip
from .base import SetupError
from .leases import LEASE, lease_of
from .targets import Target, Targets

#: Pause between two reads of an initializing lease.
POLL_S = 0.05


class LeaseTargets(Targets):
    """An export lease on a VM of its own (``own_vm("lease")``), opened on first use and reused
    while it is open; the run aborts it after each check (:class:`.leases.Leases`)."""

    _lease: str | None = None

    def _target_of_HttpNfcLease(self, contract: Contract) -> Target:  # noqa: N802 - dispatched by type name
        if self.read_only:
            raise Skip("read-only run: the harness opens no export lease")
        vm = self.own_vm("lease")
        if self._lease is None or self._lease_state(self._lease) not in ("initializing", "ready"):
            self._lease = self._open_lease(vm)
        deadline = time.monotonic() + self.timeout
        while (state := self._lease_state(self._lease)) == "initializing" and time.monotonic() < deadline:
            time.sleep(POLL_S)
        if state != "ready":
            raise SetupError(f"sandbox: export lease {self._lease} of {vm} is {state}, not ready")
        return self._target(contract, LEASE, self._lease, self._refs(vm=vm))

    def _open_lease(self, vm: str) -> str:
        ex = self.client.invoke("VirtualMachine", vm, "ExportVm", None)
        moid = lease_of(ex.json) if ex.ok else None
        if moid is None:
            raise SetupError(f"sandbox: ExportVm on {vm} answered {ex.fault_type or ex.status}", ex)
        self.leases.add(moid)
        return moid

    def _lease_state(self, moid: str) -> str:
        ex = self.client.get(LEASE, moid, "state")
        return ex.json if ex.ok and isinstance(ex.json, str) else f"unreadable ({ex.fault_type or ex.status})"
