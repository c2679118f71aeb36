"""A graphql-transport-ws server (the protocol of the graphql-ws library) with a toy executor.

The protocol (graphql-ws's PROTOCOL.md), as this server implements it on ``/graphql``:

- The client offers the ``graphql-transport-ws`` subprotocol; without it the server accepts and
  closes at once with 4406 ``Subprotocol not acceptable`` (what graphql-ws does).
- ``connection_init`` must come within ``init_timeout`` seconds, else close 4408 ``Connection
  initialisation timeout`` (the protocol's code; some write 4499). The server answers
  ``connection_ack``. A second ``connection_init`` closes 4429 ``Too many initialisation
  requests``.
- ``subscribe`` before the ack closes 4401 ``Unauthorized``; with the id of an operation still
  running it closes 4409 ``Subscriber for <id> already exists``. A query (``{ hello }``) answers
  ``next`` then ``complete``; ``subscription { countdown(from: N) }`` streams N..0 as ``next``
  messages, ``tick`` seconds apart, then ``complete``; an operation that does not validate
  (unknown field, syntax error, bad argument) answers one ``error`` and nothing else.
- A client ``complete`` stops that operation: nothing more is sent for its id; an unknown id is
  ignored. ``ping`` (any time, even before the ack) is answered ``pong`` with the same payload;
  a ``pong`` is ignored.
- Anything else (a binary frame, not JSON, an unknown ``type``, a field of the wrong type, a
  missing field) closes 4400 with a short reason. This server is stricter than graphql-ws on one
  point: an unknown key in a message is invalid too, so that "invalid" means exactly "does not
  match the client schemas" in ``graphql_transport_ws.yaml``.

Close reasons are cut to 123 bytes, as graphql-ws's ``limitCloseReason`` does: a 4409 reason
quotes the client's id, which may be long.

Planted bugs (``make_app(bugs=frozenset({...}))``; ``buggy_app`` has them all):

- ``stream_after_complete``: the client's ``complete`` drops the operation from the table of
  active ones but never cancels its task. The client keeps receiving ``next`` for the id it
  completed, then a ``complete``. Clean-up cancels only the operations still in the table, so
  after the client leaves the orphaned task outlives the handler, holding the socket, until its
  next write fails.
- ``second_subscribe_keyerror``: the uniqueness check reads ``active[id]`` instead of testing
  ``id in active``. Reachable only after the ack and while an operation runs: a second
  ``subscribe`` with a *different* id crashes the handler with ``KeyError`` (the client sees
  close 1011 on a real server); the same id still closes 4409 as it should.
- ``ping_before_ack``: the "not acknowledged yet" guard catches ``ping`` too and answers it with
  ``{"type": "error", "payload": [{"message": "connection not acknowledged"}]}``, an ``error``
  without an ``id`` (invalid in the protocol) instead of ``pong``.
- ``pong_answered``: ``ping`` and ``pong`` share a branch, so a client's ``pong`` (a heartbeat
  that must be ignored) is answered with a ``pong``.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

SUBPROTOCOL = "graphql-transport-ws"
BUGS = frozenset(
    {"stream_after_complete", "second_subscribe_keyerror", "ping_before_ack", "pong_answered"}
)
MAX_COUNTDOWN = 100  # keeps one subscription's stream far below ws_routes' flood limit

JSON = dict[str, Any]
# Message type -> (required keys, optional keys); the values are checked by _invalid().
SHAPES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "connection_init": (frozenset({"type"}), frozenset({"payload"})),
    "ping": (frozenset({"type"}), frozenset({"payload"})),
    "pong": (frozenset({"type"}), frozenset({"payload"})),
    "subscribe": (frozenset({"type", "id", "payload"}), frozenset()),
    "complete": (frozenset({"type", "id"}), frozenset()),
}
SUBSCRIBE_PAYLOAD = frozenset({"query", "operationName", "variables", "extensions"})

NAME = r"[_A-Za-z][_0-9A-Za-z]*"
QUERY = re.compile(rf"\s*(?:query\s*(?:{NAME})?\s*)?\{{\s*(?P<field>{NAME})\s*\}}\s*")
SUBSCRIPTION = re.compile(
    rf"\s*subscription\s*(?:{NAME})?\s*\{{\s*(?P<field>{NAME})\s*"
    rf"(?:\(\s*(?P<arg>{NAME})\s*:\s*(?P<value>-?\d+|\${NAME})\s*\))?\s*\}}\s*"
)


class ProtocolClose(Exception):
    """The protocol says: close the socket with this code and reason."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(code, reason)
        self.code = code
        self.reason = reason


def limit_reason(reason: str) -> str:
    """At most 123 UTF-8 bytes: a close frame cannot carry more (RFC 6455, 5.5)."""
    data = reason.encode("utf-8")
    if len(data) <= 123:
        return reason
    return data[:120].decode("utf-8", "ignore") + "..."


def graphql_error(message: str) -> JSON:
    return {"message": message, "locations": [{"line": 1, "column": 1}]}


@dataclass(frozen=True)
class Plan:
    """What an operation does: one result, a countdown stream, or errors before execution."""

    result: JSON | None = None
    countdown: int | None = None
    errors: tuple[JSON, ...] = ()


def plan(query: str, variables: JSON | None) -> Plan:
    """The toy executor's validation: ``{ hello }`` and ``subscription { countdown(from: N) }``."""
    if match := QUERY.fullmatch(query):
        name = match["field"]
        if name != "hello":
            return Plan(errors=(graphql_error(f'Cannot query field "{name}" on type "Query".'),))
        return Plan(result={"data": {"hello": "world"}})
    match = SUBSCRIPTION.fullmatch(query)
    if match is None:
        return Plan(errors=(graphql_error("Syntax Error: expected a query or a subscription."),))
    name, arg, value = match["field"], match["arg"], match["value"]
    if name != "countdown":
        return Plan(errors=(graphql_error(f'Cannot query field "{name}" on type "Subscription".'),))
    if arg is None:
        return Plan(errors=(graphql_error('Field "countdown" argument "from" is required.'),))
    if arg != "from":
        return Plan(errors=(graphql_error(f'Unknown argument "{arg}" on "countdown".'),))
    number: object = int(value) if value[0] != "$" else (variables or {}).get(value[1:])
    if type(number) is not int or not 0 <= number <= MAX_COUNTDOWN:
        return Plan(errors=(graphql_error(f'"from" must be an Int from 0 to {MAX_COUNTDOWN}.'),))
    return Plan(countdown=number)


def _optional_object(value: object) -> bool:
    return value is None or isinstance(value, dict)


def _invalid(data: object) -> str | None:
    """Why a decoded message is not a valid client message, or None."""
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return "Invalid message received"
    shape = SHAPES.get(data["type"])
    if shape is None:
        return f"Unexpected message type {data['type'][:40]!r}"
    required, optional = shape
    if not required <= data.keys() or not data.keys() <= required | optional:
        return f"Invalid {data['type']} message: wrong keys"
    if not _optional_object(data.get("payload")) and data["type"] != "subscribe":
        return f"Invalid {data['type']} message: payload must be an object or null"
    if "id" in data and (not isinstance(data["id"], str) or not data["id"]):
        return f"Invalid {data['type']} message: id must be a non-empty string"
    if data["type"] == "subscribe":
        payload = data["payload"]
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return "Invalid subscribe message: payload.query must be a string"
        if not payload.keys() <= SUBSCRIBE_PAYLOAD:
            return "Invalid subscribe message: unknown payload key"
        name = payload.get("operationName")
        if name is not None and not isinstance(name, str):
            return "Invalid subscribe message: operationName must be a string or null"
        if not all(_optional_object(payload.get(k)) for k in ("variables", "extensions")):
            return "Invalid subscribe message: variables must be an object or null"
    return None


@dataclass
class Connection:
    """One socket's protocol state."""

    websocket: WebSocket
    bugs: frozenset[str]
    init_timeout: float
    tick: float
    acked: bool = False
    active: dict[str, asyncio.Task[None]] = field(default_factory=dict)

    async def send(self, message: JSON) -> None:
        # json.dumps escapes non-ASCII, so an id with a lone surrogate still encodes.
        await self.websocket.send_text(json.dumps(message))

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.init_timeout
        while True:
            if self.acked:
                message = await self.websocket.receive()
            else:
                try:
                    message = await asyncio.wait_for(
                        self.websocket.receive(), deadline - loop.time()
                    )
                except TimeoutError:
                    raise ProtocolClose(4408, "Connection initialisation timeout") from None
            if message["type"] == "websocket.disconnect":
                return
            await self.handle(self.decode(message))

    def decode(self, message: Mapping[str, Any]) -> JSON:
        text = message.get("text")
        if text is None:
            raise ProtocolClose(4400, "Invalid message received: binary frame")
        try:
            data = json.loads(text)
        except ValueError:
            raise ProtocolClose(4400, "Invalid message received: not JSON") from None
        reason = _invalid(data)
        if reason is not None:
            raise ProtocolClose(4400, reason)
        assert isinstance(data, dict)  # _invalid() refused everything else
        return data

    async def handle(self, data: JSON) -> None:
        kind = data["type"]
        if kind == "connection_init":
            if self.acked:
                raise ProtocolClose(4429, "Too many initialisation requests")
            self.acked = True
            await self.send({"type": "connection_ack"})
        elif kind == "ping" or (kind == "pong" and "pong_answered" in self.bugs):
            if not self.acked and "ping_before_ack" in self.bugs:
                await self.send(
                    {"type": "error", "payload": [{"message": "connection not acknowledged"}]}
                )
                return
            pong: JSON = {"type": "pong"}
            if data.get("payload") is not None:
                pong["payload"] = data["payload"]
            await self.send(pong)
        elif kind == "subscribe":
            await self.subscribe(data["id"], data["payload"])
        elif kind == "complete":
            task = self.active.pop(data["id"], None)
            if task is not None and "stream_after_complete" not in self.bugs:
                task.cancel()
        # A pong (without the bug) is a heartbeat: nothing to do.

    async def subscribe(self, op_id: str, payload: JSON) -> None:
        if not self.acked:
            raise ProtocolClose(4401, "Unauthorized")
        if "second_subscribe_keyerror" in self.bugs:
            if self.active and not self.active[op_id].done():
                raise ProtocolClose(4409, f"Subscriber for {op_id} already exists")
        elif op_id in self.active:
            raise ProtocolClose(4409, f"Subscriber for {op_id} already exists")
        operation = plan(payload["query"], payload.get("variables"))
        if operation.errors:
            await self.send({"id": op_id, "type": "error", "payload": list(operation.errors)})
        elif operation.result is not None:
            # A single result needs no reservation: it is sent before the next message is read.
            await self.send({"id": op_id, "type": "next", "payload": operation.result})
            await self.send({"id": op_id, "type": "complete"})
        else:
            assert operation.countdown is not None
            task = asyncio.create_task(self.stream(op_id, operation.countdown))
            self.active[op_id] = task

    async def stream(self, op_id: str, start: int) -> None:
        try:
            for value in range(start, -1, -1):
                if value != start:
                    await asyncio.sleep(self.tick)
                await self.send(
                    {"id": op_id, "type": "next", "payload": {"data": {"countdown": value}}}
                )
            await self.send({"id": op_id, "type": "complete"})
        except (WebSocketDisconnect, RuntimeError):
            # The client left while we wrote (Starlette raises WebSocketDisconnected, a
            # RuntimeError, for a send once the socket is closing); the receive loop cleans up.
            pass
        finally:
            if self.active.get(op_id) is asyncio.current_task():
                del self.active[op_id]

    async def stop_all(self) -> None:
        tasks = list(self.active.values())
        self.active.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def make_app(
    *, bugs: frozenset[str] = frozenset(), init_timeout: float = 1.0, tick: float = 0.01
) -> Starlette:
    """The server; ``bugs`` switches planted bugs on (see the module docstring)."""
    unknown = bugs - BUGS
    if unknown:
        raise ValueError(f"unknown bugs: {sorted(unknown)}")

    async def graphql(websocket: WebSocket) -> None:
        if SUBPROTOCOL not in websocket.scope.get("subprotocols", []):
            await websocket.accept()
            await websocket.close(4406, "Subprotocol not acceptable")
            return
        await websocket.accept(subprotocol=SUBPROTOCOL)
        connection = Connection(websocket, bugs, init_timeout, tick)
        close: ProtocolClose | None = None
        try:
            await connection.run()
        except ProtocolClose as refusal:
            close = refusal
        except WebSocketDisconnect:
            pass
        finally:
            # Stop the operations before closing: a stream must not write after the close.
            await connection.stop_all()
        if close is not None:
            await websocket.close(close.code, limit_reason(close.reason))

    return Starlette(routes=[WebSocketRoute("/graphql", graphql)])


app = make_app()
buggy_app = make_app(bugs=BUGS)
