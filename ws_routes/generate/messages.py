"""JSON messages for a route without a spec, shaped the way WebSocket JSON protocols are.

"Any JSON value" is mostly scalars and empty containers: measured on the default route, 11% of
directly drawn values and 10-26% of those inside conversations were objects, most of the
latter ``{}``, and none had a type-like field. Yet JSON protocols over WebSocket (chat apps,
GraphQL over WebSocket, JSON-RPC, Socket.IO-like event buses, Phoenix channels) send objects
whose handler dispatches on one field (``type``, ``action``, ``event``, ``op``, ``method``).
So most messages here are objects that carry such a field with a word from a small protocol
vocabulary, and more keys from a small alphabet (``id``, ``data``, ``room``...) with varied
values; objects without the field, arrays and arbitrary JSON (scalars) come now and then, so
handlers that expect something else are still tried.

Sizes are built to fit a byte budget (as in :func:`~ws_routes.generate.awkward.json_strategy`)
and checked once more at the end; a budget too small for an object falls back to any JSON.
"""

from __future__ import annotations

import functools
import string
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ws_routes.generate.awkward import json_strategy, named, text_strategy
from ws_routes.generate.values import json_size

__all__ = ["FIELD_NAMES", "TYPE_FIELDS", "WORDS", "json_messages"]

# The fields handlers dispatch on, the most common first (shrinking aims at the first).
TYPE_FIELDS = ("type", "action", "event", "op", "method", "cmd", "kind")
# Other keys JSON protocols use; an object draws its keys from these and from arbitrary text.
FIELD_NAMES = (
    *TYPE_FIELDS,
    "id",
    "data",
    "payload",
    "params",
    "message",
    "text",
    "room",
    "channel",
    "topic",
    "user",
    "name",
    "token",
    "seq",
    "ts",
    "args",
    "query",
    "value",
    "status",
    "error",
)
# Values of the type field (and of others): message types common across protocols.
WORDS = (
    "message",
    "join",
    "leave",
    "subscribe",
    "unsubscribe",
    "ping",
    "pong",
    "hello",
    "auth",
    "login",
    "send",
    "publish",
    "update",
    "create",
    "delete",
    "get",
    "list",
    "start",
    "stop",
    "ack",
    "error",
    "typing",
    "connection_init",
    "phx_join",
    "heartbeat",
    "",
)
_SMALLEST_OBJECT = 32  # bytes: below this a budget gets any JSON value instead
_MOST_ENTRIES = 5
_KEY_BYTES = 18  # the most a key takes, quotes included
_NAME_CHARS = string.ascii_letters + string.digits + "_-"


def json_messages(*, max_size: int | None = None) -> SearchStrategy[Any]:
    """JSON messages shaped like a WebSocket protocol's: mostly objects with a type field.

    About six in ten are objects with a type-like field (``type``, ``action``, ``event``...)
    holding a protocol word, two in ten objects with keys from the same small alphabet and no
    such field guaranteed, one in ten an array, one in ten any JSON value (mostly scalars).

    Args:
        max_size: the most bytes a message may take serialised with
            ``json.dumps(value, ensure_ascii=False)`` and encoded as UTF-8; None for no limit.

    Returns:
        A strategy of JSON-compatible Python values.
    """
    if max_size is not None and max_size < 1:
        raise ValueError(f"no JSON value fits in {max_size} bytes")
    return named(_messages(max_size), f"json_messages({max_size=})")


@functools.lru_cache(maxsize=64)
def _messages(max_size: int | None) -> SearchStrategy[Any]:
    anything = json_strategy(max_size)
    if max_size is not None and max_size < _SMALLEST_OBJECT:
        return anything
    # Unbounded routes still get messages of a realistic size; awkward lengths are the text
    # default's and the schema generator's job.
    budget = 4096 if max_size is None else min(max_size, 4096)
    # {} stays an edge case: Hypothesis draws small collections often, so a top-level object
    # that may be empty is {} in one conversation of ten.
    typed, untyped, array = _typed(budget), _object(budget, 2, 1), _array(budget)

    @st.composite
    def message(draw: st.DrawFn) -> Any:
        # One draw picks the shape, so it shrinks to 0: an object with a type field.
        shape = draw(st.integers(0, 9))
        if shape < 6:
            return draw(typed)
        if shape < 8:
            return draw(untyped)
        return draw(array if shape == 8 else anything)

    strategy: SearchStrategy[Any] = message()
    if max_size is not None:
        # A guard only: every part was built to fit its share of the budget.
        strategy = strategy.filter(lambda value: json_size(value) <= max_size)
    return strategy


def _shares(budget: int) -> tuple[int, int]:
    """(entries, bytes for each entry's value) for an object of ``budget`` bytes."""
    count = max(1, min(_MOST_ENTRIES, (budget - 2) // 24))
    # Each entry: its key, ": ", the value and ", " (the last one has none, the braces do).
    each = (budget - 2) // count - 2 - _KEY_BYTES - 2
    return count, each


# Field names: the alphabet above, plain names, and a few awkward characters (6 bytes each
# covers "\\u0000" escapes).
_FIELD_NAMES = st.one_of(
    st.sampled_from(FIELD_NAMES),
    st.text(_NAME_CHARS, min_size=1, max_size=_KEY_BYTES - 2),
    text_strategy(max_size=(_KEY_BYTES - 2) // 6),
)


@functools.lru_cache(maxsize=256)
def _value(budget: int, depth: int) -> SearchStrategy[Any]:
    """A field's value: a protocol word, any JSON (text, numbers, arrays...) or an object."""
    parts: list[SearchStrategy[Any]] = []
    if budget >= 2 + max(map(len, WORDS)):
        parts.append(st.sampled_from(WORDS))
    parts.append(json_strategy(budget))
    if depth > 0 and budget >= _SMALLEST_OBJECT:
        parts.append(_object(budget, depth - 1))
    return st.one_of(parts)


@functools.lru_cache(maxsize=64)
def _object(budget: int, depth: int, min_size: int = 0) -> SearchStrategy[dict[str, Any]]:
    count, each = _shares(budget)
    return st.dictionaries(_FIELD_NAMES, _value(each, depth), min_size=min_size, max_size=count)


def _array(budget: int) -> SearchStrategy[list[Any]]:
    count, each = _shares(budget)
    return st.lists(_value(each, 1), max_size=count)


def _typed(budget: int) -> SearchStrategy[dict[str, Any]]:
    count, each = _shares(budget)
    tag_room = min(each, 64)
    tag = st.one_of(st.sampled_from(WORDS), json_strategy(tag_room))
    rest = st.dictionaries(_FIELD_NAMES, _value(each, 1), max_size=count - 1)

    def build(field: str, value: Any, others: dict[str, Any]) -> dict[str, Any]:
        # The type field first, as protocols write it.
        return {field: value, **{k: v for k, v in others.items() if k != field}}

    return st.builds(build, st.sampled_from(TYPE_FIELDS), tag, rest)
