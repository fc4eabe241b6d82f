"""The sandbox: the objects the harness creates through the API and is allowed to change.

A run never changes an object it did not create.  The sandbox creates a folder
``vsphere-harness-<runid>`` in the first datacenter's VM folder (``Folder.CreateFolder``) and
small virtual machines in it (``Folder.CreateVM_Task``), drives them into the states preconditions
need (power on, suspend, snapshot, template, Fault Tolerance primary), and builds requests that meet
an operation's preconditions (:meth:`Sandbox.target_for`).  :meth:`Sandbox.cleanup` powers off and
destroys everything in its folder (VMs that checks created there too) and the folder, and returns
what it could not clean.

When an object cannot be created or driven into a state (no FT-capable host pair, VMware Tools
that never run in an empty VM) the sandbox raises :class:`~harness.outcomes.Skip` with the
reason; other setup failures raise :class:`SetupError` (an ``error``, never a ``failed``).

Read-only mode creates nothing: :meth:`Sandbox.vm` then finds an existing VM in the state, and
:meth:`Sandbox.target_for` only serves operations that change nothing.

Existing VMs are also *sampled* (``inventory_sample``, :mod:`harness.sandbox.survey`): a seeded,
stratified sample of the endpoint's own VMs and templates, on which :meth:`Sandbox.sample_targets`
serves read-only operations (property reads, methods whose contract says they change nothing) and
nothing else, so that answers are judged on the shapes real inventories hold.

The parts, one module each: :mod:`.base` (folder, tasks, new VMs), :mod:`.states` (driving VMs
into states; the table of states in :mod:`.state_table`), :mod:`.targets` (targets and their
requests; values in :mod:`.values`), :mod:`.authz` (roles, permissions), :mod:`.sampling` and
:mod:`.survey` (the sample of existing VMs), :mod:`.leases` (the export leases the run opened,
aborted after each check) and :mod:`.lease_target` (a ready lease for the HttpNfcLease operations),
:mod:`.cleanup`.
"""

from __future__ import annotations

from .base import SetupError
from .cleanup import Cleanup
from .inventory import Inventory, discover
from .lease_target import LeaseTargets
from .sampling import Sampling
from .targets import Prepared, Target


class Sandbox(LeaseTargets, Sampling, Cleanup):
    """Objects created by this run, in states checks ask for."""


__all__ = ["Inventory", "Prepared", "Sandbox", "SetupError", "Target", "discover"]
