"""The architecture's import rules (ARCHITECTURE.md), enforced by reading every module's imports.

The package is one folder per pipeline stage. Each stage may import only the stages listed for
it in ``MAY_IMPORT`` (besides itself, the standard library and third-party packages); the table
is a DAG, so the stages cannot import each other in a circle, and inside a stage the modules'
import-time imports form no circle either.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ws_routes"

# Stage (sub-package or loose module) -> the stages it may import. Left to right in the pipeline.
MAY_IMPORT: dict[str, set[str]] = {
    "errors": set(),
    "options": {"errors"},
    "spec": {"errors"},
    "generate": {"errors"},  # a leaf library: it knows nothing of specs
    "mutate": {"errors", "spec", "generate"},
    "compile": {"errors", "spec", "generate", "mutate"},
    "app": {"errors", "spec"},
    "driver": {"errors", "spec", "app"},
    "engine": {"errors", "spec", "generate", "mutate", "compile", "app", "driver"},
    "report": {"errors", "spec", "compile", "app", "driver", "engine"},
    "tools": {"errors", "spec", "generate", "compile", "app", "__init__"},
    "websocket": {"compile"},  # the seed's import path for the strategy registry
    "plugin": {"errors", "options", "spec", "compile", "app", "driver", "engine", "report"},
    "__main__": {"tools"},
    "__init__": {"errors", "spec", "generate", "compile", "engine", "report", "websocket"},
    # The public API for @given tests and scaling out (docs/fuzzing.md): loose, for their names.
    "strategies": {"errors", "spec", "generate", "compile", "app", "engine"},
    "testing": {"errors", "spec", "compile", "app", "driver", "engine", "report", "strategies"},
}
# Loose modules: at most 8 (the public API and what every stage shares).
LOOSE = {"__init__", "__main__", "errors", "options", "strategies", "testing", "websocket"}
MAX_LINES = 500


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def _stage(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _dotted(path: Path) -> str:
    rel = path.relative_to(PACKAGE).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(("ws_routes", *parts))


def _imports(path: Path, *, top_level_only: bool = False) -> list[str]:
    """Every module ``path`` imports (``from ws_routes import x`` counts as ``ws_routes.x``)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    package = _dotted(path) if path.name == "__init__.py" else _dotted(path).rpartition(".")[0]
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            if module == "ws_routes":
                found += [f"ws_routes.{a.name}" for a in node.names]
            else:
                found.append(module)
    return found


def _target(imported: str) -> str | None:
    if imported == "ws_routes":
        return "__init__"
    if not imported.startswith("ws_routes."):
        return None
    return imported.split(".")[1]


def test_every_stage_is_in_the_table() -> None:
    unknown = sorted({_stage(p) for p in _modules()} - set(MAY_IMPORT))
    assert not unknown, f"add these to MAY_IMPORT and ARCHITECTURE.md: {unknown}"


def test_the_table_has_no_cycle() -> None:
    graph = {stage: deps for stage, deps in MAY_IMPORT.items()}
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:  # pragma: no cover - the failure message is the point
        pytest.fail(f"MAY_IMPORT has a cycle: {exc.args[1]}")


def test_few_modules_are_loose() -> None:
    loose = {p.stem for p in PACKAGE.glob("*.py")}
    assert loose <= LOOSE, f"put these in the stage they belong to: {sorted(loose - LOOSE)}"
    assert len(LOOSE) <= 8


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_one_way(path: Path) -> None:
    me = _stage(path)
    for imported in _imports(path):
        if imported == "pytest" or imported.startswith("_pytest"):
            assert me == "plugin", f"only the pytest layer imports pytest, {path.name} does"
        target = _target(imported)
        if target is None or target == me:
            continue
        assert target in MAY_IMPORT[me], f"{me} may not import {target} ({path.name}: {imported})"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_modules_stay_small(path: Path) -> None:
    lines = len(path.read_text(encoding="utf-8").splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(PACKAGE)} has {lines} lines: split it at a seam"


def test_no_import_cycle_between_modules() -> None:
    # Import-time imports only: an import inside a function is how a module defers one on purpose.
    graph: dict[str, set[str]] = {}
    names = {_dotted(p) for p in _modules()}
    for path in _modules():
        deps = set()
        for imported in _imports(path, top_level_only=True):
            while imported and imported not in names:
                imported = imported.rpartition(".")[0]
            if imported and imported != _dotted(path) and imported != "ws_routes":
                deps.add(imported)
        graph[_dotted(path)] = deps
    try:
        tuple(TopologicalSorter(graph).static_order())
    except CycleError as exc:
        pytest.fail(f"import cycle: {' -> '.join(exc.args[1])}")


def _plugin_import_time_modules() -> list[Path]:
    """The plugin package's ``__init__`` (what pytest loads) and the package modules it imports
    at import time, directly or through each other: every one of them runs on every pytest run."""
    found: list[Path] = []
    todo = [PACKAGE / "plugin" / "__init__.py"]
    while todo:
        path = todo.pop()
        if path in found:
            continue
        found.append(path)
        for imported in _imports(path, top_level_only=True):
            if imported.startswith("ws_routes.plugin."):
                todo.append(PACKAGE / "plugin" / f"{imported.split('.')[2]}.py")
    return found


def test_plugin_module_level_imports_are_stdlib_and_pytest() -> None:
    allowed = set(sys.stdlib_module_names) | {"pytest", "__future__"}
    modules = _plugin_import_time_modules()
    assert len(modules) > 1  # the hooks module and the modules of the package it imports
    for path in modules:
        for imported in _imports(path, top_level_only=True):
            if imported.startswith("ws_routes.plugin."):
                continue  # checked in its turn
            name = path.relative_to(PACKAGE)
            assert imported.split(".")[0] in allowed, f"{name} imports {imported} at import time"


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, ws_routes.plugin\n"
        "heavy = [m for m in ('hypothesis', 'jsonschema', 'jsonschema_rs', 'yaml', 'starlette') if m in sys.modules]\n"
        "heavy += [m for m in sys.modules if m.startswith('ws_routes.') and not m.startswith('ws_routes.plugin')]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
