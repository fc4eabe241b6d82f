"""README's two commands stay true: CI runs the test command, the main command runs the harness."""

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _command(marker: str) -> str:
    text = (ROOT / "README.md").read_text()
    match = re.search(rf"<!-- {marker} -->\s*```sh\n(.+)\n```", text)
    assert match, f"README.md has no {marker} block"
    return match.group(1)


def test_ci_runs_the_readme_test_command():
    out = subprocess.run(
        [
            "awk",
            "/<!-- test-command -->/{found=1; next} found && /^```sh/{getline; print; exit}",
            "README.md",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert out == _command("test-command")
    assert 'bash -c "$cmd"' in (ROOT / ".ci/run").read_text()


def test_both_commands_set_up_from_scratch():
    for marker in ("main-command", "test-command"):
        cmd = (
            _command(marker)
            .removeprefix("bash interop/vcsim/build.sh && ")
            .removeprefix("bash interop/browser/install.sh && ")
        )
        assert cmd.startswith("python3 -m venv .venv && .venv/bin/pip install"), cmd
    assert _command("test-command").startswith(  # the interop and browser tests need them
        "bash interop/vcsim/build.sh && bash interop/browser/install.sh && "
    )
    assert "ruff format --check ." in _command("test-command")
    assert _command("main-command").endswith(".venv/bin/vsphere-harness run")
    assert "pytest" in _command("test-command")
