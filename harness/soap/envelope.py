"""SOAP envelopes written and read with pyVmomi's ``SoapAdapter``: its serializer (requests,
responses, fault details) and its deserializers (responses, and the parameters of a request).

Only the envelope frame (``soapenv:Envelope``/``Body``/``Fault``, pyVmomi's own constants) is put
together here; every value inside is pyVmomi's serialization.
"""

from __future__ import annotations

import copy
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any
from xml.parsers.expat import ExpatError, ParserCreate

from pyVmomi import SoapAdapter as S
from pyVmomi import VmomiSupport as V

from ..vmodl.registry import release as registry

VIM_NS = "urn:vim25"
SOAP_CONTENT_TYPE = "text/xml; charset=utf-8"
#: The session cookie of the SOAP protocol (pyVmomi's ``COOKIE_NAME``).
COOKIE_NAME = S.COOKIE_NAME
#: pyVmomi reads properties with this hidden method (``Fetch(prop)``), as vCenter serves it.
FETCH = "Fetch"
_ENV = S.XMLNS_SOAPENV


class EnvelopeError(ValueError):
    """A SOAP message that is no envelope pyVmomi can read (not XML, no Body, unknown element or type)."""


def version_id(release: str) -> str:
    """pyVmomi's version id of a release (``8.0.2.0`` -> ``vim.version.v8_0_2_0``)."""
    return registry(release).version_id


def soap_action(release: str) -> str:
    return f"urn:vim25/{release}"


def release_of_action(action: str | None) -> str | None:
    """The release named by a SOAPAction header (``"urn:vim25/8.0.2.0"``), or None."""
    text = (action or "").strip().strip('"')
    prefix = "urn:vim25/"
    return text[len(prefix) :] if text.startswith(prefix) else None


class _Stub(S.SoapStubAdapterBase):
    """A stub that never connects: pyVmomi's request serializer and the deserializers need one."""

    def __init__(self, version: str):
        super().__init__(version=version)
        self.requestContext = None
        self.samlToken = None

    def InvokeMethod(self, mo: Any, info: Any, args: Any) -> Any:  # noqa: N802 - pyVmomi's name
        raise NotImplementedError("a translation stub does not send")


def method_info(wsdl_name: str) -> Any:
    """pyVmomi's method info of a wire method name (``PowerOnVM_Task``); KeyError when unknown."""
    return V.GetWsdlMethod(VIM_NS, wsdl_name).info


def fetch_info(version: str, result: type = object) -> Any:
    """The info of pyVmomi's property accessor method ``Fetch(prop)``."""
    param = V.Object(name="prop", type=str, version=version, flags=0)
    return V.Object(
        name="Fetch", wsdlName=FETCH, version=version, params=(param,), result=result, isTask=False
    )


# --- requests ------------------------------------------------------------------------------------
def serialize_request(
    release: str, this: Any, info: Any, args: list[Any], extra: dict[str, Any] | None = None
) -> bytes:
    """A request envelope for ``this.<info>(*args)`` in the release's namespace.

    Every parameter may be left out (a request under test may omit a required one) and a method
    or parameter newer than the release is sent anyway (the endpoint must refuse it); ``extra``
    adds elements with primitive values that fit no declared type (with their ``xsi:type``)."""
    version = version_id(release)
    params = [
        V.Object(name=p.name, type=p.type, version=version, flags=p.flags | V.F_OPTIONAL) for p in info.params
    ]
    values = list(args)
    for name, value in (extra or {}).items():  # typed by xsi:type, as in an anyType position
        params.append(V.Object(name=name, type=object, version=version, flags=V.F_OPTIONAL))
        values.append(value)
    sendable = V.Object(name=info.name, wsdlName=info.wsdlName, version=version, params=tuple(params))
    return _Stub(version).SerializeRequest(this, sendable, values)


@dataclass
class SoapCall:
    """A request read from the wire: the method, ``_this`` and the parameters by name."""

    method: str
    this: Any
    params: dict[str, Any] = field(default_factory=dict)
    unknown: list[str] = field(default_factory=list)


#: The instance attribute of a pyVmomi data object read from XML: the names of the fields that had
#: an element.  pyVmomi gives a required field without its element a default (``0`` for an int),
#: so without this a missing required element would pass for a zero.
SEEN = "_vsphereHarnessSeen"


def seen_fields(obj: Any) -> set[str] | None:
    """The fields of a data object that had an element in the XML it was read from (None: the
    object was not read from XML)."""
    return obj.__dict__.get(SEEN)


class FieldTrackingDeserializer(S.SoapDeserializer):
    """pyVmomi's deserializer, recording on each data object which of its fields had an element."""

    def EndElementHandler(self, tag: str) -> None:  # noqa: N802 - pyVmomi's name
        stack = getattr(self, "stack", None)
        if stack:
            if isinstance(stack[-1], V.DataObject):
                stack[-1].__dict__.setdefault(SEEN, set())
            if len(stack) >= 2 and isinstance(stack[-2], V.DataObject):
                stack[-2].__dict__.setdefault(SEEN, set()).add(self.SplitTag(tag)[1])
        super().EndElementHandler(tag)


class _ParamReader(FieldTrackingDeserializer):
    """pyVmomi's deserializer for one parameter element, telling its reader when it is done."""

    def __init__(self, done: Any):
        super().__init__()
        self._done = done

    def EndElementHandler(self, tag: str) -> None:  # noqa: N802 - pyVmomi's name
        super().EndElementHandler(tag)
        if not hasattr(self, "stack"):  # pyVmomi drops its state once the element is complete
            self._done(self.result)


class _RequestReader(S.ExpatDeserializerNSHandlers):
    """Finds the method element of a request and hands each parameter to pyVmomi's deserializer."""

    def __init__(self, params_of: Any):
        super().__init__()
        self._params_of = params_of
        self.depth = 0
        self.call: SoapCall | None = None
        self._types: dict[str, type] = {}
        self._current = ""
        self._skip = 0

    def read(self, xml: bytes) -> SoapCall:
        self.parser = ParserCreate(namespace_separator=S.NS_SEP)
        self.parser.buffer_text = True
        S.SetHandlers(self.parser, S.GetHandlers(self))
        self.parser.Parse(xml, True)
        if self.call is None:
            raise EnvelopeError("no method element in the SOAP Body")
        return self.call

    def StartElementHandler(self, tag: str, attr: dict[str, str]) -> None:  # noqa: N802
        self.depth += 1
        ns, name = _split(tag)
        if self._skip or (self.depth == 2 and name == "Header"):
            self._skip += 1
            return
        if self.depth == 1 and (ns, name) != (_ENV, "Envelope"):
            raise EnvelopeError(f"the root element is {name!r}, not a SOAP Envelope")
        if self.depth == 2 and (ns, name) != (_ENV, "Body"):
            raise EnvelopeError(f"unexpected element {name!r} in the Envelope")
        if self.depth == 3:
            self._types = self._params_of(name)
            self.call = SoapCall(name, None)
        elif self.depth == 4:
            pytype = V.ManagedObject if name == "_this" else self._types.get(name)
            if pytype is None:
                self.call.unknown.append(name)  # type: ignore[union-attr]
                self._skip = 1
                return
            self._current = name
            item = pytype.Item if issubclass(pytype, list) else pytype
            reader = _ParamReader(self._param_done)
            reader.Deserialize(self.parser, item, False, self.nsMap)
            reader.StartElementHandler(tag, attr)

    def _param_done(self, value: Any) -> None:
        self.depth -= 1
        call = self.call
        assert call is not None
        if self._current == "_this":
            call.this = value
        elif issubclass(self._types[self._current], list):
            call.params.setdefault(self._current, []).append(value)
        else:
            call.params[self._current] = value

    def EndElementHandler(self, tag: str) -> None:  # noqa: N802
        self.depth -= 1
        if self._skip:
            self._skip -= 1

    def CharacterDataHandler(self, data: str) -> None:  # noqa: N802
        pass


def parse_request(xml: bytes, params_of: Any) -> SoapCall:
    """Read a request envelope; ``params_of(method)`` gives the pyVmomi types of its parameters by
    name.  Raises :class:`EnvelopeError` for anything pyVmomi cannot read."""
    try:
        return _RequestReader(params_of).read(xml)
    except EnvelopeError:
        raise
    except (ExpatError, KeyError, AttributeError, TypeError, ValueError) as exc:
        raise EnvelopeError(f"{exc.__class__.__name__}: {exc}") from None


# --- responses -----------------------------------------------------------------------------------
def serialize_response(release: str, method: str, result_type: type, value: Any) -> bytes:
    """``<{method}Response><returnval>…</returnval></…>`` in an envelope (no returnval for None)."""
    version = version_id(release)
    nsmap = dict(S.SOAP_NSMAP)
    nsmap[VIM_NS] = ""
    info = V.Object(name="returnval", type=result_type, version=version, flags=V.F_OPTIONAL)
    inner = S.SerializeToStr(value, info, version, nsmap) if value is not None else ""
    return _envelope(f'<{method}Response xmlns="{VIM_NS}">{inner}</{method}Response>')


def serialize_fault(release: str, fault: Any, message: str, code: str = "ServerFaultCode") -> bytes:
    """A ``soapenv:Fault`` whose ``detail`` is the fault object, as vCenter sends it."""
    version = version_id(release)
    fault = copy.copy(fault)
    fault.msg = None
    name = f"{V.GetWsdlName(type(fault))}Fault"
    info = V.Object(name=name, type=object, version=version, flags=0)
    detail = S.SerializeFaultDetail(fault, info, version, dict(S.SOAP_NSMAP))
    return _envelope(
        f"<{S.SOAP_FAULT_TAG}><faultcode>{code}</faultcode>"
        f"<faultstring>{S.XmlEscape(message)}</faultstring>"
        f"<detail>{detail}</detail></{S.SOAP_FAULT_TAG}>"
    )


def _envelope(body: str) -> bytes:
    return (S.XML_HEADER + "\n" + S.SOAP_START + body + S.SOAP_END).encode("utf-8")


@dataclass
class Answer:
    """A SOAP answer read: the result (or the fault) as pyVmomi objects."""

    is_fault: bool
    value: Any
    message: str = ""


def parse_response(xml: bytes, method: str, result_type: type, release: str) -> Answer:
    """Read a response envelope of ``method``.  Types are pyVmomi's, not mapped to older
    compatible ones: the release's registry judges them afterwards.  Raises :class:`EnvelopeError`
    for anything that is no answer of that method (not XML, no Body, an unknown element or type,
    a fault without detail)."""
    shape = _frame(xml)
    if shape == "fault":
        pass
    elif shape != f"{method}Response":
        raise EnvelopeError(f"the SOAP Body holds {shape!r}, not {method}Response")
    stub = _Stub(version_id(release))
    reader = S.SoapResponseDeserializer(stub)
    reader.deser = FieldTrackingDeserializer(stub)
    reader.deser.version = None
    try:
        value = reader.Deserialize(xml, result_type)
    except (ExpatError, KeyError, AttributeError, TypeError, ValueError) as exc:
        raise EnvelopeError(f"pyVmomi cannot read the answer: {exc.__class__.__name__}: {exc}") from None
    if shape == "fault":
        return Answer(True, value, getattr(value, "msg", "") or "")
    return Answer(False, value)


def _frame(xml: bytes) -> str:
    """``fault`` or the local name of the Body's element; EnvelopeError when the frame is wrong."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as exc:
        raise EnvelopeError(f"the answer is not XML ({exc})") from None
    if root.tag != f"{{{_ENV}}}Envelope":
        raise EnvelopeError(f"the root element is {root.tag!r}, not a SOAP Envelope")
    body = root.find(f"{{{_ENV}}}Body")
    if body is None or len(body) != 1:
        raise EnvelopeError("the SOAP Envelope has no Body with exactly one element")
    child = body[0]
    if child.tag == f"{{{_ENV}}}Fault":
        detail = child.find("detail")
        if detail is None or len(detail) != 1:
            raise EnvelopeError("a SOAP Fault without a fault object in its detail")
        return "fault"
    return child.tag.rsplit("}", 1)[-1]


def _split(tag: str) -> tuple[str, str]:
    ns, _, name = tag.rpartition(S.NS_SEP)
    return ns, name
