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

Relative paths resolve against files, not against ``$id``. An absolute ``$ref``
(``https://example.com/chat.json#/$defs/join``) names the local file whose ``$id`` it is, found
through :class:`~ws_routes.spec.files.LocalIds` (a file-only ``referencing`` retriever); one that no
local file declares is a located error, never a download, so a run never depends on the network.

Files are bundled from a work list, not recursively, so a chain of references costs no stack; a
chain longer than :data:`MAX_REF_CHAIN` files is refused, because everything downstream follows it.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote, urljoin, urlsplit
from urllib.request import url2pathname

from ws_routes.errors import (
    Location,
    SpecError,
    SpecErrors,
    did_you_mean,
    pointer_join,
    pointer_tokens,
)
from ws_routes.spec.files import (
    SCHEMA_SUFFIXES,
    LocalIds,
    declared_id,
    exists,
    first_non_finite,
    json_positions,
    parse_json,
    read_text_file,
    resolved,
    suggest_file,
)
from ws_routes.spec.yamlpos import PositionMap, parse_yaml

__all__ = ["MAX_REF_CHAIN", "Bundled", "RefResolver"]

# Files reached through one another (a.json -> b.json -> ...); real schemas chain a handful.
MAX_REF_CHAIN = 32

# Keywords whose values are data, not schemas: a "$ref" key inside them is not a reference.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples"})
# Keywords whose values map names to schemas: a "$ref" key there names a property.
_MAP_KEYWORDS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"}
)
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


@dataclass(slots=True)
class _Document:
    """A referenced file, parsed once per load."""

    path: Path
    display: str
    data: Any
    positions: PositionMap | None
    # The document's own $id, against which its absolute-looking relative refs may resolve.
    base_id: str | None = None

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
        self.ids = LocalIds(self._contents)

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
        self.ids.add(base_file, None)  # the spec's folder is searched for $ids too
        if isinstance(schema, dict) and isinstance(schema.get("$defs"), dict):
            job.taken.update(schema["$defs"])  # generated keys must not shadow the user's own
        result = job.rewrite(schema, None, "")
        job.copy_pending()
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
        if path.suffix.lower() not in SCHEMA_SUFFIXES:
            # Its content is never parsed, so no error can quote it (a $ref to /etc/passwd).
            return SpecError(
                f"the $ref target {display!r} is not a JSON or YAML file",
                location=Location(file=display),
                hint="a referenced schema's name ends in .json, .yaml or .yml",
            )
        text = read_text_file(path, display, what="$ref target")
        if isinstance(text, SpecError):
            return text
        try:
            if path.suffix.lower() == ".json":
                data = parse_json(text, display)
                document = _Document(path, display, data, json_positions(text, display, data))
            else:
                data, positions = parse_yaml(text, filename=display)
                document = _Document(path, display, data, positions)
        except (SpecError, SpecErrors) as exc:
            return exc
        bad = first_non_finite(data)
        if bad is not None:
            return SpecError(
                "expected a finite number (JSON has no NaN or infinity)",
                location=document.location(pointer_join("", *bad)),
            )
        document.base_id = declared_id(data)
        self.ids.add(path, data)
        return document

    def _contents(self, path: Path) -> Any | None:
        loaded = self.document(path)
        return loaded.data if isinstance(loaded, _Document) else None


def _resolve_pointer(data: Any, tokens: list[str]) -> tuple[bool, str, list[str], Any]:
    """Walk ``tokens`` into ``data``: (found, the token that failed, the keys there, the value)."""
    node = data
    for token in tokens:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdecimal() and int(token) < len(node):
            node = node[int(token)]
        else:
            return False, token, list(node) if isinstance(node, dict) else [], None
    return True, "", [], node


def _kind(value: Any) -> str:
    """What a value is, in words, without quoting it (it may come from any file)."""
    names = {type(None): "null", bool: "a boolean", int: "a number", float: "a number"}
    names.update({str: "a string", list: "a list", dict: "a mapping"})
    return names.get(type(value), type(value).__name__)


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
        self.pending: list[tuple[str, _Document]] = []
        # File -> how many files lead to it from the spec (the first way it was reached).
        self.depth: dict[Path, int] = {}

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
        if "\0" in unquote(ref):
            return self.fail(ref, f"$ref {ref!r} holds a NUL character", doc, at)
        try:
            os.fsencode(unquote(uri))
        except UnicodeError:  # a lone surrogate ("\ud800") names no file
            return self.fail(ref, f"$ref {ref!r} is not a valid file name", doc, at)
        base = self.base_file if doc is None else doc.path
        target = self.target(uri, base, doc)
        if target is None:
            return self.fail(
                ref,
                f"remote $ref {uri!r} is not the $id of any local file",
                doc,
                at,
                hint="ws_routes never downloads schemas: save the schema in a file next to the"
                " spec, with that $id, or refer to it by a relative path",
            )
        loaded = self.resolver.document(target)
        if isinstance(loaded, SpecErrors):
            self.errors.extend(loaded.errors)
            return ref
        if isinstance(loaded, SpecError):
            if not exists(target):
                return self.fail(
                    ref,
                    f"no such file {uri!r}",
                    doc,
                    at,
                    hint=suggest_file(uri, target) or f"looked for {target}",
                )
            where = self.locate(doc, at)
            referenced = (
                f"referenced at {where.file}:{where.line}:{where.column}"
                if where.line is not None
                else f"referenced at {where}"
            )
            loaded = SpecError(
                loaded.message,
                location=loaded.location,
                hint=f"{loaded.hint}; {referenced}" if loaded.hint else referenced,
            )
            self.errors.append(loaded)
            return ref
        depth = 1 if doc is None else self.depth.get(doc.path, 0) + 1
        if loaded.path not in self.keys and depth > MAX_REF_CHAIN:
            return self.fail(
                ref,
                f"$ref {ref!r} is the end of a chain of more than {MAX_REF_CHAIN} files",
                doc,
                at,
                hint="refer to the schema the chain ends at directly",
            )
        self.depth.setdefault(loaded.path, depth)
        return self.into(loaded, fragment, ref, at, doc)

    def target(self, uri: str, base: Path, doc: _Document | None) -> Path | None:
        """The file a ``$ref``'s URI part names; None for an absolute URI no local file has."""
        if _SCHEME.match(uri):
            parts = urlsplit(uri)
            if parts.scheme == "file" and parts.netloc in ("", "localhost"):
                return resolved(Path(url2pathname(parts.path)))
            return self.resolver.ids.find(uri)
        target = resolved(base.parent / unquote(uri))
        if not exists(target) and doc is not None and doc.base_id is not None:
            # Relative to the document's $id: "b.json" in https://x/a.json is https://x/b.json.
            by_id = self.resolver.ids.find(urljoin(doc.base_id, uri))
            if by_id is not None:
                return by_id
        return target

    def fail(
        self, ref: str, message: str, doc: _Document | None, at: str, hint: str | None = None
    ) -> str:
        """Record a located error about the ``$ref`` at ``at``; the reference stays as written."""
        self.errors.append(SpecError(message, location=self.locate(doc, at), hint=hint))
        return ref

    def key_for(self, doc: _Document) -> str:
        """The $defs key of ``doc``, queueing the document to be copied the first time."""
        if doc.path in self.keys:
            return self.keys[doc.path][0]
        stem = "__file__" + re.sub(r"[^A-Za-z0-9._-]", "_", doc.path.name)
        key, number = stem, 1
        while key in self.taken:
            number += 1
            key = f"{stem}_{number}"
        # Registered before copying so that a cycle back to this file finds its key.
        self.keys[doc.path] = (key, doc)
        self.taken.add(key)
        self.defs[key] = None
        self.pending.append((key, doc))
        return key

    def copy_pending(self) -> None:
        """Copy every queued document (and those their references queue) under ``$defs``."""
        while self.pending:
            key, doc = self.pending.pop(0)
            copy = self.rewrite(doc.data, doc, "")
            if isinstance(copy, dict):
                # The copy is no longer a resource root: its $id would re-base the rewritten refs.
                copy = {k: v for k, v in copy.items() if k not in ("$id", "$schema")}
            self.defs[key] = copy

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
            found, token, keys, value = _resolve_pointer(target.data, pointer_tokens(decoded))
            if found and not isinstance(value, dict | bool):
                where = f"{target.display}#{decoded}" if decoded else target.display
                self.errors.append(
                    SpecError(
                        f"$ref {ref!r} points at {_kind(value)} in {where!r}, not a JSON Schema",
                        location=self.locate(doc, at),
                        hint="a schema is a mapping, or true or false",
                    )
                )
                return ref
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
