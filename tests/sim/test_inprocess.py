"""The same app in-process, through httpx's ASGI transport (no socket)."""

from __future__ import annotations

import asyncio

import httpx

from harness.sim import SimConfig, create_app

BASE = "/sdk/vim25/8.0.2.0"
LOGIN = {"userName": "administrator@vsphere.local", "password": "VMware1!"}


def test_in_process_session_task_and_limits():
    app = create_app(SimConfig(vms=4, task_delay_ms=0))

    async def scenario() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sim") as client:
            assert (await client.get("/_sim/about")).json()["simulated"] is True
            r = await client.post(f"{BASE}/SessionManager/SessionManager/Login", json=LOGIN)
            client.headers["vmware-api-session-id"] = r.headers["vmware-api-session-id"]
            task = (await client.post(f"{BASE}/VirtualMachine/vm-102/PowerOnVM_Task")).json()["value"]
            assert (await client.get(f"{BASE}/Task/{task}/info")).json()["state"] == "success"
            r = await client.get(f"{BASE}/VirtualMachine/vm-102/runtime")
            assert r.json()["powerState"] == "poweredOn"
            r = await client.post(
                f"{BASE}/VirtualMachine/vm-102/AcquireTicket", content=b"x" * (9 * 1024 * 1024)
            )
            assert r.status_code == 500 and r.json()["_typeName"] == "InvalidRequest"
            r = await client.get(f"{BASE}/VirtualMachine/vm-101/guest")
            assert (r.status_code, r.json()["_typeName"]) == (200, "GuestInfo")

    try:
        asyncio.run(scenario())
    finally:
        app.state.sim.close()
