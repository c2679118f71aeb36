"""The protocol keys (docs/spec.md, "Protocol state" and "Replies tied to requests") in AsyncAPI.

AsyncAPI has words for two of them, used both ways: a message's ``correlationId`` (a Correlation
ID Object whose ``location`` is a runtime expression, ``$message.payload#/id``) is
``correlation``, on messages and replies alike; a 3.x ``receive`` operation's ``reply`` lists what
answers its messages (their ``reply``, or a stream's items and ends). Everything else travels in
``x-ws-routes-*`` extensions holding spec-format values (:mod:`.extensions`), written here for
an export; the importer reads them like the other extensions.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any

from ws_routes.errors import SpecError, pointer_join
from ws_routes.spec.asyncapi.documents import Address, Documents
from ws_routes.spec.asyncapi.schemas import bundle_schema
from ws_routes.spec.metavalidate import show
from ws_routes.spec.model import Clients, MessageSpec, ReplySpec, RouteSpec

__all__ = [
    "MESSAGE_ONLY",
    "PAYLOAD",
    "REPLY_ONLY",
    "answers",
    "bundle_cases",
    "message_extensions",
    "read_correlation",
    "reply_extensions",
    "route_extensions",
    "with_replies",
]

PAYLOAD = "$message.payload#"
# AsyncAPI's pattern for the location, with the part after '#' (a JSON pointer) kept whole: a
# pointer the spec format refuses is reported by the spec's own check, with its hints.
_LOCATION = re.compile(r"^\$message\.(header|payload)#(.*)$", re.DOTALL)
# Spec keys only one side has. A message object that both sides use gives each its own.
MESSAGE_ONLY = frozenset(
    {"weight", "strategy", "reply", "when", "wrong_state", "use", "unique", "stream"}
    | {"no_reply", "ends", "echo", "cases"}
)
REPLY_ONLY = frozenset({"error", "capture", "delivery"})
_BODY_ORDER: tuple[str, ...] = ("kind", "description", "schema", "strategy", "weight")
_BODY_ORDER += ("min_size", "max_size", "reply", "stream")

# (a value, its place in the document below the message) -> the value to write there
Place = Callable[[Any, tuple[str, ...]], Any]


def read_correlation(
    docs: Documents, raw: Any, at: Address, notes: list[str]
) -> tuple[str, Address] | None:
    """The JSON pointer a ``correlationId`` (written at ``at``) names in the payload.

    Returns it with the address of its ``location``, or None when there is none to use: a
    header location is noted (WebSocket frames have no headers), anything malformed reported.
    """
    try:
        node, where, _ = docs.deref(raw, at)
    except SpecError as exc:
        docs.errors.append(exc)
        return None
    if not isinstance(node, Mapping):
        docs.report(
            f"expected a Correlation ID Object (a mapping with 'location'), got {show(node)}",
            where,
        )
        return None
    if "location" not in node:
        hint = "write location: '$message.payload#/id', the id's JSON pointer after '#'"
        docs.report("missing 'location': a correlation ID must say where the id is", where, hint)
        return None
    location, here = node["location"], where.child("location")
    match = _LOCATION.match(location) if isinstance(location, str) else None
    if match is None:
        hint = (
            f"did you mean {PAYLOAD + location!r}?"
            if isinstance(location, str) and location.startswith("/")
            else "'$message.payload#' followed by a JSON pointer into the payload"
        )
        docs.report(
            f"expected a runtime expression such as '$message.payload#/id', got {show(location)}",
            here,
            hint,
        )
        return None
    if match.group(1) == "header":
        notes.append(
            f"{docs.locate(here)}: a correlation ID in a header: WebSocket frames have none;"
            " not used"
        )
        return None
    return match.group(2), here


def bundle_cases(
    docs: Documents, cases: list[Any], at: Address, dialect: str
) -> tuple[list[Any], dict[str, Address]]:
    """``x-ws-routes-cases`` (already checked) with each ``match`` bundled like a payload.

    Returns the cases and, by pointer below the message's ``cases``, where each part came from.
    """
    out: list[Any] = []
    origins: dict[str, Address] = {}
    for index, case in enumerate(cases):
        bundled = bundle_schema(docs, case["match"], at.child(index, "match"), dialect)
        out.append({**case, "match": bundled.value})
        pointer = pointer_join("/cases", index, "match")
        origins.update({pointer + inner: source for inner, source in bundled.origins.items()})
    return out, origins


def with_replies(body: Mapping[str, Any], linked: list[str]) -> tuple[dict[str, Any], list[str]]:
    """An imported message with its ``reply`` list, and the linked replies that do not fit.

    ``linked`` are the replies its operations' ``reply`` objects name. A streaming message's
    replies are its stream's items and ends (an export lists them in the operation reply, for
    AsyncAPI tools), so they are not a ``reply`` list too; any other name there is left out.
    The message's own keys come first, its protocol keys after, as docs/spec.md lists them.
    """
    out = dict(body)
    left_out: list[str] = []
    stream = body.get("stream")
    if isinstance(stream, Mapping):
        streamed = {*stream.get("items", ()), *stream.get("end", ())}
        left_out = [name for name in dict.fromkeys(linked) if name not in streamed]
    else:
        names = list(dict.fromkeys([*linked, *body.get("reply", [])]))
        if names:
            out["reply"] = names
    return {**{key: out[key] for key in _BODY_ORDER if key in out}, **out}, left_out


def answers(message: MessageSpec) -> tuple[str, ...]:
    """The replies an export's operation ``reply`` lists for ``message``."""
    if message.stream is not None:
        return tuple(dict.fromkeys((*message.stream.items, *message.stream.end)))
    return message.reply


def _common(item: MessageSpec | ReplySpec) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if item.correlation is not None:
        out["correlationId"] = {"location": PAYLOAD + item.correlation}
    if item.goto is not None:
        out["x-ws-routes-goto"] = item.goto
    return out


def reply_extensions(reply: ReplySpec) -> dict[str, Any]:
    """A reply's protocol keys, as its AsyncAPI message writes them."""
    out = _common(reply)
    if reply.capture:
        out["x-ws-routes-capture"] = dict(reply.capture)
    if reply.delivery is not None:
        delivery = reply.delivery
        same = {"same": delivery.same} if delivery.same is not None else {}
        out["x-ws-routes-delivery"] = {"to": delivery.to, **same}
    return out


def message_extensions(message: MessageSpec, place: Place) -> dict[str, Any]:
    """A message's protocol keys, as its AsyncAPI message writes them.

    ``place`` relocates a schema to its place below the message (``cases`` hold schemas).
    """
    out = _common(message)
    if message.when:
        out["x-ws-routes-when"] = list(message.when)
    if message.wrong_state is not None:
        wrong = message.wrong_state
        # Empty lists are left out: `wrong_state: {}` is a WrongState too, and reads back as one.
        out["x-ws-routes-wrong-state"] = {
            key: list(value)
            for key, value in (("close_codes", wrong.close_codes), ("replies", wrong.replies))
            if value
        }
    if message.use:
        out["x-ws-routes-use"] = dict(message.use)
    if message.unique:
        out["x-ws-routes-unique"] = True
    if message.stream is not None:
        stream = {"items": list(message.stream.items)} if message.stream.items else {}
        out["x-ws-routes-stream"] = {**stream, "end": list(message.stream.end)}
    if message.no_reply:
        out["x-ws-routes-no-reply"] = True
    if message.ends is not None:
        out["x-ws-routes-ends"] = message.ends
    if message.echo:
        out["x-ws-routes-echo"] = dict(message.echo)
    if message.cases:
        out["x-ws-routes-cases"] = [
            {
                "match": place(case.match.value, ("x-ws-routes-cases", str(index), "match")),
                **({"no_reply": True} if case.no_reply else {"reply": list(case.reply)}),
            }
            for index, case in enumerate(message.cases)
        ]
    return out


def route_extensions(route: RouteSpec) -> dict[str, Any]:
    """A route's protocol state, as its channel writes it."""
    out: dict[str, Any] = {}
    if route.states:
        out["x-ws-routes-states"] = list(route.states)
    if route.opening:
        out["x-ws-routes-opening"] = list(route.opening)
    if route.clients != Clients():  # one client, each on its own path: the default
        clients = route.clients
        out["x-ws-routes-clients"] = {"max": clients.max, "path_params": clients.path_params}
    return out
