"""The simulator's "database": its inventory, roles and permissions in a state file, so a
``vsphere-harness sim --state-file F`` killed (even with SIGKILL) and started again serves the same
inventory, as a vCenter does after a restart.

The file is written through: after every request that may change state (any POST) and after every
task completion, before the answer that shows the change can be read, so nothing an answer
confirmed is lost.  It is a pickle (of the simulator's own objects, written and read only by the
simulator: never load a state file you did not write), replaced atomically (a kill mid-write leaves
the previous one).  Sessions and tasks are not in it: a start from it loses them, as a restart does
(:mod:`.restart`).  Cost: about 2 ms per write for the default 32 VMs.
"""

from __future__ import annotations

import contextlib
import copyreg
import os
import pickle
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .model import Inventory

if TYPE_CHECKING:
    from .auth import Auth

FORMAT = 1
_LOCK_TYPES = (type(threading.Lock()), type(threading.RLock()))


def _reduce_lock(lock: Any) -> tuple[Any, tuple[()]]:
    return (threading.RLock if isinstance(lock, _LOCK_TYPES[1]) else threading.Lock), ()


for _t in _LOCK_TYPES:  # a lock is saved as a new, free lock of its kind
    copyreg.pickle(_t, _reduce_lock)


class StateError(ValueError):
    """A state file that cannot be read."""


class StateFile:
    """Writes and reads one simulator's state file."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.Lock()
        self.writes = 0
        self.failures = 0

    def load(self) -> dict[str, Any] | None:
        """The saved state (``inv``, ``roles``, ``permissions``, ``role_ids``), or None without a file."""
        if not self.path.exists():
            return None
        try:
            with self.path.open("rb") as f:
                data = pickle.load(f)  # noqa: S301 - our own file (see the module docstring)
        except (OSError, pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
            raise StateError(f"cannot read the state file {self.path}: {exc}") from None
        if (
            not isinstance(data, dict)
            or data.get("format") != FORMAT
            or not isinstance(data.get("inv"), Inventory)
        ):
            raise StateError(f"{self.path} is not a simulator state file")
        return data

    def save(self, inv: Inventory, auth: Auth) -> bool:
        """Write the state (a few attempts: another thread may change it while it is read)."""
        with self._lock:
            for _ in range(5):
                try:
                    with auth.lock, inv.lock:
                        blob = pickle.dumps(
                            {
                                "format": FORMAT,
                                "inv": inv,
                                "roles": auth.roles,
                                "permissions": auth.permissions,
                                "role_ids": auth._role_ids,
                            },
                            protocol=pickle.HIGHEST_PROTOCOL,
                        )
                    break
                except RuntimeError:  # changed size during iteration: read it again
                    continue
            else:
                self.failures += 1
                return False
            tmp = self.path.with_name(self.path.name + ".tmp")
            try:
                with tmp.open("wb") as f:
                    f.write(blob)
                os.replace(tmp, self.path)
            except OSError as exc:
                self.failures += 1
                raise StateError(f"cannot write the state file {self.path}: {exc.strerror or exc}") from None
            self.writes += 1
            return True

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.unlink()
