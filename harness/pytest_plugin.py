"""pytest plugin: ``pytest --vsphere-harness`` runs the contract checks as test items.

One item per operation x check (``vsphere::VirtualMachine_PowerOnVM_Task::shape``), run through the
same library API as ``vsphere-harness run`` (:class:`harness.run.Runner`).  A failure shows the
check's message, then the requests that caused it, with curl lines.  Without ``--vsphere-harness``
the plugin does nothing (and imports nothing of the harness).  Under pytest-xdist (``-n N``) each
worker runs its items with a Runner of its own; see :mod:`harness.pytest_items`.
"""

from __future__ import annotations

import pytest


def pytest_addoption(parser: pytest.Parser) -> None:
    g = parser.getgroup("vsphere-harness", "contract checks of a vSphere VI/JSON endpoint")
    g.addoption(
        "--vsphere-harness",
        action="store_true",
        default=False,
        help="Add one test item per operation x check (default endpoint: the built-in simulator).",
    )
    g.addoption(
        "--vsphere-endpoint", metavar="URL", default=None, help="scheme://host[:port] of the endpoint."
    )
    g.addoption(
        "--vsphere-protocol",
        choices=("json", "soap", "auto"),
        default="json",
        help="json (VI/JSON), soap (/sdk) or auto (VI/JSON when served, else SOAP); default json.",
    )
    g.addoption("--vsphere-user", default=None, help="Administrator (or VSPHERE_USER).")
    g.addoption("--vsphere-password", default=None, help="Administrator password (or VSPHERE_PASSWORD).")
    g.addoption(
        "--vsphere-limited-user", default=None, help="A user without privileges (or VSPHERE_LIMITED_USER)."
    )
    g.addoption("--vsphere-limited-password", default=None, help="(or VSPHERE_LIMITED_PASSWORD)")
    g.addoption(
        "--vsphere-insecure", action="store_true", default=False, help="Do not verify TLS certificates."
    )
    g.addoption("--vsphere-release", default=None, metavar="R", help="VI/JSON release (default 8.0.2.0).")
    g.addoption(
        "--vsphere-operations",
        action="append",
        default=[],
        metavar="GLOB",
        help="Only operations whose id matches (repeatable).",
    )
    g.addoption("--vsphere-checks", action="append", default=[], metavar="LIST", help="Only these checks.")
    g.addoption("--vsphere-examples", type=int, default=5, metavar="N", help="Generated requests per check.")
    g.addoption("--vsphere-seed", type=int, default=0, metavar="N", help="Seed (reproduces a run).")
    g.addoption("--vsphere-read-only", action="store_true", default=False, help="Only what changes nothing.")
    g.addoption(
        "--vsphere-timeout",
        type=float,
        default=30.0,
        metavar="S",
        help="Seconds per task and per HTTP exchange.",
    )
    g.addoption(
        "--vsphere-reconnect-wait",
        type=float,
        default=60.0,
        metavar="S",
        help="When the endpoint stops answering mid-run, wait this long for it before the next item "
        "(0: never).",
    )
    g.addoption(
        "--vsphere-shard",
        metavar="I/N",
        default=None,
        help="Only the I-th of N deterministic parts of the operation x check items "
        "(merge the results with `vsphere-harness report merge`).",
    )
    g.addoption(
        "--vsphere-max-body",
        type=int,
        default=64 * 1024 * 1024,
        metavar="BYTES",
        help="Largest answer body read (a larger one is judged failed, unread).",
    )
    g.addoption(
        "--vsphere-allow-errors",
        action="store_true",
        default=False,
        help="A check that could not decide is skipped, not an error.",
    )
    g.addoption(
        "--vsphere-inventory-sample",
        type=int,
        default=20,
        metavar="N",
        help="Existing VMs read-only operations are also judged on (0: none).",
    )
    g.addoption("--vsphere-baseline", default=None, metavar="FILE", help="Accepted deviations (xfail).")
    g.addoption(
        "--vsphere-report-dir",
        default=None,
        metavar="DIR",
        help="Also write results.json, junit.xml, summary.md, report.html there.",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "vsphere_harness: a contract check of the vsphere-harness plugin")
    if config.getoption("--vsphere-harness", default=False):
        # only now: every pytest session of an environment with the harness installed loads this
        # module, and one that does not ask for the harness must not import (or pay for) it
        from . import pytest_items  # noqa: PLC0415

        config.pluginmanager.register(pytest_items, "vsphere-harness-items")
        pytest_items.configure(config)
