"""Compare two results.json files, timings, ports and timestamps aside.

Used to prove a refactoring changed no behaviour: same verdicts, messages and request counts for the
same seed.  Prints the differences; exit 0 when there are none, 1 otherwise.

    python bench/same_verdicts.py BEFORE/results.json AFTER/results.json
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from typing import Any

VOLATILE = {
    "started_at",
    "finished_at",
    "duration_s",
    "duration_ms",
    "requests_per_s",
    "elapsed_s",
    "url",
    "at_s",
    "t",
}
PORT = re.compile(r"127\.0\.0\.1:\d+")
SECONDS = re.compile(r"\d+\.\d+ ?s\b")


def normal(value: Any) -> Any:
    """The value with volatile fields dropped and loopback ports and durations in text masked."""
    if isinstance(value, dict):
        return {k: normal(v) for k, v in value.items() if k not in VOLATILE}
    if isinstance(value, list):
        return [normal(v) for v in value]
    if isinstance(value, str):
        return SECONDS.sub("<s>", PORT.sub("127.0.0.1:<port>", value))
    return value


def differences(a: Any, b: Any, path: str = "") -> list[str]:
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for key in sorted(set(a) | set(b)):
            out += differences(a.get(key), b.get(key), f"{path}.{key}")
        return out
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d for i, (x, y) in enumerate(zip(a, b, strict=True)) for d in differences(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [f"{path}: {json.dumps(a)[:200]} != {json.dumps(b)[:200]}"]


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    before, after = (normal(json.loads(Path(p).read_text(encoding="utf-8"))) for p in argv)
    diffs = differences(before, after)
    for line in diffs[:200]:
        print(line)
    print(f"{len(diffs)} difference(s)")
    return 1 if diffs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
