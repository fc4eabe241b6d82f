"""schemathesis: the exported OpenAPI document driven through schemathesis's Python API.

The release's contracts are exported (:func:`harness.contract.openapi.export_openapi`, cached per
release), flattened for generation (:func:`harness.contract.openapi.flatten_openapi`: one object
schema per type instead of ``allOf`` chains, closed request bodies; responses are judged against the
same open schemas as the export's) and loaded with ``schemathesis.openapi.from_dict``; the operation under test is found by
its operationId and ``examples`` positive cases are drawn from ``operation.as_strategy`` (seeded;
``moId`` fixed to the sandbox target).  A VI/JSON login hook (a schemathesis auth provider) logs a
session in and sets ``vmware-api-session-id``.  Each answer is validated with schemathesis's
``not_a_server_error`` (configured so that HTTP 500 is an expected status: VI/JSON sends documented
faults with 500), ``status_code_conformance``, ``content_type_conformance`` and
``response_schema_conformance`` (the 500 response is documented as a ``MethodFault``), plus a VI/JSON
convention check: a 500 carries a fault object, a fault object is sent with 500.
"""

from __future__ import annotations

import contextlib
import copy
import functools
from typing import Any

import requests
import schemathesis
from schemathesis import auths
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)
from schemathesis.config import SchemathesisConfig

from ..client import SESSION_HEADER
from ..client.exchange import Exchange, _decode
from ..client.session import pin_environment
from ..contract import load_contracts
from ..contract.openapi import export_openapi, flatten_openapi
from ..gen.draw import draw
from ..report.model import Evidence
from ..sandbox.leases import lease_of
from ..vmodl.registry import release as registry
from .base import CheckContext, Skip, check
from .calls import may_generate, target
from .verdict import Verdict


@functools.lru_cache(maxsize=4)
def _document(release: str) -> dict[str, Any]:
    """The release's exported document, flattened for generation (:func:`flatten_openapi`): no
    ``allOf`` chains to merge or filter, request bodies without undeclared keys."""
    return flatten_openapi(export_openapi(load_contracts(), release))


@functools.lru_cache(maxsize=8)
def _schema(release: str, base: str, seed: int) -> Any:
    doc = copy.copy(_document(release))
    doc["servers"] = [{"url": base}]
    cfg = SchemathesisConfig.from_dict(
        {
            "seed": seed,
            "checks": {"not_a_server_error": {"expected-statuses": ["2xx", "3xx", "4xx", "500"]}},
        }
    )
    return schemathesis.openapi.from_dict(doc, config=cfg)


def vi_json_conventions(release: str):
    """A schemathesis response check: HTTP 500 carries a fault object; a fault object comes with 500."""

    def check_response(ctx: Any, response: Any, case: Any) -> None:
        body: Any
        try:
            body = response.json()
        except Exception:  # noqa: BLE001 - any non-JSON body
            body = None
        name = body.get("_typeName") if isinstance(body, dict) else None
        is_fault = isinstance(name, str) and registry(release).is_fault(name)
        if response.status_code == 500 and not is_fault:
            raise AssertionError("VI/JSON: HTTP 500 without a fault object in the body")
        if is_fault and response.status_code != 500:
            raise AssertionError(f"VI/JSON: fault {name} sent with HTTP {response.status_code}, not 500")

    check_response.__name__ = "vi_json_conventions"
    return check_response


def login_provider(ctx: CheckContext, sessions: list[Any]) -> type:
    """The VI/JSON login hook: a session of its own (or the harness's) in ``vmware-api-session-id``."""

    class ViJsonLogin:
        def get(self, case: Any, context: Any) -> str | None:
            creds = ctx.users.get("admin")
            if creds and ctx.session_factory is not None:
                client = ctx.session_factory()
                client.login(*creds)
                sessions.append(client)
                return client.session_id
            return ctx.client.session_id

        def set(self, case: Any, data: str, context: Any) -> None:
            case.headers = case.headers or {}
            case.headers[SESSION_HEADER] = data

    return ViJsonLogin


def _failure_text(exc: BaseException) -> str:
    inner = getattr(exc, "exceptions", None)
    if inner:
        parts = [_failure_text(e) for e in inner]
    else:
        title = getattr(exc, "title", "") or type(exc).__name__
        detail = str(getattr(exc, "message", "") or (exc if not getattr(exc, "title", "") else "")).strip()
        parts = [f"{title}: {detail[:300]}" if detail and detail not in title else title]
    return "; ".join(p for p in parts if p)


def _evidence(resp: Any, release: str, note: str) -> Evidence:
    """Report evidence of a schemathesis response (secrets redacted like the client's)."""
    req = resp.request
    body = req.body.encode() if isinstance(req.body, str) else req.body
    data, is_json = _decode(resp.content)
    headers = {k: ", ".join(v) for k, v in resp.headers.items()}
    ex = Exchange(
        req.method or "",
        req.url or "",
        dict(req.headers),
        body,
        resp.status_code,
        headers,
        resp.content or b"",
        resp.elapsed * 1000,
        release,
        data,
        is_json,
    )
    return ex.evidence(note=note)


def _settle(ctx: CheckContext, resp: Any) -> None:
    """Wait for a task a case started, so that it does not hold the sandbox object for later checks; note
    an export lease it opened (the runner aborts it)."""
    if resp.status_code != 200:
        return
    data, _ = _decode(resp.content)
    lease = lease_of(data)
    if lease and ctx.sandbox is not None:  # aborted once the check ends (it locks its VM)
        ctx.sandbox.leases.add(lease)
    if isinstance(data, dict) and data.get("type") == "Task" and data.get("value"):
        with contextlib.suppress(Exception):
            ctx.client.wait_task(data, timeout=ctx.timeout)


@check("schemathesis", description="the exported OpenAPI, driven by schemathesis with VI/JSON conventions")
def schemathesis_check(ctx: CheckContext, v: Verdict) -> str:
    if getattr(ctx.client, "transport", None) is not None:
        raise Skip("schemathesis drives the VI/JSON OpenAPI over HTTP; this run speaks SOAP")
    c = ctx.contract
    t = target(ctx)
    if not may_generate(ctx, t.prepared):
        raise Skip(
            "random requests would change objects the harness did not create "
            f"({t.prepared.managed_type} {t.moid}); only prepared requests are sent to it"
        )
    base = ctx.client.root
    schema = _schema(ctx.release, base, ctx.seed)
    try:
        op = schema.find_operation_by_id(c.id)
    except Exception as exc:  # noqa: BLE001 - schemathesis raises its own lookup errors
        raise Skip(f"{c.id} is not in the exported OpenAPI document: {exc}") from None
    sessions: list[Any] = []
    storage = auths.AuthStorage()
    storage.auth()(login_provider(ctx, sessions))
    checks = [
        not_a_server_error,
        status_code_conformance,
        content_type_conformance,
        response_schema_conformance,
        vi_json_conventions(ctx.release),
    ]
    http = requests.Session()
    http.verify = ctx.client.verify
    pin_environment(http, base, ctx.client.verify)
    try:
        strategy = op.as_strategy(path_parameters={"moId": t.moid}, auth_storage=storage)
        cases = draw(strategy, max(1, ctx.examples), ctx.seed)
        for case in cases:
            try:
                resp = case.call(base_url=base, session=http, timeout=ctx.client.timeout)
            except requests.RequestException as exc:
                v.error(f"network: {type(exc).__name__}: {exc}")
                break
            v.seen += 1
            _settle(ctx, resp)
            try:
                case.validate_response(resp, checks=checks)
            except (Exception, BaseExceptionGroup) as exc:  # noqa: BLE001 - schemathesis failures and groups
                text = _failure_text(exc)
                v.fail(text, _evidence(resp, ctx.release, text))
                break
    finally:
        http.close()
        for s in sessions:
            with contextlib.suppress(Exception):
                s.logout()
    return f"{v.seen} schemathesis case(s) passed its checks"
