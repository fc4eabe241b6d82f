"""Start the project's vcsim (``interop/vcsim/bin/vcsim-harness``, built by ``interop/vcsim/build.sh``).

    with running_vcsim() as url:        # e.g. "https://127.0.0.1:41237/sdk"
        ...

The process listens on 127.0.0.1 only. It is stopped when the ``with`` block ends (closed standard
input, then SIGTERM, then SIGKILL, each wait bounded), and it also exits by itself when its standard
input closes, so it does not outlive a parent that died without cleaning up.

This file is standalone (standard library only): load it by path, e.g. with ``load_launcher()`` in
tests, or ``importlib.util.spec_from_file_location``.
"""

from __future__ import annotations

import os
import selectors
import subprocess
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from urllib.parse import urlsplit

HERE = Path(__file__).resolve().parent
BINARY = HERE / "bin" / "vcsim-harness"
BUILD_HINT = "run interop/vcsim/build.sh"
# Set to 1 to let tests skip (instead of fail) when the binary has not been built.
OPTIONAL_ENV = "VSPHERE_HARNESS_VCSIM_OPTIONAL"


class VcsimError(RuntimeError):
    """vcsim could not be started (or did not say where it listens in time)."""


class VcsimNotBuilt(VcsimError):
    """The vcsim binary does not exist: ``interop/vcsim/build.sh`` has not been run."""


def binary_path() -> Path:
    return BINARY


def is_built() -> bool:
    return BINARY.is_file() and os.access(BINARY, os.X_OK)


def vcsim_optional() -> bool:
    return os.environ.get(OPTIONAL_ENV, "").strip().lower() in {"1", "true", "yes"}


@contextmanager
def running_vcsim(
    port: int = 0,
    *,
    tls: bool = True,
    vms: int | None = None,
    username: str | None = None,
    password: str | None = None,
    start_timeout: float = 30.0,
    stop_timeout: float = 10.0,
    binary: Path | None = None,
) -> Iterator[str]:
    """Run vcsim on 127.0.0.1:``port`` (0: a free port) and yield its SDK URL (``https://127.0.0.1:N/sdk``).

    ``vms``: VMs per standalone host and per cluster (vcsim's default model has one of each; default 2).
    ``username``/``password``: the only login accepted; by default vcsim accepts any non-empty pair.
    """
    exe = Path(binary) if binary is not None else BINARY
    if not (exe.is_file() and os.access(exe, os.X_OK)):
        raise VcsimNotBuilt(f"vcsim binary not found at {exe}: {BUILD_HINT}")
    if not 0 <= port <= 65535:
        raise ValueError(f"port must be within 0..65535, not {port}")
    argv = [str(exe), "-port", str(port), "-exit-on-eof", f"-tls={'true' if tls else 'false'}"]
    if vms is not None:
        argv += ["-vm", str(int(vms))]
    if (username is None) != (password is None):
        raise ValueError("username and password go together")
    if username is not None:
        argv += ["-username", username, "-password", password or ""]

    with tempfile.TemporaryFile() as errlog:
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=errlog,
            cwd=tempfile.gettempdir(),
        )
        try:
            url = _read_url(proc, start_timeout, errlog)
            yield url
        finally:
            _stop(proc, stop_timeout)


def _read_url(proc: subprocess.Popen, timeout: float, errlog) -> str:
    assert proc.stdout is not None
    fd = proc.stdout.fileno()
    buf = b""
    deadline = time.monotonic() + timeout
    with selectors.DefaultSelector() as sel:
        sel.register(fd, selectors.EVENT_READ)
        while b"\n" not in buf:
            left = deadline - time.monotonic()
            if left <= 0:
                raise VcsimError(f"vcsim did not print its URL within {timeout:g}s{_stderr_tail(errlog)}")
            if not sel.select(min(left, 0.5)):
                continue
            chunk = os.read(fd, 4096)
            if not chunk:
                proc.wait(timeout=5)
                raise VcsimError(f"vcsim exited with status {proc.returncode}{_stderr_tail(errlog)}")
            buf += chunk
    url = buf.split(b"\n", 1)[0].decode("utf-8", "replace").strip()
    parts = urlsplit(url)
    if parts.scheme not in {"http", "https"} or parts.hostname != "127.0.0.1" or not parts.port:
        raise VcsimError(f"vcsim printed an unexpected URL: {url!r}")
    return url


def _stderr_tail(errlog, limit: int = 2000) -> str:
    try:
        errlog.flush()
        errlog.seek(0)
        text = errlog.read().decode("utf-8", "replace").strip()
    except (OSError, ValueError):
        return ""
    return f"; its stderr: {text[-limit:]}" if text else ""


def _stop(proc: subprocess.Popen, timeout: float) -> None:
    # Closing stdin makes it exit by itself (-exit-on-eof); SIGTERM, then SIGKILL, if it does not.
    for stream in (proc.stdin, proc.stdout):
        if stream is not None:
            with suppress(OSError):
                stream.close()
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=timeout)


def port_of(url: str) -> int:
    """The TCP port of a URL that ``running_vcsim`` yielded."""
    port = urlsplit(url).port
    if port is None:
        raise ValueError(f"no port in {url!r}")
    return port
