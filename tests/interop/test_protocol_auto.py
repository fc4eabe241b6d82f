"""``--protocol auto``: VI/JSON where the endpoint serves it, SOAP where it does not (vcsim)."""

from __future__ import annotations

import pytest

from harness.run import EndpointError, RunOptions
from harness.run.endpoint import open_endpoint

from .test_vcsim import launch


def test_auto_speaks_soap_to_vcsim_and_json_to_the_simulator():
    with launch.running_vcsim() as url:
        options = RunOptions(
            endpoint=url.removesuffix("/sdk"),
            protocol="auto",
            insecure=True,
            user="u",
            password="vcsim-password",
        ).with_env()
        with open_endpoint(options) as conn:
            assert conn.protocol == "soap" and conn.describe()["protocol"] == "soap"
            assert conn.about["apiVersion"] == "6.5"
        json_only = RunOptions(**{**options.__dict__, "protocol": "json"})
        with (
            pytest.raises(EndpointError, match="does not serve release 8.0.2.0 over VI/JSON"),
            open_endpoint(json_only),
        ):
            pass
    with open_endpoint(RunOptions(protocol="auto")) as conn:  # the built-in simulator serves both
        assert conn.protocol == "json"
