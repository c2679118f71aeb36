"""Could any message type of a route accept this frame? The judge behind ``Mutant.invalid``.

A frame counts as invalid only when every message type a server could take it for rejects it:
a text frame is checked against the text messages (as the string) and the json messages (as the
JSON it parses to); a bytes frame is invalid only on a route without bytes messages. Two
validators must agree before a value is called invalid: jsonschema-rs (fast, compiled once per
route) and the generator's own validator, which reads patterns as Python's ``jsonschema`` does
(jsonschema-rs rejects ``"a\\n"`` for ``^a$``, Python accepts it). Whatever neither can judge
(a validator error, a message without a schema, a registered strategy) counts as accepted.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema
import jsonschema_rs

from ws_routes.errors import SchemaCompileError
from ws_routes.generate.canonical import Canonicaliser
from ws_routes.generate.node import Node
from ws_routes.generate.validate import is_valid
from ws_routes.spec.model import Kind, RouteSpec, Schema

__all__ = ["ANYTHING", "NOT_JSON", "Oracle", "Shape", "byte_size", "encode_json", "oracle_for"]

Check = Callable[[Any], bool]
NOT_JSON = object()


def encode_json(value: Any) -> str:
    """Compact JSON text, as conversations send a json payload."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def byte_size(text: str) -> int:
    """Bytes ``text`` takes on the wire (lone surrogates counted as their three bytes)."""
    return len(text.encode("utf-8", "surrogatepass"))


def parse(text: str) -> Any:
    """The JSON ``text`` holds, as Python's ``json`` (and so most servers) reads it; else NOT_JSON."""
    try:
        return json.loads(text)
    except ValueError:
        return NOT_JSON


@dataclass(frozen=True, slots=True)
class Shape:
    """One message schema, canonicalised: what mutations walk."""

    root: Node
    resolve: Callable[[str, str], Node]

    def node(self, node: Node) -> Node:
        """``node`` with its ``$ref`` followed."""
        return self.resolve(node.ref, node.pointer) if node.ref is not None else node

    def valid(self, node: Node, value: Any) -> bool:
        """Whether ``value`` might satisfy ``node`` (formats read as annotations)."""
        return is_valid(node, value, self.resolve, strict=False)


ANYTHING = Shape(root=Node(), resolve=lambda _ref, _pointer: Node())


def _shape_of(schema: Schema | None) -> Shape | None:
    if schema is None:
        return ANYTHING
    try:
        canon = Canonicaliser(schema.value)
        return Shape(root=canon.canon(schema.value, ""), resolve=canon.resolve)
    except SchemaCompileError:
        return None


def _check_of(schema: Schema | None, shape: Shape | None) -> Check | None:
    """A "might this be valid?" test for ``schema``; None when anything is valid."""
    if schema is None or schema.value is True:
        return None
    value = schema.value
    if value is False:
        return lambda _v: False
    try:
        fast: Check | None = jsonschema_rs.validator_for(
            dict(value), validate_formats=False
        ).is_valid
    except Exception:  # a regex jsonschema-rs cannot compile: the slow path decides alone
        fast = None
    slow: Check
    if shape is not None:
        root, resolve = shape.root, shape.resolve
        slow = lambda v: is_valid(root, v, resolve, strict=False)  # noqa: E731
    else:
        slow = jsonschema.validators.validator_for(value)(value).is_valid

    def check(v: Any) -> bool:
        try:
            if fast is not None and fast(v):
                return True
        except Exception:  # e.g. a lone surrogate, which jsonschema-rs cannot take
            pass
        try:
            return slow(v)
        except Exception:
            return True

    return check


@dataclass(frozen=True, slots=True)
class Accepts:
    """One message type as a test; ``check`` None accepts anything of its kind."""

    name: str | None
    check: Check | None

    def __call__(self, value: Any) -> bool:
        return self.check is None or self.check(value)


@dataclass(frozen=True, slots=True)
class Oracle:
    """Every message type of a route, by frame kind."""

    json: tuple[Accepts, ...]
    text: tuple[Accepts, ...]
    # The (fewest, most) bytes each bytes message takes; most None: no limit of its own.
    bytes_sizes: tuple[tuple[int, int | None], ...]
    # Message name -> its canonical schema (None: we cannot walk it).
    shapes: dict[str, Shape | None]

    def own(self, kind: Kind, name: str) -> Accepts:
        """The test of message ``name``."""
        found = [a for a in (self.json if kind == "json" else self.text) if a.name == name]
        return found[0] if found else Accepts(None, None)

    def text_accepted(self, accepts: Accepts, text: str, parsed: Any) -> bool:
        """Whether a text message takes ``text`` (``parsed`` is its JSON, or NOT_JSON)."""
        # A text schema describes the string; non-string values are sent as their JSON text.
        return accepts(text) or (
            parsed is not NOT_JSON and not isinstance(parsed, str) and accepts(parsed)
        )

    def json_invalid(self, value: Any, skip: str | None = None) -> bool:
        """Whether no message takes ``value`` sent as JSON text (``skip``: a json message's
        name already checked)."""
        if any(a(value) for a in self.json if a.name is None or a.name != skip):
            return False
        if self.text:
            text = encode_json(value)
            return not any(self.text_accepted(a, text, value) for a in self.text)
        return True

    def text_invalid(self, text: str, skip: str | None = None) -> bool:
        """Whether no message takes the text frame ``text`` (``skip``: a text message's name)."""
        parsed = parse(text)
        if any(
            self.text_accepted(a, text, parsed)
            for a in self.text
            if a.name is None or a.name != skip
        ):
            return False
        return parsed is NOT_JSON or not any(a(parsed) for a in self.json)

    def invalid(self, kind: Kind, payload: Any) -> bool:
        """Whether no message takes ``payload`` sent as ``kind``."""
        if kind == "bytes":
            size = len(payload)
            return not any(lo <= size and (hi is None or size <= hi) for lo, hi in self.bytes_sizes)
        if kind == "text":
            return self.text_invalid(payload)
        return self.json_invalid(payload)


def _build(route: RouteSpec, registered: frozenset[Kind]) -> Oracle:
    # What the server may accept: the declared messages, the authenticating first message, and
    # any registered strategy (it overrides the schemas, so its kind may carry anything).
    shapes: dict[str, Shape | None] = {}
    by_kind: dict[str, list[Accepts]] = {"json": [], "text": [], "bytes": []}
    for message in route.messages:
        shapes[message.name] = shape = _shape_of(message.schema)
        check = None if message.kind in registered else _check_of(message.schema, shape)
        by_kind[message.kind].append(Accepts(message.name, check))
    for kind in registered:
        by_kind[kind].append(Accepts(None, None))
    if route.auth is not None and route.auth.first_message is not None:
        first = route.auth.first_message
        by_kind["json"].append(Accepts(None, _check_of(first, _shape_of(first))))
    return Oracle(
        json=tuple(by_kind["json"]),
        text=tuple(by_kind["text"]),
        bytes_sizes=((0, None),)
        if "bytes" in registered
        else tuple((m.min_size or 0, m.max_size) for m in route.messages if m.kind == "bytes"),
        shapes=shapes,
    )


# compile_route asks for every message of one route in a row: build the validators once.
_last: tuple[RouteSpec, frozenset[Kind], Oracle] | None = None


def oracle_for(route: RouteSpec, registered: frozenset[Kind] = frozenset()) -> Oracle:
    """The oracle of ``route``, whose ``registered`` kinds have a registered strategy (the last
    one is cached, by the route's identity)."""
    global _last
    if _last is None or _last[0] is not route or _last[1] != registered:
        _last = (route, registered, _build(route, registered))
    return _last[2]
