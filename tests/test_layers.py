"""The architecture's import rules (ARCHITECTURE.md), enforced by reading every module's imports."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "ws_routes"

# Lower numbers are further left in the pipeline; a module may import its own layer and lower.
LAYERS: dict[str, int] = {
    "errors": 0,
    "spec": 0,
    "transport": 0,
    "transcript": 0,
    "options": 0,
    "yamlpos": 1,
    "asyncapi": 1,
    "refs": 1,
    "specfiles": 1,
    "loader": 1,
    "metavalidate": 1,
    "specbuild": 1,
    "generate": 2,
    "websocket": 3,
    "compile": 3,
    "replies": 3,
    "credentials": 3,
    "mutate": 3,
    "discovery": 4,
    "asgi": 4,
    "lifespan": 4,
    "loop": 4,
    "faults": 4,
    "swallowed": 4,
    "apps": 4,
    "typeschema": 4,
    "tasks": 4,
    "conversation": 5,
    "checks": 5,
    "probes": 5,
    "report": 6,
    "redaction": 6,
    "runner": 6,
    "replay": 6,
    "scaffold": 6,
    "handlertypes": 6,
    "plugin": 7,
    "cli": 7,
    "cli_asyncapi": 7,
    "__main__": 7,
    "__init__": 7,
}
# generate/ is a leaf library: it knows nothing of specs.
GENERATE_MAY_IMPORT = {"errors", "generate"}


def _modules() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py"))


def _name(path: Path) -> str:
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path, *, top_level_only: bool = False) -> list[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.ImportFrom) and node.level:
            found.append("ws_routes." + (node.module or ""))
    return found


def test_every_module_has_a_layer() -> None:
    unknown = sorted({_name(p) for p in _modules()} - set(LAYERS))
    assert not unknown, f"add these modules to LAYERS and ARCHITECTURE.md: {unknown}"


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_imports_point_one_way(path: Path) -> None:
    me = _name(path)
    for imported in _imports(path):
        if imported == "pytest" or imported.startswith("_pytest"):
            assert me == "plugin", f"only the pytest layer imports pytest, {path.name} does"
        if not imported.startswith("ws_routes.") or me in ("__init__",):
            continue
        target = imported.split(".")[1]
        if me == "generate":
            assert target in GENERATE_MAY_IMPORT, f"generate/ must not import ws_routes.{target}"
        assert LAYERS[target] <= LAYERS[me], (
            f"{me} (layer {LAYERS[me]}) imports {target} (layer {LAYERS[target]})"
        )


def test_plugin_module_level_imports_are_stdlib_and_pytest() -> None:
    allowed = set(sys.stdlib_module_names) | {"pytest", "__future__"}
    for imported in _imports(PACKAGE / "plugin.py", top_level_only=True):
        assert imported.split(".")[0] in allowed, f"plugin.py imports {imported} at import time"


def test_loading_the_plugin_imports_nothing_heavy() -> None:
    code = (
        "import sys, ws_routes.plugin\n"
        "heavy = [m for m in ('hypothesis', 'jsonschema', 'jsonschema_rs', 'yaml', 'starlette') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""
