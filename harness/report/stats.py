"""A run's stats as sentences for the human reports (results.json keeps them as data)."""

from __future__ import annotations

import json

from .model import RunResult

#: Stats said in the sentences below; any other key is listed as ``key: value``.
_SAID = {
    "requests",
    "duration_s",
    "requests_per_s",
    "answers_judged",
    "workers_s",
    "slowest_shard_s",
    "slowest_worker_s",
    "xdist_workers",
    "inventory_sample",
    "endpoint_outages",
    "outage_waits",
    "interrupted",
    "sandbox",
}


def stats_lines(run: RunResult) -> list[str]:
    """Short sentences: requests and time, workers, the endpoint's outages, the inventory sample,
    why the sandbox could not be set up, and any other stat as ``key: value``."""
    st, out = run.stats, []
    if "requests" in st or "duration_s" in st:
        line = f"{st.get('requests', 0):,} requests in {st.get('duration_s', 0)} s"
        if st.get("requests_per_s"):
            line += f" ({st['requests_per_s']}/s)"
        if "answers_judged" in st:
            line += f"; {st['answers_judged']:,} answers judged"
        out.append(line)
    jobs = run.options.get("jobs")
    if isinstance(jobs, int) and jobs > 1:
        out.append(
            f"{jobs} worker processes: {st.get('workers_s', '?')} s together, the slowest "
            f"{st.get('slowest_shard_s', '?')} s"
        )
    if st.get("xdist_workers"):
        workers = st["xdist_workers"]
        out.append(
            f"pytest-xdist workers {', '.join(map(str, workers))}: the slowest {st.get('slowest_worker_s', '?')} s"
        )
    if st.get("endpoint_outages"):
        out.append(f"endpoint outages: {st['endpoint_outages']}")
    sample = st.get("inventory_sample")
    if isinstance(sample, dict) and sample.get("vms"):
        out.append(
            f"inventory sample: {sample.get('size', len(sample['vms']))} existing VMs "
            f"({', '.join(map(str, sample['vms']))})"
        )
    if st.get("sandbox"):
        out.append(f"sandbox: {st['sandbox']}")
    if st.get("interrupted"):
        out.append("interrupted: the results are partial")
    for key, value in st.items():
        if key not in _SAID:
            shown = value if isinstance(value, str | int | float) else json.dumps(value, default=str)
            out.append(f"{key}: {shown}")
    return out
