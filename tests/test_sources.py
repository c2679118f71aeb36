"""The source tree itself: compiles on every supported CPython, names no machine's paths, and
declares exactly the dependencies it imports, each with a minimum CI can pin."""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from pathlib import Path
from types import ModuleType

from tests.conftest import ci_module

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "ws_routes"
# Distribution name -> the module it is imported as, where the two differ.
IMPORT_NAMES = {"pyyaml": "yaml", "jsonschema-rs": "jsonschema_rs"}


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _lone_surrogate(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return True
    return False


def test_no_docstring_holds_a_lone_surrogate() -> None:
    # Since 3.13 the compiler encodes docstrings to UTF-8 and refuses a lone surrogate (written
    # as an escape: the file itself is UTF-8), so the module does not import at all. Any string
    # statement counts: one that is not a docstring today may become one after an edit.
    found = [
        f"{path.relative_to(ROOT)}:{node.lineno}"
        for path in _sources()
        for node in ast.walk(ast.parse(path.read_text("utf-8"), filename=str(path)))
        if isinstance(node, ast.Expr)
        and isinstance(node.value, ast.Constant)
        and isinstance(node.value.value, str)
        and _lone_surrogate(node.value.value)
    ]
    # The fix: double the backslash in the source, so the text holds the escape, not the character.
    assert not found


def _project() -> dict[str, object]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    assert isinstance(project, dict)
    return project


def _requirement_name(requirement: str) -> str:
    match = re.match(r"[A-Za-z0-9._-]+", requirement)
    assert match, requirement
    return match.group().lower()


def _module_level_imports(path: Path) -> set[str]:
    """Top-level names imported when the module is: what an installation must provide."""
    names: set[str] = set()
    for node in ast.parse(path.read_text("utf-8"), filename=str(path)).body:
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_required_dependencies_are_exactly_what_the_package_imports() -> None:
    dependencies = _project()["dependencies"]
    assert isinstance(dependencies, list)
    declared = {IMPORT_NAMES.get(n, n) for n in map(_requirement_name, dependencies)}
    imported = {
        name
        for path in _sources()
        for name in _module_level_imports(path)
        if name not in sys.stdlib_module_names and name != "ws_routes"
    }
    assert declared == imported


def _ci_env() -> ModuleType:
    return ci_module("env.py")


def test_ci_pins_the_declared_minimum_of_every_dependency() -> None:
    pins: list[str] = _ci_env().minimums()
    dependencies = _project()["dependencies"]
    assert isinstance(dependencies, list)
    assert [p.split("==")[0] for p in pins[: len(dependencies)]] == [
        _requirement_name(d) for d in dependencies
    ]
    assert all(re.fullmatch(r"[a-z0-9-]+==\d+(\.\d+)*", p) for p in pins), pins


def test_the_package_says_it_is_typed_and_ships_its_license() -> None:
    assert (PACKAGE / "py.typed").is_file()
    assert (ROOT / "LICENSE").read_text("utf-8").startswith("MIT License")
    project = _project()
    assert project["license"] == "MIT"
    classifiers = project["classifiers"]
    assert isinstance(classifiers, list)
    assert "Programming Language :: Python :: 3.11" in classifiers
    urls = project["urls"]
    assert isinstance(urls, dict)
    assert all(url.startswith("https://") for url in urls.values())


# Built in pieces, so this file does not match itself.
MACHINE_PATH = re.compile(
    "|".join(
        [
            r"(?<![\w.~-])/" + "(?:work|root|home|Users|opt|srv)/",
            r"(?<![\w.~-])/" + r"tmp/\w",
            # an installed copy's path, not the folder name (library frames are told apart by it)
            r"python3\.\d+/site-" + "packages",
            r"\b[A-Z]:\\\\" + "Users",
        ]
    )
)
TEXT_SUFFIXES = {".py", ".md", ".yaml", ".yml", ".json", ".toml", ".ini", ".txt", ".cfg"}


def test_no_file_names_a_path_of_the_machine_it_was_written_on() -> None:
    # Such a path works where it was written and nowhere else: a test that needs an interpreter
    # or a console script finds it from sys.executable, a spec names files relative to itself.
    folders = ["ws_routes", "tests", "docs", "benchmarks", "examples", "specs", "schemas", ".ci"]
    files = [ROOT / n for n in ("README.md", "ARCHITECTURE.md", "pyproject.toml", ".ci/run")]
    files += [p for f in folders for p in (ROOT / f).rglob("*") if p.suffix in TEXT_SUFFIXES]
    found = [
        f"{path.relative_to(ROOT)}:{number}: {line.strip()}"
        for path in sorted(set(files))
        if "__pycache__" not in path.parts
        # what a run leaves behind (crash files, .hypothesis/), ignored by git: not source
        and not any(part.startswith(".") for part in path.relative_to(ROOT).parts[:-1])
        for number, line in enumerate(path.read_text("utf-8").splitlines(), 1)
        if MACHINE_PATH.search(line)
    ]
    assert not found
