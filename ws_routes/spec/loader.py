"""Finding, reading and validating spec files: ``ws-routes.yaml``, ``ws-routes.toml``, pyproject.

Loading is a short pipeline: parse (YAML with positions, or TOML), meta-validate against the
shipped JSON Schema, run the semantic checks (which also bundle file ``$ref``s), and build the
frozen :class:`~ws_routes.spec.model.Spec` only when nothing at all is wrong. Every problem becomes a
:class:`~ws_routes.errors.SpecError` located by file, line, column and JSON pointer, and all of
them are reported together, in file order.

Settings precedence (lowest first): the :class:`~ws_routes.spec.model.Settings` defaults, then
``[tool.pytest-routes.websocket]`` in pyproject.toml, then the spec's ``settings``, then a route's
own ``settings`` and ``checks``. Command-line options are applied later by the plugin.
"""

from __future__ import annotations

import datetime
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from ws_routes.errors import Location, SpecError, SpecErrors, pointer_join
from ws_routes.spec.build import (
    SpecContext,
    build_spec,
    check_close_codes,
    check_numbers,
    check_spec,
    settings_overrides,
)
from ws_routes.spec.files import read_text_file
from ws_routes.spec.metavalidate import meta_validate, show
from ws_routes.spec.model import Settings, Spec
from ws_routes.spec.refs import RefResolver
from ws_routes.spec.yamlpos import PositionMap, nesting_message, parse_yaml, too_deep

__all__ = ["SPEC_FILE_NAMES", "find_spec_file", "load_spec", "load_spec_text", "validate_spec"]

SPEC_FILE_NAMES: tuple[str, ...] = ("ws-routes.yaml", "ws-routes.yml", "ws-routes.toml")
_PYPROJECT = "pyproject.toml"
_SPEC_TABLE = "/tool/ws-routes"
_SEED_TABLE = "/tool/pytest-routes"
_TOML_POSITION = re.compile(r"\s*\(at line (\d+), column (\d+)\)$")


def _display(path: Path) -> str:
    """The path as errors show it: relative to the working directory when it is below it."""
    try:
        resolved = path.resolve()
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(resolved)
    except (OSError, RuntimeError):  # a name too long, a symlink loop: show it as written
        return str(path)


def _plain(value: Any) -> Any:
    """TOML dates and times have no JSON equivalent; like YAML dates, they stay text."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    return value


def _parse_toml(text: str, display: str) -> dict[str, Any]:
    try:
        data = tomllib.loads(text)
    except RecursionError:
        # tomllib parses nested arrays and inline tables recursively; past Python's recursion
        # limit the text is far deeper than the limit below anyway. The same finding as the
        # limit's, so it reads alike on every Python (3.13's parser goes deeper first).
        raise SpecError(
            nesting_message(), location=Location(file=display), hint="flatten it"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        message = str(exc)
        match = _TOML_POSITION.search(message)
        line = column = None
        if match:
            line, column = int(match.group(1)), int(match.group(2))
            message = message[: match.start()]
        location = Location(file=display, line=line, column=column)
        raise SpecError(f"invalid TOML: {message}", location=location) from None
    deep = too_deep(data)
    if deep is not None:
        location = Location(file=display, pointer=pointer_join("", *deep))
        raise SpecError(nesting_message(), location=location, hint="flatten it")
    return _plain(data)  # type: ignore[no-any-return]


def _table(data: Mapping[str, Any], pointer: str) -> Any:
    node: Any = data
    for token in pointer.split("/")[1:]:
        if not isinstance(node, Mapping) or token not in node:
            return None
        node = node[token]
    return node


def find_spec_file(rootdir: Path) -> Path | None:
    """Find the spec in ``rootdir``.

    Looks for ``ws-routes.yaml``, ``ws-routes.yml`` and ``ws-routes.toml`` in that order, then for
    a ``pyproject.toml`` with a ``[tool.ws-routes]`` table.

    Args:
        rootdir: The project folder (pytest's rootdir).

    Returns:
        The spec file, or None when the project has none. A pyproject.toml that is not valid TOML
        is returned too, so that loading reports its syntax error instead of ignoring it.
    """
    for name in SPEC_FILE_NAMES:
        candidate = rootdir / name
        if candidate.is_file():
            return candidate
    pyproject = rootdir / _PYPROJECT
    if not pyproject.is_file():
        return None
    text = read_text_file(pyproject, str(pyproject), what="pyproject")
    if isinstance(text, SpecError):
        return pyproject  # loading it reports the problem
    try:
        data = tomllib.loads(text)
    except (tomllib.TOMLDecodeError, RecursionError):
        return pyproject
    return pyproject if _table(data, _SPEC_TABLE) is not None else None


@dataclass(slots=True)
class _Seed:
    """What pyproject's ``[tool.pytest-routes]`` contributes: the app and base settings."""

    app: str | None = None
    settings: Settings = field(default_factory=Settings)
    errors: list[SpecError] = field(default_factory=list)
    found: bool = False


def _seed(pyproject: Mapping[str, Any], display: str, resolver: RefResolver) -> _Seed:
    table = _table(pyproject, _SEED_TABLE)
    if table is None:
        return _Seed()
    ctx = SpecContext(
        file=display, base_file=Path(display), positions=None, resolver=resolver, prefix=_SEED_TABLE
    )
    if not isinstance(table, Mapping):
        return _Seed(errors=[ctx.error(f"expected a table, got {show(table)}", "")], found=True)
    seed = _Seed(found=True)
    app = table.get("app")
    if app is not None and not isinstance(app, str):
        seed.errors.append(
            ctx.error(f"expected a string 'module:attribute', got {show(app)}", "/app")
        )
    elif isinstance(app, str):
        seed.app = app
    # Only "app" and "websocket" are ours: pytest-routes' other keys (HTTP testing) are its own.
    websocket = table.get("websocket")
    if websocket is None:
        return seed
    ws_ctx = SpecContext(
        file=display,
        base_file=Path(display),
        positions=None,
        resolver=resolver,
        prefix=_SEED_TABLE + "/websocket",
    )
    non_finite = check_numbers(websocket, ws_ctx)
    skip = {e.location.pointer for e in non_finite}
    seed.errors += non_finite
    seed.errors += [
        e
        for e in meta_validate(
            websocket, lambda p, _at: ws_ctx.locate(p), definition="#/$defs/settings"
        )
        if e.location.pointer not in skip
    ]
    if isinstance(websocket, Mapping):
        seed.errors += check_close_codes(
            websocket.get("test_close_codes"), "/test_close_codes", ws_ctx
        )
    if not seed.errors:
        seed.settings = Settings().merged(**settings_overrides(websocket))
    return seed


def _document_order(
    data: Any, pointer: str = "", order: dict[str, int] | None = None
) -> dict[str, int]:
    """Pointer -> rank in document order, to sort errors of sources without line numbers."""
    order = {} if order is None else order
    order[pointer] = len(order)
    if isinstance(data, Mapping):
        for key, value in data.items():
            _document_order(value, pointer_join(pointer, key), order)
    elif isinstance(data, list):
        for index, value in enumerate(data):
            _document_order(value, pointer_join(pointer, index), order)
    return order


def _sorted(errors: list[SpecError], main_file: str, document: Any) -> list[SpecError]:
    order = _document_order(document)

    def rank(pointer: str) -> int:
        while pointer not in order and pointer:
            pointer = pointer[: pointer.rfind("/")]
        return order.get(pointer, 0)

    unique: dict[tuple[str, str], SpecError] = {}
    for error in errors:
        unique.setdefault((str(error.location), error.message), error)
    return sorted(
        unique.values(),
        key=lambda e: (
            e.location.file != main_file,
            e.location.file or "",
            e.location.line or 0,
            e.location.column or 0,
            rank(e.location.pointer),
            e.message,
        ),
    )


def _process(
    text: str,
    *,
    path: Path,
    display: str,
    fmt: Literal["yaml", "toml"],
    pyproject: Path | None,
    source: str | None,
) -> tuple[Spec | None, list[SpecError]]:
    """Load one spec text; the spec when there is no error, and every error."""
    resolver = RefResolver(_display)
    is_pyproject = fmt == "toml" and path.name == _PYPROJECT
    positions: PositionMap | None = None
    try:
        if fmt == "toml":
            document: Any = _parse_toml(text, display)
        else:
            document, positions = parse_yaml(text, filename=display)
    except SpecErrors as exc:
        return None, list(exc.errors)
    except SpecError as exc:
        return None, [exc]
    errors: list[SpecError] = []
    seed = _Seed()
    if is_pyproject:
        seed = _seed(document, display, resolver)
    elif pyproject is not None:
        pyproject_text = read_text_file(pyproject, _display(pyproject), what="pyproject")
        try:
            if isinstance(pyproject_text, SpecError):
                raise pyproject_text
            seed = _seed(
                _parse_toml(pyproject_text, _display(pyproject)), _display(pyproject), resolver
            )
        except SpecError as exc:
            seed.errors.append(exc)
    errors += seed.errors
    prefix = _SPEC_TABLE if is_pyproject else ""
    data = _table(document, _SPEC_TABLE) if is_pyproject else document
    data = {} if data is None else data
    ctx = SpecContext(
        file=display, base_file=path, positions=positions, resolver=resolver, prefix=prefix
    )
    non_finite = check_numbers(data, ctx)
    # A NaN or infinity gets one error, not that and a range error from the meta-schema too.
    skip = {e.location.pointer for e in non_finite}
    errors += non_finite
    errors += [e for e in meta_validate(data, ctx.locate) if e.location.pointer not in skip]
    errors += check_spec(data, ctx)
    if errors:
        return None, _sorted(errors, display, document)
    if is_pyproject and not seed.found and _table(document, _SPEC_TABLE) is None:
        source = None  # a pyproject that says nothing about WebSocket testing is not a source
    spec = build_spec(data, ctx, base=seed.settings, app=seed.app, source=source)
    return spec, []


def _raise(errors: list[SpecError]) -> None:
    if len(errors) == 1:
        raise errors[0]
    if errors:
        raise SpecErrors(errors)


def _load(path: str | Path | None, rootdir: Path | None) -> tuple[Spec | None, list[SpecError]]:
    root = Path.cwd() if rootdir is None else Path(rootdir)
    spec_path = find_spec_file(root) if path is None else Path(path)
    relative = spec_path is not None and not spec_path.is_absolute() and not spec_path.exists()
    if relative and spec_path is not None and (root / spec_path).exists():
        # A path from pytest's ini file is relative to the rootdir, not to where pytest runs.
        spec_path = root / spec_path
    pyproject = root / _PYPROJECT if rootdir is not None or spec_path is None else None
    if spec_path is None:
        # No spec: defaults, plus whatever the seed's pyproject tables set.
        if pyproject is None or not pyproject.is_file():
            return Spec(), []
        spec_path = pyproject
    if pyproject is None:
        pyproject = spec_path.parent / _PYPROJECT
    display = _display(spec_path)
    text = read_text_file(spec_path, display, what="spec file")
    if isinstance(text, SpecError):
        return None, [text]
    fmt: Literal["yaml", "toml"] = "toml" if spec_path.suffix.lower() == ".toml" else "yaml"
    same = pyproject.resolve() == spec_path.resolve()
    return _process(
        text,
        path=spec_path.resolve(),
        display=display,
        fmt=fmt,
        pyproject=pyproject if pyproject.is_file() and not same else None,
        source=str(spec_path.resolve()),
    )


def load_spec(path: str | Path | None = None, *, rootdir: Path | None = None) -> Spec:
    """Load and validate a spec.

    Args:
        path: The spec file (YAML, TOML, or a pyproject.toml with ``[tool.ws-routes]``). None
            finds it with :func:`find_spec_file` in ``rootdir``.
        rootdir: The project folder (default: the working directory). Its pyproject.toml's
            ``[tool.pytest-routes]`` app and ``[tool.pytest-routes.websocket]`` settings apply
            under the spec; without a ``rootdir`` the pyproject next to the spec file is used.

    Returns:
        The spec; ``Spec()`` with the pyproject settings when the project has no spec file.

    Raises:
        SpecError: The spec has exactly one problem.
        SpecErrors: The spec has several problems; all are reported, in file order.
    """
    spec, errors = _load(path, rootdir)
    _raise(errors)
    assert spec is not None  # no errors means a spec was built
    return spec


def validate_spec(
    path: str | Path | None = None, *, rootdir: Path | None = None
) -> list[SpecError]:
    """Every problem of a spec, without raising; the arguments are those of :func:`load_spec`."""
    return _load(path, rootdir)[1]


def load_spec_text(
    text: str,
    *,
    filename: str = "<string>",
    base_dir: Path | None = None,
    fmt: Literal["yaml", "toml"] = "yaml",
) -> Spec:
    """Load a spec from text, as if read from ``base_dir / filename``.

    No pyproject is consulted, except that a TOML text named ``pyproject.toml`` is read the way
    a pyproject is (``[tool.ws-routes]`` plus the ``[tool.pytest-routes]`` tables).

    Args:
        text: The spec.
        filename: The name errors show.
        base_dir: The folder relative ``$ref`` paths resolve from (default: the working directory).
        fmt: ``"yaml"`` or ``"toml"``.

    Raises:
        SpecError: The spec has exactly one problem.
        SpecErrors: The spec has several problems.
    """
    base = Path.cwd() if base_dir is None else Path(base_dir)
    path = (
        (base / Path(filename).name).resolve() if not filename.startswith("<") else base / "<spec>"
    )
    source = str(path) if not filename.startswith("<") else None
    spec, errors = _process(
        text, path=path, display=filename, fmt=fmt, pyproject=None, source=source
    )
    _raise(errors)
    assert spec is not None
    return spec
