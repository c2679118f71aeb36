"""Reading the files a spec names, safely: the spec itself and every ``$ref`` target.

A spec may name any path, so reading one must not hang (a FIFO blocks ``open``, ``/dev/zero``
never ends), eat memory (a multi-gigabyte file) or leak what the file holds: an error about a
file says which file and what is wrong with it, never quotes its content (a ``$ref`` to
``/etc/passwd`` must not print it). Only regular files up to :data:`MAX_FILE_BYTES` are read.

``$id`` URLs: a ``$ref`` to ``https://example.com/chat.json`` is resolved through a
:class:`referencing.Registry` whose only retriever is :class:`LocalIds`, which serves the local
files declaring that ``$id`` and refuses everything else. Nothing ever touches the network.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag

from referencing import Registry, Resource
from referencing.exceptions import (
    CannotDetermineSpecification,
    NoSuchResource,
    Unresolvable,
    Unretrievable,
)
from referencing.jsonschema import DRAFT202012

from ws_routes.errors import Location, SpecError, SpecErrors, did_you_mean, pointer_join
from ws_routes.spec.yamlpos import PositionMap, nesting_message, parse_yaml, too_deep

__all__ = [
    "MAX_FILE_BYTES",
    "SCHEMA_SUFFIXES",
    "LocalIds",
    "declared_id",
    "exists",
    "first_non_finite",
    "json_positions",
    "parse_json",
    "read_text_file",
    "resolved",
    "suggest_file",
]

# Far above any real spec or schema (the bundled ones are under 10 kB), far below what hurts.
MAX_FILE_BYTES = 8 * 1024 * 1024
SCHEMA_SUFFIXES = (".json", ".yaml", ".yml")
# How many files the $id search reads at most, and how far below a folder it looks.
_MAX_ID_CANDIDATES = 2000
_ID_SEARCH_DEPTH = 2


def read_text_file(path: Path, display: str, *, what: str = "file") -> str | SpecError:
    """The UTF-8 text of the regular file ``path``, or an error naming it (never its content)."""
    where = Location(file=display)
    if "\0" in str(path):
        return SpecError(f"the {what} path {display!r} holds a NUL character", location=where)
    try:
        os.fsencode(path)
    except UnicodeError:
        return SpecError(f"the {what} path {display!r} is not a valid file name", location=where)
    try:
        # O_NONBLOCK: opening a FIFO without a writer would otherwise block forever.
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except FileNotFoundError:
        return SpecError(f"no such {what} {display!r}", location=where)
    except OSError as exc:
        return SpecError(f"cannot read the {what} {display!r}: {exc.strerror}", location=where)
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            kind = "a folder" if stat.S_ISDIR(info.st_mode) else "not a regular file"
            return SpecError(
                f"the {what} {display!r} is {kind}",
                location=where,
                hint="name a .json or .yaml file",
            )
        if info.st_size > MAX_FILE_BYTES:
            return _too_big(what, display, where)
        with os.fdopen(os.dup(fd), "rb") as stream:
            data = stream.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        return SpecError(f"cannot read the {what} {display!r}: {exc.strerror}", location=where)
    finally:
        os.close(fd)
    if len(data) > MAX_FILE_BYTES:  # it grew while we read it
        return _too_big(what, display, where)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return SpecError(
            f"the {what} {display!r} is not UTF-8 text (byte {exc.start} cannot be decoded)",
            location=where,
        )


def _too_big(what: str, display: str, where: Location) -> SpecError:
    return SpecError(
        f"the {what} {display!r} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB",
        location=where,
        hint="split it, or name the part the spec needs",
    )


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def parse_json(text: str, display: str) -> Any:
    """Strict JSON (no ``NaN``/``Infinity``), nested at most :data:`MAX_NESTING` deep.

    Raises:
        SpecError: located at the line and column of a syntax error, or at the value too deep.
    """
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as exc:
        location = Location(file=display, line=exc.lineno, column=exc.colno)
        raise SpecError(f"invalid JSON: {exc.msg}", location=location) from None
    except ValueError as exc:  # NaN, Infinity, or a number too long for int()
        raise SpecError(f"invalid JSON: {exc}", location=Location(file=display)) from None
    except RecursionError:  # the same finding as too_deep's below, where the parser gave up first
        raise SpecError(
            nesting_message(), location=Location(file=display), hint="flatten it"
        ) from None
    deep = too_deep(data)
    if deep is not None:
        location = Location(file=display, pointer=pointer_join("", *deep))
        raise SpecError(nesting_message(), location=location, hint="flatten it")
    return data


def first_non_finite(data: Any) -> list[str] | None:
    """The path to the first NaN or infinity in ``data`` (YAML can write them, JSON cannot)."""
    stack: list[tuple[Any, list[str]]] = [(data, [])]
    while stack:
        node, path = stack.pop()
        if isinstance(node, dict):
            stack.extend((v, [*path, str(k)]) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, [*path, str(i)]) for i, v in enumerate(node))
        elif isinstance(node, float) and not math.isfinite(node):
            return path
    return None


def declared_id(contents: Any) -> str | None:
    """The ``$id`` a schema document declares for itself (without fragment), or None."""
    if not isinstance(contents, dict):
        return None
    try:
        found = Resource.from_contents(contents, default_specification=DRAFT202012).id()
    except Exception:  # an unknown $schema, a non-string $id: it declares no usable $id
        return None
    return urldefrag(found).url if isinstance(found, str) and found else None


class LocalIds:
    """A file-only retriever for :class:`referencing.Registry`: ``$id`` URL -> local file.

    Args:
        load: Reads and parses a file (cached by the caller); None when it cannot be read.
    """

    def __init__(self, load: Callable[[Path], Any | None]) -> None:
        self._load = load
        self._paths: dict[str, Path] = {}
        self._folders: list[Path] = []
        self._searched: set[Path] = set()
        self._registry: Registry[Any] = Registry(retrieve=self._retrieve)  # type: ignore[call-arg]

    def add(self, path: Path, contents: Any) -> None:
        """Remember a file already read, and search its folder for ``$id`` s when needed."""
        uri = declared_id(contents)
        if uri is not None:
            self._paths.setdefault(uri, path)
        if path.parent not in self._folders:
            self._folders.append(path.parent)

    def find(self, uri: str) -> Path | None:
        """The local file whose ``$id`` is ``uri`` (fragment ignored), or None."""
        url = urldefrag(uri).url
        try:
            retrieved = self._registry.get_or_retrieve(url)
        except (NoSuchResource, Unretrievable, Unresolvable, CannotDetermineSpecification):
            return None
        self._registry = retrieved.registry
        return self._paths.get(url)

    def _retrieve(self, uri: str) -> Resource[Any]:
        if uri.startswith("file:"):
            raise NoSuchResource(ref=uri)  # type: ignore[call-arg]  # file: URIs are paths, handled by the caller
        if uri not in self._paths:
            self._search()
        path = self._paths.get(uri)
        contents = None if path is None else self._load(path)
        if contents is None:
            raise NoSuchResource(ref=uri)  # type: ignore[call-arg]
        return Resource.from_contents(contents, default_specification=DRAFT202012)

    def _search(self) -> None:
        """Read the schema files near the spec and its references, once, for their ``$id`` s."""
        budget = _MAX_ID_CANDIDATES
        for folder in list(self._folders):
            if folder in self._searched:
                continue
            self._searched.add(folder)
            for path in _schema_files(folder, _ID_SEARCH_DEPTH):
                budget -= 1
                if budget < 0:
                    return
                contents = self._load(path)
                if contents is not None:
                    self.add(path, contents)


def _schema_files(folder: Path, depth: int) -> Iterable[Path]:
    try:
        entries = sorted(folder.iterdir())
    except OSError:
        return
    for entry in entries:
        try:
            if entry.is_symlink():
                continue
            if entry.is_file() and entry.suffix.lower() in SCHEMA_SUFFIXES:
                yield entry
            elif depth > 0 and entry.is_dir() and not entry.name.startswith("."):
                yield from _schema_files(entry, depth - 1)
        except OSError:
            continue


# A "\ud800" escape is valid JSON but not YAML; "\u0041" has the same length, so positions hold.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F][0-9a-fA-F]{2}")


def json_positions(text: str, display: str, data: Any) -> PositionMap | None:
    """Line and column of every value of a JSON text, or None.

    JSON is (nearly) YAML, and libyaml is fast: borrow its positions when it reads the same data.
    """
    try:
        same, positions = parse_yaml(text, filename=display)
    except (SpecError, SpecErrors):
        same, positions = None, None
    if positions is not None and same == data:
        return positions
    try:
        # Tabs too: JSON indents with them, YAML may not (same length again).
        sanitized = _SURROGATE_ESCAPE.sub(r"\\u0041", text).replace("\t", " ")
        _, positions = parse_yaml(sanitized, filename=display)
    except (SpecError, SpecErrors):
        return None
    return positions


def suggest_file(uri: str, target: Path) -> str | None:
    """``did you mean 'schemas/chat.json'?`` for a mistyped file in an existing folder."""
    folder = target.parent
    try:
        files = list(folder.iterdir()) if folder.is_dir() else []
    except OSError:
        return None
    prefix = uri[: uri.rfind("/") + 1]
    names = [prefix + p.name for p in files if p.suffix.lower() in SCHEMA_SUFFIXES]
    return did_you_mean(uri, names)


def resolved(path: Path) -> Path:
    """``path`` made absolute and free of symlinks, or as it is when the OS refuses (too long)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # ENAMETOOLONG, a symlink loop
        return path


def exists(path: Path) -> bool:
    """Whether ``path`` exists; False where the OS refuses to look (a name too long)."""
    try:
        return path.exists()
    except OSError:  # a name too long is not there either
        return False
