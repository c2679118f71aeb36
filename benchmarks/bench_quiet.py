"""How long "no reply" takes to decide: a ``must_reject`` JSON-RPC route that ignores bad input.

The app is shaped like a JSON-RPC 2.0 server over WebSocket: a reader (the handler) parses each
frame and hands valid requests to a handler task; answers go through a writer task that waits on
the connection's outgoing queue, and a keepalive task sleeps for 30 s between pings. Invalid
messages (not JSON, wrong types, a missing ``method``) are silently ignored, which the spec's
``invalid.must_reject`` forbids: every mutant the route does not reject is a silence the driver
has to judge. With the app provably idle (its tasks wait on our ``receive()`` or on a queue only
the app itself can fill, nothing scheduled before the timeout), "no reply" is decided at once;
before that, each such silence waited out ``message_timeout`` because the writer and keepalive
tasks were still pending.

Runs the route through :class:`~ws_routes.engine.runner.RouteRunner` (probes, searches and
shrinking included) and prints the wall time, conversations and conversations/s, and the finding.
There is no setting for the old behaviour; ``BEFORE`` holds the figures of the same script at the
commit before the change. Figures only, no assertions (the machines are shared and noisy).

    python benchmarks/bench_quiet.py [--examples N] [--timeout SECONDS] [--seed N]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import time
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from ws_routes.compile.route import compile_route
from ws_routes.engine.runner import RouteRunner
from ws_routes.spec.model import (
    InvalidSpec,
    MessageSpec,
    ReplySpec,
    RouteSpec,
    Schema,
    Settings,
)

# Measured with this script at 40bfa10 (before "no reply" was decided by idleness), defaults
# (--examples 30 --timeout 2 --seed 1), on a shared 2-core machine: wall seconds, conversations.
BEFORE: tuple[float, int] = (54.5, 30)

METHODS = ("add", "echo")


async def jsonrpc(ws: WebSocket) -> None:
    await ws.accept()
    outgoing: asyncio.Queue[dict[str, Any]] = asyncio.Queue()

    async def writer() -> None:
        while True:
            await ws.send_json(await outgoing.get())

    async def keepalive() -> None:
        while True:
            await asyncio.sleep(30)
            outgoing.put_nowait({"jsonrpc": "2.0", "method": "ping"})

    async def handle(request: dict[str, Any]) -> None:
        params = request.get("params") or [0, 0]
        result = sum(params) if request["method"] == "add" else params
        if "id" in request:  # a notification gets no answer
            outgoing.put_nowait({"jsonrpc": "2.0", "id": request["id"], "result": result})

    tasks = {asyncio.create_task(writer()), asyncio.create_task(keepalive())}
    try:
        while (message := await ws.receive())["type"] != "websocket.disconnect":
            try:
                request = json.loads(message.get("text") or "")  # a binary frame too
            except ValueError:
                continue  # the bug: a parse error gets no -32700 answer
            if (
                isinstance(request, dict)
                and request.get("method") in METHODS
                and isinstance(request.get("params", []), list)
                and all(isinstance(p, int) for p in request.get("params", []))
            ):
                task = asyncio.create_task(handle(request))
                tasks.add(task)
                task.add_done_callback(tasks.discard)
            # else: an invalid request, silently ignored (no -32600 answer either)
    finally:
        for task in tasks:
            task.cancel()


APP = Starlette(routes=[WebSocketRoute("/rpc", jsonrpc)])

REQUEST = {
    "type": "object",
    "properties": {
        "jsonrpc": {"const": "2.0"},
        "id": {"type": "integer", "minimum": 0},
        "method": {"enum": list(METHODS)},
        "params": {"type": "array", "items": {"type": "integer"}, "maxItems": 3},
    },
    "required": ["jsonrpc", "id", "method"],
    "additionalProperties": False,
}
RESULT = {
    "type": "object",
    "properties": {"jsonrpc": {"const": "2.0"}, "id": {"type": "integer"}, "result": {}},
    "required": ["jsonrpc", "id", "result"],
}
ERROR = {
    "type": "object",
    "properties": {"jsonrpc": {"const": "2.0"}, "error": {"type": "object"}},
    "required": ["jsonrpc", "error"],
}


def route(timeout: float) -> RouteSpec:
    return RouteSpec(
        path="/rpc",
        messages=(
            MessageSpec(
                name="request", kind="json", schema=Schema(value=REQUEST), reply=("result",)
            ),
        ),
        replies=(
            ReplySpec(name="result", kind="json", schema=Schema(value=RESULT)),
            ReplySpec(name="error", kind="json", schema=Schema(value=ERROR), error=True),
        ),
        invalid=InvalidSpec(must_reject=True),
        settings=Settings(connection_timeout=timeout, message_timeout=timeout, max_messages=4),
    )


def run(examples: int, timeout: float, seed: int) -> tuple[float, int, list[str]]:
    runner = RouteRunner(APP, compile_route(route(timeout)), seed=seed, max_examples=examples)
    start = time.perf_counter()
    with contextlib.redirect_stdout(None):
        result = runner.run()
    elapsed = time.perf_counter() - start
    found = ["nothing found"]
    if result.failure is not None:
        failure = result.failure.failure
        found = [failure.message, f"expected: {failure.expected}", f"actual: {failure.actual}"]
    return elapsed, result.stats.connections, found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=30)
    parser.add_argument("--timeout", type=float, default=2.0, help="message_timeout, seconds")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    elapsed, conversations, found = run(args.examples, args.timeout, args.seed)
    print(
        f"must_reject JSON-RPC route, message_timeout {args.timeout} s, "
        f"{args.examples} examples, seed {args.seed}"
    )
    print(f"{'':8} {'seconds':>9} {'conversations':>14} {'conv/s':>9}")
    print(f"{'now':8} {elapsed:>9.1f} {conversations:>14,} {conversations / elapsed:>9.1f}")
    before_s, before_n = BEFORE
    print(
        f"{'before':8} {before_s:>9.1f} {before_n:>14,} {before_n / before_s:>9.1f}"
        "   (40bfa10, default arguments; every ignored mutant waited out the timeout)"
    )
    print("found: " + "\n       ".join(found))


if __name__ == "__main__":
    main()
