"""Keeping an operation's faults within what its contract declares (and, on purpose, outside it)."""

from __future__ import annotations

from ..vmodl.registry import release
from .faults import SimFault
from .optable import OpSpec

#: Faults the ``undeclared_fault`` misbehaviour answers instead: the first ``spec`` does not declare.
UNDECLARED_CANDIDATES = (
    "OutOfBounds",
    "NoDiskFound",
    "CannotAccessFile",
    "InvalidDatastore",
    "HostConfigFault",
    "NotFound",
    "AlreadyExists",
)


def conform(fault: SimFault, spec: OpSpec) -> SimFault:
    """A fault the operation may answer: runtime, declared, or a subtype of a declared one.

    A handler's more specific fault (InvalidOperationOnSecondaryVm ...) becomes the nearest
    declared base, else InvalidState where declared, else the runtime NotSupported.
    """
    rel = release(spec.release)
    name = fault.type_name
    declared = spec.declared_faults
    if name not in rel.data or rel.is_runtime_fault(name) or any(rel.is_subtype(name, d) for d in declared):
        return fault
    if name == "TaskInProgress":  # a busy object answers it whatever the method declares
        return fault
    for base in rel.ancestors(name)[1:]:
        if base in declared:
            fields = {k: v for k, v in fault.fields.items() if k in {f.name for f in rel.fields(base)}}
            return SimFault(base, fault.message, sync=fault.sync, **fields)
    if any(rel.is_subtype("InvalidState", d) for d in declared):
        return SimFault("InvalidState", fault.message, sync=fault.sync)
    return SimFault("NotSupported", fault.message, sync=fault.sync)


def undeclared(fault: SimFault, spec: OpSpec) -> SimFault:
    """A fault ``spec`` does not declare, in place of ``fault`` (``fault`` when it declares them all)."""
    rel = release(spec.release)
    for cand in UNDECLARED_CANDIDATES:
        if not any(rel.is_subtype(cand, d) for d in spec.declared_faults):
            return SimFault(cand, f"undeclared fault instead of {fault.type_name}", sync=fault.sync)
    return fault
