"""The VI/JSON client: one ``requests.Session`` per logged-in user."""

from __future__ import annotations

import json
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlsplit, urlunsplit

import requests
import urllib3
from requests.structures import CaseInsensitiveDict

from ..vmodl.registry import DEFAULT_RELEASE
from .deadline import Deadline, DeadlineAdapter, bounded
from .errors import BadAnswer, Fault, LoginRefused, TaskTimeout, TransportError
from .exchange import SESSION_HEADER, Exchange, _decode, curl_line, request_record

TERMINAL_TASK_STATES = frozenset({"success", "error"})
#: Task polling: the first pause, its growth per poll and its ceiling (seconds).  Short first pauses
#: keep the overshoot past a short task's end small; the ceiling keeps long tasks cheap to watch.
POLL_FIRST_S = 0.005
POLL_GROWTH = 1.5
POLL_MAX_S = 0.5


#: Default cap on an answer's body (bytes); a larger one is refused without being read.
MAX_BODY = 64 * 1024 * 1024

_COUNT = [0]


@dataclass
class HttpAnswer:
    """One HTTP answer as read by :meth:`ViClient.http_call` (``oversized``: why the body was not read)."""

    status: int
    headers: CaseInsensitiveDict
    body: bytes
    elapsed_ms: float
    oversized: str = ""
    injected: str = ""


class Transport(Protocol):
    """How a client's requests reach the endpoint: the identity (VI/JSON over HTTP) when a client
    has none, or another protocol (``harness.soap.SoapTransport``).  It turns one VI/JSON request
    into the :class:`Exchange` the checks judge; no answer raises :class:`TransportError`."""

    def exchange(
        self, client: ViClient, method: str, url: str, headers: dict[str, str], data: bytes | None
    ) -> Exchange: ...


def _session() -> requests.Session:
    """A ``requests.Session`` whose exchanges obey one deadline each (see :mod:`.deadline`)."""
    http = requests.Session()
    adapter = DeadlineAdapter()
    http.mount("http://", adapter)
    http.mount("https://", adapter)
    return http


def requests_sent() -> int:
    """How many requests every client of this process has sent (for benchmarks)."""
    return _COUNT[0]


def normalize_endpoint(url: str) -> str:
    """``scheme://host[:port]`` from a user-given URL; credentials and paths are refused."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"endpoint {url!r} is not an http(s)://host[:port] URL")
    if parts.username or parts.password:
        raise ValueError("endpoint URL must not carry credentials; use --user/--password")
    try:
        parts.port  # noqa: B018 - validates the port
    except ValueError:
        raise ValueError(f"endpoint {url!r} has an invalid port") from None
    path = parts.path.rstrip("/")
    if path.startswith("/sdk"):
        path = ""  # a pasted .../sdk or .../sdk/vim25/8.0.2.0: the harness adds the release itself
    if path or parts.query or parts.fragment:
        raise ValueError(
            f"endpoint {url!r} must be scheme://host[:port] (the harness adds /sdk/vim25/<release>)"
        )
    return urlunsplit((parts.scheme, parts.netloc, "", "", ""))


def _moid(ref: str | dict[str, Any]) -> str:
    return path_segment(ref["value"] if isinstance(ref, dict) else ref)


def path_segment(moid: str) -> str:
    """A moId as one segment of a VI/JSON path: percent-encoded, since some endpoints' moIds hold
    ``/`` (vcsim names a datastore ``/tmp/govcsim-DC0-LocalDS_0-…@folder-5``)."""
    return quote(moid, safe="")


class ViClient:
    """A VI/JSON session against ``{base_url}/sdk/vim25/{release}``.

    ``invoke`` and ``get`` return an :class:`Exchange` whatever the answer (faults, redirects and
    non-JSON error pages included); network problems and answers not complete within ``timeout``
    seconds (the whole exchange) raise :class:`TransportError`; a 2xx body that is not JSON, or any
    body over ``max_body`` bytes, raises :class:`BadAnswer`.  Every exchange is passed to each of
    ``observers`` first.  After a successful :meth:`login`, a call
    answered ``NotAuthenticated`` (the session expired) logs in again once and is repeated.
    """

    def __init__(
        self,
        base_url: str,
        release: str = DEFAULT_RELEASE,
        verify: bool = True,
        timeout: float = 30.0,
        session: requests.Session | None = None,
        on_secret: Callable[[str], None] | None = None,
        max_body: int = MAX_BODY,
        transport: Transport | None = None,
    ):
        self.base_url = normalize_endpoint(base_url)
        self.release = release
        self.root = f"{self.base_url}/sdk/vim25/{release}"
        self.verify = verify
        self.timeout = timeout
        self.max_body = max_body
        self.http = session or _session()
        self.http.verify = verify
        pin_environment(self.http, self.root, verify)
        self.on_secret = on_secret
        self.user: str | None = None
        self._session_id: str | None = None
        self._credentials: tuple[str, str] | None = None
        self._content: dict[str, Any] | None = None
        self.relogins = 0
        #: called with every exchange this client makes (the run's auditor judges them)
        self.observers: list[Callable[[Exchange], None]] = []
        #: None: VI/JSON over HTTP; else the protocol every request goes through
        self.transport = transport

    def __repr__(self) -> str:
        state = f"user={self.user!r}" if self._session_id else "no session"
        return f"ViClient({self.root!r}, {state})"

    def __enter__(self) -> ViClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def new(self) -> ViClient:
        """A fresh client with the same settings, not logged in."""
        fresh = ViClient(
            self.base_url,
            self.release,
            self.verify,
            self.timeout,
            on_secret=self.on_secret,
            max_body=self.max_body,
            transport=self.transport,
        )
        fresh.observers = list(self.observers)
        return fresh

    # --- session -------------------------------------------------------------------------------
    @property
    def session_id(self) -> str | None:
        return self._session_id

    @property
    def content(self) -> dict[str, Any]:
        """The ``ServiceContent`` (fetched once; no session needed)."""
        if self._content is None:
            ex = self._send("GET", "/ServiceInstance/ServiceInstance/content")
            if not ex.ok or not isinstance(ex.json, dict):
                raise Fault(ex, f"cannot read ServiceContent: HTTP {ex.status} {ex.fault_type or ''}".strip())
            self._content = ex.json
        return self._content

    def _manager(self, name: str) -> str:
        ref = self.content.get(name)
        if not isinstance(ref, dict) or "value" not in ref:
            raise Fault(
                Exchange(
                    "GET",
                    self.url("/ServiceInstance/ServiceInstance/content"),
                    {},
                    None,
                    200,
                    {},
                    b"",
                    0.0,
                    self.release,
                ),
                f"ServiceContent has no {name}",
            )
        return ref["value"]

    def login(self, user: str, password: str) -> dict[str, Any]:
        """Log in; keeps the session id for every later request.  Returns the ``UserSession``."""
        manager = self._manager("sessionManager")
        body = {"userName": user, "password": password}
        ex = self._send("POST", f"/SessionManager/{manager}/Login", body, use_session=False)
        if not ex.ok:
            raise LoginRefused(ex, f"login as {user} refused: {ex.fault_type or f'HTTP {ex.status}'}")
        sid = ex.headers.get(SESSION_HEADER)
        if not sid:
            raise LoginRefused(ex, f"login as {user} answered without a {SESSION_HEADER} header")
        self._session_id = sid
        self._credentials = (user, password)
        self.user = user
        if self.on_secret:
            self.on_secret(sid)
        return ex.json if isinstance(ex.json, dict) else {}

    def logout(self) -> Exchange | None:
        """End the session (no relogin afterwards)."""
        self._credentials = None
        if not self._session_id:
            return None
        try:
            return self._send("POST", f"/SessionManager/{self._manager('sessionManager')}/Logout")
        finally:
            self._session_id = None

    def forget_session(self) -> None:
        """Drop the session id without logging out (tests of expiry use this)."""
        self._session_id = None

    def close(self) -> None:
        self.http.close()

    # --- calls ---------------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return path if path.startswith(("http://", "https://")) else self.root + path

    def invoke(
        self,
        managed_type: str,
        moid: str | dict[str, Any],
        method: str,
        body: Any = None,
        relogin: bool = True,
    ) -> Exchange:
        """``POST /{type}/{moId}/{method}`` with the request object (JSON-ready) or no body."""
        return self._call("POST", f"/{managed_type}/{_moid(moid)}/{method}", body, relogin)

    def get(self, managed_type: str, moid: str | dict[str, Any], prop: str, relogin: bool = True) -> Exchange:
        """``GET /{type}/{moId}/{property}``."""
        return self._call("GET", f"/{managed_type}/{_moid(moid)}/{prop}", None, relogin)

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str | None] | None = None,
        use_session: bool = True,
    ) -> Exchange:
        """A raw request (no relogin).  ``body``: bytes/str sent as is, anything else as JSON.
        A header set to None is removed (``{SESSION_HEADER: None}`` sends no session)."""
        return self._send(method, path, body, headers=headers, use_session=use_session)

    def _call(self, method: str, path: str, body: Any, relogin: bool) -> Exchange:
        ex = self._send(method, path, body)
        if relogin and self._credentials and ex.fault_type == "NotAuthenticated":
            self.relogins += 1
            self.login(*self._credentials)
            ex = self._send(method, path, body)
        return ex

    def _send(
        self,
        method: str,
        path: str,
        body: Any = None,
        headers: dict[str, str | None] | None = None,
        use_session: bool = True,
    ) -> Exchange:
        url = self.url(path)
        data: bytes | None
        if body is None:
            data = None
        elif isinstance(body, bytes):
            data = body
        elif isinstance(body, str):
            data = body.encode()
        else:
            data = json.dumps(body, separators=(",", ":")).encode()
        hdrs: dict[str, str | None] = {"Accept": "application/json"}
        if data is not None:
            hdrs["Content-Type"] = "application/json"
        if use_session and self._session_id:
            hdrs[SESSION_HEADER] = self._session_id
        hdrs.update(headers or {})
        sent = {k: v for k, v in hdrs.items() if v is not None}
        _COUNT[0] += 1
        if self.transport is not None:
            ex = self.transport.exchange(self, method, url, sent, data)
        else:
            ex = self._json(method, url, sent, data)
        for observe in self.observers:
            observe(ex)
        unread = ex.defect and not ex.body  # a body over the limit is never read
        if ex.defect and (unread or 200 <= ex.status < 300):
            message = f"{method} {url}: HTTP {ex.status}: {ex.defect}"
            if ex.injected:  # the harness's own damage: no usable answer, not the endpoint's doing
                raise TransportError(f"{message} (injected: {ex.injected})", exchange=ex)
            raise BadAnswer(ex, message)
        return ex

    def _json(self, method: str, url: str, sent: dict[str, str], data: bytes | None) -> Exchange:
        """The VI/JSON exchange itself (the identity transport)."""
        answer = self.http_call(method, url, sent, data)
        decoded, is_json = _decode(answer.body)
        ex = Exchange(
            method,
            url,
            sent,
            data,
            answer.status,
            answer.headers,
            answer.body,
            answer.elapsed_ms,
            self.release,
            decoded,
            is_json,
        )
        ex.injected = answer.injected
        if answer.oversized:
            ex.defect = answer.oversized
        elif answer.body and not is_json:
            ex.defect = "the body is not JSON"
        return ex

    def http_call(self, method: str, url: str, sent: dict[str, str], data: bytes | None) -> HttpAnswer:
        """One HTTP exchange within the client's deadline and body limit (transports use it);
        no answer raises :class:`TransportError`."""
        start = time.perf_counter()
        try:
            with warnings.catch_warnings(), bounded(self.timeout) as deadline:
                if not self.verify:
                    warnings.simplefilter("ignore", urllib3.exceptions.InsecureRequestWarning)
                try:
                    resp = self.http.request(
                        method,
                        url,
                        data=data,
                        headers=sent,
                        timeout=self.timeout,
                        stream=True,
                        allow_redirects=False,
                    )
                    content, oversized = self._read_body(resp, deadline)
                except requests.RequestException as exc:
                    if deadline.expired:
                        raise requests.Timeout(f"no complete answer within {self.timeout:g} s") from exc
                    raise
        except requests.RequestException as exc:
            raise TransportError(
                f"{method} {url}: {_reason(exc)}",
                request_record(method, url, sent, data),
                curl_line(method, url, sent, data),
            ) from exc
        elapsed = (time.perf_counter() - start) * 1000
        headers = CaseInsensitiveDict(resp.headers)
        return HttpAnswer(resp.status_code, headers, content, elapsed, oversized, self._injected(url, resp))

    def _injected(self, url: str, resp: requests.Response) -> str:
        """The faults a chaos adapter mounted on this client's session applied to ``resp`` (it keeps a
        record of each; a header alone, which an endpoint could send, is not enough)."""
        lookup = getattr(self.http.get_adapter(url), "injected", None)
        record = lookup(resp.headers) if lookup is not None else None
        return ",".join(record.kinds) if record is not None else ""

    def _read_body(self, resp: requests.Response, deadline: Deadline) -> tuple[bytes, str]:
        """The body, read within the exchange's deadline and at most ``max_body`` bytes.  A body
        announced or found larger is not read (``b""``, and the reason as the second value)."""
        with resp:
            announced = resp.headers.get("Content-Length", "")
            if announced.isdigit() and int(announced) > self.max_body:
                return b"", f"a body of {int(announced)} bytes announced, over the {self.max_body}-byte limit"
            chunks: list[bytes] = []
            size = 0
            for chunk in resp.iter_content(65536):
                size += len(chunk)
                if size > self.max_body:
                    return b"", f"a body of more than {self.max_body} bytes, over the limit"
                chunks.append(chunk)
                if deadline.expired:
                    raise requests.Timeout("deadline")
            return b"".join(chunks), ""

    # --- tasks ---------------------------------------------------------------------------------
    def task_info(self, task: str | dict[str, Any]) -> Exchange:
        return self.get("Task", task, "info")

    def wait_task(
        self,
        task: str | dict[str, Any],
        timeout: float | None = None,
        exchanges: list[Exchange] | None = None,
    ) -> list[dict[str, Any]]:
        """Poll ``Task.info`` with backoff until ``success`` or ``error``.

        Returns every distinct ``TaskInfo`` observed in order, the terminal one last.  Raises
        :class:`TaskTimeout` after ``timeout`` seconds, :class:`Fault` when ``info`` cannot be read.
        Each poll is appended to ``exchanges`` when given (evidence).
        """
        limit = self.timeout if timeout is None else timeout
        deadline = time.monotonic() + limit
        infos: list[dict[str, Any]] = []
        delay = POLL_FIRST_S
        while True:
            ex = self.task_info(task)
            if exchanges is not None:
                exchanges.append(ex)
            if not ex.ok or not isinstance(ex.json, dict):
                raise Fault(
                    ex, f"cannot read info of task {_moid(task)}: {ex.fault_type or f'HTTP {ex.status}'}"
                )
            if not infos or ex.json != infos[-1]:
                infos.append(ex.json)
            if ex.json.get("state") in TERMINAL_TASK_STATES:
                return infos
            now = time.monotonic()
            if now >= deadline:
                raise TaskTimeout(_moid(task), limit, infos)
            time.sleep(min(delay, max(0.0, deadline - now)))
            delay = min(delay * POLL_GROWTH, POLL_MAX_S)

    def cancel_task(self, task: str | dict[str, Any]) -> Exchange:
        return self.invoke("Task", task, "CancelTask")


def pin_environment(http: requests.Session, url: str, verify: bool) -> None:
    """Read the proxy and CA bundle settings of the environment once, for the endpoint's URL.

    With ``trust_env`` requests looks them up again on every request (a noticeable share of a
    request to a local endpoint); every request of a client goes to the same scheme and host, so
    the answer is the same each time."""
    if not http.trust_env:
        return
    env = http.merge_environment_settings(url, {}, None, verify, None)
    http.proxies.update({k: v for k, v in env["proxies"].items() if v})
    http.verify = env["verify"]
    http.trust_env = False


def _reason(exc: requests.RequestException) -> str:
    if isinstance(exc, requests.Timeout):
        return "timed out"
    if isinstance(exc, requests.exceptions.SSLError):
        return "TLS error (use --insecure for a self-signed certificate)"
    if isinstance(exc, requests.ConnectionError):
        text = str(exc)
        for needle, reason in (
            ("refused", "connection refused"),
            ("reset", "connection reset"),
            ("Name or service not known", "unknown host"),
            ("nodename nor servname", "unknown host"),
        ):
            if needle in text:
                return reason
        return "connection failed"
    if isinstance(exc, requests.exceptions.ChunkedEncodingError | requests.exceptions.ContentDecodingError):
        return "truncated response"
    return exc.__class__.__name__
