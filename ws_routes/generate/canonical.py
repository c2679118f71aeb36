"""Parse a JSON Schema into canonical :class:`~ws_routes.generate.node.Node` records.

This is the first stage of the compiler: it checks every keyword's value, rejects what we
cannot generate with a message naming the keyword, resolves local ``$ref`` s and merges
``allOf`` (see :mod:`ws_routes.generate.merge`). Pure ``$ref`` s stay lazy so that recursive
schemas remain finite; the compiler expands them with a depth bound.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import fields as dataclass_fields
from dataclasses import replace
from typing import Any

from ws_routes.errors import SchemaCompileError, did_you_mean, pointer_join
from ws_routes.generate.formats import is_known_format
from ws_routes.generate.lookup import lookup_ref
from ws_routes.generate.merge import merge
from ws_routes.generate.node import FALSE_REASON, TYPE_NAMES, Node, Reason
from ws_routes.generate.patterns import pattern_error
from ws_routes.generate.reader import KeywordReader
from ws_routes.generate.values import json_equal, json_type

__all__ = ["SUPPORTED_KEYWORDS", "Canonicaliser", "is_trivial"]

SUPPORTED_KEYWORDS = (
    "$defs", "$ref", "additionalItems", "additionalProperties", "allOf", "anyOf", "const",
    "contains", "definitions", "dependencies", "dependentRequired", "enum", "exclusiveMaximum",
    "exclusiveMinimum", "format", "items", "maxContains", "maxItems", "maxLength",
    "maxProperties", "maximum", "minContains", "minItems", "minLength", "minProperties",
    "minimum", "multipleOf", "not", "oneOf", "pattern", "patternProperties", "prefixItems",
    "properties", "propertyNames", "required", "type", "uniqueItems",
)  # fmt: skip
# Keywords that constrain values but that we cannot (yet) generate for: an error, never ignored.
UNSUPPORTED_KEYWORDS = frozenset({
    "if", "then", "else", "dependentSchemas", "unevaluatedProperties", "unevaluatedItems",
    "$dynamicRef", "$recursiveRef",
})  # fmt: skip
# $refs being resolved inside one another; every stage after this one follows them recursively.
MAX_REF_NESTING = 32
_VALIDATION = frozenset(SUPPORTED_KEYWORDS) - {"$defs", "$ref", "definitions"}
_TRUE = Node()


def is_trivial(node: Node) -> bool:
    """Whether ``node`` allows every value (the ``true`` schema, maybe with annotations)."""
    return node.ref is None and replace(node, pointer="", src={}) == _TRUE


def _false(pointer: str, reason: Reason | None = None) -> Node:
    return Node(
        pointer=pointer,
        types=frozenset(),
        empty=reason or Reason(FALSE_REASON.message, pointer, None, deliberate=True),
    )


class Canonicaliser:
    """Canonicalises one self-contained schema document; caches resolved ``$ref`` targets."""

    def __init__(self, root: Any):
        self.root = root
        version = root.get("$schema", "") if isinstance(root, Mapping) else ""
        if not isinstance(version, str):
            raise SchemaCompileError(
                f"$schema must be a string, found {version!r}",
                pointer="/$schema",
                keyword="$schema",
            )
        if "draft-04" in version or "draft-03" in version:
            raise SchemaCompileError(
                f"$schema {version!r} is not supported (supported: draft 2020-12, 2019-09,"
                " draft-07, draft-06)",
                pointer="/$schema",
                keyword="$schema",
            )
        self.draft7 = "draft-07" in version or "draft-06" in version
        # draft-07 and 2019-09 spell tuples as `items: [...]` plus `additionalItems`.
        self.legacy_items = self.draft7 or "2019-09" in version
        self._nodes: dict[str, Node] = {}
        self._busy: set[str] = set()
        # format name -> pointer of its first "format" keyword, for formats we cannot generate.
        self.unknown_formats: dict[str, str] = {}

    # -- references ---------------------------------------------------------------------------

    def resolve(self, ref: str, pointer: str) -> Node:
        """The canonical node a local ``$ref`` points at (cached)."""
        if ref in self._nodes:
            return self._nodes[ref]
        target, target_pointer = lookup_ref(self.root, ref, pointer)
        if ref in self._busy:
            raise SchemaCompileError(
                f"$ref {ref!r} is merged into itself (through allOf or a $ref with sibling"
                " keywords): such a schema never terminates",
                pointer=pointer_join(pointer, "$ref"),
                keyword="$ref",
            )
        if len(self._busy) >= MAX_REF_NESTING:
            raise SchemaCompileError(
                f"$ref {ref!r} is reached through more than {MAX_REF_NESTING} nested $refs"
                " (a chain of $refs to $refs, or schemas that each refer on)",
                pointer=pointer_join(pointer, "$ref"),
                keyword="$ref",
            )
        self._busy.add(ref)
        try:
            node = self.canon(target, target_pointer)
            if node.ref is not None:  # a $ref to a $ref
                node = self.resolve(node.ref, node.pointer)
        finally:
            self._busy.discard(ref)
        self._nodes[ref] = node
        return node

    def _merge(self, a: Node, b: Node) -> Node:
        return merge(a, b, self.resolve)

    # -- schemas ------------------------------------------------------------------------------

    def canon(self, schema: Any, pointer: str = "") -> Node:
        """The canonical node of ``schema``, written at ``pointer`` in the document."""
        if schema is True:
            return Node(pointer=pointer)
        if schema is False:
            return _false(pointer)
        if not isinstance(schema, Mapping):
            raise SchemaCompileError(
                f"a schema must be an object or a boolean, found {schema!r}", pointer=pointer
            )
        for keyword in schema:
            if keyword in UNSUPPORTED_KEYWORDS:
                raise SchemaCompileError(
                    f"unsupported keyword {keyword!r} (supported: {', '.join(SUPPORTED_KEYWORDS)})",
                    pointer=pointer_join(pointer, keyword),
                    keyword=keyword,
                )
        if "$ref" in schema:
            ref = schema["$ref"]
            lookup_ref(self.root, ref, pointer)
            has_siblings = any(k in _VALIDATION for k in schema)
            if self.draft7 or not has_siblings:
                # draft-07 ignores every keyword beside $ref.
                if ref not in self._busy:
                    self.resolve(ref, pointer)  # surface errors in the target now
                return Node(ref=ref, pointer=pointer, src={"$ref": pointer_join(pointer, "$ref")})
            return self._merge(self.resolve(ref, pointer), self._keywords(schema, pointer))
        return self._keywords(schema, pointer)

    def _keywords(self, schema: Mapping[str, Any], pointer: str) -> Node:
        reader = KeywordReader(schema, pointer, _VALIDATION)
        fields: dict[str, Any] = {"pointer": pointer, "src": reader.src}
        self._type_and_values(reader, fields)
        self._numbers(reader, fields)
        self._strings(reader, fields)
        self._arrays(reader, fields)
        self._objects(reader, fields)
        node = Node(**fields)
        for index, sub in enumerate(reader.schema_list("allOf")):
            node = self._merge(node, self.canon(sub, pointer_join(pointer, "allOf", index)))
        for keyword in ("anyOf", "oneOf"):
            branches = reader.schema_list(keyword)
            if branches:
                canon = tuple(
                    self.canon(b, pointer_join(pointer, keyword, i)) for i, b in enumerate(branches)
                )
                node = _add_branches(node, keyword, canon)
        if "not" in schema:
            node = self._negate(node, schema["not"], pointer_join(pointer, "not"))
        return node

    def _type_and_values(self, reader: KeywordReader, fields: dict[str, Any]) -> None:
        if "type" in reader.schema:
            raw = reader.schema["type"]
            names = [raw] if isinstance(raw, str) else raw
            if not isinstance(names, list) or not names:
                reader.fail(
                    "type", f"type must be a type name or a non-empty list of them, found {raw!r}"
                )
            types: frozenset[str] = frozenset()
            for name in names:
                if name not in TYPE_NAMES:
                    hint = did_you_mean(str(name), TYPE_NAMES)
                    reader.fail(
                        "type",
                        f"unknown type {name!r}"
                        + (f" ({hint})" if hint else "")
                        + f" (known: {', '.join(TYPE_NAMES)})",
                    )
                types |= TYPE_NAMES[name]
            fields["types"] = types
        values: tuple[Any, ...] | None = None
        if "enum" in reader.schema:
            enum = reader.schema["enum"]
            if not isinstance(enum, list):
                reader.fail("enum", f"enum must be an array, found {enum!r}")
            values = tuple(enum)
        if "const" in reader.schema:
            const = reader.schema["const"]
            values = (
                (const,) if values is None else tuple(v for v in values if json_equal(v, const))
            )
        if values is not None:
            fields["enum"] = values
            if not values:
                fields["types"] = frozenset()
                fields["empty"] = Reason(
                    "const is not one of the enum values: no value satisfies both",
                    reader.at("const"),
                    "const",
                )

    def _numbers(self, reader: KeywordReader, fields: dict[str, Any]) -> None:
        minimum, ex_minimum = reader.number("minimum"), reader.number("exclusiveMinimum")
        if ex_minimum is not None and (minimum is None or ex_minimum >= minimum):
            fields["minimum"], fields["exclusive_minimum"] = ex_minimum, True
        elif minimum is not None:
            fields["minimum"] = minimum
        maximum, ex_maximum = reader.number("maximum"), reader.number("exclusiveMaximum")
        if ex_maximum is not None and (maximum is None or ex_maximum <= maximum):
            fields["maximum"], fields["exclusive_maximum"] = ex_maximum, True
        elif maximum is not None:
            fields["maximum"] = maximum
        step = reader.number("multipleOf")
        if step is not None:
            if step <= 0:
                reader.fail("multipleOf", f"multipleOf must be greater than 0, found {step!r}")
            fields["multiple_of"] = (step,)

    def _strings(self, reader: KeywordReader, fields: dict[str, Any]) -> None:
        for keyword, name in (("minLength", "min_length"), ("maxLength", "max_length")):
            value = reader.count(keyword)
            if value is not None:
                fields[name] = value
        if "pattern" in reader.schema:
            pattern = reader.schema["pattern"]
            if not isinstance(pattern, str):
                reader.fail("pattern", f"pattern must be a string, found {pattern!r}")
            problem = pattern_error(pattern)
            if problem:
                reader.fail(
                    "pattern", f"pattern {pattern!r} is not a valid regular expression: {problem}"
                )
            fields["patterns"] = (pattern,)
        if "format" in reader.schema:
            name = reader.schema["format"]
            if not isinstance(name, str):
                reader.fail("format", f"format must be a string, found {name!r}")
            if is_known_format(name):
                fields["format"] = name
            else:
                # An annotation we cannot honour: generate by type, and let the caller warn.
                self.unknown_formats.setdefault(name, pointer_join(reader.pointer, "format"))

    def _arrays(self, reader: KeywordReader, fields: dict[str, Any]) -> None:
        schema, pointer = reader.schema, reader.pointer
        items = schema.get("items")
        if isinstance(items, list):
            if not self.legacy_items:
                reader.fail(
                    "items",
                    "items must be a schema in draft 2020-12, found an array (use"
                    " prefixItems for tuples, or declare $schema draft-07)",
                )
            fields["prefix_items"] = tuple(
                self.canon(s, pointer_join(pointer, "items", i)) for i, s in enumerate(items)
            )
            if "additionalItems" in schema:
                fields["items"] = self._optional(
                    schema["additionalItems"], pointer, "additionalItems"
                )
        else:
            if "items" in schema:
                fields["items"] = self._optional(items, pointer, "items")
            if not self.legacy_items and "prefixItems" in schema:
                fields["prefix_items"] = tuple(
                    self.canon(s, pointer_join(pointer, "prefixItems", i))
                    for i, s in enumerate(reader.schema_list("prefixItems"))
                )
        for keyword, name in (
            ("minItems", "min_items"),
            ("maxItems", "max_items"),
            ("minContains", "min_contains"),
            ("maxContains", "max_contains"),
        ):
            value = reader.count(keyword)
            if value is not None:
                fields[name] = value
        if "uniqueItems" in schema:
            if not isinstance(schema["uniqueItems"], bool):
                reader.fail(
                    "uniqueItems", f"uniqueItems must be a boolean, found {schema['uniqueItems']!r}"
                )
            fields["unique_items"] = schema["uniqueItems"]
        if "contains" in schema:
            fields["contains"] = self.canon(schema["contains"], pointer_join(pointer, "contains"))

    def _optional(self, schema: Any, pointer: str, keyword: str) -> Node | None:
        node = self.canon(schema, pointer_join(pointer, keyword))
        return None if is_trivial(node) else node

    def _objects(self, reader: KeywordReader, fields: dict[str, Any]) -> None:
        schema, pointer = reader.schema, reader.pointer
        if "properties" in schema:
            fields["properties"] = {
                k: self.canon(v, pointer_join(pointer, "properties", k))
                for k, v in reader.mapping("properties").items()
            }
        if "patternProperties" in schema:
            pairs = []
            for pattern, sub in reader.mapping("patternProperties").items():
                problem = pattern_error(pattern)
                if problem:
                    reader.fail(
                        "patternProperties",
                        f"patternProperties key {pattern!r} is not a valid"
                        f" regular expression: {problem}",
                    )
                pairs.append(
                    (pattern, self.canon(sub, pointer_join(pointer, "patternProperties", pattern)))
                )
            fields["pattern_properties"] = tuple(pairs)
        if "additionalProperties" in schema:
            fields["additional"] = self._optional(
                schema["additionalProperties"], pointer, "additionalProperties"
            )
        if "required" in schema:
            fields["required"] = tuple(dict.fromkeys(reader.names("required")))
        for keyword, name in (
            ("minProperties", "min_properties"),
            ("maxProperties", "max_properties"),
        ):
            value = reader.count(keyword)
            if value is not None:
                fields[name] = value
        if "propertyNames" in schema:
            fields["property_names"] = self._optional(
                schema["propertyNames"], pointer, "propertyNames"
            )
        dependent: dict[str, tuple[str, ...]] = {}
        for keyword in ("dependentRequired", "dependencies"):
            for key, value in reader.mapping(keyword).items() if keyword in schema else ():
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise SchemaCompileError(
                        f"{keyword} with a schema (dependentSchemas) is not supported; found"
                        f" {value!r} for {key!r}",
                        pointer=pointer_join(pointer, keyword, key),
                        keyword=keyword,
                    )
                dependent[key] = tuple(dict.fromkeys((*dependent.get(key, ()), *value)))
        if dependent:
            fields["dependent_required"] = dependent

    def _negate(self, node: Node, schema: Any, pointer: str) -> Node:
        sub = self.canon(schema, pointer)
        if sub.ref is not None:
            sub = self.resolve(sub.ref, pointer)
        changed = _constrained(sub)
        if sub.is_false:
            return node
        if not changed:
            return _false(
                pointer,
                Reason(
                    "'not' of a schema that allows everything: no value is valid",
                    pointer,
                    "not",
                    deliberate=True,
                ),
            )
        if changed == {"types"}:
            types = node.types - sub.types
            return _with_types(
                node, types, Reason("'not' excludes every type the schema allows", pointer, "not")
            )
        if changed <= {"types", "enum"} and sub.enum is not None:
            excluded = tuple(v for v in sub.enum if json_type(v) in sub.types)
            return replace(node, forbidden=node.forbidden + excluded)
        if changed == {"required"} and len(sub.required) == 1:
            return self._merge(
                node, Node(pointer=pointer, properties={sub.required[0]: _false(pointer)})
            )
        raise SchemaCompileError(
            f"unsupported 'not' subschema constraining {', '.join(sorted(changed))}: only"
            " not {type}, not {const}, not {enum} and not {required: [one property]} are"
            " supported",
            pointer=pointer,
            keyword="not",
        )


def _with_types(node: Node, types: frozenset[str], reason: Reason) -> Node:
    if types:
        return replace(node, types=types)
    return replace(node, types=types, empty=node.empty or reason)


def _add_branches(node: Node, keyword: str, branches: tuple[Node, ...]) -> Node:
    if keyword == "anyOf":
        return replace(node, any_of=(*node.any_of, branches))
    return replace(node, one_of=(*node.one_of, branches))


def _constrained(node: Node) -> set[str]:
    """Names of the fields of ``node`` that differ from the ``true`` schema."""
    ignore = {"pointer", "src"}
    return {
        f.name
        for f in dataclass_fields(Node)
        if f.name not in ignore and getattr(node, f.name) != getattr(_TRUE, f.name)
    }
