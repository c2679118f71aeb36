"""Replies tied to requests, compiled: ids at JSON pointers, and the replies a message expects.

What the spec's correlation keys mean once a route runs: the value at a pointer (read, or written
into a copy), a key under which equal JSON ids compare equal (``1`` and ``1.0``, never ``1`` and
``true``), the replies a sent payload expects (its first matching ``cases`` entry, else
``reply``), and a fresh id for a ``unique`` message that still satisfies the message's schema.
"""

from __future__ import annotations

import itertools
import string
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ws_routes.compile.replies import ReplyValidator, reply_validator
from ws_routes.errors import pointer_join, pointer_tokens
from ws_routes.spec.model import MessageSpec, RouteSpec

__all__ = [
    "DUPLICATE_ID",
    "MISSING",
    "MessageTies",
    "Ties",
    "compile_ties",
    "id_key",
    "pointer_get",
    "pointer_set",
]


class _Missing:
    __slots__ = ()

    def __repr__(self) -> str:
        return "MISSING"


MISSING: Any = _Missing()
# The mutation of a step that reuses an active id of a ``unique`` message on purpose.
DUPLICATE_ID = "duplicate_id"
# How many candidate ids a fresh one is looked for among: enough for any schema that allows more
# than a handful of ids, bounded because each candidate costs a schema validation.
_FRESH_TRIES = 256
_ID_CHARS = string.digits + string.ascii_letters


def pointer_get(value: Any, pointer: str) -> Any:
    """The value at ``pointer`` inside ``value``, or :data:`MISSING`."""
    for token in pointer_tokens(pointer):
        if isinstance(value, dict):
            if token not in value:
                return MISSING
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            return MISSING
    return value


def pointer_set(value: Any, pointer: str, new: Any) -> Any:
    """A copy of ``value`` with ``new`` at ``pointer`` (which must exist); the rest is shared."""
    tokens = pointer_tokens(pointer)
    if not tokens:
        return new
    head, rest = tokens[0], pointer_join("", *tokens[1:])
    if isinstance(value, dict):
        return {**value, head: pointer_set(value[head], rest, new)}
    copy = list(value)
    copy[int(head)] = pointer_set(copy[int(head)], rest, new)
    return copy


def id_key(value: Any) -> Any:
    """A hashable key under which JSON-equal ids are equal: ``1 == 1.0``, ``1 != true``."""
    if isinstance(value, bool) or value is None:
        return ("literal", value)
    if isinstance(value, int | float):
        return ("number", int(value) if isinstance(value, float) and value.is_integer() else value)
    if isinstance(value, str):
        return ("string", value)
    if isinstance(value, list):
        return ("array", tuple(id_key(v) for v in value))
    if isinstance(value, dict):
        return ("object", tuple(sorted((k, id_key(v)) for k, v in value.items())))
    return ("other", repr(value))


def _candidates(value: Any) -> Iterator[Any]:
    """Ids near ``value``, of its type: what a client would pick as its next id."""
    if isinstance(value, int) and not isinstance(value, bool):
        for step in itertools.count(1):
            yield value + step
            yield value - step
    elif isinstance(value, float):
        for step in itertools.count(1):
            yield value + step
    elif isinstance(value, str):
        if value:  # the same length first: a pattern or maxLength usually fixes it
            yield from (value[:-1] + c for c in _ID_CHARS if c != value[-1])
        for n in itertools.count(1):
            yield f"{value}{n}"
            yield str(n)
    else:
        for n in itertools.count(1):
            yield n
            yield str(n)


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageTies:
    """One message type's correlation keys, with their schemas compiled."""

    spec: MessageSpec
    # Each case: its match, the replies it expects, whether it gets none (no_reply).
    cases: tuple[tuple[ReplyValidator, tuple[str, ...], bool], ...] = ()
    # The message's own schema: a rewritten id must keep the message valid.
    validator: ReplyValidator = field(default_factory=lambda: reply_validator(None))

    def expected(self, payload: Any) -> tuple[str, ...]:
        """The replies ``payload`` expects: the first case it matches, else ``reply``."""
        case = self._case(payload)
        return self.spec.reply if case is None else case[1]

    def silent(self, payload: Any) -> bool:
        """Whether ``payload`` must get no reply at all: the message is ``no_reply``, or the
        first case it matches is."""
        case = self._case(payload)
        return self.spec.no_reply if case is None else case[2]

    def _case(self, payload: Any) -> tuple[ReplyValidator, tuple[str, ...], bool] | None:
        return next((case for case in self.cases if case[0].is_valid(payload)), None)

    def fresh(self, payload: Any, taken: Callable[[Any], bool]) -> Any:
        """``payload`` with a correlation value that is not ``taken`` and keeps it valid;
        :data:`MISSING` when no such value is near (a schema that allows only ids in use)."""
        pointer = self.spec.correlation
        assert pointer is not None
        current = pointer_get(payload, pointer)
        for candidate in itertools.islice(_candidates(current), _FRESH_TRIES):
            if taken(candidate):
                continue
            rewritten = pointer_set(payload, pointer, candidate)
            if self.validator.is_valid(rewritten):
                return rewritten
        return MISSING  # not None: null is a payload (a JSON message's null mutant)


@dataclass(frozen=True, slots=True, kw_only=True)
class Ties:
    """A route's correlation keys. ``used`` False: the route declares none (the fast path)."""

    messages: Mapping[str, MessageTies] = field(default_factory=dict)
    # Reply name -> its correlation pointer, for the replies that declare one.
    reply_pointers: Mapping[str, str] = field(default_factory=dict)
    # Reply names some message expects (reply, stream, cases) and the error replies: what can
    # answer a message, as opposed to a push nobody asked for.
    answers: frozenset[str] = frozenset()
    used: bool = False

    def expected(self, message: str, payload: Any) -> tuple[str, ...]:
        ties = self.messages.get(message)
        return ties.expected(payload) if ties is not None else ()

    def reply_value(self, name: str | None, data: Any) -> Any:
        """The correlation value a reply of type ``name`` carries, or :data:`MISSING`."""
        pointer = self.reply_pointers.get(name) if name is not None else None
        return MISSING if pointer is None else pointer_get(data, pointer)


def _keys_used(message: MessageSpec) -> bool:
    return bool(
        message.correlation is not None
        or message.stream is not None
        or message.no_reply
        or message.echo
        or message.cases
    )


def compile_ties(route: RouteSpec) -> Ties:
    """The run-time form of ``route``'s correlation keys."""
    used = any(_keys_used(m) for m in route.messages) or any(
        r.correlation is not None for r in route.replies
    )
    if not used:
        return Ties()
    messages = {}
    answers = {r.name for r in route.replies if r.error}
    for m in route.messages:
        answers.update(m.reply)
        if m.stream is not None:
            answers.update((*m.stream.items, *m.stream.end))
        for case in m.cases:
            answers.update(case.reply)
        messages[m.name] = MessageTies(
            spec=m,
            cases=tuple((reply_validator(c.match), c.reply, c.no_reply) for c in m.cases),
            validator=reply_validator(m.schema if m.kind == "json" else None),
        )
    return Ties(
        messages=messages,
        reply_pointers={r.name: r.correlation for r in route.replies if r.correlation is not None},
        answers=frozenset(answers),
        used=True,
    )
