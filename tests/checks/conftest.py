"""Fixtures of the check tests: one simulator over a real socket, clients, a sandbox."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from harness.checks.base import CheckContext, registered
from harness.client import ViClient
from harness.contract import load_contracts
from harness.sandbox import Sandbox
from harness.sim import SimConfig, running_simulator

RELEASE = "8.0.2.0"
#: Slow enough to observe a running task (progress, busy target, cancel); the rest stays fast.
DELAYS = {"Rename_Task": 12.0, "CloneVM_Task": 12.0}


class Env:
    """A simulator, logged-in clients, a sandbox and a way to run one check."""

    def __init__(self, running: Any):
        self.running = running
        self.users = running.users
        self.contracts = load_contracts()
        self.checks = registered()
        self.clients: dict[str, ViClient] = {}
        self.admin = self.client(RELEASE)
        self.limited = ViClient(running.url, RELEASE)
        self.limited.login(*self.users["limited"])
        self.sandbox = Sandbox(self.admin, RELEASE, run_id="test", timeout=10)
        self.sandboxes = {RELEASE: self.sandbox}
        self.leftovers: list[str] = []

    def client(self, release: str) -> ViClient:
        if release not in self.clients:
            c = ViClient(self.running.url, release)
            c.login(*self.users["admin"])
            self.clients[release] = c
        return self.clients[release]

    def run(
        self,
        check: str,
        op: str,
        release: str = RELEASE,
        misbehave: set[str] | frozenset = frozenset(),
        prewarm: bool = False,
        **kw: Any,
    ):
        """Run one check; ``prewarm`` prepares the target before the misbehaviour is switched on."""
        contract = self.contracts.get(op)
        admin = self.client(release)
        if release not in self.sandboxes:
            self.sandboxes[release] = Sandbox(
                admin, release, run_id=f"test-{release}", timeout=10, inventory=self.sandbox.inventory
            )
        sandbox = self.sandboxes[release]
        ctx = CheckContext(
            contract=contract,
            release=release,
            client=admin,
            limited_client=self.limited,
            session_factory=admin.new,
            sandbox=sandbox,
            examples=kw.pop("examples", 3),
            seed=kw.pop("seed", 1),
            timeout=kw.pop("timeout", 10.0),
            simulated=True,
            users=dict(self.users),
            **kw,
        )
        if prewarm:
            if check == "stateful":
                sandbox.own_vm("stateful")
            else:
                sandbox.target_for(contract)
        self.running.set_misbehaviour(set(misbehave))
        try:
            return self.checks[check].run(ctx)
        finally:
            self.running.set_misbehaviour(set())


@pytest.fixture(scope="session")
def env() -> Iterator[Env]:
    cfg = SimConfig(vms=6, seed=0, task_delay_ms=15, method_delay_factor=DELAYS)
    with running_simulator(cfg) as running:
        e = Env(running)
        yield e
        for sb in e.sandboxes.values():
            e.leftovers += sb.cleanup()
