"""The whole default plan over SOAP against our simulator: every check passes or skips (no false
failures), as over VI/JSON; the results say which protocol the run spoke."""

from __future__ import annotations

from harness.run import RunOptions, exit_code, run_contracts


def test_every_check_passes_over_soap_on_the_simulator():
    result = run_contracts(RunOptions(protocol="soap", examples=2, scenarios=(), inventory_sample=4))
    bad = [(op.id, c.check, c.status, c.message[:300]) for op in result.operations for c in op.checks]
    bad = [b for b in bad if b[2] in ("failed", "error")]
    assert not bad, bad
    assert exit_code(result) == 0
    assert result.endpoint["protocol"] == "soap"
    assert result.summary()["passed"] > 500
    by_check = result.by_check()
    assert by_check["schemathesis"]["passed"] == 0  # VI/JSON only: skipped, with the reason
    assert all(n["passed"] > 0 for name, n in by_check.items() if name != "schemathesis"), by_check
