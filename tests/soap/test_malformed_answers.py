"""SOAP answers that are no valid answer become an Exchange with ``defect`` and the XML as evidence,
never a crash (canned replies through ``responses``)."""

from __future__ import annotations

import pytest
import responses

from harness.checks.rules import answer_problems
from harness.client import BadAnswer, Exchange
from harness.contract import load_contracts
from harness.soap import SoapExchange, soap_client

BASE = "http://vc.test"
ENV = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<soapenv:Envelope xmlns:soapenv="http://schemas.xmlsoap.org/soap/envelope/" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xmlns:xsd="http://www.w3.org/2001/XMLSchema">'
    "<soapenv:Body>{}</soapenv:Body></soapenv:Envelope>"
)
RUNTIME = (
    '<RetrievePropertiesExResponse xmlns="urn:vim25"><returnval><objects><obj type="VirtualMachine">vm-1</obj>'
    '<propSet><name>runtime</name><val xsi:type="VirtualMachineRuntimeInfo">{}</val></propSet>'
    "</objects></returnval></RetrievePropertiesExResponse>"
)
REST = (
    "<faultToleranceState>notConfigured</faultToleranceState><toolsInstallerMounted>false</toolsInstallerMounted>"
    "<numMksConnections>0</numMksConnections><recordReplayState>inactive</recordReplayState>"
    "<onlineStandby>false</onlineStandby><consolidationNeeded>false</consolidationNeeded>"
)
GOOD_RUNTIME = "<connectionState>connected</connectionState><powerState>poweredOff</powerState>" + REST
CONTENT = (
    '<RetrieveServiceContentResponse xmlns="urn:vim25"><returnval><rootFolder type="Folder">group-d1</rootFolder>'
    '<propertyCollector type="PropertyCollector">propertyCollector</propertyCollector>'
    "<about><name>x</name><fullName>x</fullName><vendor>x</vendor><version>8.0.2</version><build>1</build>"
    "<localeVersion>INTL</localeVersion><localeBuild>000</localeBuild><osType>linux-x64</osType>"
    "<productLineId>vpx</productLineId><apiType>VirtualCenter</apiType><apiVersion>8.0.2.0</apiVersion>"
    "</about></returnval></RetrieveServiceContentResponse>"
)


def _reply(*bodies: tuple[int, str]) -> None:
    responses.add(responses.POST, f"{BASE}/sdk", body=ENV.format(CONTENT), status=200)
    for status, text in bodies:
        responses.add(responses.POST, f"{BASE}/sdk", body=text, status=status, content_type="text/xml")


def _read(seen: list[Exchange]) -> Exchange:
    client = soap_client(BASE, timeout=5)
    client.observers.append(seen.append)
    try:
        return client.get("VirtualMachine", "vm-1", "runtime")
    except BadAnswer as exc:
        return exc.exchange


@responses.activate
def test_well_formed_answer_is_the_json_view() -> None:
    _reply((200, ENV.format(RUNTIME.format(GOOD_RUNTIME))))
    ex = _read([])
    assert isinstance(ex, SoapExchange) and not ex.defect
    assert ex.json["_typeName"] == "VirtualMachineRuntimeInfo"
    assert (ex.json["powerState"], ex.json["numMksConnections"], ex.json["onlineStandby"]) == (
        "poweredOff",
        0,
        False,
    )


@pytest.mark.parametrize(
    ("status", "text", "reason"),
    [
        (200, ENV.format(RUNTIME.format(GOOD_RUNTIME + "<bogusElement>1</bogusElement>")), "bogusElement"),
        (
            200,
            ENV.format(RUNTIME.format(GOOD_RUNTIME).replace("VirtualMachineRuntimeInfo", "NoSuchType")),
            "NoSuchType",
        ),
        (200, "<html><body>502 Bad Gateway</body></html>", "Envelope"),
        (200, "not xml at all", "not XML"),
        (
            500,
            ENV.format(
                "<soapenv:Fault><faultcode>x</faultcode><faultstring>boom</faultstring></soapenv:Fault>"
            ),
            "detail",
        ),
        (
            200,
            ENV.format(RUNTIME.format(GOOD_RUNTIME.replace("poweredOff", "poweredSideways"))),
            "poweredSideways",
        ),
    ],
    ids=[
        "unknown-element",
        "unknown-xsi-type",
        "html",
        "not-xml",
        "fault-without-detail",
        "bad-enum",
    ],
)
@responses.activate
def test_malformed_answer_is_a_defect_with_the_xml(status: int, text: str, reason: str) -> None:
    _reply((status, text))
    seen: list[Exchange] = []
    ex = _read(seen)
    assert ex in seen  # the auditor saw it before anything was raised
    assert ex.defect and reason in ex.defect + ex.text, ex.defect
    assert ex.status == status and ex.body == text.encode()
    evidence = ex.evidence()
    assert evidence.response["soap"]["body"].startswith(text[:30])
    contract = next(c for c in load_contracts() if c.id == "VirtualMachine_getRuntime")
    problems = answer_problems(contract, "8.0.2.0", ex)
    assert problems and problems[0][0] == "shape"


@pytest.mark.parametrize(
    ("runtime", "field"),
    [
        ("<connectionState>connected</connectionState>" + REST, "powerState"),  # an enum
        (GOOD_RUNTIME.replace("<numMksConnections>0</numMksConnections>", ""), "numMksConnections"),  # an int
    ],
    ids=["enum", "int"],
)
@responses.activate
def test_a_missing_required_element_is_missing_in_the_json_view_and_fails_shape(runtime, field) -> None:
    """As a VI/JSON answer without a required field: usable, and judged by the shape rules.  pyVmomi
    reads a missing int as 0; the harness does not (it would pass for a zero the endpoint never sent)."""
    _reply((200, ENV.format(RUNTIME.format(runtime))))
    ex = _read([])
    assert not ex.defect and field not in ex.json and ex.json["_typeName"] == "VirtualMachineRuntimeInfo"
    contract = next(c for c in load_contracts() if c.id == "VirtualMachine_getRuntime")
    problems = answer_problems(contract, "8.0.2.0", ex)
    assert problems and problems[0][0] == "shape" and field in problems[0][1], problems


@responses.activate
def test_a_fault_answer_is_the_json_fault() -> None:
    fault = (
        "<soapenv:Fault><faultcode>ServerFaultCode</faultcode><faultstring>denied</faultstring><detail>"
        '<NoPermissionFault xmlns="urn:vim25" xsi:type="NoPermission"><object type="VirtualMachine">vm-1</object>'
        "<privilegeId>System.Read</privilegeId></NoPermissionFault></detail></soapenv:Fault>"
    )
    _reply((500, ENV.format(fault)))
    ex = _read([])
    assert not ex.defect and ex.status == 500
    assert ex.json == {
        "_typeName": "NoPermission",
        "object": {"_typeName": "ManagedObjectReference", "type": "VirtualMachine", "value": "vm-1"},
        "privilegeId": "System.Read",
    }


@responses.activate
def test_an_oversized_answer_is_not_read() -> None:
    _reply((200, ENV.format(RUNTIME.format(GOOD_RUNTIME))))
    client = soap_client(BASE, timeout=5, max_body=2000)
    client.content  # noqa: B018 - the ServiceContent fits
    with pytest.raises(BadAnswer) as caught:
        client.max_body = 100
        client.get("VirtualMachine", "vm-1", "runtime")
    assert "limit" in caught.value.exchange.defect and caught.value.exchange.body == b""
