"""A simulator serving VI/JSON and SOAP on a loopback socket, shared by the SOAP tests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from harness.sim import RunningSimulator, SimConfig, running_simulator


@pytest.fixture(scope="package")
def soap_sim() -> Iterator[RunningSimulator]:
    with running_simulator(SimConfig(vms=6, seed=1, task_delay_ms=30)) as running:
        yield running


@pytest.fixture
def admin(soap_sim: RunningSimulator) -> tuple[str, str]:
    return soap_sim.users["admin"]


@pytest.fixture
def limited(soap_sim: RunningSimulator) -> tuple[str, str]:
    return soap_sim.users["limited"]
