"""The console: tickets, connections, screen and display, keyboard input, screenshots."""

from __future__ import annotations

import hashlib

from ..faults import invalid_argument, invalid_state
from .base import Call, op, serial
from .guards import not_template, powered, tools_running


def _ticket() -> str:
    return hashlib.sha1(str(serial()).encode()).hexdigest()[:24]


@op("VirtualMachine", "AcquireMksTicket")
def acquire_mks_ticket(call: Call):
    vm = call.vm
    return lambda: call.b.obj(
        "VirtualMachineMksTicket",
        ticket=_ticket(),
        cfgFile=vm.files_path,
        host=vm.host.name if vm.host else None,
        port=902,
        sslThumbprint="AA:BB:CC",
    )


@op("VirtualMachine", "AcquireTicket")
def acquire_ticket(call: Call):
    vm = call.vm
    kind = call.p("ticketType")
    types = call.sim.rel(call.spec).enums["VirtualMachineTicketType"].values
    if kind not in types:
        raise invalid_argument("ticketType", f"{kind!r} is not one of {', '.join(types)}")
    powered(call, "poweredOn", requested="poweredOn")
    if kind in ("guestControl", "guestIntegrity"):
        call.require(vm.tools_running, lambda: invalid_state("VMware Tools is not running in the guest"))
    return lambda: call.b.obj(
        "VirtualMachineTicket",
        ticket=_ticket(),
        cfgFile=vm.files_path,
        host=vm.host.name if vm.host else None,
        port=443 if kind == "webmks" else 902,
        sslThumbprint="AA:BB:CC",
        url=f"wss://{vm.host.name if vm.host else 'esx'}/ticket/{_ticket()}" if kind == "webmks" else None,
    )


@op("VirtualMachine", "QueryConnections")
def query_connections(call: Call):
    powered(call, "poweredOn")
    return lambda: [call.b.project(c) for c in call.vm.connections]


@op("VirtualMachine", "DropConnections")
def drop_connections(call: Call):
    vm = call.vm
    powered(call, "poweredOn")
    wanted = call.p("listOfConnections")

    def apply() -> bool:
        if not wanted:
            return False
        before = len(vm.connections)
        keys = {(c.get("label"), c.get("client"), c.get("userName")) for c in wanted}
        vm.connections = [
            c for c in vm.connections if (c.get("label"), c.get("client"), c.get("userName")) not in keys
        ]
        return len(vm.connections) < before

    return apply


@op("VirtualMachine", "SetScreenResolution")
def set_screen(call: Call):
    tools_running(call)
    width, height = call.p("width"), call.p("height")
    if width <= 0 or height <= 0 or width > 16384 or height > 16384:
        raise invalid_argument("width", "width and height are from 1 to 16384")

    def apply() -> None:
        call.vm.screen = (width, height)

    return apply


@op("VirtualMachine", "SetDisplayTopology")
def set_display(call: Call):
    tools_running(call)
    displays = call.p("displays")
    if not displays:
        raise invalid_argument("displays", "at least one display")

    def apply() -> None:
        call.vm.display_topology = list(displays)
        first = displays[0]
        call.vm.screen = (first["width"], first["height"])

    return apply


@op("VirtualMachine", "PutUsbScanCodes")
def put_usb(call: Call):
    vm = call.vm
    events = call.p("spec").get("keyEvents") or []

    def apply() -> int:
        if vm.power_state != "poweredOn":
            return 0
        vm.usb_scan_codes += len(events)
        return len(events)

    return apply


@op("VirtualMachine", "CreateScreenshot_Task")
def screenshot(call: Call):
    vm = call.vm
    not_template(call)
    powered(call, "poweredOn")

    def work() -> str:
        vm.screenshots += 1
        return f"{vm.files_path.rsplit('/', 1)[0]}/{vm.name}-{vm.screenshots}.png"

    return work
