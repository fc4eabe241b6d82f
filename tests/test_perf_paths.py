"""The fast paths of a run keep their meaning: the client reads the environment's proxy and CA
settings once (not per request) with the same outcome, and polls short tasks without sleeping past
them by much."""

from __future__ import annotations

import pytest
import requests

from harness.client import ViClient
from harness.client.session import POLL_FIRST_S, POLL_GROWTH, POLL_MAX_S, pin_environment
from harness.run.endpoint import BUILTIN_SIM
from harness.sim import SimConfig, running_simulator


def test_pinned_environment_keeps_proxies_and_their_bypass(monkeypatch):
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.invalid:3128")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    far = requests.Session()
    pin_environment(far, "http://vcenter.example:80/sdk/vim25/8.0.2.0", True)
    assert far.trust_env is False
    assert far.proxies.get("http") == "http://proxy.invalid:3128"
    near = requests.Session()
    pin_environment(near, "http://127.0.0.1:8989/sdk/vim25/8.0.2.0", True)
    assert near.trust_env is False and not near.proxies.get("http")


def test_pinned_environment_keeps_the_ca_bundle_and_an_explicit_no_verify(monkeypatch, tmp_path):
    bundle = tmp_path / "ca.pem"
    bundle.write_text("not read here")
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    monkeypatch.delenv("CURL_CA_BUNDLE", raising=False)
    checked = requests.Session()
    pin_environment(checked, "https://vc.example/sdk/vim25/8.0.2.0", True)
    assert checked.verify == str(bundle)
    unchecked = requests.Session()
    unchecked.verify = False
    pin_environment(unchecked, "https://vc.example/sdk/vim25/8.0.2.0", False)
    assert unchecked.verify is False


def test_a_session_without_trust_env_is_left_alone():
    http = requests.Session()
    http.trust_env = False
    http.verify = False
    pin_environment(http, "https://vc.example", True)
    assert http.verify is False and http.proxies == {}


def test_client_reaches_the_simulator_past_a_proxy_it_must_bypass(monkeypatch):
    """With a dead proxy in the environment and 127.0.0.1 in NO_PROXY, every request still arrives."""
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:9")  # discard port: nothing listens
    monkeypatch.setenv("NO_PROXY", "127.0.0.1")
    with (
        running_simulator(SimConfig(vms=2, task_delay_ms=0)) as sim,
        ViClient(sim.url, "8.0.2.0", timeout=5) as c,
    ):
        c.login(*sim.users["admin"])
        assert c.http.trust_env is False
        assert c.invoke("ServiceInstance", "ServiceInstance", "CurrentTime").ok


def test_polling_follows_short_tasks_closely_and_long_ones_cheaply():
    delays = [POLL_FIRST_S]
    while delays[-1] < POLL_MAX_S:
        delays.append(min(delays[-1] * POLL_GROWTH, POLL_MAX_S))
    waited = [sum(delays[: i + 1]) for i in range(len(delays))]
    task_s = BUILTIN_SIM["task_delay_ms"] / 1000
    first_after = next(w for w in waited if w >= task_s)
    assert first_after - task_s <= task_s  # a built-in simulator task is seen ended within twice its length
    assert len(delays) <= 15  # a long task on a real endpoint is polled at most every POLL_MAX_S soon


@pytest.mark.parametrize("delay_ms", [BUILTIN_SIM["task_delay_ms"]])
def test_wait_task_sees_a_built_in_simulator_task_run_and_end(delay_ms):
    with (
        running_simulator(SimConfig(vms=2, task_delay_ms=delay_ms)) as sim,
        ViClient(sim.url, "8.0.2.0") as c,
    ):
        c.login(*sim.users["admin"])
        vm = sim.sim.inv.vms()[0].moid
        state = c.get("VirtualMachine", vm, "runtime").json["powerState"]
        method = "PowerOffVM_Task" if state == "poweredOn" else "PowerOnVM_Task"
        ex = c.invoke("VirtualMachine", vm, method)
        assert ex.ok, ex.fault_type
        infos = c.wait_task(ex.json, timeout=5)
        assert infos[0]["state"] in ("queued", "running") and infos[-1]["state"] in ("success", "error")
