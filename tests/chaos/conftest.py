"""The chaos tests' endpoint: a simulator whose tasks last long enough to watch, and a run on it."""

from __future__ import annotations

import pytest

from harness.run import RunOptions
from harness.run.execute import Runner
from harness.sim import SimConfig, running_simulator


@pytest.fixture(scope="module")
def sim():
    with running_simulator(SimConfig(vms=12, seed=3, task_delay_ms=100)) as running:
        yield running


@pytest.fixture(scope="module")
def runner(sim):
    options = RunOptions(
        endpoint=sim.url, user=sim.users["admin"][0], password=sim.users["admin"][1], timeout=5
    )
    with Runner(options) as r:
        yield r
