"""The simulator's configuration and its misbehaviour switches."""

from __future__ import annotations

from dataclasses import dataclass, field

#: Misbehaviour switches (docs/simulator.md): each makes one of the harness's checks fail.
MISBEHAVIOURS: dict[str, str] = {
    "drop_typename": "data objects in responses lack _typeName (shape)",
    "extra_field": "responses carry a field the release does not define (shape)",
    "undeclared_fault": "failing methods answer a non-runtime fault they do not declare (faults)",
    "fault_status_200": "faults are sent with HTTP 200 instead of 500 (faults)",
    "ignore_privileges": "no privilege checks at all (privileges)",
    "nopermission_no_privileges": "NoPermission without missingPrivileges, naming a wrong privilege (privileges)",
    "task_state_backwards": "TaskInfo.state goes back from success to running on a later read (tasks)",
    "task_progress_decreases": "TaskInfo.progress falls between reads (tasks)",
    "task_no_recent_task": "tasks never appear in the entity's recentTask (tasks)",
    "skip_effects": "operations report success but change nothing (effects, stateful)",
    "effects_on_failure": "a failing operation still changes state (effects)",
    "accept_invalid": "malformed or ill-typed request bodies are accepted with 2xx (negative)",
    "serve_all_releases": "operations absent from a release are served anyway (versions)",
    "no_session_required": "requests without a valid session succeed (session)",
    "crash_on_invalid": "invalid requests get HTTP 500 with a traceback text, not a fault (negative, schemathesis)",
    "break_existing_vms": "property reads of the VMs the seed made (not those made at run time) answer values "
    "outside the schema (shape, with --inventory-sample)",
    "invalid_in_task": "malformed bodies of task methods are refused by a task that ends in error, not by "
    "HTTP 500 (negative)",
    "unimplemented_methods": "MountToolsInstaller, UnmountToolsInstaller and AcquireMksTicket answer "
    "MethodNotFound though the release has them (versions)",
    "empty_privilege_list": "AuthorizationManager.privilegeList is empty: no privilege can be granted or withheld "
    "(privileges)",
    "fault_as_text": "every fault is sent as HTTP 500 with a text/plain body, not a fault object (faults, negative, "
    "chaos answers_well_formed)",
    "no_task_lock": "an object busy with a task accepts another task at once, never TaskInProgress (chaos "
    "concurrent-*-from-sessions)",
    "restart_loses_inventory": "a restart loses every VM made at run time, as if its database were not kept "
    "(chaos endpoint-restarts-mid-run)",
    "forget_tasks_on_logout": "a task answers ManagedObjectNotFound once the session that started it has ended "
    "(chaos session-expires-during-a-task)",
    "lease_stuck_initializing": "an ExportVm lease never leaves initializing (lease)",
    "lease_info_malformed": "HttpNfcLease.info breaks the HttpNfcLeaseInfo schema (lease)",
    "lease_complete_refused": "HttpNfcLeaseComplete on a ready lease answers InvalidState (lease)",
    "lease_abort_ignored": "HttpNfcLeaseAbort answers OK but the lease ends done and the VM stays locked "
    "(chaos export-lease-aborted-midway)",
    "ignore_maintenance_mode": "a VM on a host in maintenance mode is powered on (PowerOnVM_Task, a revert that "
    "powers on) instead of InvalidState (chaos host-enters-maintenance-mid-sequence)",
    "maintenance_half_done": "EnterMaintenanceMode_Task that fails because powered-on VMs remain still leaves the "
    "host in maintenance mode (chaos host-enters-maintenance-mid-sequence)",
    "ft_double_swap": "MakePrimaryVM_Task holds no lock and swaps the pair's roles on every call, so two at once "
    "swap twice (chaos ft-failover-with-faulted-host)",
}

DEFAULT_VMS = 32
MAX_BODY = 8 * 1024 * 1024


class ConfigError(ValueError):
    """A configuration value the simulator cannot use."""


def parse_misbehaviour(items) -> frozenset[str]:
    """Switch names from a list or a comma-separated string; unknown names are an error."""
    if isinstance(items, str):
        items = [s.strip() for s in items.split(",") if s.strip()]
    names = frozenset(items or ())
    unknown = sorted(n for n in names if n not in MISBEHAVIOURS)
    if unknown:
        raise ConfigError(f"unknown misbehaviour {', '.join(unknown)}; known: {', '.join(MISBEHAVIOURS)}")
    return names


@dataclass(frozen=True)
class SimConfig:
    """How to build and run a simulator.

    ``task_delay_ms`` is the duration of a task; ``method_delay_factor`` scales it per method
    (clones and migrations take longer by default).  ``session_timeout_s``: a session unused this
    many seconds expires (then answers NotAuthenticated); None, the default: sessions never expire.
    """

    vms: int = DEFAULT_VMS
    seed: int = 0
    task_delay_ms: int = 200
    users_file: str | None = None
    faults_file: str | None = None
    misbehave: frozenset[str] = frozenset()
    host: str = "127.0.0.1"
    port: int = 0
    max_body: int = MAX_BODY
    session_timeout_s: float | None = None
    state_file: str | None = None  # the inventory survives a kill in it (harness.sim.persist)
    method_delay_factor: dict[str, float] = field(
        default_factory=lambda: {
            "CloneVM_Task": 3.0,
            "InstantClone_Task": 2.0,
            "RelocateVM_Task": 3.0,
            "MigrateVM_Task": 3.0,
            "CreateSecondaryVM_Task": 3.0,
            "CreateSecondaryVMEx_Task": 3.0,
            "ConsolidateVMDisks_Task": 2.0,
        }
    )

    def __post_init__(self) -> None:
        if not isinstance(self.vms, int) or self.vms < 0 or self.vms > 200000:
            raise ConfigError(f"vms must be an integer from 0 to 200000, not {self.vms!r}")
        if not isinstance(self.task_delay_ms, int) or self.task_delay_ms < 0:
            raise ConfigError(
                f"task delay must be a non-negative number of milliseconds, not {self.task_delay_ms!r}"
            )
        if self.session_timeout_s is not None and (
            isinstance(self.session_timeout_s, bool)
            or not isinstance(self.session_timeout_s, int | float)
            or not self.session_timeout_s > 0
        ):
            raise ConfigError(
                f"session timeout must be a positive number of seconds, not {self.session_timeout_s!r}"
            )
        if not 0 <= self.port <= 65535:
            raise ConfigError(f"port must be from 0 to 65535, not {self.port}")
        object.__setattr__(self, "misbehave", parse_misbehaviour(self.misbehave))
