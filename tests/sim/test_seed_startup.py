"""The seeded inventory's start-up shortcuts draw exactly what the plain code drew."""

from __future__ import annotations

import random
import uuid

from harness.sim.model import uuid_text
from harness.sim.seed import KINDS, _draw, build_inventory


def test_kind_draw_is_random_choices() -> None:
    a, b = random.Random(3), random.Random(3)
    weights = [30, 20, 25, 8, 8, 6, 3]
    assert [_draw(a) for _ in range(5000)] == [b.choices(KINDS, weights)[0] for _ in range(5000)]


def test_uuid_text_is_uuid() -> None:
    for n in (0, 1, 7919 * 99_999 + 1, 104729 * 123_456 + 3, 2**128 - 1):
        assert uuid_text(n) == str(uuid.UUID(int=n))


def test_seeded_snapshots_keep_the_vms_hardware() -> None:
    """A seeded snapshot's devices, drawn on first read, are the VM's (which nothing changed since)."""
    inv = build_inventory(400, 0)
    with_snapshots = [vm for vm in inv.vms() if vm.snapshots]
    assert len(with_snapshots) > 20
    for vm in with_snapshots:
        for snap in vm.iter_snapshots():
            assert [repr(d) for d in snap.config["devices"]] == [repr(d) for d in vm.devices]
            assert snap.config["devices"][0] is not vm.devices[0]  # a copy, not the VM's objects
            assert snap.config["num_cpu"] == vm.num_cpu
