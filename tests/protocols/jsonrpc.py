"""JSON-RPC 2.0 over WebSocket (``/ws/rpc``), with an ``initialize`` handshake as LSP has.

Each text frame is one JSON-RPC request, notification or batch; each response is one text frame.

- **Handshake.** The first request must be ``initialize`` (answered with ``serverInfo`` and the
  method list). Until then every other request gets the error -32002 ``Server not initialized``
  (LSP's code; the connection stays open, so a client can recover) and notifications are
  dropped. A second ``initialize`` gets -32600 ``Already initialized``.
- **Methods.** ``add(a, b)`` (numbers, by position or by name), ``echo(text)``, and
  ``sleep(ms)`` (0..50), which answers after an ``asyncio.sleep``: requests run concurrently,
  so a fast call sent after a slow one is answered first, each response with its request's id.
- **Notifications** (no ``id`` key) never get a response, not even an error.
- **Batches**: an array of calls gets one array of the responses to its requests (none at all
  when every call is a notification); an empty array is one -32600 error.
- **Errors**: -32700 for a frame that is not JSON (or is binary), -32600 for an invalid request
  object (``params`` that is not an array or object, ``params: null`` included: the spec says
  params MUST be structured), -32601 for an unknown method, -32602 for bad arguments. The
  response's ``id`` is the request's, or null when it could not be read.

Planted bugs (``make_app(bugs=frozenset({...}))``; ``buggy_app`` has them all):

- ``id_swap``: the id of "the current request" is kept per connection and read when the answer
  is sent. With two requests in flight (a ``sleep`` and anything after it, or two frames that
  arrive together) the earlier request's response carries the later one's id: the client sees
  one id answered twice and the other never.
- ``notification_answered``: notifications are answered like requests, with ``"id": null``
  (including the -32002 error before ``initialize``).
- ``batch_notifications_answered``: a batch of notifications only is answered with an empty
  array, which JSON-RPC 2.0 forbids (nothing at all must come back).
- ``params_null_crash``: ``params`` is not type-checked before it is unpacked, so
  ``"params": null`` (or a number) raises ``TypeError`` in the receive loop and the handler
  dies (close 1011 on a real server).
"""

from __future__ import annotations

import asyncio
import json
import math
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

BUGS = frozenset(
    {"id_swap", "notification_answered", "batch_notifications_answered", "params_null_crash"}
)
METHODS = ("initialize", "add", "echo", "sleep")
REQUEST_KEYS = frozenset({"jsonrpc", "method", "params", "id"})
MAX_SLEEP_MS = 50

JSON = dict[str, Any]
ABSENT = object()  # a notification's id: no response is sent


class RpcError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


def error_response(request_id: object, code: int, message: str) -> JSON:
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def _valid_id(value: object) -> bool:
    return value is None or isinstance(value, str) or (type(value) is int)


def _number(value: object) -> bool:
    # bool is an int in Python, but true is no number in JSON.
    return isinstance(value, int | float) and not isinstance(value, bool)


def _no_constants(name: str) -> object:
    raise ValueError(f"{name} is not JSON")  # json.loads would accept NaN and Infinity


@dataclass(frozen=True)
class Call:
    """A checked request: ``request_id`` is ABSENT for a notification."""

    request_id: object
    method: str
    args: tuple[Any, ...]
    kwargs: tuple[tuple[str, Any], ...]


@dataclass
class Session:
    websocket: WebSocket
    bugs: frozenset[str]
    initialized: bool = False
    current_id: object = None  # only the id_swap bug reads it
    tasks: set[asyncio.Task[None]] = field(default_factory=set)

    async def send(self, data: object) -> None:
        await self.websocket.send_text(json.dumps(data))

    async def run(self) -> None:
        while True:
            message = await self.websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            try:
                data = (
                    json.loads(text, parse_constant=_no_constants) if text is not None else ABSENT
                )
            except ValueError:
                data = ABSENT
            if data is ABSENT:
                await self.send(error_response(None, -32700, "Parse error"))
            elif isinstance(data, list):
                await self.batch(data)
            else:
                outcome = self.check(data)
                if isinstance(outcome, Call):
                    self.spawn(self.answer_one(outcome))
                elif outcome is not None:
                    await self.send(outcome)

    def spawn(self, coroutine: Any) -> None:
        task = asyncio.create_task(coroutine)
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def batch(self, items: list[Any]) -> None:
        if not items:
            await self.send(error_response(None, -32600, "Invalid Request: empty batch"))
            return
        # Checked here, in arrival order, so an initialize early in a batch counts for the rest.
        outcomes = [self.check(item) for item in items]
        self.spawn(self.answer_batch(outcomes))

    def check(self, data: object) -> Call | JSON | None:
        """A call to run, an error response to send now, or None (a dropped notification)."""
        if not isinstance(data, dict):
            return error_response(None, -32600, "Invalid Request")
        request_id = data.get("id", ABSENT)
        readable_id = request_id if _valid_id(request_id) else None
        method, params = data.get("method"), data.get("params", ABSENT)
        if (
            "params_null_crash" in self.bugs
            and params is not ABSENT
            and not isinstance(params, dict)
        ):
            params = list(params)  # the bug: TypeError on null
        if (
            data.get("jsonrpc") != "2.0"
            or not isinstance(method, str)
            or not data.keys() <= REQUEST_KEYS
            or (request_id is not ABSENT and not _valid_id(request_id))
            or (params is not ABSENT and not isinstance(params, (list, dict)))
        ):
            return error_response(readable_id, -32600, "Invalid Request")
        notification = request_id is ABSENT and "notification_answered" not in self.bugs
        answer_id = None if request_id is ABSENT else request_id
        if method == "initialize":
            response: JSON
            if self.initialized:
                response = error_response(answer_id, -32600, "Already initialized")
            else:
                self.initialized = True
                info = {"name": "ws-routes-jsonrpc-demo", "version": "1.0"}
                response = {
                    "jsonrpc": "2.0",
                    "id": answer_id,
                    "result": {"serverInfo": info, "methods": list(METHODS)},
                }
            return None if notification else response
        if not self.initialized:
            refusal = error_response(answer_id, -32002, "Server not initialized")
            return None if notification else refusal
        args = tuple(params) if isinstance(params, list) else ()
        kwargs = tuple(params.items()) if isinstance(params, dict) else ()
        self.current_id = answer_id
        return Call(ABSENT if notification else answer_id, method, args, kwargs)

    async def respond(self, call: Call) -> JSON | None:
        outcome: JSON
        try:
            outcome = {"result": await self.dispatch(call.method, call.args, dict(call.kwargs))}
        except RpcError as failure:
            outcome = {"error": {"code": failure.code, "message": failure.message}}
        if call.request_id is ABSENT:
            return None
        request_id = self.current_id if "id_swap" in self.bugs else call.request_id
        return {"jsonrpc": "2.0", "id": request_id, **outcome}

    async def answer_one(self, call: Call) -> None:
        response = await self.respond(call)
        if response is not None:
            with _quiet_disconnect():
                await self.send(response)

    async def answer_batch(self, outcomes: list[Call | JSON | None]) -> None:
        async def one(outcome: Call | JSON | None) -> JSON | None:
            return await self.respond(outcome) if isinstance(outcome, Call) else outcome

        responses = [r for r in await asyncio.gather(*map(one, outcomes)) if r is not None]
        if responses or "batch_notifications_answered" in self.bugs:
            with _quiet_disconnect():
                await self.send(responses)

    async def dispatch(self, method: str, args: tuple[Any, ...], kwargs: JSON) -> Any:
        if method == "add":
            a, b = _arguments(("a", "b"), args, kwargs)
            if not (_number(a) and _number(b)):
                raise RpcError(-32602, "Invalid params: a and b must be numbers")
            try:
                total = a + b
            except OverflowError:  # a huge int plus a float
                total = math.inf
            if isinstance(total, float) and not math.isfinite(total):
                raise RpcError(-32602, "Invalid params: the sum is not a finite number")
            return total
        if method == "echo":
            (text,) = _arguments(("text",), args, kwargs)
            if not isinstance(text, str):
                raise RpcError(-32602, "Invalid params: text must be a string")
            return text
        if method == "sleep":
            (ms,) = _arguments(("ms",), args, kwargs)
            if type(ms) is not int or not 0 <= ms <= MAX_SLEEP_MS:
                raise RpcError(
                    -32602, f"Invalid params: ms must be an integer from 0 to {MAX_SLEEP_MS}"
                )
            await asyncio.sleep(ms / 1000)
            return ms
        raise RpcError(-32601, "Method not found")

    async def stop_all(self) -> None:
        tasks = list(self.tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


def _arguments(names: tuple[str, ...], args: tuple[Any, ...], kwargs: JSON) -> tuple[Any, ...]:
    if kwargs:
        if set(kwargs) != set(names):
            raise RpcError(-32602, f"Invalid params: expected {', '.join(names)}")
        return tuple(kwargs[n] for n in names)
    if len(args) != len(names):
        raise RpcError(-32602, f"Invalid params: expected {len(names)} argument(s)")
    return args


class _quiet_disconnect:
    """The client may leave while an answer is under way: that answer is simply lost."""

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind: type[BaseException] | None, *_: object) -> bool:
        return kind is not None and issubclass(kind, WebSocketDisconnect)


def make_app(*, bugs: frozenset[str] = frozenset()) -> Starlette:
    """The server; ``bugs`` switches planted bugs on (see the module docstring)."""
    unknown = bugs - BUGS
    if unknown:
        raise ValueError(f"unknown bugs: {sorted(unknown)}")

    async def rpc(websocket: WebSocket) -> None:
        await websocket.accept()
        session = Session(websocket, bugs)
        try:
            await session.run()
        except WebSocketDisconnect:
            pass
        finally:
            await session.stop_all()

    return Starlette(routes=[WebSocketRoute("/ws/rpc", rpc)])


app = make_app()
buggy_app = make_app(bugs=BUGS)
