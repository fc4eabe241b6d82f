"""The rules one VI/JSON answer must keep by itself (no other request needed), as pure functions:
the schema (and the one codec), the faults an operation may answer, statuses, media type.  The
checks use them on the exchanges they make; the run's auditor (:mod:`.audit`) on all the others."""

from __future__ import annotations

from typing import Any

from ..client import Exchange
from ..contract.model import Contract
from ..vmodl.codec import CodecError, codec
from ..vmodl.registry import release as registry
from ..vmodl.schema import validator


def fault_allowed(contract: Contract, release_name: str, fault: str) -> bool:
    """A fault may be answered when the contract declares it (or a supertype), it is a runtime fault,
    or it is ``TaskInProgress`` from an operation that changes state: vCenter refuses a change to an
    object busy with another task that way, whether or not the method declares it (the curated
    ``locks`` say which objects a task holds)."""
    rel = registry(release_name)
    if not rel.is_fault(fault):
        return False
    if rel.is_runtime_fault(fault):
        return True
    if fault == "TaskInProgress" and contract.changes_state:
        return True
    return any(
        rel.is_subtype(fault, declared)
        for declared in contract.faults_for(release_name)
        if rel.exists(declared)
    )


def is_fault_type(release_name: str, name: Any) -> bool:
    return isinstance(name, str) and registry(release_name).is_fault(name)


def task_fault(info: dict[str, Any]) -> dict[str, Any] | None:
    """The fault object of a TaskInfo in state error: ``info.error`` itself, typed ``MethodFault``
    (VMware's VI/JSON sends the fault object there, not a ``LocalizedMethodFault`` wrapper; an
    answer that wraps it fails ``shape``/``tasks`` on its ``_typeName``, it is not unwrapped here)."""
    err = info.get("error")
    return err if isinstance(err, dict) else None


def any_value(value: Any) -> Any:
    """A value from an anyType position (TaskInfo.result) unwrapped for validation against its
    declared type: ``{"_typeName": "ArrayOfX", "_value": [...]}`` -> ``[...]``."""
    if isinstance(value, dict) and "_value" in value and set(value) <= {"_typeName", "_value"}:
        return value["_value"]
    return value


def response_optional(contract: Contract, release_name: str) -> bool:
    """Whether a success may come without a value (204, or 200 with ``null``): an optional property
    (``response_optional``) or a method whose result is optional."""
    if contract.kind == "property":
        return contract.response_optional
    try:
        return registry(release_name).method(contract.declared_by, contract.name).returns_optional
    except KeyError:
        return contract.response_optional


def schema_problem(ref: str, release: str, value: Any) -> str | None:
    """Why ``value`` is not a valid ``ref`` of ``release`` (None when it is): the schema first, then
    the one codec's strict decoding, which also refuses what the schema's patterns let through (a
    dateTime of month 13, base64 of a wrong length)."""
    val = validator(ref, release)
    if not val.is_valid(value):
        return f"is not a valid {ref}: {'; '.join(val.errors(value, limit=3))}"
    try:
        codec(release).decode(value, ref, strict=True)
    except CodecError as exc:
        return f"does not decode as a {ref}: {exc}"
    return None


def fault_problem(contract: Contract, release: str, name: Any) -> str | None:
    """Why a fault named ``name`` may not be answered by ``contract`` (None when it may)."""
    if not isinstance(name, str):
        return "a fault without _typeName"
    if not registry(release).is_fault(name):
        return f"{name} is not a fault type of {release}"
    if not fault_allowed(contract, release, name):
        declared = ", ".join(contract.faults_for(release)) or "none"
        return f"{name} is neither declared by {contract.name} (declared: {declared}) nor a runtime fault"
    return None


def _first_bytes(body: bytes, n: int = 60) -> str:
    return repr(body[:n]) + ("..." if len(body) > n else "")


def _value_is_fault(contract: Contract, release: str) -> bool:
    """Whether the operation's declared answer is a fault object (a property like HttpNfcLease.error)."""
    ref = contract.response_type
    rel = registry(release)
    return bool(ref) and not ref.endswith("[]") and rel.exists(ref) and rel.is_fault(ref)


def answer_problems(contract: Contract, release: str, ex: Exchange) -> list[tuple[str, str]]:
    """``(check, message)`` for each rule of the contract ``ex``'s answer breaks, by itself (no
    other request needed).  An operation absent from the release must still answer a valid fault."""
    if ex.defect:
        return [("shape", f"HTTP {ex.status}: {ex.defect} (it begins {_first_bytes(ex.body)})")]
    if 300 <= ex.status < 400:
        where = ex.headers.get("location", "")
        return [
            (
                "shape",
                f"HTTP {ex.status} redirect{f' to {where}' if where else ''} instead of an answer "
                "(VI/JSON answers 200, 204 or 500)",
            )
        ]
    media = (ex.headers.get("content-type") or "").split(";")[0].strip().lower()
    out: list[tuple[str, str]] = []
    if ex.body and not (media == "application/json" or media.endswith("+json")):
        out.append(
            ("shape", f"HTTP {ex.status} body sent as {media or 'no Content-Type'}, not application/json")
        )
    fault = ex.fault
    if fault is not None and 200 <= ex.status < 300 and _value_is_fault(contract, release):
        fault = None  # the declared value is itself a fault (HttpNfcLease.error): judged as a value
    if fault is not None:
        if ex.status != 500:
            out.append(
                ("faults", f"fault {ex.fault_type} sent with HTTP {ex.status} (faults are sent with 500)")
            )
        if contract.in_release(release):
            problem = fault_problem(contract, release, ex.fault_type)
            if problem:
                out.append(("faults", problem))
            if ex.fault_type == "SystemError" and contract.kind == "property":
                out.append(
                    (
                        "faults",
                        f"reading {contract.name} answered SystemError: an internal error of the endpoint "
                        "(a property read has no precondition that could fail)",
                    )
                )
            if ex.fault_type == "MethodNotFound":
                out.append(
                    (
                        "versions",
                        f"{contract.name} is part of release {release}, yet the endpoint answered "
                        "MethodNotFound: it does not implement it",
                    )
                )
        problem = schema_problem("MethodFault", release, fault)
        if problem:
            out.append(("shape", f"fault body {problem}"))
        return out
    if ex.status >= 300:
        return [*out, ("shape", f"HTTP {ex.status} without a fault object in the body")]
    if not contract.in_release(release):
        return [
            *out,
            (
                "versions",
                f"HTTP {ex.status}: {contract.name} does not exist in {release}, yet the call was accepted",
            ),
        ]
    optional = response_optional(contract, release)
    if ex.status != contract.status and not (ex.status == 204 and optional):
        out.append(("faults", f"success answered HTTP {ex.status}; the contract says {contract.status}"))
    if ex.status == 204 and ex.body:
        out.append(("shape", "HTTP 204 with a body"))
    ref = contract.response_ref
    if ref is None:
        return out
    if ex.json is None:
        if not optional:
            out.append(
                ("shape", f"HTTP {ex.status} without a value: {contract.name} is not optional (a {ref})")
            )
        return out
    problem = schema_problem(ref, release, ex.json)
    if problem:
        out.append(("shape", f"response body {problem}"))
    return out
