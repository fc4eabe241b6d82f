"""Connecting a run to its endpoint: the built-in simulator or a given URL, logged-in clients."""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..client import ClientError, Exchange, Fault, LoginRefused, TransportError, ViClient, normalize_endpoint
from ..report.secrets import Scrubber
from ..sim import SimConfig, running_simulator
from ..soap import SoapTransport
from .options import PROTOCOLS, EndpointError, RunOptions, UsageError

#: The built-in simulator of a run: short tasks.  The tasks check must still find a task queued or
#: running a few requests after the call (a second call on the busy target, a cancel): ~3x margin at
#: 15 ms.  A default run waits for about 1,400 tasks one after another, so their length sets much of
#: its wall time (measured on 2 cores: 50 ms ~150 s, 20 ms ~95-105 s, 10 ms ~88 s).  Every task
#: method takes the same time here (the stand-alone simulator makes clones and migrations slower),
#: and the sandbox's own CreateVM_Task (a Folder method no check judges) a fifth of it.
BUILTIN_SIM: dict[str, object] = {"task_delay_ms": 15, "method_delay_factor": {"CreateVM_Task": 0.2}}


@dataclass
class Connection:
    """The endpoint a run talks to, with the administrator's (and the limited user's) session."""

    url: str
    release: str
    simulated: bool
    about: dict[str, Any] | None
    admin: ViClient
    limited: ViClient | None
    scrubber: Scrubber
    simulator: Any = None  # the running built-in simulator, when the run started one
    users: dict[str, tuple[str, str]] = field(default_factory=dict)  # role -> (user, password); never written
    protocol: str = "json"  # what the clients speak: json (VI/JSON) or soap

    def new_client(self) -> ViClient:
        """A fresh client, not logged in (``CheckContext.session_factory``)."""
        return self.admin.new()

    def describe(self) -> dict[str, Any]:
        out = {
            "url": self.url,
            "release": self.release,
            "protocol": self.protocol,
            "simulated": self.simulated,
            "about": self.about,
        }
        older = older_api(self.about, self.release)
        if older:
            out["warnings"] = [older]
        return out


def older_api(about: dict[str, Any] | None, release: str) -> str:
    """A warning when the endpoint reports an apiVersion older than the release under test (its
    verdicts then measure it against a release it does not claim), else ``""``."""
    version = (about or {}).get("apiVersion")
    if not isinstance(version, str):
        return ""
    try:
        have = tuple(int(x) for x in version.split("."))
        want = tuple(int(x) for x in release.split("."))
    except ValueError:
        return ""
    width = max(len(have), len(want))
    if have + (0,) * (width - len(have)) >= want + (0,) * (width - len(want)):
        return ""
    return (
        f"the endpoint reports apiVersion {version}, older than the release under test ({release}): "
        "what it lacks of the newer release is judged as a violation"
    )


def probe_simulated(client: ViClient) -> dict[str, Any] | None:
    """The simulator's ``/_sim/about`` when the endpoint is our simulator, else None (read with the
    client's deadline and body cap: a hostile endpoint cannot stall the probe)."""
    try:
        ex = client.request("GET", f"{client.base_url}/_sim/about", use_session=False)
    except ClientError:
        return None
    data = ex.json if ex.status == 200 else None
    return data if isinstance(data, dict) and data.get("simulated") is True else None


def _login(client: ViClient, user: str, password: str, role: str) -> None:
    try:
        client.login(user, password)
    except LoginRefused as exc:
        raise EndpointError(f"{role} login refused by {client.base_url}: {exc}") from None
    except TransportError as exc:
        raise EndpointError(f"endpoint {client.base_url} unreachable: {exc}") from None
    except Fault as exc:
        raise EndpointError(f"{role} login failed at {client.base_url}: {exc}") from None


def connect(
    options: RunOptions,
    url: str,
    users: dict[str, tuple[str, str]] | None = None,
    simulator: Any = None,
    observers: Sequence[Callable[[Exchange], None]] = (),
) -> Connection:
    """Log in at ``url`` (users: the simulator's, else the options').  Raises EndpointError/UsageError."""
    scrubber = Scrubber()
    if users:
        admin_cred: tuple[str | None, str | None] = users["admin"]
        limited_cred: tuple[str | None, str | None] = users.get("limited", (None, None))
        if options.user:  # explicit credentials win over the simulator's defaults
            admin_cred = (options.user, options.password)
        if options.limited_user:
            limited_cred = (options.limited_user, options.limited_password)
    else:
        admin_cred = (options.user, options.password)
        limited_cred = (options.limited_user, options.limited_password)
    if not admin_cred[0] or admin_cred[1] is None:
        raise UsageError("--endpoint needs --user and --password (or VSPHERE_USER and VSPHERE_PASSWORD)")
    if limited_cred[0] and limited_cred[1] is None:
        raise UsageError("--limited-user needs --limited-password (or VSPHERE_LIMITED_PASSWORD)")
    for secret in (admin_cred[1], limited_cred[1]):
        scrubber.add(secret)

    def client(protocol: str) -> ViClient:
        made = ViClient(
            url,
            options.release,
            verify=not options.insecure,
            timeout=options.timeout,
            on_secret=scrubber.add,
            max_body=options.max_body,
            transport=SoapTransport() if protocol == "soap" else None,
        )
        made.observers = list(observers)  # from the first request on: ServiceContent and the logins too
        return made

    protocol, admin, content = _service_content(options, url, client)
    about = content.get("about") if isinstance(content.get("about"), dict) else None
    _login(admin, admin_cred[0], admin_cred[1], "administrator")  # type: ignore[arg-type]
    limited = None
    if limited_cred[0]:
        limited = client(protocol)
        _login(limited, limited_cred[0], limited_cred[1], "limited user")  # type: ignore[arg-type]
    simulated = simulator is not None or probe_simulated(admin) is not None
    users = {"admin": (admin_cred[0], admin_cred[1])}
    if limited_cred[0]:
        users["limited"] = (limited_cred[0], limited_cred[1])
    return Connection(
        url,
        options.release,
        simulated,
        about,
        admin,
        limited,
        scrubber,
        simulator=simulator,
        users=users,  # type: ignore[arg-type]
        protocol=protocol,
    )


_SPOKEN = {"json": "VI/JSON", "soap": "SOAP (/sdk)"}


def _service_content(
    options: RunOptions, url: str, client: Callable[[str], ViClient]
) -> tuple[str, ViClient, dict[str, Any]]:
    """``(protocol, admin client, ServiceContent)``: the first protocol of ``options.protocol``
    (``auto``: VI/JSON, then SOAP) in which the endpoint serves the release's ServiceContent."""
    if options.protocol not in PROTOCOLS:
        raise UsageError(f"unknown protocol {options.protocol!r}; known: {', '.join(PROTOCOLS)}")
    tried = ["json", "soap"] if options.protocol == "auto" else [options.protocol]
    problems = []
    for protocol in tried:
        admin = client(protocol)
        try:
            return protocol, admin, admin.content
        except TransportError as exc:
            raise EndpointError(f"endpoint {url} unreachable: {exc}") from None
        except ClientError as exc:
            problems.append(f"{_SPOKEN[protocol]}: {exc}")
    raise EndpointError(f"endpoint {url} does not serve release {options.release} over {'; '.join(problems)}")


@contextlib.contextmanager
def open_endpoint(
    options: RunOptions, observers: Sequence[Callable[[Exchange], None]] = ()
) -> Iterator[Connection]:
    """The run's endpoint: ``options.endpoint``, or the built-in simulator started in this process.
    ``observers`` see every exchange of the connection's clients (the run's auditor)."""
    if options.endpoint:
        try:
            url = normalize_endpoint(options.endpoint)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
        conn = connect(options, url, observers=observers)
        try:
            yield conn
        finally:
            _logout(conn)
        return
    try:
        cfg = SimConfig(**{**BUILTIN_SIM, "seed": options.seed, **options.sim})
    except (TypeError, ValueError) as exc:
        raise UsageError(f"bad simulator settings: {exc}") from None
    with contextlib.ExitStack() as stack:
        try:
            sim = stack.enter_context(running_simulator(cfg))
        except (RuntimeError, OSError) as exc:
            raise EndpointError(f"the built-in simulator did not start: {exc}") from None
        conn = connect(options, sim.url, users=dict(sim.users), simulator=sim, observers=observers)
        try:
            yield conn
        finally:
            _logout(conn)


def _logout(conn: Connection) -> None:
    for c in (conn.limited, conn.admin):
        if c is None:
            continue
        with contextlib.suppress(ClientError):
            c.logout()
        c.close()
