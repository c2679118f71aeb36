"""A route's protocol state keys: checked, located, and turned into dataclass fields.

``states``/``opening`` on a route, ``when``/``goto``/``wrong_state``/``use`` on a message,
``goto``/``capture`` on a reply (docs/spec.md, "Protocol state"). The shipped JSON Schema checks
their shapes; this module checks what it cannot: every state, message and reply named exists,
every pointer is a JSON pointer, every value a message uses is captured by some reply.
:mod:`ws_routes.spec.build` calls it, so its checks run, like build's, on possibly invalid data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ws_routes.errors import SpecError, did_you_mean, pointer_join
from ws_routes.spec.model import WrongState

if TYPE_CHECKING:  # build imports this module: the context is only a type here
    from ws_routes.spec.build import SpecContext

__all__ = ["check_states", "message_state", "reply_state", "route_state"]

# RFC 6901: "" (the whole value) or "/"-separated tokens in which "~" only escapes 0 or 1.
_POINTER = re.compile(r"(/([^~/]|~[01])*)*")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _names(value: Any) -> list[tuple[int, str]]:
    return (
        [(i, v) for i, v in enumerate(value) if isinstance(v, str)]
        if isinstance(value, list)
        else []
    )


def _unknown(kind: str, name: str, known: Mapping[str, Any] | list[str], where: str) -> str:
    return did_you_mean(name, known) or (
        f"declare it under '{where}'" if known else f"this route declares no {kind}"
    )


def _check_pointer(pointer: Any, at: str, ctx: SpecContext) -> list[SpecError]:
    if not isinstance(pointer, str) or _POINTER.fullmatch(pointer):
        return []
    hint = "a JSON pointer is '' or starts with '/', and '~' is written '~0', '/' '~1'"
    return [ctx.error(f"{pointer!r} is not a JSON pointer", at, hint)]


def check_states(route: Mapping[str, Any], pointer: str, ctx: SpecContext) -> list[SpecError]:
    """Every problem of one route's protocol state keys, each located at its key."""
    # Deferred: build imports this module at its top.
    from ws_routes.spec.build import check_close_codes

    states = [s for _, s in _names(route.get("states"))]
    messages, replies = _mapping(route.get("messages")), _mapping(route.get("replies"))
    errors: list[SpecError] = []

    def state(name: Any, at: str) -> None:
        if isinstance(name, str) and name not in states:
            hint = did_you_mean(name, states) or (
                f"this route's states are {', '.join(map(repr, states))}"
                if states
                else "this route declares no states: add 'states: [...]' to it"
            )
            errors.append(ctx.error(f"unknown state {name!r}", at, hint))

    for i, name in _names(route.get("opening")):
        if name not in messages:
            hint = _unknown("messages", name, messages, "messages")
            at = pointer_join(pointer, "opening", i)
            errors.append(ctx.error(f"unknown message {name!r} in the opening", at, hint))
    captured: list[str] = []
    for name, raw in replies.items():
        at = pointer_join(pointer, "replies", name)
        reply = _mapping(raw)
        state(reply.get("goto"), pointer_join(at, "goto"))
        for value, ptr in _mapping(reply.get("capture")).items():
            captured.append(value)
            errors += _check_pointer(ptr, pointer_join(at, "capture", value), ctx)
    for name, raw in messages.items():
        at = pointer_join(pointer, "messages", name)
        message = _mapping(raw)
        for i, when in _names(message.get("when")):
            state(when, pointer_join(at, "when", i))
        state(message.get("goto"), pointer_join(at, "goto"))
        wrong = _mapping(message.get("wrong_state"))
        for i, reply_name in _names(wrong.get("replies")):
            if reply_name not in replies:
                hint = _unknown("replies", reply_name, replies, "replies")
                where = pointer_join(at, "wrong_state", "replies", i)
                errors.append(ctx.error(f"unknown reply {reply_name!r}", where, hint))
        codes_at = pointer_join(at, "wrong_state", "close_codes")
        errors += check_close_codes(wrong.get("close_codes"), codes_at, ctx)
        for ptr, value in _mapping(message.get("use")).items():
            where = pointer_join(at, "use", ptr)
            errors += _check_pointer(ptr, where, ctx)
            if isinstance(value, str) and value not in captured:
                hint = did_you_mean(value, captured) or (
                    "no reply captures it: add 'capture: {" + value + ": /pointer}' to a reply"
                )
                errors.append(ctx.error(f"value {value!r} is never captured", where, hint))
    return errors


def route_state(route: Mapping[str, Any]) -> dict[str, Any]:
    """The protocol state fields of a checked route, as :class:`RouteSpec` keywords."""
    return {"states": tuple(route.get("states", ())), "opening": tuple(route.get("opening", ()))}


def message_state(message: Mapping[str, Any]) -> dict[str, Any]:
    """The protocol state fields of a checked message, as :class:`MessageSpec` keywords."""
    wrong = message.get("wrong_state")
    return {
        "when": tuple(message.get("when", ())),
        "goto": message.get("goto"),
        "wrong_state": None
        if wrong is None
        else WrongState(
            close_codes=tuple(int(c) for c in wrong.get("close_codes", ())),
            replies=tuple(wrong.get("replies", ())),
        ),
        "use": dict(message.get("use", {})),
    }


def reply_state(reply: Mapping[str, Any]) -> dict[str, Any]:
    """The protocol state fields of a checked reply, as :class:`ReplySpec` keywords."""
    return {"goto": reply.get("goto"), "capture": dict(reply.get("capture", {}))}
