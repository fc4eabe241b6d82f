"""The harness while its endpoint is down (refused, reset) and when it comes back: canned replies."""

from __future__ import annotations

import pytest
import requests
import responses

from harness.checks.base import CheckContext, CheckSpec
from harness.client import SESSION_HEADER, TransportError, ViClient
from harness.contract import load_contracts
from harness.report.merge import merge_runs
from harness.report.model import CheckResult, RunResult
from harness.run import RunOptions
from harness.run.execute import Runner
from harness.run.outage import OutageWatch, endpoint_down

BASE = "http://vc.example:8080"
ROOT = f"{BASE}/sdk/vim25/8.0.2.0"
CONTENT_URL = f"{ROOT}/ServiceInstance/ServiceInstance/content"
LOGIN_URL = f"{ROOT}/SessionManager/SessionManager/Login"
CURRENT_URL = f"{ROOT}/SessionManager/SessionManager/currentSession"
CONTENT = {
    "_typeName": "ServiceContent",
    "sessionManager": {
        "_typeName": "ManagedObjectReference",
        "type": "SessionManager",
        "value": "SessionManager",
    },
}
REFUSED = requests.ConnectionError(
    "HTTPConnectionPool: Max retries exceeded ([Errno 111] Connection refused)"
)
RESET = requests.ConnectionError(
    ("Connection aborted.", ConnectionResetError(104, "Connection reset by peer"))
)
NOT_AUTHENTICATED = {"_typeName": "NotAuthenticated", "faultMessage": []}


@pytest.fixture
def mocked():
    with responses.RequestsMock(assert_all_requests_are_fired=False) as rsps:
        rsps.get(CONTENT_URL, json=CONTENT)
        rsps.post(LOGIN_URL, json={"_typeName": "UserSession", "key": "k"}, headers={SESSION_HEADER: "sid-1"})
        yield rsps


def logged_in() -> ViClient:
    c = ViClient(BASE, "8.0.2.0", timeout=2)
    c.login("administrator@vsphere.local", "pw")
    return c


@pytest.mark.parametrize(("error", "reason"), [(REFUSED, "connection refused"), (RESET, "connection reset")])
def test_a_call_while_the_endpoint_is_down_is_a_network_error(mocked, error, reason):
    mocked.get(f"{ROOT}/VirtualMachine/vm-1/runtime", body=error)
    c = logged_in()
    with pytest.raises(TransportError, match=reason):
        c.get("VirtualMachine", "vm-1", "runtime")


def _check_calling(client: ViClient) -> CheckResult:
    def fn(ctx, v) -> str:
        ex = ctx.client.get("VirtualMachine", "vm-1", "runtime")
        if not ex.ok:
            v.fail("the runtime read failed", ex)
        return "read"

    spec = CheckSpec("probe", fn, "reads runtime", lambda c: True, False)
    return spec.run(CheckContext(contract=None, release="8.0.2.0", client=client))  # type: ignore[arg-type]


def test_the_check_is_an_error_not_a_failure_while_down_and_passes_after_a_relogin(mocked):
    url = f"{ROOT}/VirtualMachine/vm-1/runtime"
    mocked.get(url, body=REFUSED)
    c = logged_in()
    down = _check_calling(c)
    assert (
        down.status == "error"
        and down.message.startswith("network:")
        and "connection refused" in down.message
    )
    assert endpoint_down(down)
    mocked.replace(responses.GET, url, status=500, json=NOT_AUTHENTICATED)  # back, sessions forgotten
    mocked.add(
        responses.GET, url, json={"_typeName": "VirtualMachineRuntimeInfo", "powerState": "poweredOff"}
    )
    back = _check_calling(c)
    assert back.status == "passed" and c.relogins == 1
    mocked.replace(responses.GET, url, status=500, json={"_typeName": "SystemError", "faultMessage": []})
    assert _check_calling(c).status == "failed"  # an answer that is a fault still fails the check


@pytest.mark.parametrize(
    ("result", "down"),
    [
        (CheckResult("x", "error", "network: GET http://h/x: connection refused"), True),
        (CheckResult("x", "error", "network: GET http://h/x: connection reset"), True),
        (CheckResult("x", "error", "network: GET http://h/x: timed out"), False),
        (CheckResult("x", "failed", "connection refused in a message"), False),
        (CheckResult("x", "error", "could not decide: connection refused"), False),
    ],
)
def test_which_results_mean_the_endpoint_is_down(result, down):
    assert endpoint_down(result) is down


def test_the_runner_waits_for_the_endpoint_and_logs_its_clients_in_again(mocked):
    c = logged_in()
    mocked.replace(responses.GET, CONTENT_URL, body=REFUSED)
    mocked.add(responses.GET, CONTENT_URL, body=REFUSED)
    mocked.add(responses.GET, CONTENT_URL, json=CONTENT)  # back on the third probe
    mocked.get(CURRENT_URL, status=500, json=NOT_AUTHENTICATED)
    mocked.get(CURRENT_URL, json={"_typeName": "UserSession", "key": "k"})
    watch = OutageWatch(limit_s=10)
    watch.after("op::check", CheckResult("check", "error", "network: GET x: connection refused"), [c, None])
    (outage,) = watch.outages
    assert outage["back"] is True and outage["logged_in_again"] == 1 and outage["after"] == "op::check"
    assert 0.2 <= outage["waited_s"] < 5 and not watch.gave_up
    assert "1 times unreachable, back 1 times" in watch.summary()


def test_the_wait_is_bounded_and_not_repeated_once_it_gave_up(mocked):
    c = logged_in()
    mocked.replace(responses.GET, CONTENT_URL, body=REFUSED)
    watch = OutageWatch(limit_s=0.5)
    down = CheckResult("check", "error", "network: GET x: connection refused")
    watch.after("a::check", down, [c])
    watch.after("b::check", down, [c])
    (outage,) = watch.outages
    assert outage["back"] is False and outage["waited_s"] < 3 and watch.gave_up
    assert "gave up" in watch.summary()


def test_no_wait_for_other_results_nor_when_switched_off(mocked):
    c = logged_in()
    for watch, result in [
        (OutageWatch(limit_s=10), CheckResult("check", "passed", "ok")),
        (OutageWatch(limit_s=0), CheckResult("check", "error", "network: GET x: connection refused")),
    ]:
        watch.after("a::check", result, [c])
        assert watch.outages == [] and watch.summary() == ""


def _shard(i: int, waits: list[dict]) -> tuple[str, RunResult]:
    run = RunResult("0", {"url": "http://h", "release": "8.0.2.0"}, "2026-01-01T00:00:0{i}Z", seed=1)
    run.options = {**RunOptions().public(), "shard": f"{i}/2"}
    run.stats = {"endpoint_outages": f"{len(waits)} times unreachable", "outage_waits": waits}
    return f"shard-{i}", run


def test_merged_shards_keep_every_wait():
    one = {"after": "a::shape", "waited_s": 1.0, "back": True, "logged_in_again": 1}
    two = {"after": "b::shape", "waited_s": 2.0, "back": False, "logged_in_again": 0}
    merged = merge_runs([_shard(1, [one]), _shard(2, [two])])
    assert merged.stats["outage_waits"] == [one, two]
    assert merged.stats["endpoint_outages"] == "1 times unreachable"


def _failing_check(forget: bool) -> CheckSpec:
    def fn(ctx, v) -> str:
        if forget:  # as a restart would: the endpoint forgets every session
            ctx.extras["simulator"].expire_sessions()
        ex = ctx.client.get("VirtualMachine", "vm-100", "name")
        v.fail("what the check found broken", ex)
        return ""

    return CheckSpec("probe", fn, "fails", lambda c: True, False)


@pytest.mark.parametrize(("forget", "status"), [(True, "error"), (False, "failed")])
def test_a_failure_while_the_endpoint_forgot_the_sessions_is_undecided(forget, status):
    options = RunOptions(sim={"vms": 2}, inventory_sample=0)
    with Runner(options, sandbox_factory=lambda *a: None) as runner:
        contract = load_contracts().get("VirtualMachine_getName")
        result = runner.run_one(contract, _failing_check(forget))
    assert result.status == status, result.message
    assert result.message.startswith("undecided: the endpoint forgot") is forget
    assert result.message.endswith("what the check found broken")


def test_no_record_when_the_endpoint_answers_at_once(mocked):
    c = logged_in()
    watch = OutageWatch(limit_s=10)
    assert watch.after("a::check", CheckResult("check", "error", "network: x: connection reset"), [c]) == "up"
    assert watch.outages == []


def test_the_clean_up_is_done_again_after_the_endpoint_came_back(mocked):
    c = logged_in()
    calls: list[int] = []

    def cleanup() -> list[str]:
        calls.append(1)
        return []

    watch = OutageWatch(limit_s=10)
    kept = ["VM vm-1: it is busy"]
    assert watch.cleaned_again(kept, cleanup, [c]) == kept and calls == []  # not the network: as is
    mocked.replace(responses.GET, CONTENT_URL, body=REFUSED)
    mocked.add(responses.GET, CONTENT_URL, json=CONTENT)
    left = ["VM vm-1: GET http://h/x: connection refused"]
    assert watch.cleaned_again(left, cleanup, [c]) == [] and calls == [1]
    assert watch.outages[-1]["after"] == "sandbox clean-up" and watch.outages[-1]["back"] is True
    mocked.replace(responses.GET, CONTENT_URL, body=REFUSED)
    gone = OutageWatch(limit_s=0.3)
    assert gone.cleaned_again(left, cleanup, [c]) == left and calls == [1]  # never came back


def test_the_limited_user_logging_in_again_keeps_a_failure_failed():
    """The limited user's session may time out between its checks: its client logging in again is
    no sign of a restart, so a violation found meanwhile stays ``failed``."""

    def fn(ctx, v) -> str:
        limited = ctx.limited_client
        ctx.extras["simulator"].expire_sessions(limited.user)
        ex = limited.get("VirtualMachine", "vm-100", "name")
        v.fail("what the check found broken", ex)
        return ""

    options = RunOptions(sim={"vms": 2}, inventory_sample=0)
    with Runner(options, sandbox_factory=lambda *a: None) as runner:
        contract = load_contracts().get("VirtualMachine_getName")
        before = runner.conn.limited.relogins
        result = runner.run_one(contract, CheckSpec("probe", fn, "fails", lambda c: True, False))
        assert runner.conn.limited.relogins == before + 1
    assert result.status == "failed", result.message
