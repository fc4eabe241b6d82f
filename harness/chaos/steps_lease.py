"""Scenario steps on an export lease (``HttpNfcLease``), and the hypothesis ``lease_ends``.

Steps (``lease:`` in a scenario's actions), sent with the scenario's client::

    - lease: open              # ExportVm on the scenario's VM: the lease the next steps act on
    - lease: {ready: 10}       # read its state until it leaves initializing (at most 10 s)
    - lease: {progress: 40}    # HttpNfcLeaseProgress(40)
    - lease: abort             # HttpNfcLeaseAbort   (or: complete, HttpNfcLeaseComplete)

The hypothesis ``lease_ends: error`` (or ``done``) reads the lease's state with the clean client
after the faults end; for ``error`` the lease's ``error`` must hold a fault.  The endpoint refusing
a step on a lease that should take it (a ready lease refusing progress, an open lease refusing
abort, ExportVm refused on a powered-off VM) breaks the scenario; a step the network kept from its
answer, or a lease that is still initializing when the wait ends, is undecided (``error``).
"""

from __future__ import annotations

import time
from typing import Any

from ..client import ClientError, Exchange, TransportError, ViClient
from ..sandbox.leases import LEASE, lease_of

#: The JSON Schema of one ``lease`` step.
LEASE_STEP_SCHEMA: dict[str, Any] = {
    "oneOf": [
        {"enum": ["open", "abort", "complete"]},
        {
            "type": "object",
            "additionalProperties": False,
            "minProperties": 1,
            "maxProperties": 1,
            "properties": {
                "progress": {"type": "integer", "minimum": 0, "maximum": 100},
                "ready": {"type": "number", "minimum": 0},
            },
        },
    ]
}
#: The JSON Schema of the ``lease_ends`` hypothesis.
LEASE_ENDS_SCHEMA: dict[str, Any] = {"enum": ["done", "error"]}
_METHOD = {"abort": "HttpNfcLeaseAbort", "complete": "HttpNfcLeaseComplete"}


def describe(spec: Any) -> str:
    """The step's name on the timeline (``lease progress 40``)."""
    if isinstance(spec, dict):
        (key, value), *_ = spec.items()
        return f"lease {key} {value:g}" if isinstance(value, float) else f"lease {key} {value}"
    return f"lease {spec}"


class LeaseSteps:
    """The lease of one scenario run and what its steps found."""

    def __init__(self, vm: str):
        self.vm = vm
        self.moid: str | None = None
        self.broken: list[str] = []  # what the endpoint did wrong
        self.undecided: list[str] = []  # what the harness could not decide
        self.ended_early = False  # the lease went from initializing to done or error, never ready

    def step(self, client: ViClient, spec: Any) -> str:
        """Run one step; its outcome for the timeline."""
        try:
            if spec == "open":
                return self._open(client)
            if self.moid is None:
                self.undecided.append(f"{describe(spec)}: no lease was opened before it")
                return "not done: no lease open"
            if isinstance(spec, dict) and "ready" in spec:
                return self._ready(client, float(spec["ready"]))
            if self.ended_early:
                return "not judged: the lease ended before it was ready"
            if isinstance(spec, dict):
                body = {"percent": int(spec["progress"])}
                return self._call(client, "HttpNfcLeaseProgress", body, "a ready lease takes progress")
            return self._call(client, _METHOD[spec], {}, "an open lease takes it")
        except TransportError as exc:
            self.undecided.append(f"{describe(spec)}: {exc}")
            return f"undecided: transport: {exc}"

    def _open(self, client: ViClient) -> str:
        ex = client.invoke("VirtualMachine", self.vm, "ExportVm", None)
        moid = lease_of(ex.json) if ex.ok else None
        if moid is None:
            self._refused("ExportVm on the powered-off VM", ex)
            return _kind(ex)
        self.moid = moid
        return f"ok lease {moid}"

    def _ready(self, client: ViClient, limit: float) -> str:
        assert self.moid is not None
        deadline = time.monotonic() + limit
        while True:
            ex = client.get(LEASE, self.moid, "state")
            if not ex.ok:
                self._refused(f"reading the state of lease {self.moid}", ex)
                return _kind(ex)
            if ex.json == "error":  # the export failed on its own (it may): the steps that need a
                self.ended_early = True  # ready lease cannot be judged
                self.undecided.append(f"lease {self.moid} ended in error before it was ready")
                return "undecided: the lease ended in error before it was ready"
            if ex.json == "done":  # nobody completed it: only HttpNfcLeaseComplete makes a lease done
                self.ended_early = True
                self.broken.append(
                    f"lease {self.moid} went from initializing to done without HttpNfcLeaseComplete"
                )
                return "state done, never ready"
            if ex.json != "initializing":
                return f"state {ex.json}"
            if time.monotonic() >= deadline:
                self.undecided.append(f"lease {self.moid} still initializing after {limit:g} s")
                return f"undecided: still initializing after {limit:g} s (an error, not a failure)"
            time.sleep(0.05)

    def _call(self, client: ViClient, method: str, body: dict[str, Any], rule: str) -> str:
        assert self.moid is not None
        ex = client.invoke(LEASE, self.moid, method, body)
        if not ex.ok:
            self._refused(f"{method} on lease {self.moid} ({rule})", ex)
        return _kind(ex)

    def _refused(self, what: str, ex: Exchange) -> None:
        if ex.injected:  # an answer the harness damaged itself is not the endpoint's
            self.undecided.append(f"{what}: the answer was damaged by an injected fault")
        else:
            self.broken.append(f"{what} answered {_kind(ex)}")

    def verify(self, clean: ViClient, want: str) -> tuple[list[str], str]:
        """``(failures, timeline outcome)`` of the hypothesis that the lease ended in ``want``."""
        if self.moid is None:
            self.undecided.append("lease_ends: no lease was opened")
            return [], "not judged: no lease was opened"
        try:
            state = clean.get(LEASE, self.moid, "state")
            error = clean.get(LEASE, self.moid, "error") if want == "error" else None
        except ClientError as exc:
            self.undecided.append(f"lease_ends: {exc}")
            return [], f"not judged: {exc}"
        got = state.json if state.ok else _kind(state)
        if got != want:
            return [f"lease {self.moid} ended {got}, not {want}"], f"{got}: broken"
        if error is not None and not (  # a 200 whose value is the fault (Exchange.fault sees a fault)
            200 <= error.status < 300 and isinstance(error.json, dict) and error.json.get("_typeName")
        ):
            return [
                f"lease {self.moid} is in error without a fault in its error property"
            ], "error unset: broken"
        return [], f"{got}: holds"

    def verdict(self, clean: ViClient, hypotheses: dict[str, Any], add: Any) -> list[str]:
        """What broke the scenario (the steps' refusals, then ``lease_ends``); ``add(phase, what,
        outcome)`` puts the hypothesis on the timeline."""
        failures = list(self.broken)
        if "lease_ends" in hypotheses:
            found, outcome = self.verify(clean, hypotheses["lease_ends"])
            add("verify", "lease_ends", outcome)
            failures.extend(found)
        return failures


def _kind(ex: Exchange) -> str:
    if ex.fault_type:
        return f"fault {ex.fault_type}"
    return "ok" if ex.ok else f"HTTP {ex.status}"
