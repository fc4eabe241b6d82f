"""The sample of existing VMs, on which read-only operations are judged (``--inventory-sample``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ..contract.model import Contract
from .base import SandboxBase, SetupError
from .survey import Sampled, choose, coverage, survey
from .targets import Target, Targets
from .values import Refs


class Sampling(Targets, SandboxBase):
    """Existing VMs surveyed and chosen once per run; their prepared requests (never a change)."""

    def sample(self) -> list[Sampled]:
        """The sampled existing VMs (surveyed and chosen on first use; see :mod:`harness.run.inventory`)."""
        if self._sample is None:
            self._sample = []
            if self.sample_size > 0:
                found = survey(self.client, limit=max(50, 10 * self.sample_size), skip=self._not_sampled)
                self._sample = choose(found.candidates, self.sample_size, self.sample_seed)
                self.sample_notes = found.notes[:5]
                if found.truncated:
                    self.sample_notes.append(f"survey stopped after {len(found.candidates)} VMs")
        return self._sample

    def sample_summary(self) -> dict[str, Any]:
        """What the run sampled, for results.json (``stats.inventory_sample``)."""
        sample = self._sample or []
        return {
            "size": self.sample_size,
            "vms": [s.label for s in sample],
            "kinds": coverage(sample),
            **({"notes": self.sample_notes} if self.sample_notes else {}),
        }

    def _not_sampled(self, managed_type: str, moid: str) -> bool:
        return self.owns(moid) or moid in self.created_folders

    def sample_targets(self, contract: Contract) -> Iterator[Target]:
        """The contract's prepared request on each sampled existing VM (on its current snapshot, for
        snapshot operations) — only for operations that change nothing; nothing otherwise."""
        if contract.changes_state or self.sample_size <= 0:
            return
        mt = contract.managed_type
        if mt not in ("VirtualMachine", "VirtualMachineSnapshot"):
            return
        try:
            inv = self.inventory
        except SetupError:
            return
        for s in self.sample():
            if self.owns(s.moid):
                continue
            moid = s.moid if mt == "VirtualMachine" else s.snapshot
            if not moid:
                continue
            refs = Refs(
                inv,
                folder=self._folder,
                vm=s.moid,
                snapshot=s.snapshot,
                vm_path=s.vm_path,
                user=self.user(),
                prefix=f"vsphere-harness-{self.run_id}",
            )
            try:
                target = self._target(contract, mt, moid, refs, vm=s.moid)
            except SetupError:
                continue
            target.prepared.existing = s.label if mt == "VirtualMachine" else f"{moid} of {s.label}"
            yield target
