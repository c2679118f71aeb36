"""YAML with positions: plain JSON-like data plus a map from JSON pointer to line and column.

PyYAML's ``compose`` keeps a start mark on every node; we build the Python data ourselves from
the node tree so that every value's JSON pointer can be mapped back to where it was written, and
so that duplicate keys (which PyYAML silently collapses) become located errors.

Scalars follow the YAML 1.2 core schema rather than PyYAML's YAML 1.1 default, because specs are
full of JSON Schema values: ``no``, ``on`` and ``y`` stay strings (``enum: [no, de]`` means the
country codes), ``1:30`` is not sexagesimal 90, ``012`` is twelve, ``1e3`` is a number, and dates
stay strings. Mapping keys are always the key's text (``on:`` is the key ``"on"``).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, ClassVar

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ws_routes.errors import Location, SpecError, SpecErrors, pointer_join

__all__ = [
    "CORE_RESOLVERS",
    "MAX_NESTING",
    "PositionMap",
    "nesting_message",
    "parse_yaml",
    "too_deep",
]

Position = tuple[int, int]

_TAG = "tag:yaml.org,2002:"
_MERGE = _TAG + "merge"
# A YAML document may expand aliases exponentially ("billion laughs"); no spec needs this many.
_MAX_NODES = 1_000_000
# Lists and mappings nested deeper than this are refused in every spec and schema file. Everything
# downstream walks documents recursively (jsonschema, our compiler, Hypothesis, which draws at most
# 100 nested strategies), and no real spec comes close: the deepest bundled one nests 12 levels.
MAX_NESTING = 100

# libyaml parses several times faster; the Python resolver mixin still decides scalar tags, so the
# core-schema resolvers below apply to both.
_BaseLoader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _CoreLoader(_BaseLoader):  # type: ignore[valid-type,misc]
    """SafeLoader whose implicit scalar resolution follows the YAML 1.2 core schema."""

    yaml_implicit_resolvers: ClassVar[dict[str, list[tuple[str, re.Pattern[str]]]]] = {}


# The YAML 1.2 core schema's implicit scalars: (tag name, pattern, possible first characters).
# The AsyncAPI emitter writes with the same table, so what it writes reads back the same.
CORE_RESOLVERS: tuple[tuple[str, str, str], ...] = (
    ("null", r"^(?:~|null|Null|NULL|)$", "~nN"),
    ("bool", r"^(?:true|True|TRUE|false|False|FALSE)$", "tTfF"),
    ("int", r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$", "-+0123456789"),
    (
        "float",
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$",
        "-+.0123456789",
    ),
)
for _name, _regexp, _first in CORE_RESOLVERS:
    # The empty first character lets an empty plain scalar resolve to null.
    _firsts = [*_first, ""] if _name == "null" else list(_first)
    _CoreLoader.add_implicit_resolver(_TAG + _name, re.compile(_regexp), _firsts)
_CoreLoader.add_implicit_resolver(_MERGE, re.compile(r"^<<$"), ["<"])


def _tag_name(tag: str) -> str:
    return "!!" + tag[len(_TAG) :] if tag.startswith(_TAG) else tag


def _core_int(text: str) -> int:
    if text.startswith("0x"):
        return int(text[2:], 16)
    if text.startswith("0o"):
        return int(text[2:], 8)
    return int(text, 10)


def _core_float(text: str) -> float:
    lowered = text.lower()
    if lowered.endswith(".inf"):
        return -math.inf if lowered.startswith("-") else math.inf
    if lowered == ".nan":
        return math.nan
    return float(text)


@dataclass(slots=True)
class PositionMap:
    """Where each JSON pointer of a document was written, as 1-based (line, column).

    ``keys`` holds the position of the key of a mapping entry (the natural place to point at for
    "this setting is wrong"); ``values`` holds the position of the value itself. Sequence items
    and the document root appear in both with their value position.
    """

    keys: dict[str, Position] = field(default_factory=dict)
    values: dict[str, Position] = field(default_factory=dict)

    def key(self, pointer: str) -> Position | None:
        """Position of the key naming ``pointer`` (or of the nearest ancestor that is known)."""
        return self._nearest(self.keys, pointer)

    def value(self, pointer: str) -> Position | None:
        """Position of the value at ``pointer`` (or of the nearest ancestor that is known)."""
        return self._nearest(self.values, pointer)

    @staticmethod
    def _nearest(table: dict[str, Position], pointer: str) -> Position | None:
        while True:
            found = table.get(pointer)
            if found is not None or not pointer:
                return found
            pointer = pointer[: pointer.rfind("/")]

    def locate(self, file: str | None, pointer: str, *, at: str | None = None) -> Location:
        """A :class:`Location` for ``pointer`` at the position of key ``at`` (default: itself)."""
        line_col = self.key(pointer if at is None else at)
        line, column = line_col if line_col else (None, None)
        return Location(file=file, line=line, column=column, pointer=pointer)


def too_deep(data: Any, limit: int = MAX_NESTING) -> list[str] | None:
    """The path to the first value nested more than ``limit`` lists or mappings deep, or None.

    Iterative, so that it can measure documents too deep for anything recursive.
    """
    stack: list[tuple[Any, int, list[str]]] = [(data, 0, [])]
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict):
            children: list[tuple[str, Any]] = [(str(k), v) for k, v in node.items()]
        elif isinstance(node, list):
            children = [(str(i), v) for i, v in enumerate(node)]
        else:
            continue
        if depth >= limit:
            return path
        # Only containers matter; the path is built only along the branch being walked.
        stack.extend((v, depth + 1, [*path, k]) for k, v in children if isinstance(v, dict | list))
    return None


def nesting_message(limit: int = MAX_NESTING) -> str:
    """The error text for a document nested deeper than ``limit``."""
    return f"nested more than {limit} lists or mappings deep"


def _position(node: Node) -> Position:
    return node.start_mark.line + 1, node.start_mark.column + 1


class _Builder:
    """Turns a composed node tree into plain data while recording positions."""

    def __init__(self, loader: Any, filename: str) -> None:
        self.loader = loader
        self.filename = filename
        self.positions = PositionMap()
        self.errors: list[SpecError] = []
        self.count = 0
        self.active: set[int] = set()

    def error(self, message: str, node: Node, pointer: str, hint: str | None = None) -> SpecError:
        line, column = _position(node)
        location = Location(file=self.filename, line=line, column=column, pointer=pointer)
        return SpecError(message, location=location, hint=hint)

    def build(self, node: Node, pointer: str, depth: int = 0) -> Any:
        self.count += 1
        if self.count > _MAX_NODES:
            raise self.error("the document expands to too many values (alias bomb?)", node, pointer)
        if isinstance(node, ScalarNode):
            return self.scalar(node, pointer)
        if depth >= MAX_NESTING:
            raise self.error(
                nesting_message(), node, pointer, hint="flatten it, or split it with $defs"
            )
        if id(node) in self.active:
            raise self.error("recursive YAML alias: a value may not contain itself", node, pointer)
        self.active.add(id(node))
        try:
            if isinstance(node, SequenceNode) and node.tag == _TAG + "seq":
                return self.sequence(node, pointer, depth)
            if isinstance(node, MappingNode) and node.tag == _TAG + "map":
                return self.mapping(node, pointer, depth)
            raise self.error(f"unsupported YAML tag {_tag_name(node.tag)!r}", node, pointer)
        finally:
            self.active.discard(id(node))

    def scalar(self, node: ScalarNode, pointer: str) -> Any:
        tag, text = node.tag, node.value
        if tag == _TAG + "str":
            return text
        if tag == _TAG + "null":
            return None
        if tag == _TAG + "bool":
            return text.lower() == "true"
        try:
            if tag == _TAG + "int":
                return _core_int(text)
            if tag == _TAG + "float":
                return _core_float(text)
        except ValueError:
            # int() refuses more than 4300 digits; quote the start only, the line says where.
            shown = (
                repr(text) if len(text) <= 60 else repr(text[:40]) + f"... ({len(text)} characters)"
            )
            raise self.error(f"{shown} is not a valid {tag[len(_TAG) :]}", node, pointer) from None
        # Explicitly tagged scalars (!!binary, !!timestamp, !custom) have no JSON equivalent.
        raise self.error(
            f"unsupported YAML tag {_tag_name(tag)!r}",
            node,
            pointer,
            hint="specs hold JSON-like values only",
        )

    def sequence(self, node: SequenceNode, pointer: str, depth: int) -> list[Any]:
        items: list[Any] = []
        for index, item in enumerate(node.value):
            child = pointer_join(pointer, index)
            self.positions.keys[child] = self.positions.values[child] = _position(item)
            items.append(self.build(item, child, depth + 1))
        return items

    def key_text(self, key: Node, pointer: str) -> str:
        if not isinstance(key, ScalarNode):
            raise self.error("mapping keys must be plain strings", key, pointer)
        return str(key.value)

    def merged_pairs(self, node: Node, pointer: str, depth: int = 0) -> Iterator[tuple[Node, Node]]:
        """The entries a ``<<: *anchor`` merge key brings in; earlier sources win."""
        if depth >= MAX_NESTING:
            raise self.error(f"'<<' merge keys chained more than {MAX_NESTING} deep", node, pointer)
        sources = node.value if isinstance(node, SequenceNode) else [node]
        for source in reversed(sources):
            if not isinstance(source, MappingNode):
                raise self.error(
                    "a '<<' merge key needs a mapping or a list of mappings", node, pointer
                )
            for key, value in source.value:
                if key.tag == _MERGE:
                    yield from self.merged_pairs(value, pointer, depth + 1)
                else:
                    yield key, value

    def mapping(self, node: MappingNode, pointer: str, depth: int) -> dict[str, Any]:
        own: list[tuple[str, Node, Node]] = []
        merged: list[tuple[str, Node, Node]] = []
        first_seen: dict[str, Node] = {}
        for key, value in node.value:
            if key.tag == _MERGE:
                merged.extend(
                    (self.key_text(k, pointer), k, v) for k, v in self.merged_pairs(value, pointer)
                )
                continue
            name = self.key_text(key, pointer)
            if name in first_seen:
                line, _ = _position(first_seen[name])
                self.errors.append(
                    self.error(
                        f"duplicate key {name!r}",
                        key,
                        pointer,
                        hint=f"first defined at line {line}; keep one of them",
                    )
                )
                continue
            first_seen[name] = key
            own.append((name, key, value))
        result: dict[str, Any] = {}
        # Own entries come last so that they override merged ones, as YAML's merge key specifies.
        for name, key, value in [*merged, *own]:
            child = pointer_join(pointer, name)
            self.positions.keys[child] = _position(key)
            self.positions.values[child] = _position(value)
            result[name] = self.build(value, child, depth + 1)
        return result


def _syntax_error(exc: yaml.YAMLError, filename: str) -> SpecError:
    if isinstance(exc, yaml.MarkedYAMLError) and exc.problem_mark is not None:
        mark = exc.problem_mark
        hint = None
        if exc.context:
            hint = exc.context
            if exc.context_mark is not None and exc.context_mark.line != mark.line:
                hint += f" that starts at line {exc.context_mark.line + 1}"
        location = Location(file=filename, line=mark.line + 1, column=mark.column + 1)
        return SpecError(f"invalid YAML: {exc.problem}", location=location, hint=hint)
    return SpecError(f"invalid YAML: {exc}", location=Location(file=filename))


def parse_yaml(text: str, *, filename: str) -> tuple[Any, PositionMap]:
    """Parse one YAML document into JSON-like data and the positions of all its values.

    Args:
        text: The YAML source.
        filename: The name errors and positions are reported under.

    Returns:
        ``(data, positions)``; an empty document gives ``None``.

    Raises:
        SpecError: On a syntax error, located at the line and column YAML reports.
        SpecErrors: On several duplicate keys (each one located).
    """
    loader = _CoreLoader(text)
    try:
        node = loader.get_single_node()
    except yaml.YAMLError as exc:
        raise _syntax_error(exc, filename) from None
    finally:
        loader.dispose()
    builder = _Builder(loader, filename)
    if node is None:
        return None, builder.positions
    builder.positions.keys[""] = builder.positions.values[""] = _position(node)
    data = builder.build(node, "")
    if len(builder.errors) == 1:
        raise builder.errors[0]
    if builder.errors:
        raise SpecErrors(builder.errors)
    return data, builder.positions
