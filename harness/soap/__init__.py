"""The same contracts over SOAP (issue 8): one translation between VI/JSON and SOAP, built on the
project's codec and pyVmomi's SOAP machinery, used both ways.

* a client transport: :func:`soap_client` / :func:`use_soap` make a ``ViClient`` speak SOAP to
  ``<endpoint>/sdk`` while the checks keep judging the VI/JSON view (:class:`SoapExchange`);
* a server façade: :func:`mount_soap` serves ``/sdk`` over any VI/JSON handler (the simulator
  mounts it over its ``Simulator.handle``: :func:`harness.sim.app.create_app`).
"""

from .client import SoapTransport, soap_client, use_soap
from .exchange import SoapExchange, redact_xml
from .server import SoapFacade, mount_soap, simulator_handler, soap_routes

__all__ = [
    "SoapExchange",
    "SoapFacade",
    "SoapTransport",
    "mount_soap",
    "redact_xml",
    "simulator_handler",
    "soap_client",
    "soap_routes",
    "use_soap",
]
