"""The packages of ``harness/`` form layers: each imports only from layers below it (no cycles).

The layers are documented in docs/architecture.md; a new package must be placed in one here.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

HARNESS = Path(__file__).resolve().parents[1] / "harness"

#: Lower numbers are lower layers.  ``report`` is the result model (and the writers that only read
#: it): every layer produces results, so it sits at the bottom with the other leaves.
LAYERS: dict[str, int] = {
    "outcomes": 0,
    "yamlfile": 0,
    "report": 0,
    "vmodl": 1,
    "contract": 2,
    "gen": 3,
    "client": 3,
    "soap": 4,
    "sim": 5,
    "sandbox": 5,
    "checks": 6,
    "chaos": 6,
    "run": 7,
    "compare": 8,
    "pytest_items": 8,
    "cli": 9,
    "pytest_plugin": 10,
    "__main__": 10,
}
#: The only packages that may drive a run (harness.run is the library API behind them).
RUN_USERS = {"run", "compare", "cli", "pytest_items"}


def _package(path: Path) -> str:
    rel = path.relative_to(HARNESS)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imported_packages(path: Path, source: str | None = None) -> set[str]:
    """The ``harness`` packages a module imports (at any depth of the module, including functions)."""
    own = path.relative_to(HARNESS).parts[:-1]
    found: set[str] = set()
    text = path.read_text(encoding="utf-8") if source is None else source
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = list(own[: len(own) - (node.level - 1)])
                parts = base + (node.module.split(".") if node.module else [])
                names = [parts[0]] if parts else [alias.name for alias in node.names]
            elif node.module and node.module.startswith("harness."):
                names = [node.module.split(".")[1]]
            elif node.module == "harness":
                names = [alias.name for alias in node.names]
            else:
                names = []
            found.update(names)
        elif isinstance(node, ast.Import):
            found.update(a.name.split(".")[1] for a in node.names if a.name.startswith("harness."))
    return found


def _edges() -> dict[str, set[str]]:
    edges: dict[str, set[str]] = {}
    for path in HARNESS.rglob("*.py"):
        pkg = _package(path)
        if pkg == "__init__":
            continue
        edges.setdefault(pkg, set()).update(p for p in _imported_packages(path) if p != pkg)
    return edges


def test_every_package_has_a_layer():
    unplaced = sorted(set(_edges()) - set(LAYERS))
    assert not unplaced, f"place these packages in a layer (tests/test_architecture.py): {unplaced}"


def _upward(edges: dict[str, set[str]]) -> list[str]:
    return sorted(
        f"{pkg} (layer {LAYERS[pkg]}) imports {dep} (layer {LAYERS[dep]})"
        for pkg, deps in edges.items()
        for dep in deps
        if dep in LAYERS and pkg in LAYERS and LAYERS[dep] >= LAYERS[pkg]
    )


def test_packages_import_only_from_lower_layers():
    upward = _upward(_edges())
    assert not upward, "\n".join(upward)


def test_the_package_graph_is_a_dag():
    edges = _edges()
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        if state.get(node) == 1:
            pytest.fail("import cycle: " + " -> ".join([*trail[trail.index(node) :], node]))
        if state.get(node) == 2:
            return
        state[node] = 1
        for dep in sorted(edges.get(node, ())):
            visit(dep, [*trail, node])
        state[node] = 2

    for pkg in sorted(edges):
        visit(pkg, [])


def test_only_the_cli_and_the_plugin_import_run():
    users = {pkg for pkg, deps in _edges().items() if "run" in deps}
    assert users <= RUN_USERS, (
        f"only {sorted(RUN_USERS)} may import harness.run; also: {sorted(users - RUN_USERS)}"
    )


def test_the_checker_sees_an_upward_import():
    """The rule can fail: an import from a higher layer, relative or absolute, at any depth, is found."""
    module = HARNESS / "vmodl" / "registry.py"
    source = (
        "import json\n\ndef f():\n    from ..run.options import RunOptions\n    import harness.checks.base\n"
    )
    imported = _imported_packages(module, source)
    assert imported == {"run", "checks"}
    assert _upward({"vmodl": imported}) == [
        "vmodl (layer 1) imports checks (layer 6)",
        "vmodl (layer 1) imports run (layer 7)",
    ]
    assert _imported_packages(module, "from .values import MoRef\n") == {"vmodl"}
