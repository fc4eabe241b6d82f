"""Operations: one handler per contract, registered by (managed type, name) in :data:`base.HANDLERS`.

Importing this package imports every operation module, which registers its handlers; the machinery
they share (the ``op`` decorator, :class:`~.base.Call`, :class:`~.base.TaskPlan`) is in :mod:`.base`,
the preconditions several share in :mod:`.guards`, and the object lifecycle they share with the
inventory seed in :mod:`harness.sim.lifecycle`.
"""

from . import (
    authorization,
    config,
    console,
    disks,
    folders,
    ft,
    guest,
    hosts,
    lease,
    migration,
    power,
    provisioning,
    replay,
    service,
    snapshots,
)

__all__ = [
    "authorization",
    "config",
    "console",
    "disks",
    "folders",
    "ft",
    "guest",
    "hosts",
    "lease",
    "migration",
    "power",
    "provisioning",
    "replay",
    "service",
    "snapshots",
]
