"""The SOAP transport of :class:`~harness.client.ViClient`: every VI/JSON request goes to
``<endpoint>/sdk`` as SOAP and comes back as the VI/JSON view the checks judge.

>>> client = soap_client("https://esxi.example", "8.0.2.0", verify=False)
>>> client.login("root", "...")                       # SessionManager.Login; the cookie is the session
>>> client.get("VirtualMachine", "vm-1", "runtime")   # PropertyCollector.RetrievePropertiesEx
>>> client.invoke("VirtualMachine", "vm-1", "PowerOnVM_Task")

A property read is ``RetrievePropertiesEx`` (so task polling is too), ServiceContent is
``RetrieveServiceContent``; the session id the client keeps is the ``vmware_soap_session`` cookie.
Requests outside ``/sdk/vim25/`` (an endpoint's own admin paths) go as they are.
"""

from __future__ import annotations

import json
from http.cookies import CookieError, SimpleCookie
from typing import Any

from requests.structures import CaseInsensitiveDict

from ..client import SESSION_HEADER, Exchange, TransportError, ViClient
from ..client.exchange import curl_line, request_record
from ..vmodl.registry import DEFAULT_RELEASE
from .envelope import COOKIE_NAME, SOAP_CONTENT_TYPE, soap_action
from .exchange import SoapExchange
from .translate import CONTENT, SoapRequest, Untranslatable, decode_answer, encode_call, split_path

SOAP_PATH = "/sdk"
#: Headers of a VI/JSON request that the SOAP request replaces.
_REPLACED = frozenset({"accept", "content-type", SESSION_HEADER})


class SoapTransport:
    """VI/JSON requests as SOAP (see the module docstring); one may serve many clients."""

    def __init__(self, path: str = SOAP_PATH):
        self.path = path
        self._collectors: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"SoapTransport({self.path!r})"

    def exchange(
        self, client: ViClient, method: str, url: str, headers: dict[str, str], data: bytes | None
    ) -> Exchange:
        if not url.startswith(f"{client.base_url}/sdk/vim25/"):
            return client._json(method, url, headers, data)  # not an operation: as it is
        path = url[len(client.base_url) :].split("?", 1)[0]
        body, raw = _body(data)
        try:
            rel, managed_type, moid, name = split_path(path)
            reads = method == "GET" and (managed_type, name) != CONTENT
            collector = self._collector(client, rel) if reads else ""
            req = encode_call(rel, method, managed_type, moid, name, body, collector)
        except Untranslatable as exc:
            raise TransportError(
                f"{method} {url}: no SOAP equivalent ({exc})",
                request_record(method, url, headers, data),
                curl_line(method, url, headers, data),
            ) from None
        if raw is not None:  # a body that is no JSON object goes as it is: a malformed request
            req.xml = raw
        return self._send(client, req, method, url, headers, data)

    def _send(
        self,
        client: ViClient,
        req: SoapRequest,
        method: str,
        url: str,
        headers: dict[str, str],
        data: bytes | None,
    ) -> SoapExchange:
        soap_url = client.base_url + self.path
        sent = {k: v for k, v in headers.items() if k.lower() not in _REPLACED}
        sent.update(
            {"Content-Type": SOAP_CONTENT_TYPE, "Accept": "text/xml", "SOAPAction": soap_action(req.release)}
        )
        sid = next((v for k, v in headers.items() if k.lower() == SESSION_HEADER), None)
        if sid:
            sent["Cookie"] = f'{COOKIE_NAME}="{sid}"'
        try:
            answer = client.http_call("POST", soap_url, sent, req.xml)
        finally:
            client.http.cookies.clear()  # the session is the client's to send, never a cookie jar's
        view_headers: CaseInsensitiveDict = CaseInsensitiveDict(
            {k: v for k, v in answer.headers.items() if k.lower() not in ("set-cookie", "content-type")}
        )
        session = _session_cookie(answer.headers.get("set-cookie", ""))
        if session:
            view_headers[SESSION_HEADER] = session
        ex = SoapExchange(
            method,
            url,
            headers,
            data,
            answer.status,
            view_headers,
            b"",
            answer.elapsed_ms,
            req.release,
            soap_url=soap_url,
            soap_request_headers=sent,
            soap_request=req.xml,
            soap_status=answer.status,
            soap_headers=answer.headers,
            soap_response=answer.body,
            soap_method=req.wsdl,
        )
        ex.injected = answer.injected
        if answer.oversized:
            ex.defect = answer.oversized
            return ex
        view = decode_answer(req, answer.status, answer.body)
        ex.status = view.status
        if view.defect:
            ex.defect, ex.body = view.defect, answer.body
        elif view.has_body:
            ex.body, ex.json, ex.is_json = view.body, view.value, True
            view_headers["Content-Type"] = "application/json"
        return ex

    def _collector(self, client: ViClient, release: str) -> str:
        """The PropertyCollector's moId: from the client's ServiceContent, else read once."""
        content = getattr(client, "_content", None)
        ref = content.get("propertyCollector") if isinstance(content, dict) else None
        if isinstance(ref, dict) and isinstance(ref.get("value"), str):
            return ref["value"]
        key = f"{client.base_url} {release}"
        if key not in self._collectors:
            url = f"{client.base_url}/sdk/vim25/{release}/ServiceInstance/ServiceInstance/content"
            ex = self.exchange(client, "GET", url, {}, None)
            ref = ex.json.get("propertyCollector") if ex.ok and isinstance(ex.json, dict) else None
            if not isinstance(ref, dict) or not isinstance(ref.get("value"), str):
                return "propertyCollector"  # vCenter's; do not remember a failed read
            self._collectors[key] = ref["value"]
        return self._collectors[key]


def _body(data: bytes | None) -> tuple[Any, bytes | None]:
    """The JSON request object, or ``(None, data)`` for a body that is none (sent as it is)."""
    if not data:
        return None, None
    try:
        value = json.loads(data)
    except ValueError:
        return None, data
    return (value, None) if isinstance(value, dict) else (None, data)


def _session_cookie(header: str) -> str | None:
    if COOKIE_NAME not in header:
        return None
    try:
        morsel = SimpleCookie(header).get(COOKIE_NAME)
    except CookieError:
        return None
    return morsel.value if morsel is not None and morsel.value else None


def soap_client(base_url: str, release: str = DEFAULT_RELEASE, **kwargs: Any) -> ViClient:
    """A :class:`ViClient` that speaks SOAP (same arguments as ``ViClient``)."""
    return ViClient(base_url, release, transport=SoapTransport(), **kwargs)


def use_soap(client: ViClient) -> ViClient:
    """Make an existing client (and every ``client.new()``) speak SOAP; returns it."""
    client.transport = SoapTransport()
    return client
