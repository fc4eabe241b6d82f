"""One translation between a VI/JSON call and a SOAP envelope, used both ways.

Client side: :func:`encode_call` turns ``POST /{type}/{moId}/{method}`` (JSON body) or
``GET /{type}/{moId}/{property}`` into a SOAP request (a property read is
``PropertyCollector.RetrievePropertiesEx``, ServiceContent is ``RetrieveServiceContent``);
:func:`decode_answer` turns the SOAP answer into the VI/JSON view the checks judge (status
200/204/500 and the JSON value or fault object), or a defect when it is no valid answer.

Server side: :func:`call_to_json` turns a SOAP request read by pyVmomi into the VI/JSON call;
:func:`json_to_soap` turns the VI/JSON answer into the SOAP response or fault.

Values always pass the project's one codec: JSON -> ``codec.decode`` -> harness values ->
pyVmomi objects (:mod:`.bridge`) -> pyVmomi's serializer, and back.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import unquote

from pyVmomi import SoapAdapter as S
from pyVmomi import VmomiSupport as V
from pyVmomi import vmodl

from ..vmodl.codec import CodecError, codec
from ..vmodl.registry import RELEASES, Release, TypeRef
from ..vmodl.registry import release as registry
from ..vmodl.values import DataObject, MoRef
from .bridge import BridgeError, from_pyvmomi, to_pyvmomi, wsdl_type
from .envelope import (
    EnvelopeError,
    SoapCall,
    fetch_info,
    method_info,
    parse_response,
    serialize_fault,
    serialize_request,
    serialize_response,
    version_id,
)

PC = vmodl.query.PropertyCollector
CONTENT = ("ServiceInstance", "content")


class Untranslatable(ValueError):
    """A VI/JSON request with no SOAP equivalent (a path that names no operation)."""


@dataclass
class SoapRequest:
    """A VI/JSON call as a SOAP request, with what is needed to read its answer."""

    release: str
    kind: str  # "method", "property" or "content"
    managed_type: str
    moid: str
    name: str
    xml: bytes
    wsdl: str  # the SOAP method sent
    result_type: type  # pyVmomi's type of the SOAP result
    declared: TypeRef | None  # VI/JSON type of the answer; None for a void method


@dataclass
class ViView:
    """A SOAP answer as VI/JSON: status, JSON value (``has_body``), or a defect."""

    status: int
    value: Any = None
    has_body: bool = False
    defect: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def body(self) -> bytes:
        return json.dumps(self.value, separators=(",", ":")).encode() if self.has_body else b""


# --- client side ---------------------------------------------------------------------------------
def split_path(path: str) -> tuple[str, str, str, str]:
    """``/sdk/vim25/{release}/{type}/{moId}/{name}`` -> its four parts (Untranslatable otherwise)."""
    parts = path.split("/")
    if len(parts) != 7 or parts[1:3] != ["sdk", "vim25"] or not all(parts[3:]):
        raise Untranslatable(f"{path[:200]!r} names no VI/JSON operation")
    if parts[3] not in RELEASES:
        raise Untranslatable(f"unknown release {parts[3][:40]!r}")
    return parts[3], parts[4], unquote(parts[5]), parts[6]


def encode_call(
    release: str, method: str, managed_type: str, moid: str, name: str, body: Any, collector: str
) -> SoapRequest:
    """The SOAP request of a VI/JSON call; ``body`` is the decoded JSON request object (or None)."""
    this = _this(managed_type, moid)
    if method == "GET":
        if (managed_type, name) == CONTENT:
            info = method_info("RetrieveServiceContent")
            xml = serialize_request(release, this, info, [])
            return SoapRequest(
                release,
                "content",
                managed_type,
                moid,
                name,
                xml,
                info.wsdlName,
                info.result,
                TypeRef("ServiceContent"),
            )
        return _property_request(release, this, managed_type, moid, name, collector)
    if method != "POST":
        raise Untranslatable(f"{method} has no SOAP equivalent")
    if body is not None and not isinstance(body, dict):
        raise Untranslatable("the request body is not a JSON object of parameters")
    try:
        info = method_info(name)
    except KeyError:
        info = V.Object(name=name, wsdlName=name, version=version_id(release), params=(), result=object)
    rel = registry(release)
    declared_params = _declared_params(rel, managed_type, name)
    args: list[Any] = []
    extra: dict[str, Any] = {}
    given = dict(body or {})
    for p in info.params:
        raw = given.pop(p.name, None)
        if raw is None:
            args.append(None)
            continue
        value = _param_value(release, raw, declared_params.get(p.name), p)
        if value is _RAW:
            args.append(None)
            extra[p.name] = raw
        else:
            args.append(value)
    extra.update({k: v for k, v in given.items() if k != "_typeName"})
    xml = serialize_request(release, this, info, args, {k: _loose(v) for k, v in extra.items()})
    returns = _declared_return(rel, managed_type, name)
    return SoapRequest(release, "method", managed_type, moid, name, xml, info.wsdlName, info.result, returns)


_RAW = object()


def _param_value(release: str, raw: Any, declared: TypeRef | None, p: Any) -> Any:
    """pyVmomi's value of a JSON parameter, or ``_RAW`` when it does not fit its type (it then
    travels as a loosely typed element the endpoint must refuse)."""
    if declared is None:
        return _RAW
    try:
        value = to_pyvmomi(codec(release).decode(raw, declared, p.name, strict=False), p.type, p.name)
        info = V.Object(name=p.name, type=p.type, version=version_id(release), flags=V.F_OPTIONAL)
        S.SerializeToStr(value, info, version_id(release))  # a value pyVmomi cannot write is raw too
    except (CodecError, BridgeError, TypeError, ValueError, AttributeError, KeyError):
        return _RAW
    return value


def _loose(raw: Any) -> Any:
    """A JSON value that fits no declared type, as an ``xsi:type``d primitive (objects and arrays
    as their JSON text)."""
    if isinstance(raw, bool | int | float | str):
        return V.long(raw) if isinstance(raw, int) and not isinstance(raw, bool) else raw
    return json.dumps(raw, separators=(",", ":"))


def _property_request(
    release: str, this: Any, managed_type: str, moid: str, name: str, collector: str
) -> SoapRequest:
    info = method_info("RetrievePropertiesEx")
    spec = PC.FilterSpec(
        propSet=[PC.PropertySpec(type=type(this), pathSet=[name], all=False)],
        objectSet=[PC.ObjectSpec(obj=this, skip=False)],
    )
    xml = serialize_request(
        release, _this("PropertyCollector", collector), info, [[spec], PC.RetrieveOptions()]
    )
    declared = _declared_property(registry(release), managed_type, name)
    return SoapRequest(
        release, "property", managed_type, moid, name, xml, info.wsdlName, info.result, declared
    )


def _this(managed_type: str, moid: str) -> Any:
    try:
        cls = wsdl_type(managed_type)
    except BridgeError:
        raise Untranslatable(f"{managed_type[:80]!r} is no managed type pyVmomi knows") from None
    if not issubclass(cls, V.ManagedObject):
        raise Untranslatable(f"{managed_type[:80]!r} is no managed type")
    return cls(moid)


def _declared_params(rel: Release, managed_type: str, name: str) -> dict[str, TypeRef]:
    try:
        return {p.name: p.type for p in rel.method(managed_type, name).params}
    except KeyError:
        return {}


def _declared_return(rel: Release, managed_type: str, name: str) -> TypeRef | None:
    for r in (rel, registry(RELEASES[-1])):
        try:
            return r.method(managed_type, name).returns
        except KeyError:
            continue
    return TypeRef("anyType")


def _declared_property(rel: Release, managed_type: str, name: str) -> TypeRef:
    for r in (rel, registry(RELEASES[-1])):
        try:
            return r.property(managed_type, name).type
        except KeyError:
            continue
    return TypeRef("anyType")


def decode_answer(req: SoapRequest, status: int, xml: bytes) -> ViView:
    """The VI/JSON view of a SOAP answer to ``req`` (HTTP ``status``): 200 with the JSON value,
    204 for a void method, the fault object with the HTTP status it came with; anything that is no
    valid answer (not XML, unknown element or type, missing required element) is a defect."""
    rel = registry(req.release)
    try:
        answer = parse_response(xml, req.wsdl, req.result_type, req.release)
    except EnvelopeError as exc:
        return ViView(status, defect=f"not a valid SOAP answer: {exc}")
    try:
        if answer.is_fault:
            return ViView(status, _json(answer.value, TypeRef("MethodFault"), rel), True)
        if req.kind == "property":
            return _property_view(req, status, answer.value, rel)
        if req.declared is None:
            return ViView(204 if status == 200 else status)
        return ViView(status, _json(answer.value, req.declared, rel), True)
    except (BridgeError, CodecError) as exc:
        return ViView(status, defect=f"not a valid SOAP answer: {exc}")


def _property_view(req: SoapRequest, status: int, result: Any, rel: Release) -> ViView:
    objects = list(getattr(result, "objects", None) or [])
    found = next((o for o in objects if getattr(o.obj, "_moId", None) == req.moid), None)
    if found is None:
        if objects:
            raise BridgeError("objects", f"RetrievePropertiesEx answered objects other than {req.moid}")
        return ViView(status, None, True)
    for missing in found.missingSet or []:
        if missing.path == req.name and missing.fault is not None:
            return ViView(500, _json(missing.fault, TypeRef("MethodFault"), rel), True, notes=["missingSet"])
    for prop in found.propSet or []:
        if prop.name == req.name:
            return ViView(status, _json(prop.val, req.declared or TypeRef("anyType"), rel), True)
    return ViView(status, None, True)


def _json(value: Any, declared: TypeRef, rel: Release) -> Any:
    """The VI/JSON value of what the wire said.  A missing required element stays missing (the
    answer is still usable, and the shape rules judge it, as they judge a VI/JSON answer without a
    required field); an element or type the release does not know is a defect (BridgeError)."""
    return codec(rel.name).encode(from_pyvmomi(value, declared, rel), declared, strict=False)


# --- server side ---------------------------------------------------------------------------------
def param_types(method: str) -> dict[str, type]:
    """pyVmomi's parameter types of a wire method (``Fetch`` included; none for an unknown one)."""
    if method == "Fetch":
        return {"prop": str}
    try:
        return {p.name: p.type for p in method_info(method).params}
    except KeyError:  # a method pyVmomi does not know: the endpoint answers MethodNotFound
        return {}


def call_to_json(release: str, call: SoapCall) -> tuple[str, str, dict[str, Any]]:
    """``(type, moId, body)`` of the VI/JSON call a SOAP request makes: parameters by name, each
    through the codec (``strict=False``: the endpoint, not the translation, judges the request).
    Raises BridgeError or CodecError for values that fit no declared type."""
    rel = registry(release)
    managed_type = V.GetWsdlName(type(call.this))
    declared = _declared_params(rel, managed_type, call.method)
    if not declared:
        declared = _declared_params(registry(RELEASES[-1]), managed_type, call.method)
    body: dict[str, Any] = {}
    for name, value in call.params.items():
        typ = declared.get(name)
        if typ is None:
            raise BridgeError(name, f"{call.method} has no parameter {name!r}")
        body[name] = codec(release).encode(from_pyvmomi(value, typ, rel, name), typ, name, strict=False)
    return managed_type, call.this._moId, body


def json_to_value(release: str, data: Any, declared: TypeRef | str, pytype: type) -> Any:
    """pyVmomi's object of a VI/JSON value (through the codec, strictly)."""
    return to_pyvmomi(codec(release).decode(data, declared, strict=True), pytype)


def fault_object(release: str, data: Any) -> Any:
    """pyVmomi's fault of a VI/JSON fault object."""
    return json_to_value(release, data, "MethodFault", object)


def fault_message(data: Any) -> str:
    """The faultstring for a VI/JSON fault object: its first message, else its type."""
    for msg in (data.get("faultMessage") or []) if isinstance(data, dict) else []:
        if isinstance(msg, dict) and msg.get("message"):
            return str(msg["message"])
    return str(data.get("_typeName", "fault")) if isinstance(data, dict) else "fault"


def json_to_soap(
    release: str, method: str, result_type: type, declared: TypeRef | None, status: int, data: Any
) -> bytes:
    """The SOAP answer of a VI/JSON answer (``data`` decoded JSON; None for no body)."""
    if status >= 300 or (isinstance(data, dict) and registry(release).is_fault(str(data.get("_typeName")))):
        return serialize_fault(release, fault_object(release, data), fault_message(data))
    if declared is None or data is None:
        return serialize_response(release, method, result_type, None)
    return serialize_response(
        release, method, result_type, json_to_value(release, data, declared, result_type)
    )


def sim_fault(release: str, type_name: str, message: str, **fields: Any) -> bytes:
    """A SOAP fault the façade itself answers (InvalidRequest, ManagedObjectNotFound …)."""
    fault = to_pyvmomi(DataObject(type_name, **fields))
    return serialize_fault(release, fault, message, "ServerFaultCode")


def moref(obj: Any) -> MoRef:
    return MoRef(V.GetWsdlName(type(obj)), obj._moId)


__all__ = [
    "SoapRequest",
    "Untranslatable",
    "ViView",
    "call_to_json",
    "decode_answer",
    "encode_call",
    "fault_message",
    "fetch_info",
    "json_to_soap",
    "json_to_value",
    "param_types",
    "sim_fault",
    "split_path",
]
