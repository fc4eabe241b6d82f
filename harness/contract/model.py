"""The contract of one VI/JSON operation, as read from ``contracts/<Type>/...yaml``.

A contract has a generated part (identity, request, response, privileges, faults; from the type
registry) and a curated part (``semantics``, curated privileges) written by hand and kept when the
contracts are regenerated.  See ``harness/contract/contract.schema.json`` for the file format.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ..vmodl.registry import RELEASES

Kind = Literal["method", "property"]


def release_key(name: str) -> tuple[int, ...]:
    return tuple(int(p) for p in name.split("."))


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # wire type, ``[]`` suffix for arrays
    required: bool
    moref: str | None = None  # the managed type a reference must point to
    since: str | None = None  # first release carrying it, when later than the operation's
    privilege: str | None = None  # privilege required on the object the parameter names

    def in_release(self, release: str) -> bool:
        return self.since is None or release_key(release) >= release_key(self.since)


@dataclass(frozen=True)
class ConditionalPrivilege:
    """Privileges required only when a condition on the request or the target holds.

    ``when`` is a small condition mapping, for example ``{param: spec.template, equals: true}``,
    ``{target: config.template, equals: true}``, ``{param: ticketType, in: [webmks, mks]}``,
    ``{param: spec.numCPUs, present: true}``.  ``on`` names where the privilege is checked:
    ``target`` (default), a parameter (``folder``, ``spec.pool``), or every object found on the
    target: ``{target: config.hardware.device, each: VirtualDisk, path: backing.datastore}`` (the
    references at a property path; through each item of an array, only items of type ``each`` when
    given; then at ``path`` within an item) - the privilege is required on each of them.
    """

    when: dict[str, Any]
    privileges: tuple[str, ...]
    on: str | dict[str, str] = "target"
    description: str = ""


def typed_ref(type_name: str | None, moref: str | None) -> str | None:
    """A declared type as schemas name it: a reference (``ManagedObjectReference``, or an array of
    them) by the managed type it points to (``VirtualMachine``, ``VirtualMachine[]``)."""
    if type_name is None:
        return None
    if moref:
        return moref + ("[]" if type_name.endswith("[]") else "")
    return type_name


@dataclass(frozen=True)
class Contract:
    id: str
    kind: Kind
    managed_type: str
    declared_by: str
    name: str  # method wire name or property name
    http_method: str
    path: str
    releases: tuple[str, ...]
    request_type: str | None
    params: tuple[Param, ...]
    status: int
    response_type: str | None  # wire type of the 200 body (ManagedObjectReference for tasks)
    response_moref: str | None  # the managed type a returned reference points to
    is_task: bool
    task_result: str | None
    privileges: tuple[str, ...]
    conditional_privileges: tuple[ConditionalPrivilege, ...]
    privileges_source: str
    faults: tuple[str, ...]
    fault_since: dict[str, str] = field(default_factory=dict)
    support: bool = False
    semantics: dict[str, Any] = field(default_factory=dict)
    source_file: str | None = None
    response_optional: bool = False  # the 200 body may be empty/absent (an unset optional value)
    task_result_moref: str | None = None  # the managed type a task's result reference points to

    @property
    def response_ref(self) -> str | None:
        """The declared type of a 200 body (a returned reference typed by its managed type)."""
        return typed_ref(self.response_type, self.response_moref)

    @property
    def task_result_ref(self) -> str | None:
        """The declared type of a task's ``TaskInfo.result`` (a reference typed by its managed type)."""
        return typed_ref(self.task_result, self.task_result_moref)

    def in_release(self, release: str) -> bool:
        return release in self.releases

    def params_for(self, release: str) -> list[Param]:
        return [p for p in self.params if p.in_release(release)]

    def faults_for(self, release: str) -> list[str]:
        return [
            f
            for f in self.faults
            if f not in self.fault_since or release_key(release) >= release_key(self.fault_since[f])
        ]

    @property
    def changes_state(self) -> bool:
        """False for operations that only read (safe in ``--read-only`` runs)."""
        if self.kind == "property":
            return False
        return not self.semantics.get("read_only", False)

    @property
    def preconditions(self) -> list[dict[str, Any]]:
        return list(self.semantics.get("preconditions", []))

    @property
    def effects(self) -> list[dict[str, Any]]:
        return list(self.semantics.get("effects", []))

    @property
    def cancelable(self) -> bool:
        return bool(self.semantics.get("cancelable", False))

    @property
    def locks(self) -> list[str]:
        return list(self.semantics.get("locks", []))


def from_mapping(data: dict[str, Any], source_file: str | None = None) -> Contract:
    """A :class:`Contract` from the mapping of a contract file (already schema-validated)."""
    request = data.get("request") or {}
    response = data.get("response") or {}
    privileges = data.get("privileges") or {}
    faults = data.get("faults") or []
    return Contract(
        id=data["id"],
        kind=data["kind"],
        managed_type=data["managed_type"],
        declared_by=data.get("declared_by", data["managed_type"]),
        name=data["name"],
        http_method=data["http"]["method"],
        path=data["http"]["path"],
        releases=tuple(r for r in RELEASES if r in data["releases"]),
        request_type=request.get("type"),
        params=tuple(
            Param(
                p["name"],
                p["type"],
                bool(p.get("required", False)),
                p.get("moref"),
                p.get("since"),
                p.get("privilege"),
            )
            for p in request.get("params", [])
        ),
        status=int(response.get("status", 200)),
        response_type=response.get("type"),
        response_moref=response.get("moref"),
        is_task=bool(response.get("task", False)),
        task_result=response.get("task_result"),
        privileges=tuple(privileges.get("required", [])),
        conditional_privileges=tuple(
            ConditionalPrivilege(
                c["when"], tuple(c["privileges"]), c.get("on", "target"), c.get("description", "")
            )
            for c in privileges.get("conditional", [])
        ),
        privileges_source=privileges.get("source", "pyvmomi"),
        faults=tuple(f["name"] if isinstance(f, dict) else f for f in faults),
        fault_since={f["name"]: f["since"] for f in faults if isinstance(f, dict) and f.get("since")},
        support=bool(data.get("support", False)),
        semantics=dict(data.get("semantics") or {}),
        source_file=source_file,
        response_optional=bool(response.get("optional", False)),
        task_result_moref=response.get("task_result_moref"),
    )
