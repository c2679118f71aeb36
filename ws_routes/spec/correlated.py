"""The spec keys that tie replies to requests: their checks and their dataclass fields.

Messages carry ``correlation``, ``unique``, ``stream``, ``no_reply``, ``ends``, ``echo`` and
``cases``; replies carry ``correlation``. The shipped JSON Schema checks their types; what it
cannot say is checked here (names that must exist, keys that exclude each other, pointers that
must be JSON pointers), each problem located at its key. Kept apart from :mod:`build` so that the
protocol keys of one family stay together.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from ws_routes.errors import SpecError, did_you_mean, pointer_join
from ws_routes.spec.model import ReplyCase, Schema, StreamSpec

if TYPE_CHECKING:
    from ws_routes.spec.build import SpecContext

__all__ = [
    "case_schemas",
    "check_correlation",
    "is_json_pointer",
    "message_fields",
    "reply_fields",
]

# RFC 6901: "" (the whole value) or "/"-separated tokens in which "~" only starts "~0" or "~1".
_POINTER = re.compile(r"(/([^~/]|~[01])*)*")


def is_json_pointer(text: str) -> bool:
    return _POINTER.fullmatch(text) is not None


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _names(value: Any) -> list[tuple[int, str]]:
    return [
        (i, v) for i, v in enumerate(value if isinstance(value, list) else []) if isinstance(v, str)
    ]


def _pointer_hint(text: str) -> str:
    if text.startswith("/"):
        return "inside a token, write '~' as '~0' and '/' as '~1'"
    # The usual slips: a bare key ("id"), a dotted or JSONPath-style path ("$.a.b", "a.b").
    guess = "/" + "/".join(w for w in re.split(r"[.\[\]$]+", text.lstrip("$")) if w)
    if guess != "/" and is_json_pointer(guess):
        return f"did you mean {guess!r}?"
    return "a JSON pointer is '' (the whole value) or a path like '/id'"


def _check_pointer(value: Any, pointer: str, ctx: SpecContext) -> list[SpecError]:
    if not isinstance(value, str) or is_json_pointer(value):
        return []
    return [ctx.error(f"{value!r} is not a JSON pointer", pointer, hint=_pointer_hint(value))]


def _unknown(
    names: Iterable[tuple[int, str]], replies: Mapping[str, Any], at: str, ctx: SpecContext
) -> list[SpecError]:
    errors = []
    for index, name in names:
        if name not in replies:
            hint = did_you_mean(name, replies) or (
                "declare it under 'replies'" if replies else "this route declares no replies"
            )
            errors.append(ctx.error(f"unknown reply {name!r}", pointer_join(at, index), hint))
    return errors


def _check_message(
    name: str, message: Mapping[str, Any], at: str, route: Mapping[str, Any], ctx: SpecContext
) -> list[SpecError]:
    messages, replies = _mapping(route.get("messages")), _mapping(route.get("replies"))
    errors = _check_pointer(message.get("correlation"), pointer_join(at, "correlation"), ctx)
    correlated = isinstance(message.get("correlation"), str)
    json_kind = message.get("kind") == "json"
    if correlated and not json_kind and message.get("kind") in ("text", "bytes"):
        errors.append(
            ctx.error(
                "correlation applies to json messages only",
                pointer_join(at, "correlation"),
                hint="the id is read at a JSON pointer into the message",
            )
        )
    if message.get("unique") is True and not correlated:
        errors.append(
            ctx.error(
                "'unique' needs 'correlation'",
                pointer_join(at, "unique"),
                hint="add 'correlation: /id', the pointer to the value that must be unique",
            )
        )
    stream = message.get("stream")
    if stream is not None and "reply" in message:
        errors.append(
            ctx.error(
                "'reply' and 'stream' exclude each other",
                pointer_join(at, "stream"),
                hint="a streaming request's replies are its stream's items and end",
            )
        )
    if stream is not None and not correlated:
        errors.append(
            ctx.error(
                "'stream' needs 'correlation'",
                pointer_join(at, "stream"),
                hint="a stream's replies are told apart by their id: add 'correlation: /id'",
            )
        )
    for key in ("items", "end"):
        errors += _unknown(
            _names(_mapping(stream).get(key)), replies, pointer_join(at, "stream", key), ctx
        )
    if message.get("no_reply") is True:
        clash = [k for k in ("reply", "stream", "cases") if k in message]
        if clash:
            errors.append(
                ctx.error(
                    f"'no_reply' excludes {' and '.join(map(repr, clash))}",
                    pointer_join(at, "no_reply"),
                    hint="a message either gets no reply at all or declares the replies it gets",
                )
            )
    errors += _check_ends(name, message, at, messages, ctx)
    errors += _check_echo(message, at, ctx)
    cases = message.get("cases")
    if "cases" in message and stream is not None:
        errors.append(
            ctx.error(
                "'cases' and 'stream' exclude each other",
                pointer_join(at, "cases"),
                hint="cases choose among single replies",
            )
        )
    for index, case in enumerate(cases if isinstance(cases, list) else []):
        where = pointer_join(at, "cases", index, "reply")
        case = _mapping(case)
        errors += _unknown(_names(case.get("reply")), replies, where, ctx)
        has_reply, silent = "reply" in case, case.get("no_reply") is True
        if has_reply == silent and "match" in case:
            errors.append(
                ctx.error(
                    "a case gives 'reply' or 'no_reply: true', one of them"
                    if silent
                    else "a case needs 'reply' or 'no_reply: true'",
                    pointer_join(at, "cases", index),
                    hint="'reply' names the replies a matching message expects; 'no_reply: true' "
                    "says it gets none",
                )
            )
    return errors


def _check_ends(
    name: str, message: Mapping[str, Any], at: str, messages: Mapping[str, Any], ctx: SpecContext
) -> list[SpecError]:
    target = message.get("ends")
    if not isinstance(target, str):
        return []
    where = pointer_join(at, "ends")
    if target not in messages:
        others = [m for m in messages if m != name]
        hint = did_you_mean(target, others) or "name a message of this route"
        return [ctx.error(f"unknown message {target!r}", where, hint)]
    errors = []
    if not isinstance(message.get("correlation"), str):
        errors.append(
            ctx.error(
                "'ends' needs 'correlation'",
                where,
                hint=f"the operation ended is the {target!r} with the same correlation value",
            )
        )
    if not isinstance(_mapping(messages[target]).get("correlation"), str):
        errors.append(
            ctx.error(
                f"message {target!r} has no 'correlation', so nothing tells which one this ends",
                where,
                hint=f"add 'correlation: /id' to {target!r}",
            )
        )
    return errors


def _check_echo(message: Mapping[str, Any], at: str, ctx: SpecContext) -> list[SpecError]:
    echo = _mapping(message.get("echo"))
    errors: list[SpecError] = []
    for reply_pointer, message_pointer in echo.items():
        where = pointer_join(at, "echo", reply_pointer)
        errors += _check_pointer(reply_pointer, where, ctx)
        errors += _check_pointer(message_pointer, where, ctx)
        if message.get("kind") in ("text", "bytes") and message_pointer:
            errors.append(
                ctx.error(
                    f"a {message['kind']} message has no members: only '' (the whole frame) "
                    "can be echoed",
                    where,
                )
            )
    if echo and not any(k in message for k in ("reply", "stream", "cases")):
        errors.append(
            ctx.error(
                "'echo' compares a reply with the message, but this message declares no reply",
                pointer_join(at, "echo"),
                hint="declare the replies it compares: 'reply' or 'stream'",
            )
        )
    return errors


def check_correlation(route: Mapping[str, Any], pointer: str, ctx: SpecContext) -> list[SpecError]:
    """Every problem of one route's correlation keys (the route may be invalid otherwise)."""
    errors: list[SpecError] = []
    for name, raw in _mapping(route.get("messages")).items():
        at = pointer_join(pointer, "messages", name)
        errors += _check_message(name, _mapping(raw), at, route, ctx)
    for name, raw in _mapping(route.get("replies")).items():
        reply, at = _mapping(raw), pointer_join(pointer, "replies", name, "correlation")
        errors += _check_pointer(reply.get("correlation"), at, ctx)
        if isinstance(reply.get("correlation"), str) and reply.get("kind") in ("text", "bytes"):
            errors.append(ctx.error("correlation applies to json replies only", at))
    return errors


def case_schemas(message: Mapping[str, Any], at: str) -> list[tuple[str, Any]]:
    """(pointer, schema) of the ``match`` schema of each of a message's ``cases``."""
    cases = message.get("cases")
    return [
        (pointer_join(at, "cases", index, "match"), _mapping(case).get("match"))
        for index, case in enumerate(cases if isinstance(cases, list) else [])
    ]


def message_fields(raw: Mapping[str, Any], at: str, ctx: SpecContext) -> dict[str, Any]:
    """The :class:`MessageSpec` keyword arguments of a checked message's correlation keys."""
    out: dict[str, Any] = {}
    for key in ("correlation", "unique", "no_reply", "ends"):
        if key in raw:
            out[key] = raw[key]
    if "stream" in raw:
        stream = raw["stream"]
        out["stream"] = StreamSpec(
            items=tuple(stream.get("items", ())), end=tuple(stream.get("end", ()))
        )
    if "echo" in raw:
        out["echo"] = dict(raw["echo"])
    if "cases" in raw:
        out["cases"] = tuple(
            ReplyCase(
                match=Schema(value=ctx.bundles[where].schema, location=ctx.locate(where)),
                reply=tuple(case.get("reply", ())),
                no_reply=case.get("no_reply") is True,
            )
            for (where, _schema), case in zip(case_schemas(raw, at), raw["cases"], strict=True)
        )
    return out


def reply_fields(raw: Mapping[str, Any]) -> dict[str, Any]:
    """The :class:`ReplySpec` keyword arguments of a checked reply's correlation key."""
    return {"correlation": raw["correlation"]} if "correlation" in raw else {}
