"""Moving JSON Schemas between an AsyncAPI document and self-contained ws_routes schemas.

Inside an AsyncAPI document a schema's ``$ref: '#/components/schemas/Price'`` points into the
*document*; a ws_routes schema must stand alone, its ``#/...`` pointing into itself. Importing
copies every schema a payload reaches into the payload's ``$defs`` (one copy per component, so
cycles work) and rewrites the references; exporting does the opposite move, prefixing each local
reference with the place the schema takes in the document.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ws_routes.errors import SpecError, pointer_join, pointer_tokens
from ws_routes.spec.asyncapi.documents import Address, Documents

__all__ = ["DRAFT_07", "DRAFT_2020_12", "POINTER_SAFE", "Bundled", "bundle_schema", "relocate"]

# AsyncAPI's Schema Object is a superset of draft-07; ws_routes reads 2020-12 by default.
DRAFT_07 = "http://json-schema.org/draft-07/schema#"
DRAFT_2020_12 = "https://json-schema.org/draft/2020-12/schema"

# Keywords whose values are data, not schemas: a "$ref" key inside them is not a reference.
_DATA_KEYWORDS = frozenset({"const", "enum", "default", "examples", "example"})
# Keywords whose values map names to schemas: a "$ref" key there names a property.
_MAP_KEYWORDS = frozenset(
    {"properties", "patternProperties", "$defs", "definitions", "dependentSchemas", "dependencies"}
)
POINTER_SAFE = "/~!$&'()*+,;=:@"  # what a JSON pointer keeps unescaped in a URI fragment
# Keywords that constrain values: beside a "$ref", draft-07 ignores them and 2020-12 applies them.
_VALIDATION = frozenset(
    {
        "additionalItems", "additionalProperties", "allOf", "anyOf", "const", "contains",
        "dependencies", "dependentRequired", "dependentSchemas", "else", "enum",
        "exclusiveMaximum", "exclusiveMinimum", "format", "if", "items", "maxContains",
        "maxItems", "maxLength", "maxProperties", "maximum", "minContains", "minItems",
        "minLength", "minProperties", "minimum", "multipleOf", "not", "oneOf", "pattern",
        "patternProperties", "prefixItems", "properties", "propertyNames", "required", "then",
        "type", "uniqueItems",
    }
)  # fmt: skip

# (the $ref string, the address of the object holding it, if known) -> the new $ref string
RefRewrite = Callable[[str, Address | None], str]


def _walk(node: Any, at: Address | None, rewrite: RefRewrite) -> Any:
    """A copy of the schema ``node`` with every ``$ref`` replaced by ``rewrite``'s answer."""

    def child(*tokens: str | int) -> Address | None:
        return None if at is None else at.child(*tokens)

    if isinstance(node, list):
        return [_walk(item, child(i), rewrite) for i, item in enumerate(node)]
    if not isinstance(node, Mapping):
        return node
    result: dict[str, Any] = {}
    for key, value in node.items():
        if key == "$ref" and isinstance(value, str):
            result[key] = rewrite(value, at)
        elif key in _DATA_KEYWORDS:
            result[key] = value
        elif key in _MAP_KEYWORDS and isinstance(value, Mapping):
            result[key] = {
                name: _walk(sub, child(key, name), rewrite) for name, sub in value.items()
            }
        else:
            result[key] = _walk(value, child(key), rewrite)
    return result


def relocate(schema: Any, pointer: str) -> Any:
    """Rewrite a self-contained schema's ``#...`` references for its new place ``pointer``."""

    def move(ref: str, _at: Address | None) -> str:
        return "#" + pointer + ref[1:] if ref.startswith("#") else ref

    return _walk(schema, None, move)


def _dialect_matters(node: Any) -> bool:
    """Whether draft-07 and 2020-12 read ``node`` differently (tuples, ``$ref`` siblings...)."""
    if isinstance(node, list):
        return any(_dialect_matters(item) for item in node)
    if not isinstance(node, Mapping):
        return False
    if isinstance(node.get("items"), list) or "additionalItems" in node or "dependencies" in node:
        return True
    if "$ref" in node and any(key in _VALIDATION for key in node):
        return True
    return any(_dialect_matters(v) for k, v in node.items() if k not in _DATA_KEYWORDS)


def _label(schema: Any, dialect: str) -> Any:
    """Name the dialect in a schema that means something else in ws_routes' default, 2020-12."""
    if not isinstance(schema, dict) or "$schema" in schema or dialect == DRAFT_2020_12:
        return schema
    if dialect == DRAFT_07 and not _dialect_matters(schema):
        return schema
    return {"$schema": dialect, **schema}


@dataclass(frozen=True, slots=True)
class Bundled:
    """A self-contained schema and where its parts came from.

    ``origins`` maps a pointer inside :attr:`value` (``""`` for the root, ``/$defs/<key>`` for a
    copied component) to the address it was copied from, to locate problems found later.
    """

    value: Any
    origins: Mapping[str, Address] = field(default_factory=dict)


def _suffix(ref: str, tokens: list[str], container: Address) -> str:
    """The part of ``ref`` below ``container``, kept as written when it can be."""
    fragment = ref.partition("#")[2]
    if fragment.startswith(container.pointer) and fragment[len(container.pointer) :][:1] in (
        "",
        "/",
    ):
        return fragment[len(container.pointer) :]
    return quote(pointer_join("", *tokens), safe=POINTER_SAFE)


class _Bundler:
    def __init__(self, docs: Documents, root: Address, root_node: Any) -> None:
        self.docs = docs
        self.root = root
        self.units: list[tuple[Address, str]] = []
        self.defs: dict[str, Any] = {}
        self.taken: set[str] = set()
        if isinstance(root_node, Mapping) and isinstance(root_node.get("$defs"), Mapping):
            self.taken.update(root_node["$defs"])  # generated keys must not shadow the user's

    def rewrite(self, ref: str, at: Address | None) -> str:
        assert at is not None  # imported schemas are always walked with their address
        try:
            target = self.docs.target(ref, at)
        except SpecError as exc:
            self.docs.errors.append(exc)
            return ref
        below = target.below(self.root)
        if below is not None:
            return "#" + _suffix(ref, below, self.root)
        for unit, key in self.units:
            below = target.below(unit)
            if below is not None:
                return f"#/$defs/{quote(key, safe='')}" + _suffix(ref, below, unit)
        unit = self._unit(target)
        key = self._key(unit)
        self.units.append((unit, key))
        node = self.docs.value(unit)
        copy = _walk(node, unit, self.rewrite)
        if isinstance(copy, dict):
            # The copy is no longer a resource root: its own $id would re-base the rewritten refs.
            copy = {k: v for k, v in copy.items() if k not in ("$id", "$schema")}
        self.defs[key] = copy
        return f"#/$defs/{quote(key, safe='')}" + _suffix(ref, target.below(unit) or [], unit)

    def _unit(self, target: Address) -> Address:
        """What to copy for a reference to ``target``: its whole component, or file, or itself."""
        tokens = pointer_tokens(target.pointer)
        if len(tokens) >= 3 and tokens[:2] == ["components", "schemas"]:
            return Address(target.file, pointer_join("", *tokens[:3]))
        if target.file != self.docs.main:
            data = self.docs.value(Address(target.file))
            structured = isinstance(data, Mapping) and ("asyncapi" in data or "components" in data)
            return target if structured else Address(target.file)
        return target

    def _key(self, unit: Address) -> str:
        tokens = pointer_tokens(unit.pointer)
        stem = tokens[-1] if tokens else unit.file.stem
        stem = re.sub(r"[^A-Za-z0-9._-]", "_", stem) or "schema"
        key, number = stem, 1
        while key in self.taken:
            number += 1
            key = f"{stem}_{number}"
        self.taken.add(key)
        self.defs[key] = None  # reserved before the copy is walked, for cycles back to it
        return key


def bundle_schema(docs: Documents, node: Any, at: Address, dialect: str = DRAFT_07) -> Bundled:
    """A self-contained copy of the schema ``node`` written at ``at`` in the document.

    A schema that is only a reference (``{$ref: '#/components/schemas/Order'}``) becomes the
    schema it names. Dangling references are recorded in ``docs.errors`` and left as written.
    ``dialect`` is what the document's schemas are written in; the copy names it in ``$schema``
    when ws_routes would otherwise read it differently.
    """
    seen = {at}
    # Only a bare reference is followed: a schema's "$ref" beside other keywords is part of it.
    while isinstance(node, Mapping) and set(node) == {"$ref"}:
        try:
            target = docs.target(node["$ref"], at)
        except SpecError as exc:
            docs.errors.append(exc)
            return Bundled(value=dict(node))
        if target in seen:
            docs.report(f"circular $ref {node['$ref']!r}", at.child("$ref"))
            return Bundled(value=dict(node))
        seen.add(target)
        node, at = docs.value(target), target
    bundler = _Bundler(docs, at, node)
    value = _walk(node, at, bundler.rewrite)
    origins = {"": at}
    if bundler.defs and isinstance(value, dict):
        value["$defs"] = {**value.get("$defs", {}), **bundler.defs}
        origins.update({pointer_join("", "$defs", key): unit for unit, key in bundler.units})
    return Bundled(value=_label(value, dialect), origins=origins)
