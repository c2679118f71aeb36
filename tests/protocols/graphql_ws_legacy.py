"""A server of the legacy GraphQL over WebSocket protocol (subscriptions-transport-ws, whose
subprotocol is named ``graphql-ws``), with a toy executor.

The protocol (subscriptions-transport-ws's PROTOCOL.md), as this server implements it on
``/graphql``:

- The client offers the ``graphql-ws`` subprotocol; without it the server accepts and closes at
  once with 1002 (what the reference server does).
- ``connection_init`` is answered ``connection_ack`` followed by one ``ka`` (keep-alive; with
  ``keep_alive`` set, another every that many seconds). A second one is acknowledged again.
- ``start`` runs an operation under the client's id: ``data`` messages, then ``complete``. A
  query (``{ hello }``) answers one ``data``; ``subscription { countdown(from: N) }`` streams
  N..0, ``tick`` seconds apart; an operation that does not validate answers ``data`` with
  ``errors`` then ``complete``; one that does not parse answers one ``error`` and nothing else.
  A ``start`` before ``connection_init`` answers ``error`` (not initialised); a ``start`` with the
  id of a running operation replaces it.
- ``stop`` stops that operation and answers its ``complete``; an unknown id is ignored.
  ``connection_terminate`` closes the socket (1000).
- The protocol never closes on bad input: a frame that is not JSON answers ``connection_error``;
  an unknown ``type`` or a malformed message answers ``error`` (with the message's id when it has
  a string one). As in graphql_transport_ws.py, an unknown key is malformed too, so "invalid"
  means exactly "does not match the client schemas" of specs/graphql-ws-legacy.yaml.

Planted bugs (``make_app(bugs=frozenset({...}))``; ``buggy_app`` has them all):

- ``stream_after_stop``: ``stop`` forgets the operation but never cancels its task, so ``data``
  keeps coming for the id the client stopped (and no ``complete`` answers the ``stop``).
- ``missing_complete``: a query's single ``data`` is never followed by ``complete``, so the
  client waits for the end of a stream that never comes.
- ``unknown_type_crash``: the dispatch table is indexed before the type is checked, so a
  message of an unknown ``type`` raises ``KeyError`` instead of being answered ``error``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

SUBPROTOCOL = "graphql-ws"
BUGS = frozenset({"stream_after_stop", "missing_complete", "unknown_type_crash"})
MAX_COUNTDOWN = 100

JSON = dict[str, Any]
# Message type -> its keys: (required, optional).
KEYS: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "connection_init": (frozenset({"type"}), frozenset({"payload"})),
    "start": (frozenset({"type", "id", "payload"}), frozenset()),
    "stop": (frozenset({"type", "id"}), frozenset()),
    "connection_terminate": (frozenset({"type"}), frozenset()),
}
START_KEYS = frozenset({"query", "variables", "operationName"})


class Terminate(Exception):
    """The client asked to end the connection."""


def execute(query: str, variables: object) -> tuple[str, Any]:
    """The toy executor: ("result", data), ("countdown", N), ("invalid", errors) for a document
    that does not validate, or ("syntax", message) for one that does not parse."""
    words = query.replace("{", " { ").replace("}", " } ").replace("(", " ( ").split()
    text = " ".join(words)
    if text in ("{ hello }", "query Q { hello }"):
        return "result", {"hello": "world"}
    if text.startswith("subscription") and text.endswith("}"):
        head, _, arguments = text.partition("countdown ( from:")
        if not arguments or head.count("{") != 1:
            return "invalid", [{"message": 'Cannot query field on type "Subscription".'}]
        value = arguments.removesuffix("}").strip().removesuffix(")").strip()
        number: object = value
        if value.startswith("$") and isinstance(variables, dict):
            number = variables.get(value[1:])
        elif value.lstrip("-").isdigit():
            number = int(value)
        if type(number) is not int or not 0 <= number <= MAX_COUNTDOWN:
            return "invalid", [{"message": f'"from" must be an Int from 0 to {MAX_COUNTDOWN}.'}]
        return "countdown", number
    if text.startswith(("{", "query")) and text.endswith("}"):
        return "invalid", [{"message": 'Cannot query field "nope" on type "Query".'}]
    return "syntax", "Syntax Error: expected a query or a subscription."


def malformed(data: object) -> str | None:
    """Why a decoded frame is not a valid client message, or None."""
    if not isinstance(data, dict) or not isinstance(data.get("type"), str):
        return "Invalid message!"
    keys = KEYS.get(data["type"])
    if keys is None:
        return "Invalid message type!"
    required, optional = keys
    if not required <= data.keys() or not data.keys() <= required | optional:
        return f"Invalid {data['type']} message: wrong keys"
    if "id" in data and (not isinstance(data["id"], str) or not data["id"]):
        return f"Invalid {data['type']} message: id must be a non-empty string"
    init_payload = data.get("payload") if data["type"] == "connection_init" else None
    if not (init_payload is None or isinstance(init_payload, dict)):
        return "Invalid connection_init message: payload must be an object"
    if data["type"] == "start":
        payload = data["payload"]
        if not isinstance(payload, dict) or not isinstance(payload.get("query"), str):
            return "Invalid start message: payload.query must be a string"
        if not payload.keys() <= START_KEYS:
            return "Invalid start message: unknown payload key"
        name, variables = payload.get("operationName"), payload.get("variables")
        if not (name is None or isinstance(name, str)):
            return "Invalid start message: operationName must be a string"
        if not (variables is None or isinstance(variables, dict)):
            return "Invalid start message: variables must be an object"
    return None


@dataclass
class Connection:
    """One socket's protocol state."""

    websocket: WebSocket
    bugs: frozenset[str]
    tick: float
    keep_alive: float | None
    initialised: bool = False
    operations: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    heartbeat: asyncio.Task[None] | None = None

    async def send(self, message: JSON) -> None:
        await self.websocket.send_text(json.dumps(message))

    async def error(self, op_id: object, message: str) -> None:
        reply: JSON = {"type": "error", "payload": {"message": message}}
        if isinstance(op_id, str) and op_id:
            reply["id"] = op_id
        await self.send(reply)

    async def run(self) -> None:
        handlers: dict[str, Callable[[JSON], Awaitable[None]]] = {
            "connection_init": self.init,
            "start": self.start,
            "stop": self.stop,
            "connection_terminate": self.terminate,
        }
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            try:
                data = json.loads(text) if text is not None else None
            except ValueError:
                await self.send({"type": "connection_error", "payload": {"message": "not JSON"}})
                continue
            if "unknown_type_crash" in self.bugs and isinstance(data, dict):
                handler = handlers[data.get("type")]  # the planted KeyError
            reason = malformed(data)
            if reason is not None:
                await self.error(data.get("id") if isinstance(data, dict) else None, reason)
                continue
            assert isinstance(data, dict)  # malformed() refused everything else
            handler = handlers[data["type"]]
            await handler(data)

    async def init(self, data: JSON) -> None:
        self.initialised = True
        await self.send({"type": "connection_ack"})
        await self.send({"type": "ka"})
        if self.keep_alive is not None and self.heartbeat is None:
            self.heartbeat = asyncio.create_task(self.beat(self.keep_alive))

    async def beat(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            await self.send({"type": "ka"})

    async def terminate(self, data: JSON) -> None:
        raise Terminate

    async def start(self, data: JSON) -> None:
        op_id, payload = data["id"], data["payload"]
        if not self.initialised:
            await self.error(op_id, "Connection not initialised")
            return
        previous = self.operations.pop(op_id, None)
        if previous is not None:
            previous.cancel()  # the reference server unsubscribes the old operation first
        kind, value = execute(payload["query"], payload.get("variables"))
        if kind == "syntax":
            await self.error(op_id, value)
        elif kind == "countdown":
            self.operations[op_id] = asyncio.create_task(self.countdown(op_id, value))
        else:
            body = {"data": value} if kind == "result" else {"data": None, "errors": value}
            await self.send({"id": op_id, "type": "data", "payload": body})
            if "missing_complete" not in self.bugs or kind != "result":
                await self.send({"id": op_id, "type": "complete"})

    async def countdown(self, op_id: str, start: int) -> None:
        try:
            for value in range(start, -1, -1):
                if value != start:
                    await asyncio.sleep(self.tick)
                payload = {"data": {"countdown": value}}
                await self.send({"id": op_id, "type": "data", "payload": payload})
            await self.send({"id": op_id, "type": "complete"})
        except (WebSocketDisconnect, RuntimeError):
            pass  # the client left while we wrote (see graphql_transport_ws.py); the loop sees it
        finally:
            if self.operations.get(op_id) is asyncio.current_task():
                del self.operations[op_id]

    async def stop(self, data: JSON) -> None:
        task = self.operations.pop(data["id"], None)
        if task is None or "stream_after_stop" in self.bugs:
            return
        task.cancel()
        await self.send({"id": data["id"], "type": "complete"})

    async def stop_all(self) -> None:
        tasks = [*self.operations.values(), *([self.heartbeat] if self.heartbeat else [])]
        self.operations.clear()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def make_app(
    *, bugs: frozenset[str] = frozenset(), tick: float = 0.01, keep_alive: float | None = None
) -> Starlette:
    """The server; ``bugs`` switches planted bugs on (see the module docstring)."""
    unknown = bugs - BUGS
    if unknown:
        raise ValueError(f"unknown bugs: {sorted(unknown)}")

    async def graphql(websocket: WebSocket) -> None:
        if SUBPROTOCOL not in websocket.scope.get("subprotocols", []):
            await websocket.accept()
            await websocket.close(1002)
            return
        await websocket.accept(subprotocol=SUBPROTOCOL)
        connection = Connection(websocket, bugs, tick, keep_alive)
        terminated = False
        try:
            await connection.run()
        except Terminate:
            terminated = True
        except WebSocketDisconnect:
            pass
        finally:
            # Stop the operations before closing: a stream must not write after the close.
            await connection.stop_all()
        if terminated:
            await websocket.close(1000)

    return Starlette(routes=[WebSocketRoute("/graphql", graphql)])


app = make_app()
buggy_app = make_app(bugs=BUGS)
