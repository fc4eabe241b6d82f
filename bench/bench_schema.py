"""How many bodies per second each JSON Schema validator checks, on the harness's own schemas.

    .venv/bin/python bench/bench_schema.py [--release 8.0.2.0] [--seconds 1.0]

Validators: ``jsonschema_rs`` (what :mod:`harness.vmodl.schema` uses), ``fastjsonschema`` (the
``bench`` extra) and the ``jsonschema`` package.  Same schema, same instances: ``TaskInfo`` bodies,
``VirtualMachineConfigInfo`` bodies (the largest a VirtualMachine property returns) and fault bodies
under ``MethodFault``; instances are drawn, seeded, from :func:`harness.gen.strategies.values`.

fastjsonschema knows drafts 4, 6 and 7 only: it gets the same schema with ``$schema`` set to
draft-07 (the schema uses ``$defs`` only through ``$ref`` JSON pointers, and ``const``/``if``/``then``
exist in draft-07, so the rendering is equivalent).  If it still fails to compile, that is reported.
Not part of the test suite.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections.abc import Callable
from typing import Any

import jsonschema
import jsonschema_rs
from hypothesis import HealthCheck, Phase, given, seed, settings

from harness.gen.strategies import values
from harness.vmodl.codec import codec
from harness.vmodl.schema import schema_for

try:
    import fastjsonschema
except ImportError:  # pragma: no cover - the bench extra is not installed
    fastjsonschema = None

#: (label, type, bodies, draws merged into one body)
CASES = (
    ("TaskInfo", "TaskInfo", 40, 1),
    ("VirtualMachineConfigInfo", "VirtualMachineConfigInfo", 20, 25),
    ("fault", "MethodFault", 40, 1),
)


def instances(type_name: str, release: str, n: int, merge: int) -> list[Any]:
    """``n`` encoded bodies of ``type_name``, seeded.  A generated value carries only a few optional
    fields; ``merge`` > 1 unites that many draws into one body (:func:`deep_merge`) to get the size
    of a real, full object."""
    drawn: list[Any] = []
    c = codec(release)

    @seed(20240501)
    @settings(
        max_examples=n * merge,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(values(type_name, release, max_depth=3))
    def collect(value):
        drawn.append(c.encode(value, type_name))

    collect()
    bodies = []
    for i in range(0, len(drawn), merge):
        body: Any = drawn[i]
        for part in drawn[i + 1 : i + merge]:
            body = deep_merge(body, part)
        bodies.append(body)
    return bodies[:n]


def deep_merge(a: Any, b: Any) -> Any:
    """The union of two valid encodings of one type, still valid: objects of the same ``_typeName``
    merge field by field, arrays concatenate (up to 40 items), anything else takes ``b``."""
    if isinstance(a, dict) and isinstance(b, dict) and a.get("_typeName") == b.get("_typeName"):
        out = dict(a)
        for key, value in b.items():
            out[key] = deep_merge(a[key], value) if key in a else value
        return out
    if isinstance(a, list) and isinstance(b, list):
        return (a + b)[:40]
    return b


def rate(check: Callable[[Any], bool], bodies: list[Any], seconds: float) -> tuple[float, int]:
    """Validations per second over ``bodies`` (cycled) for about ``seconds``; and how many passed."""
    valid = sum(1 for b in bodies if check(b))
    done, start = 0, time.perf_counter()
    while True:
        for b in bodies:
            check(b)
        done += len(bodies)
        elapsed = time.perf_counter() - start
        if elapsed >= seconds:
            return done / elapsed, valid


Result = tuple[str, float | None, float | None, int | None, str]


def measure(
    name: str, compile_fn: Callable[[], Callable[[Any], bool]], bodies: list[Any], seconds: float
) -> Result:
    """(validator, compile seconds, bodies per second, valid bodies, note)."""
    t0 = time.perf_counter()
    try:
        check = compile_fn()
    except Exception as exc:  # report, do not stop the bench
        return name, None, None, None, f"does not compile: {type(exc).__name__}: {str(exc)[:80]}"
    compiled = time.perf_counter() - t0
    per_s, valid = rate(check, bodies, seconds)
    return name, compiled, per_s, valid, ""


def _rs(schema: dict[str, Any]) -> Callable[[Any], bool]:
    return jsonschema_rs.validator_for(schema).is_valid


def _py(schema: dict[str, Any]) -> Callable[[Any], bool]:
    return jsonschema.Draft202012Validator(schema).is_valid


def fast(schema: dict[str, Any]) -> Callable[[Any], bool]:
    """A fastjsonschema validator as a predicate."""
    validate = fastjsonschema.compile(schema)

    def check(body: Any) -> bool:
        try:
            validate(body)
        except fastjsonschema.JsonSchemaException:
            return False
        return True

    return check


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--release", default="8.0.2.0")
    parser.add_argument("--seconds", type=float, default=1.0, help="time per validator and case")
    args = parser.parse_args(argv)

    print(f"release {args.release}; {args.seconds:.1f} s per validator and case")
    header = (
        f"{'case':<26}{'bytes/body':>11}  {'validator':<16}{'compile s':>10}{'bodies/s':>12}"
        f"{'valid':>7}  ratio"
    )
    print(header)
    print("-" * len(header))
    for label, type_name, n, merge in CASES:
        schema = schema_for(type_name, args.release)
        bodies = instances(type_name, args.release, n, merge)
        size = sum(len(json.dumps(b)) for b in bodies) // len(bodies)
        results = [measure("jsonschema_rs", lambda schema=schema: _rs(schema), bodies, args.seconds)]
        if fastjsonschema is None:
            results.append(("fastjsonschema", None, None, None, "not installed (pip install '.[bench]')"))
        else:
            draft7 = {**schema, "$schema": "http://json-schema.org/draft-07/schema#"}
            results.append(
                measure("fastjsonschema", lambda draft7=draft7: fast(draft7), bodies, args.seconds)
            )
        results.append(measure("jsonschema", lambda schema=schema: _py(schema), bodies, args.seconds))

        base = results[0][2]
        for name, compiled, per_s, valid, note in results:
            if per_s is None:
                print(f"{label:<26}{size:>11}  {name:<16}{'-':>10}{'-':>12}{'-':>7}  {note}")
                continue
            ratio = f"{base / per_s:.1f}x slower" if base and per_s < base else "1.0x (reference)"
            if name == "jsonschema_rs":
                ratio = "reference"
            print(
                f"{label:<26}{size:>11}  {name:<16}{compiled:>10.2f}{per_s:>12,.0f}"
                f"{valid:>5}/{len(bodies)}  {ratio}"
            )
        print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
