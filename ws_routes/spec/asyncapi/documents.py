"""An AsyncAPI document and the local files its ``$ref``s name, read once each, with positions.

Everything the importer reads is addressed by an :class:`Address` (a file and a JSON pointer into
it), so that any problem, in the main document or in a referenced file, is reported at its line.
References are JSON References: ``#/components/...`` inside the same file, ``common.yaml#/...``
relative to the file that holds the ``$ref``. Remote references are refused: importing never
touches the network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from ws_routes.errors import (
    Location,
    SpecError,
    SpecErrors,
    did_you_mean,
    pointer_join,
    pointer_to_dotted,
    pointer_tokens,
)
from ws_routes.spec.metavalidate import show
from ws_routes.spec.yamlpos import PositionMap, parse_yaml

__all__ = ["Address", "Documents", "display_path"]

_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
# Reference Objects may chain; a longer chain is a loop the walk would otherwise not leave.
_MAX_CHAIN = 64


def display_path(path: Path) -> str:
    """The path as messages show it: relative to the working directory when it is below it."""
    resolved = path.resolve()
    try:
        return resolved.relative_to(Path.cwd().resolve()).as_posix()
    except ValueError:
        return str(resolved)


@dataclass(frozen=True, slots=True, order=True)
class Address:
    """Where a value lives: a file and an (escaped) JSON pointer into it."""

    file: Path
    pointer: str = ""

    def child(self, *tokens: str | int) -> Address:
        return Address(self.file, pointer_join(self.pointer, *tokens))

    def below(self, other: Address) -> list[str] | None:
        """The tokens leading from ``other`` down to this address, or None if not below it."""
        if self.file != other.file:
            return None
        mine, theirs = pointer_tokens(self.pointer), pointer_tokens(other.pointer)
        if mine[: len(theirs)] != theirs:
            return None
        return mine[len(theirs) :]


@dataclass(frozen=True, slots=True)
class _File:
    path: Path
    display: str
    data: Any
    positions: PositionMap | None


def _read(path: Path) -> _File:
    display = display_path(path)
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise SpecError(f"no such file {display!r}", location=Location(file=display)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise SpecError(
            f"cannot read {display!r}: {exc}", location=Location(file=display)
        ) from None
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            location = Location(file=display, line=exc.lineno, column=exc.colno)
            raise SpecError(f"invalid JSON: {exc.msg}", location=location) from None
        # JSON is (nearly) YAML: borrow the YAML reader's positions when it reads the same data.
        try:
            same, positions = parse_yaml(text, filename=display)
        except (SpecError, SpecErrors):
            return _File(path, display, data, None)
        return _File(path, display, data, positions if same == data else None)
    data, positions = parse_yaml(text, filename=display)
    return _File(path, display, data, positions)


class Documents:
    """The main AsyncAPI document and every file reached from it.

    Args:
        main: The AsyncAPI document.

    Raises:
        SpecError: The main document cannot be read or parsed.
    """

    def __init__(self, main: Path) -> None:
        self.main = main.resolve()
        self._files: dict[Path, _File] = {}
        self.errors: list[SpecError] = []
        self.root: Any = self._file(self.main).data

    def _file(self, path: Path) -> _File:
        if path not in self._files:
            self._files[path] = _read(path)
        return self._files[path]

    def display(self, address: Address) -> str:
        return display_path(address.file)

    def value(self, address: Address) -> Any:
        """The value at ``address``, which must exist (it came from a walk or a resolved ref)."""
        node = self._file(address.file).data
        for token in pointer_tokens(address.pointer):
            node = node[int(token)] if isinstance(node, list) else node[token]
        return node

    def locate(self, address: Address) -> Location:
        """Where ``address`` was written (the nearest known ancestor when it was not)."""
        found = self._file(address.file)
        if found.positions is None:
            return Location(file=found.display, pointer=address.pointer)
        return found.positions.locate(found.display, address.pointer)

    def error(self, message: str, address: Address, hint: str | None = None) -> SpecError:
        return SpecError(message, location=self.locate(address), hint=hint)

    def report(self, message: str, address: Address, hint: str | None = None) -> None:
        """Record a problem and go on, so that one run reports every problem of a document."""
        self.errors.append(self.error(message, address, hint))

    def target(self, ref: Any, at: Address) -> Address:
        """Where the ``$ref`` of the object at ``at`` points.

        Raises:
            SpecError: The reference is not a string, is remote, or leads nowhere.
        """
        here = at.child("$ref")
        if not isinstance(ref, str):
            raise self.error(f"expected a $ref string, got {show(ref)}", here)
        uri, _, fragment = ref.partition("#")
        if _SCHEME.match(uri):
            raise self.error(
                f"remote $ref {ref!r} is not supported",
                here,
                hint="save the document next to this one and refer to it by a relative path",
            )
        path = at.file if not uri else (at.file.parent / unquote(uri)).resolve()
        try:
            data = self._file(path).data
        except SpecError as exc:
            if path.exists():
                raise exc from None
            raise self.error(f"$ref {ref!r}: no such file {uri!r}", here) from None
        decoded = unquote(fragment)
        if decoded and not decoded.startswith("/"):
            raise self.error(
                f"$ref {ref!r}: expected a JSON pointer after '#', got {decoded!r}",
                here,
                hint="write '#/components/...'",
            )
        node: Any = data
        walked: list[str] = []
        for token in pointer_tokens(decoded):
            if isinstance(node, Mapping) and token in node:
                node = node[token]
            elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
                node = node[int(token)]
            else:
                parent = pointer_to_dotted(pointer_join("", *walked))
                where = parent if not uri else f"{parent} of {display_path(path)!r}"
                keys = [str(k) for k in node] if isinstance(node, Mapping) else []
                listed = ", ".join(map(repr, keys[:8])) + (", ..." if len(keys) > 8 else "")
                hint = did_you_mean(token, keys) or (f"it has {listed}" if keys else None)
                raise self.error(
                    f"$ref {ref!r} points nowhere: no {token!r} in {where}", here, hint
                )
            walked.append(token)
        return Address(path, pointer_join("", *walked))

    def deref(self, node: Any, at: Address) -> tuple[Any, Address, tuple[Address, ...]]:
        """Follow Reference Objects from ``node`` (found at ``at``) to the object they name.

        Returns:
            The object, its address, and every address passed on the way (``at`` first): two
            references name the same object when their chains share an address.

        Raises:
            SpecError: A reference leads nowhere or the chain loops.
        """
        chain = [at]
        while isinstance(node, Mapping) and "$ref" in node:
            at = self.target(node["$ref"], at)
            if at in chain or len(chain) > _MAX_CHAIN:
                raise self.error(f"circular $ref {node['$ref']!r}", chain[-1].child("$ref"))
            chain.append(at)
            node = self.value(at)
        return node, at, tuple(chain)
