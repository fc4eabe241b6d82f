"""Export leases the run opened: seen in any answer, aborted so that none outlives the check that
opened it (an open ``HttpNfcLease`` keeps its virtual machine locked), and on clean-up."""

from __future__ import annotations

import threading
from typing import Any
from urllib.parse import urlsplit

from ..client import ClientError

LEASE = "HttpNfcLease"
#: Answers to an abort that leave nothing open: done, the lease had ended, or it is gone.
CLOSED = ("InvalidState", "ManagedObjectNotFound")


def lease_of(data: Any) -> str | None:
    """The moId of an ``HttpNfcLease`` reference (None for anything else)."""
    if (
        isinstance(data, dict)
        and data.get("type") == LEASE
        and data.get("_typeName") == "ManagedObjectReference"
    ):
        value = data.get("value")
        return value if isinstance(value, str) and value else None
    return None


class Leases:
    """The leases seen open: :meth:`observe` is an exchange observer, :meth:`release` aborts them."""

    def __init__(self) -> None:
        self._open: dict[str, None] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._open)

    def add(self, moid: str) -> None:
        with self._lock:
            self._open[moid] = None

    def observe(self, ex: Any) -> None:
        """Note a lease an answer carries; forget one the client completed or aborted."""
        if not 200 <= getattr(ex, "status", 0) < 300:
            return
        moid = lease_of(getattr(ex, "json", None))
        if moid:
            self.add(moid)
            return
        parts = urlsplit(str(getattr(ex, "url", ""))).path.split("/")
        if (
            len(parts) >= 3
            and parts[-3] == LEASE
            and parts[-1] in ("HttpNfcLeaseComplete", "HttpNfcLeaseAbort")
        ):
            with self._lock:
                self._open.pop(parts[-2], None)

    def release(self, client: Any) -> list[str]:
        """Abort every lease still open; what could not be aborted, one line each (kept for a retry)."""
        with self._lock:
            todo = list(self._open)
        problems = []
        for moid in todo:
            try:
                ex = client.invoke(LEASE, moid, "HttpNfcLeaseAbort", {})
            except ClientError as exc:
                problems.append(f"lease {moid}: {exc}")
                continue
            if ex.ok or ex.fault_type in CLOSED:
                with self._lock:
                    self._open.pop(moid, None)
            else:
                problems.append(f"lease {moid}: abort answered {ex.fault_type or ex.status}")
        return problems
