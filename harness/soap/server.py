"""The SOAP façade: ``/sdk`` served on top of a VI/JSON request handler.

``handler(method, path, headers, body)`` is any VI/JSON server in-process (the simulator's
``Simulator.handle`` is one); it answers an object with ``status``, ``headers`` and ``body`` (or the
tuple ``(status, headers, body)``).  Each SOAP request is read with pyVmomi's deserializer and made
the VI/JSON call; the answer goes back through the codec and pyVmomi's serializer.  The façade
itself serves what SOAP clients need beyond the VI/JSON operations (:mod:`.collector`):
``RetrieveServiceContent``, ``Fetch``, ``RetrieveProperties[Ex]``, container views, filters and
``WaitForUpdates[Ex]``.  The ``vmware_soap_session`` cookie is the VI/JSON session id.

A VI/JSON answer the translation cannot express (a body outside the schema, a text error page)
goes to the SOAP client unchanged: a SOAP client sees it as the broken answer it is.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.cookies import CookieError, SimpleCookie
from typing import Any

from pyVmomi import VmomiSupport as V
from pyVmomi import vim, vmodl
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..client.exchange import SESSION_HEADER
from ..vmodl.codec import CodecError, codec
from ..vmodl.registry import RELEASES, TypeRef
from ..vmodl.registry import release as registry
from ..vmodl.values import MoRef
from .bridge import BridgeError, pytype_of, to_pyvmomi
from .collector import Collector, FacadeFault, Read
from .envelope import (
    COOKIE_NAME,
    SOAP_CONTENT_TYPE,
    EnvelopeError,
    SoapCall,
    fetch_info,
    method_info,
    parse_request,
    release_of_action,
    serialize_fault,
    serialize_response,
)
from .translate import call_to_json, fault_message, fault_object, json_to_soap, moref, param_types

ViHandler = Callable[[str, str, Mapping[str, str], bytes], Any]
MAX_BODY = 8 * 1024 * 1024
PC = vmodl.query.PropertyCollector


@dataclass
class ViAnswer:
    """A VI/JSON answer of the handler."""

    status: int
    headers: Mapping[str, str] = field(default_factory=dict)
    body: bytes = b""
    content_type: str = "application/json"

    @property
    def json(self) -> tuple[Any, bool]:
        if not self.body:
            return None, True
        try:
            return json.loads(self.body), True
        except ValueError:
            return None, False


def vi_answer(raw: Any) -> ViAnswer:
    """A handler's answer as :class:`ViAnswer` (a tuple or an object with the same fields)."""
    if isinstance(raw, tuple):
        status, headers, body = raw
        return ViAnswer(status, dict(headers or {}), body or b"")
    return ViAnswer(
        raw.status,
        dict(getattr(raw, "headers", None) or {}),
        getattr(raw, "body", b"") or b"",
        getattr(raw, "content_type", "application/json") or "application/json",
    )


class _Passthrough(Exception):
    def __init__(self, answer: ViAnswer):
        super().__init__(answer.status)
        self.answer = answer


@dataclass
class _Ctx:
    release: str
    session: str
    user_agent: str


@dataclass
class SoapReply:
    status: int
    headers: dict[str, str]
    body: bytes


class SoapFacade:
    """``/sdk`` over a VI/JSON handler (see the module docstring)."""

    def __init__(
        self,
        handler: ViHandler,
        releases: tuple[str, ...] = RELEASES,
        max_wait_s: float = 30.0,
        max_body: int = MAX_BODY,
    ):
        self.handler = handler
        self.releases = releases
        self.max_body = max_body
        self.collector = Collector(self._read, max_wait_s=max_wait_s)
        self._managers: dict[str, dict[str, Any]] = {}

    # --- the request ---------------------------------------------------------------------------
    def handle(self, headers: Mapping[str, str], body: bytes) -> SoapReply:
        """One SOAP request (``headers`` with lower-case names)."""
        wanted = release_of_action(headers.get("soapaction"))
        release = wanted if wanted in self.releases else self.releases[-1]
        ctx = _Ctx(release, _cookie(headers.get("cookie", "")), headers.get("user-agent", ""))
        if len(body) > self.max_body:
            return self._fault(
                ctx, {"_typeName": "InvalidRequest"}, f"the request exceeds {self.max_body} bytes"
            )
        try:
            call = parse_request(body, param_types)
        except (EnvelopeError, KeyError) as exc:
            return self._fault(ctx, _invalid(f"cannot read the request: {exc}"), "cannot read the request")
        if call.this is None:
            return self._fault(ctx, _invalid("the request has no _this"), "the request has no _this")
        try:
            return self._dispatch(ctx, call)
        except FacadeFault as fault:
            return self._fault(ctx, fault.data, fault_message(fault.data))
        except _Passthrough as raw:
            a = raw.answer
            return SoapReply(a.status, {"content-type": a.content_type}, a.body)
        except Exception as exc:  # noqa: BLE001 - a SOAP fault, never a traceback
            return self._fault(
                ctx, {"_typeName": "SystemError", "reason": exc.__class__.__name__}, str(exc)[:200]
            )

    def _dispatch(self, ctx: _Ctx, call: SoapCall) -> SoapReply:
        local = {
            "RetrieveServiceContent": self._content,
            "Fetch": self._fetch,
            "RetrieveProperties": self._retrieve,
            "RetrievePropertiesEx": self._retrieve,
            "ContinueRetrievePropertiesEx": self._no_token,
            "CancelRetrievePropertiesEx": self._no_token,
            "CreateContainerView": self._create_view,
            "DestroyView": self._destroy,
            "DestroyPropertyFilter": self._destroy,
            "CreateFilter": self._create_filter,
            "WaitForUpdates": self._wait,
            "WaitForUpdatesEx": self._wait,
            "CheckForUpdates": self._wait,
            "CancelWaitForUpdates": self._cancel_wait,
        }.get(call.method)
        if call.unknown and _known(call.method):
            raise FacadeFault(_invalid(f"{call.method} has no parameter {call.unknown[0]!r}"))
        return local(ctx, call) if local is not None else self._translate(ctx, call)

    def _translate(self, ctx: _Ctx, call: SoapCall) -> SoapReply:
        try:
            managed_type, moid, body = call_to_json(ctx.release, call)
        except (BridgeError, CodecError) as exc:
            raise FacadeFault(_invalid(f"invalid parameter: {exc}")) from None
        answer = self._vi(ctx, "POST", f"/{managed_type}/{moid}/{call.method}", body)
        result_type = method_info(call.method).result if _known(call.method) else object
        declared = _returns(ctx.release, managed_type, call.method)
        reply = self._reply(ctx, call.method, result_type, declared, answer)
        sid = {k.lower(): v for k, v in answer.headers.items()}.get(SESSION_HEADER)
        if sid and reply.status == 200:
            reply.headers["set-cookie"] = f'{COOKIE_NAME}="{sid}"; Path=/; HttpOnly'
        return reply

    # --- VI/JSON calls -------------------------------------------------------------------------
    def _vi(self, ctx: _Ctx, method: str, path: str, body: dict[str, Any] | None = None) -> ViAnswer:
        headers = {"accept": "application/json"}
        if ctx.session:
            headers[SESSION_HEADER] = ctx.session
        if ctx.user_agent:
            headers["user-agent"] = ctx.user_agent
        data = b""
        if body:
            headers["content-type"] = "application/json"
            data = json.dumps(body, separators=(",", ":")).encode()
        return vi_answer(self.handler(method, f"/sdk/vim25/{ctx.release}{path}", headers, data))

    def _read(self, release: str, session: str, ref: MoRef, prop: str) -> Read:
        """A VI/JSON property GET as a :class:`Read` (a non-JSON answer passes through)."""
        answer = self._vi(_Ctx(release, session, ""), "GET", f"/{ref.type}/{ref.value}/{prop}")
        data, ok = answer.json
        if not ok or (answer.status >= 300 and not isinstance(data, dict)):
            raise _Passthrough(answer)
        declared = _property_type(release, ref.type, prop)
        rel = registry(release)
        if answer.status >= 300 or (
            isinstance(data, dict)
            and rel.is_fault(str(data.get("_typeName")))
            and not rel.is_fault(declared.name)  # HttpNfcLease.error is a fault
        ):
            return Read(False, data)
        return Read(True, data, declared)

    def _reply(
        self, ctx: _Ctx, method: str, result_type: type, declared: TypeRef | None, answer: ViAnswer
    ) -> SoapReply:
        data, ok = answer.json
        if not ok:
            raise _Passthrough(answer)
        try:
            body = json_to_soap(ctx.release, method, result_type, declared, answer.status, data)
        except (BridgeError, CodecError, TypeError, AttributeError, KeyError, ValueError):
            raise _Passthrough(answer) from None
        return SoapReply(200 if answer.status < 300 else 500, {"content-type": SOAP_CONTENT_TYPE}, body)

    def _ok(self, ctx: _Ctx, method: str, result_type: type, value: Any) -> SoapReply:
        body = serialize_response(ctx.release, method, result_type, value)
        return SoapReply(200, {"content-type": SOAP_CONTENT_TYPE}, body)

    def _fault(self, ctx: _Ctx, data: dict[str, Any], message: str) -> SoapReply:
        try:
            body = serialize_fault(ctx.release, fault_object(ctx.release, data), message)
        except (BridgeError, CodecError, TypeError, AttributeError, KeyError, ValueError):
            body = serialize_fault(ctx.release, vmodl.fault.SystemError(reason=message[:200]), message)
        return SoapReply(500, {"content-type": SOAP_CONTENT_TYPE}, body)

    def _session(self, ctx: _Ctx) -> str:
        """The caller's session, checked by the VI/JSON server (NotAuthenticated otherwise)."""
        manager = self._manager(ctx, "sessionManager")
        answer = self._vi(ctx, "GET", f"/SessionManager/{manager}/currentSession")
        data, ok = answer.json
        if not ok:
            raise _Passthrough(answer)
        if answer.status >= 300 and isinstance(data, dict):
            raise FacadeFault(data)
        if not data:
            raise FacadeFault({"_typeName": "NotAuthenticated"})
        return ctx.session

    def _manager(self, ctx: _Ctx, name: str) -> str:
        content = self._managers.get(ctx.release)
        if content is None:
            answer = self._vi(ctx, "GET", "/ServiceInstance/ServiceInstance/content")
            data, _ = answer.json
            content = data if answer.status == 200 and isinstance(data, dict) else {}
            if content:
                self._managers[ctx.release] = content
        ref = content.get(name)
        return ref["value"] if isinstance(ref, dict) and "value" in ref else name[0].upper() + name[1:]

    # --- what the façade serves itself --------------------------------------------------------
    def _content(self, ctx: _Ctx, call: SoapCall) -> SoapReply:
        answer = self._vi(ctx, "GET", "/ServiceInstance/ServiceInstance/content")
        info = method_info("RetrieveServiceContent")
        return self._reply(ctx, call.method, info.result, TypeRef("ServiceContent"), answer)

    def _fetch(self, ctx: _Ctx, call: SoapCall) -> SoapReply:
        prop = str(call.params.get("prop") or "")
        ref = moref(call.this)
        try:
            pytype = type(call.this)._GetPropertyInfo(prop).type
        except AttributeError:
            raise FacadeFault({"_typeName": "InvalidProperty", "name": prop}) from None
        got = self.collector.read(ctx.release, ctx.session, ref, prop)
        if not got.ok:
            raise FacadeFault(got.value)
        declared = got.declared or _property_type(ctx.release, ref.type, prop)
        if got.value is None:
            return self._ok(ctx, "Fetch", pytype, None)
        try:
            value = json_value(ctx.release, got.value, declared)
        except (BridgeError, CodecError):
            raise _Passthrough(ViAnswer(200, {}, json.dumps(got.value).encode())) from None
        return self._ok(ctx, "Fetch", fetch_info(registry(ctx.release).version_id, pytype).result, value)

    def _retrieve(self, ctx: _Ctx, call: SoapCall) -> SoapReply:
        self._session(ctx)
        try:
            objects = self.collector.retrieve(ctx.release, ctx.session, call.params.get("specSet") or [])
        except (BridgeError, CodecError) as exc:
            raise FacadeFault(
                {"_typeName": "SystemError", "reason": f"an answer outside the schema: {exc}"}
            ) from None
        info = method_info(call.method)
        if call.method == "RetrieveProperties":
            return self._ok(ctx, call.method, info.result, objects)
        return self._ok(
            ctx, call.method, info.result, PC.RetrieveResult(objects=objects) if objects else None
        )

    def _no_token(self, ctx: _Ctx, call: SoapCall) -> SoapReply:
        raise FacadeFault({"_typeName": "InvalidArgument", "invalidProperty": "token"})

    def _create_view(self, ctx: _Ctx, call: SoapCall) -> SoapReply:
        self._session(ctx)
        container = call.params.get("container")
        if container is None:
            raise FacadeFault(_invalid("the required parameter 'container' is missing"))
        types = [V.GetWsdlName(t) for t in call.params.get("type") or []]
        ref = self.collector.create_view(
            ctx.session, moref(container), types, bool(call.params.get("recursive"))
        )
        return self._ok(ctx, call.method, vim.view.ContainerView, to_pyvmomi(ref))

    def _destroy(self, ctx: _Ctx, call: SoapCall) -> SoapReply:
        self._session(ctx)
        ref = moref(call.this)
        if not self.collector.destroy(ctx.session, ref):
            raise FacadeFault({"_typeName": "ManagedObjectNotFound", "obj": _json_ref(ref)})
        return self._ok(ctx, call.method, type(None), None)

    def _create_filter(self, ctx: _Ctx, call: SoapCall) -> SoapReply:
        self._session(ctx)
        ref = self.collector.create_filter(ctx.session, call.params.get("spec"))
        return self._ok(ctx, call.method, PC.Filter, to_pyvmomi(ref))

    def _wait(self, ctx: _Ctx, call: SoapCall) -> SoapReply:
        self._session(ctx)
        options = call.params.get("options")
        limit = getattr(options, "maxWaitSeconds", None)
        if call.method == "CheckForUpdates":
            limit = 0
        version = call.params.get("version")
        update = self.collector.wait(ctx.release, ctx.session, version, limit)
        if update is None and call.method == "WaitForUpdates":
            update = PC.UpdateSet(version=version or "0", filterSet=[])
        return self._ok(ctx, call.method, PC.UpdateSet, update)

    def _cancel_wait(self, ctx: _Ctx, call: SoapCall) -> SoapReply:
        self._session(ctx)
        self.collector.cancel(ctx.session)
        return self._ok(ctx, call.method, type(None), None)

    # --- ASGI ----------------------------------------------------------------------------------
    def versions_xml(self) -> bytes:
        """``/sdk/vimServiceVersions.xml``: the releases served (pyVmomi's SmartConnect reads it)."""
        newest, *prior = reversed(self.releases)
        priors = "".join(f"<version>{r}</version>" for r in prior)
        return (
            '<?xml version="1.0" encoding="UTF-8" ?>\n<namespaces version="1.0"><namespace>'
            f"<name>urn:vim25</name><version>{newest}</version><priorVersions>{priors}</priorVersions>"
            "</namespace></namespaces>\n"
        ).encode()


def json_value(release: str, data: Any, declared: TypeRef) -> Any:
    """pyVmomi's object of a VI/JSON value of a declared type (through the codec)."""
    return to_pyvmomi(codec(release).decode(data, declared, strict=True), pytype_of(declared))


def _returns(release: str, managed_type: str, method: str) -> TypeRef | None:
    for rel in (registry(release), registry(RELEASES[-1])):
        try:
            return rel.method(managed_type, method).returns
        except KeyError:
            continue
    return None


def _property_type(release: str, managed_type: str, prop: str) -> TypeRef:
    for rel in (registry(release), registry(RELEASES[-1])):
        try:
            return rel.property(managed_type, prop).type
        except KeyError:
            continue
    return TypeRef("anyType")


def _known(method: str) -> bool:
    try:
        method_info(method)
    except KeyError:
        return False
    return True


def _invalid(message: str) -> dict[str, Any]:
    return {
        "_typeName": "InvalidRequest",
        "faultMessage": [{"_typeName": "LocalizableMessage", "key": "soap", "message": message}],
    }


def _json_ref(ref: MoRef) -> dict[str, str]:
    return {"_typeName": "ManagedObjectReference", "type": ref.type, "value": ref.value}


def _cookie(header: str) -> str:
    if COOKIE_NAME not in header:
        return ""
    try:
        morsel = SimpleCookie(header).get(COOKIE_NAME)
    except CookieError:
        return ""
    return morsel.value if morsel is not None else ""


# --- mounting ------------------------------------------------------------------------------------
def soap_routes(facade: SoapFacade, path: str = "/sdk") -> list[Route]:
    """Starlette routes serving ``facade`` at ``path`` (POST SOAP) and ``path/vimServiceVersions.xml``."""

    async def soap(request: Request) -> Response:
        body = await request.body()
        headers = {k.lower(): v for k, v in request.headers.items()}
        reply = await run_in_threadpool(facade.handle, headers, body)
        return Response(reply.body, reply.status, headers=reply.headers)

    async def versions(request: Request) -> Response:
        return Response(facade.versions_xml(), 200, media_type="text/xml")

    return [
        Route(path, soap, methods=["POST"]),
        Route(f"{path}/vimServiceVersions.xml", versions, methods=["GET"]),
    ]


def mount_soap(app: Starlette, handler: ViHandler, **kwargs: Any) -> SoapFacade:
    """Serve SOAP at ``/sdk`` in ``app`` (ahead of its other routes) over ``handler``; the façade is
    also ``app.state.soap``."""
    facade = SoapFacade(handler, **kwargs)
    app.router.routes[0:0] = soap_routes(facade)
    app.state.soap = facade
    return facade


def simulator_handler(sim: Any) -> ViHandler:
    """The VI/JSON handler of a :class:`~harness.sim.Simulator` (its ``handle``)."""
    return lambda method, path, headers, body: sim.handle(method, path, headers, body)


__all__ = [
    "SoapFacade",
    "ViAnswer",
    "mount_soap",
    "simulator_handler",
    "soap_routes",
    "vi_answer",
]
