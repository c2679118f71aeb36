"""Bundling file ``$ref``s into self-contained schemas.

A user schema may say ``{"$ref": "schemas/chat.json#/$defs/message"}``. Everything downstream
(the strategy compiler, the reply validators) wants one JSON value with only local references,
so each referenced document is copied under the root's ``$defs`` with a generated key and every
reference into it is rewritten:

    schemas/chat.json#/$defs/message   ->   #/$defs/__file__chat.json/$defs/message

References *inside* a copied document (``#/$defs/room``) are rewritten too, so that they keep
pointing into that document at its new home; references between documents, chains and cycles
work because each file is copied once per root, under one key. Relative paths resolve against the
folder of the file that contains the ``$ref``. Purely local references in the spec's own inline
schema are left alone: they already refer to that schema's root.

``$id`` does not change how ws_routes resolves paths; remote references (``https:``, ``urn:``) are
refused rather than fetched, so a test run never depends on the network.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

from ws_routes.errors import (
    Location,
    SpecError,
    SpecErrors,
    did_you_mean,
    pointer_join,
    pointer_tokens,
)
from ws_routes.yamlpos import PositionMap, parse_yaml

__all__ = ["Bundled", "RefResolver"]

# Keywords whose values are data, not schemas: a "$ref" key inside them is not a reference.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})
# Keywords whose values map names to schemas: a "$ref" key there names a property.
_MAP_KEYWORDS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"}
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")
_SCHEMA_SUFFIXES = (".json", ".yaml", ".yml")


@dataclass(slots=True)
class _Document:
    """A referenced file, parsed once per load."""

    path: Path
    display: str
    data: Any
    positions: PositionMap | None

    def location(self, pointer: str) -> Location:
        if self.positions is None:
            return Location(file=self.display, pointer=pointer)
        return self.positions.locate(self.display, pointer)


@dataclass(frozen=True, slots=True)
class Bundled:
    """A bundled schema, the errors met while bundling it, and where its copies came from."""

    schema: Any
    errors: list[SpecError] = field(default_factory=list)
    # Generated $defs key -> the file copied there, to locate problems found inside the copy.
    origins: Mapping[str, _Document] = field(default_factory=dict)

    def locate(self, pointer: str, inline: Callable[[str], Location]) -> Location:
        """Locate a pointer into :attr:`schema`: in the file it was copied from, or inline."""
        tokens = pointer_tokens(pointer)
        if len(tokens) >= 2 and tokens[0] == "$defs" and tokens[1] in self.origins:
            return self.origins[tokens[1]].location(pointer_join("", *tokens[2:]))
        return inline(pointer)


class RefResolver:
    """Reads referenced files (once each) and bundles schemas that refer to them.

    Args:
        display: Turns a path into the file name errors show (relative to cwd when possible).
    """

    def __init__(self, display: Callable[[Path], str]) -> None:
        self._display = display
        self._documents: dict[Path, _Document | SpecError | SpecErrors] = {}

    def bundle(self, schema: Any, *, base_file: Path, locate: Callable[[str], Location]) -> Bundled:
        """Make ``schema`` self-contained.

        Args:
            schema: The inline schema as written in the spec.
            base_file: The spec file; relative ``$ref`` paths resolve from its folder.
            locate: Maps a pointer inside ``schema`` to its location in the spec.

        Returns:
            A bundled copy of ``schema`` (where references are left as written when they fail)
            and the errors.
        """
        job = _Job(self, base_file, locate)
        if isinstance(schema, dict) and isinstance(schema.get("$defs"), dict):
            job.taken.update(schema["$defs"])  # generated keys must not shadow the user's own
        result = job.rewrite(schema, None, "")
        if job.defs:
            if not isinstance(result, dict):  # pragma: no cover - only dicts hold "$ref"
                return Bundled(schema=schema, errors=job.errors)
            existing = result.get("$defs", {})
            if isinstance(existing, dict):
                result["$defs"] = {**existing, **job.defs}
        origins = dict(job.keys.values())
        return Bundled(schema=result, errors=job.errors, origins=origins)

    def document(self, path: Path) -> _Document | SpecError | SpecErrors:
        """The parsed file at ``path`` (cached), or the error that reading it gave."""
        if path not in self._documents:
            self._documents[path] = self._read(path)
        return self._documents[path]

    def _read(self, path: Path) -> _Document | SpecError | SpecErrors:
        display = self._display(path)
        try:
            text = path.read_text("utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            return SpecError(f"cannot read {display!r}: {exc}", location=Location(file=display))
        if path.suffix.lower() == ".json":
            try:
                data = json.loads(text)
            except json.JSONDecodeError as exc:
                location = Location(file=display, line=exc.lineno, column=exc.colno)
                return SpecError(f"invalid JSON: {exc.msg}", location=location)
            return _Document(path, display, data, _json_positions(text, display, data))
        try:
            data, positions = parse_yaml(text, filename=display)
        except (SpecError, SpecErrors) as exc:
            return exc
        return _Document(path, display, data, positions)


def _json_positions(text: str, display: str, data: Any) -> PositionMap | None:
    # JSON is (nearly) YAML, and libyaml is fast: borrow its positions when it reads the same data.
    try:
        same, positions = parse_yaml(text, filename=display)
    except (SpecError, SpecErrors):
        return None
    return positions if same == data else None


def _resolve_pointer(data: Any, tokens: list[str]) -> tuple[bool, str, list[str]]:
    """Walk ``tokens`` into ``data``: (found, the token that failed, the keys available there)."""
    node = data
    for token in tokens:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False, token, list(node) if isinstance(node, dict) else []
    return True, "", []


def _anchors(data: Any, pointer: str = "") -> dict[str, str]:
    """``$anchor`` name -> JSON pointer of the schema that declares it."""
    found: dict[str, str] = {}
    if isinstance(data, dict):
        anchor = data.get("$anchor")
        if isinstance(anchor, str):
            found[anchor] = pointer
        items = [(k, v) for k, v in data.items() if k not in _DATA_KEYWORDS]
    elif isinstance(data, list):
        items = [(str(i), v) for i, v in enumerate(data)]
    else:
        return found
    for key, value in items:
        child = pointer_join(pointer, key)
        found.update({k: v for k, v in _anchors(value, child).items() if k not in found})
    return found


class _Job:
    """Bundling of one root schema."""

    def __init__(self, resolver: RefResolver, base_file: Path, locate: Callable[[str], Location]):
        self.resolver = resolver
        self.base_file = base_file
        self.locate_inline = locate
        self.errors: list[SpecError] = []
        self.keys: dict[Path, tuple[str, _Document]] = {}
        self.defs: dict[str, Any] = {}
        self.taken: set[str] = set()

    def locate(self, doc: _Document | None, pointer: str) -> Location:
        return self.locate_inline(pointer) if doc is None else doc.location(pointer)

    def rewrite(self, node: Any, doc: _Document | None, pointer: str) -> Any:
        """A copy of the schema ``node`` with every reference rewritten."""
        if isinstance(node, list):
            return [
                self.rewrite(item, doc, pointer_join(pointer, i)) for i, item in enumerate(node)
            ]
        if not isinstance(node, dict):
            return node
        result: dict[str, Any] = {}
        for key, value in node.items():
            child = pointer_join(pointer, key)
            if key == "$ref" and isinstance(value, str):
                result[key] = self.reference(value, doc, child)
            elif key in _DATA_KEYWORDS:
                result[key] = value
            elif key in _MAP_KEYWORDS and isinstance(value, dict):
                result[key] = {
                    name: self.rewrite(sub, doc, pointer_join(child, name))
                    for name, sub in value.items()
                }
            else:
                # Unknown keywords are walked as schemas too: "components/schemas/x" in an
                # OpenAPI-like file holds schemas that a $ref may point into.
                result[key] = self.rewrite(value, doc, child)
        return result

    def reference(self, ref: str, doc: _Document | None, at: str) -> str:
        """The rewritten form of ``ref`` written at pointer ``at`` of ``doc`` (None: inline)."""
        uri, _, fragment = ref.partition("#")
        if not uri:
            if doc is None:
                return ref  # local to the inline schema: it already points at the right place
            return self.into(doc, fragment, ref, at, doc)
        if _SCHEME.match(uri):
            self.errors.append(
                SpecError(
                    f"remote $ref {ref!r} is not supported",
                    location=self.locate(doc, at),
                    hint="copy the schema into a local file and refer to it by a relative path",
                )
            )
            return ref
        base = self.base_file if doc is None else doc.path
        target = (base.parent / unquote(uri)).resolve()
        loaded = self.resolver.document(target)
        if isinstance(loaded, SpecErrors):
            self.errors.extend(loaded.errors)
            return ref
        if isinstance(loaded, SpecError):
            if not target.exists():
                loaded = SpecError(
                    f"no such file {uri!r}",
                    location=self.locate(doc, at),
                    hint=_suggest_file(uri, target) or f"looked for {target}",
                )
            elif loaded.hint is None:
                where = self.locate(doc, at)
                loaded = SpecError(
                    loaded.message,
                    location=loaded.location,
                    hint=f"referenced at {where.file}:{where.line}:{where.column}"
                    if where.line is not None
                    else f"referenced at {where}",
                )
            self.errors.append(loaded)
            return ref
        return self.into(loaded, fragment, ref, at, doc)

    def key_for(self, doc: _Document) -> str:
        """The $defs key of ``doc``, copying the document there the first time it is met."""
        if doc.path in self.keys:
            return self.keys[doc.path][0]
        stem = "__file__" + re.sub(r"[^A-Za-z0-9._-]", "_", doc.path.name)
        key, number = stem, 1
        while key in self.taken:
            number += 1
            key = f"{stem}_{number}"
        # Registered before rewriting so that a cycle back to this file finds its key.
        self.keys[doc.path] = (key, doc)
        self.taken.add(key)
        self.defs[key] = None
        copy = self.rewrite(doc.data, doc, "")
        if isinstance(copy, dict):
            # The copy is no longer a resource root: its own $id would re-base the rewritten refs.
            copy = {k: v for k, v in copy.items() if k not in ("$id", "$schema")}
        self.defs[key] = copy
        return key

    def into(
        self, target: _Document, fragment: str, ref: str, at: str, doc: _Document | None
    ) -> str:
        """``#/$defs/<key><pointer>`` for ``fragment`` of ``target``, checking it resolves."""
        key = self.key_for(target)
        decoded = unquote(fragment)
        if decoded and not decoded.startswith("/"):
            anchors = _anchors(target.data)
            if decoded not in anchors:
                self.errors.append(
                    SpecError(
                        f"$ref {ref!r}: no $anchor {decoded!r} in {target.display!r}",
                        location=self.locate(doc, at),
                        hint=did_you_mean(decoded, anchors),
                    )
                )
                return ref
            # A JSON pointer in a URI fragment is percent-encoded (RFC 6901, section 6).
            fragment = quote(anchors[decoded], safe="/~!$&'()*+,;=:@")
        else:
            found, token, keys = _resolve_pointer(target.data, pointer_tokens(decoded))
            if not found:
                self.errors.append(
                    SpecError(
                        f"$ref {ref!r} does not resolve: no {token!r} in {target.display!r}",
                        location=self.locate(doc, at),
                        hint=did_you_mean(token, keys),
                    )
                )
                return ref
        return f"#/$defs/{key}{fragment}"


def _suggest_file(uri: str, target: Path) -> str | None:
    """``did you mean 'schemas/chat.json'?`` for a mistyped file in an existing folder."""
    folder = target.parent
    if not folder.is_dir():
        return None
    prefix = uri[: uri.rfind("/") + 1]
    names = [prefix + p.name for p in folder.iterdir() if p.suffix.lower() in _SCHEMA_SUFFIXES]
    return did_you_mean(uri, names)
