"""The ASGI app: VI/JSON under ``/sdk/vim25/{release}/{type}/{moId}/{name}`` plus the administrative
endpoints under ``/_sim/`` (about, fault rules, misbehaviour switches, session expiry, a host's
connection, restart), and the device URLs of export leases under ``/nfc/``."""

from __future__ import annotations

import asyncio
import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from ..soap import mount_soap, simulator_handler
from ..soap.envelope import COOKIE_NAME
from .build import Builder, builder
from .config import ConfigError, SimConfig, parse_misbehaviour
from .faults import invalid_request
from .hostctl import HostControlError, set_host_connection
from .lease import device_file
from .responses import release_of
from .restart import restart_route
from .rules import RuleError
from .simulator import Simulator

_DRAIN_LIMIT = 64 * 1024 * 1024


async def _read_body(request: Request, limit: int) -> bytes | None:
    """The body, or None when it is larger than ``limit`` (the rest is read and dropped, so the
    client always gets its answer instead of a reset connection)."""
    declared = request.headers.get("content-length")
    chunks: list[bytes] = []
    size = 0
    too_big = declared is not None and declared.isdigit() and int(declared) > limit
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            too_big = True
        if too_big:
            chunks.clear()
            if size > _DRAIN_LIMIT:
                break
            continue
        chunks.append(chunk)
    return None if too_big else b"".join(chunks)


def create_app(cfg: SimConfig | None = None, sim: Simulator | None = None) -> Starlette:
    """The simulator as an ASGI app: VI/JSON at ``/sdk/vim25/<release>``, SOAP at ``/sdk`` (over the
    same state, :mod:`harness.soap`), and its control paths under ``/_sim`` (``app.state.sim`` is its
    :class:`Simulator`)."""
    sim = sim or Simulator(cfg or SimConfig())

    async def vi(request: Request) -> Response:
        body = b""
        if request.method == "POST":
            got = await _read_body(request, sim.cfg.max_body)
            if got is None:
                resp = sim.fault_response(
                    invalid_request(f"the request body exceeds {sim.cfg.max_body} bytes"),
                    _builder(request.url.path),
                    None,
                )
                return Response(
                    resp.body, resp.status, media_type=resp.content_type, headers={"connection": "close"}
                )
            body = got
        client = request.client.host if request.client else "127.0.0.1"
        resp = sim.handle(request.method, request.url.path, request.headers, body, client)
        if resp.delay_s:
            await asyncio.sleep(resp.delay_s)
        return Response(
            resp.body,
            resp.status,
            headers=resp.headers or None,
            media_type=resp.content_type if resp.body else None,
        )

    async def about(request: Request) -> Response:
        return JSONResponse(sim.about())

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            sim.rules.clear()
            return Response(status_code=204)
        if request.method == "POST":
            try:
                data = json.loads(await request.body() or b"null")
                added = sim.rules.add(data)
            except (ValueError, RuleError) as exc:
                return JSONResponse({"error": str(exc)}, 400)
            return JSONResponse([r.to_dict() for r in added], 201)
        return JSONResponse([r.to_dict() for r in sim.rules.rules])

    async def misbehaviour(request: Request) -> Response:
        if request.method == "PUT":
            try:
                data = json.loads(await request.body() or b"[]")
                if not isinstance(data, list | str):
                    raise ConfigError("send a JSON list of switch names")
                sim.set_misbehaviour(parse_misbehaviour(data))
            except (ValueError, ConfigError) as exc:
                return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(sorted(sim.misbehave))

    async def expire_sessions(request: Request) -> Response:
        try:
            data = json.loads(await request.body() or b"{}")
            if not isinstance(data, dict) or not isinstance(data.get("user", ""), str | None):
                raise ValueError('send a JSON object, {} or {"user": NAME}')
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse({"expired": sim.auth.expire(data.get("user") or None)})

    async def nfc(request: Request) -> Response:
        """A device URL of an export lease (``info.deviceUrl[].url``, host ``*`` replaced by ours)."""
        key = request.headers.get("vmware-api-session-id") or request.cookies.get(COOKIE_NAME, "").strip('"')
        status, body = device_file(sim, request.path_params["lease"], request.path_params["name"], key)
        return Response(
            body, status, media_type="application/octet-stream" if status == 200 else "text/plain"
        )

    async def host_connection(request: Request) -> Response:
        try:
            data = json.loads(await request.body() or b"{}")
            if not isinstance(data, dict):
                raise HostControlError('send a JSON object, {"state": "notResponding"}')
            done = set_host_connection(sim, request.path_params["moid"], data.get("state", ""))
        except (ValueError, HostControlError) as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse(done)

    async def other(request: Request) -> Response:
        resp = sim.fault_response(
            invalid_request(f"not a VI/JSON path: {request.url.path[:200]}"), _builder(request.url.path), None
        )
        return Response(resp.body, 404, media_type=resp.content_type)

    routes = [
        Route("/_sim/about", about, methods=["GET"]),
        Route("/_sim/faults", faults, methods=["GET", "POST", "DELETE"]),
        Route("/_sim/misbehaviour", misbehaviour, methods=["GET", "PUT"]),
        Route("/_sim/sessions/expire", expire_sessions, methods=["POST"]),
        Route("/nfc/{lease}/{name}", nfc, methods=["GET"]),
        Route("/_sim/hosts/{moid}/connection", host_connection, methods=["POST"]),
        Route("/_sim/restart", restart_route(sim), methods=["POST"]),
        Route("/sdk/vim25/{rest:path}", vi, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"]),
        Route("/{rest:path}", other, methods=["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD"]),
    ]
    app = Starlette(routes=routes)
    app.state.sim = sim
    mount_soap(app, simulator_handler(sim), max_body=sim.cfg.max_body)  # SOAP at /sdk, same state
    return app


def _builder(path: str) -> Builder:
    return builder(release_of(path))
