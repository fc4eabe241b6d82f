"""Merge the results of the shards of one run (``vsphere-harness run --shard I/N``) into one result.

The inputs must be the N shards of one plan, each exactly once: the same harness version, release,
protocol, seed and options but ``shard`` (and ``scenarios``: only shard 1 runs them).  The merged
:class:`RunResult` unites the operations' check results (a pair two shards report is combined as the
runner combines a check's verdict with what the auditor found: the worst status wins, two failures
join their messages), concatenates scenarios and leftovers, sums the stats and records the shards
under ``options.merged_shards``; its summary and gate are computed by the model as for any run.
"""

from __future__ import annotations

from collections.abc import Hashable, Sequence
from typing import Any, TypeVar

from .model import SEVERITY, CheckResult, OperationResult, RunResult

#: Options the shards may differ in: the shard itself, and the scenarios (only shard 1 runs them).
SHARD_OPTIONS = ("shard", "scenarios")
#: What the endpoints of the shards must share (the URL may differ: a built-in simulator's port does).
ENDPOINT_KEYS = ("release", "protocol", "simulated")
#: Bounds of a failure joined from several shards (as the runner bounds one).
MAX_MESSAGE = 1500
MAX_EVIDENCE = 6
#: How the runner says during which check the auditor found a violation (it differs between shards).
DURING = " (answered during "
#: Stats that add up over shards.
SUMMED_STATS = ("requests", "duration_s", "answers_judged")

K = TypeVar("K", bound=Hashable)


class MergeError(ValueError):
    """The inputs are not the shards of one run (a usage error: exit 2)."""


def _shard_of(name: str, run: RunResult) -> tuple[int, int]:
    text = run.options.get("shard")
    try:
        index, n = (int(x) for x in str(text).split("/"))
    except ValueError:
        raise MergeError(f"{name} is not a shard (no options.shard: run it with --shard I/N)") from None
    if not 1 <= index <= n:
        raise MergeError(f"{name}: options.shard {text!r} is not I/N with 1 <= I <= N")
    return index, n


def _differences(a: RunResult, b: RunResult) -> list[str]:
    """What makes ``b`` another run than ``a`` (empty: the same run, maybe another shard)."""
    out = []
    for key in ("harness_version", "seed"):
        if getattr(a, key) != getattr(b, key):
            out.append(f"{key} ({getattr(a, key)!r} vs {getattr(b, key)!r})")
    for key in ENDPOINT_KEYS:
        if a.endpoint.get(key) != b.endpoint.get(key):
            out.append(f"endpoint.{key} ({a.endpoint.get(key)!r} vs {b.endpoint.get(key)!r})")
    for key in sorted((a.options.keys() | b.options.keys()) - set(SHARD_OPTIONS)):
        if a.options.get(key) != b.options.get(key):
            out.append(f"options.{key} ({a.options.get(key)!r} vs {b.options.get(key)!r})")
    return out


def check_shards(runs: Sequence[tuple[str, RunResult]]) -> list[tuple[str, RunResult]]:
    """The inputs in shard order, or :class:`MergeError` unless they are shards 1..N of one run."""
    if not runs:
        raise MergeError("nothing to merge")
    first_name, first = runs[0]
    n = _shard_of(first_name, first)[1]
    shards: dict[int, tuple[str, RunResult]] = {}
    for name, run in runs:
        index, of = _shard_of(name, run)
        diff = _differences(first, run)
        if diff:
            raise MergeError(f"{name} is not a shard of the same run as {first_name}: {', '.join(diff)}")
        if of != n:
            raise MergeError(f"{name} is shard {index}/{of}, {first_name} one of {n}")
        if index in shards:
            raise MergeError(f"{name} and {shards[index][0]} are both shard {index}/{n}")
        shards[index] = (name, run)
    missing = [f"{i}/{n}" for i in range(1, n + 1) if i not in shards]
    if missing:
        raise MergeError(f"shard(s) {', '.join(missing)} missing: a merge needs every shard of the run")
    return [shards[i] for i in sorted(shards)]


def _ordered_union(lists: Sequence[Sequence[K]]) -> list[K]:
    """Every key once, each list's relative order kept (a new key goes right after its predecessor)."""
    out: list[K] = []
    for keys in lists:
        at = 0
        for key in keys:
            if key in out:
                at = out.index(key) + 1
            else:
                out.insert(at, key)
                at += 1
    return out


def combine(a: CheckResult, b: CheckResult) -> CheckResult:
    """One verdict from two shards' verdicts on one pair: the worst status with its message and
    evidence; two failures join their messages (bounded) and their evidence; durations add up."""
    if SEVERITY[b.status] > SEVERITY[a.status]:
        a, b = b, a
    out = CheckResult(
        a.check, a.status, a.message, list(a.evidence), a.duration_ms + b.duration_ms, a.accepted
    )
    if a.status == b.status == "failed":
        for part in b.message.split("; "):  # a violation found again adds nothing, as in the runner
            if part.split(DURING)[0] not in out.message and len(out.message) < MAX_MESSAGE:
                out.message += f"; {part}"
        out.evidence += b.evidence[: max(0, MAX_EVIDENCE - len(out.evidence))]
        out.accepted = a.accepted or b.accepted  # the baseline matches a substring of the joined message
    return out


def _operations(runs: Sequence[RunResult]) -> list[OperationResult]:
    order = _ordered_union([[op.id for op in run.operations] for run in runs])
    checks: dict[str, dict[str, CheckResult]] = {op_id: {} for op_id in order}
    check_order: dict[str, list[list[str]]] = {op_id: [] for op_id in order}
    for run in runs:
        for op in run.operations:
            mine = checks[op.id]
            check_order[op.id].append([c.check for c in op.checks])
            for c in op.checks:
                mine[c.check] = combine(mine[c.check], c) if c.check in mine else c
    return [
        OperationResult(op_id, [checks[op_id][name] for name in _ordered_union(check_order[op_id])])
        for op_id in order
    ]


def _stats(runs: Sequence[RunResult]) -> dict[str, Any]:
    stats: dict[str, Any] = {}
    for run in runs:
        for key, value in run.stats.items():
            if key in SUMMED_STATS and isinstance(value, int | float):
                stats[key] = stats.get(key, 0) + value
            elif key == "interrupted":
                stats[key] = stats.get(key, False) or bool(value)
            elif key == "outage_waits":  # every shard's waits for an endpoint that went away
                stats[key] = [*stats.get(key, []), *value]
            elif key in ("sandbox", "endpoint_outages"):  # every distinct reason / summary of the shards
                if key not in stats:
                    stats[key] = value
                elif value not in stats[key]:
                    stats[key] += f"; {value}"
            else:
                stats.setdefault(key, value)  # the same for every shard (the inventory sample: one seed)
    if "duration_s" in stats:
        stats["duration_s"] = round(stats["duration_s"], 2)
        stats["slowest_shard_s"] = max(float(r.stats.get("duration_s", 0)) for r in runs)
        duration = stats["duration_s"]
        stats["requests_per_s"] = round(stats.get("requests", 0) / duration, 1) if duration else 0.0
    return stats


def _endpoint(runs: Sequence[RunResult]) -> dict[str, Any]:
    endpoint = dict(runs[0].endpoint)
    warnings = _ordered_union([r.endpoint.get("warnings", []) for r in runs])
    urls = _ordered_union([[r.endpoint.get("url")] for r in runs])
    if len(urls) > 1 and not runs[0].options.get("builtin_simulator"):
        warnings.append(f"the shards ran against different endpoints: {', '.join(map(str, urls))}")
    if warnings:
        endpoint["warnings"] = warnings
    return endpoint


def merge_runs(runs: Sequence[tuple[str, RunResult]]) -> RunResult:
    """Merge the shards of one run (``(name, result)`` pairs, any order); :class:`MergeError` when
    they are not shards 1..N of one run (see the module's doc)."""
    ordered = [run for _, run in check_shards(runs)]
    first = ordered[0]
    options = {k: v for k, v in first.options.items() if k != "shard"}
    options["scenarios"] = _ordered_union([r.options.get("scenarios", []) for r in ordered])
    options["merged_shards"] = [r.options["shard"] for r in ordered]
    merged = RunResult(
        first.harness_version,
        _endpoint(ordered),
        min(r.started_at for r in ordered),
        max(r.finished_at for r in ordered),
        first.seed,
        options=options,
    )
    merged.operations = _operations(ordered)
    merged.scenarios = [s for r in ordered for s in r.scenarios]
    merged.leftovers = [x for r in ordered for x in r.leftovers]
    merged.stats = _stats(ordered)
    return merged
