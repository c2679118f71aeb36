"""End-to-end speed: conversations per second through pytest, beside a raw ASGI baseline.

Writes a Starlette echo app into a temporary folder, runs ``pytest --routes-websocket`` on it
(conversations of up to five messages), and prints conversations/s and messages/s from the
plugin's own summary and the item's duration. The baseline, measured in the same run, is a bare
loop that drives the same app through the ASGI messages by hand: five messages per connection,
no generation, no checks. Beside them, in the same run, pytest-routes 0.4.1 (the existing tool)
tests the same route: it is installed with pip into the benchmark's own venv under the temporary
folder (``--no-pytest-routes`` skips it). Last, the JSON-RPC route of specs/jsonrpc.yaml
(``invalid.must_reject``) against tests/protocols/jsonrpc.py at a 2 s message timeout: it once
waited out the timeout for every unrejected mutant (534 s); the figure is its wall time. Figures
only; no assertions (the machines are shared and noisy).

    python benchmarks/bench_plugin.py [--examples N] [--no-pytest-routes] [--no-must-reject]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Awaitable, Callable, MutableMapping
from pathlib import Path
from typing import Any

APP = textwrap.dedent(
    """
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute

    async def echo(websocket):
        await websocket.accept()
        while True:
            message = await websocket.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("text") is not None:
                await websocket.send_text(message["text"])
            else:  # negative testing sends binary frames too
                await websocket.send_bytes(message["bytes"])

    app = Starlette(routes=[WebSocketRoute("/ws/echo", echo)])
    """
)

SPEC = textwrap.dedent(
    """
    version: 1
    app: "echo_app:app"
    routes:
      "/ws/echo":
        messages:
          say: {kind: text, reply: [echo]}
        replies:
          echo: {kind: text}
          echo_bytes: {kind: bytes}
    """
)

Message = MutableMapping[str, Any]


def raw_baseline(seconds: float = 2.0) -> float:
    """Five-message conversations/s driving the app by hand: the limit for this app."""
    sys.path.insert(0, str(WORK))
    from echo_app import app  # type: ignore[import-not-found]

    async def one() -> None:
        inbox: asyncio.Queue[Message] = asyncio.Queue()
        outbox: asyncio.Queue[Message] = asyncio.Queue()
        scope = {"type": "websocket", "path": "/ws/echo", "raw_path": b"/ws/echo", "query_string": b"",
                 "headers": [], "subprotocols": [], "asgi": {"version": "3.0"}, "root_path": ""}
        receive: Callable[[], Awaitable[Message]] = inbox.get
        task = asyncio.ensure_future(app(scope, receive, outbox.put))
        await inbox.put({"type": "websocket.connect"})
        await outbox.get()
        for i in range(5):
            await inbox.put({"type": "websocket.receive", "text": f"m{i}"})
            await outbox.get()
        await inbox.put({"type": "websocket.disconnect", "code": 1000})
        await task

    async def loop() -> float:
        count, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds:
            await one()
            count += 1
        return count / (time.perf_counter() - start)

    return asyncio.run(loop())


def plugin_run(examples: int) -> tuple[float, float, int, int]:
    # A first short run fills .hypothesis/unicode_data (seconds, once per folder): the figure is
    # the steady rate, not that one-off cost.
    warm = [sys.executable, "-m", "pytest", "--routes-websocket", "--routes-max-examples", "3", "-q"]
    subprocess.run(warm, cwd=WORK, capture_output=True, text=True, check=False)
    cmd = [
        sys.executable, "-m", "pytest", "--routes-websocket", "--routes-max-examples", str(examples),
        "--routes-ws-max-messages", "5", "--routes-seed", "1", "-p", "no:cacheprovider",
        "-q",
    ]
    out = subprocess.run(cmd, cwd=WORK, capture_output=True, text=True, check=False).stdout
    sequences = int(re.search(r"Sequences tested: ([\d,]+)", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    messages = int(re.search(r"Messages sent: ([\d,]+)", out).group(1).replace(",", ""))  # type: ignore[union-attr]
    # The route's own time (the summary's "Time:" line): generation, the app, checks and
    # shrinking, without pytest start-up and the plugin's one-off imports.
    duration = float(re.search(r"Time: ([\d.]+) s", out).group(1))  # type: ignore[union-attr]
    return sequences / duration, messages / duration, sequences, messages


def pytest_routes_run(examples: int) -> float | None:
    """pytest-routes 0.4.1's conversations/s on the same route, from its own venv (None: it
    could not be installed)."""
    venv = WORK / ".venv-bench"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    python = str(venv / "bin" / "python")
    install = [python, "-m", "pip", "install", "-q", "pytest-routes==0.4.1", "starlette", "httpx"]
    if subprocess.run(install, capture_output=True, text=True, check=False).returncode:
        return None
    cmd = [
        python, "-m", "pytest", "--routes", "--routes-websocket", "--routes-app", "echo_app:app",
        "--routes-max-examples", str(examples), "--routes-ws-max-messages", "5",
        "--routes-methods", "GET", "-p", "no:cacheprovider", "-q", "--durations=1",
    ]
    out = subprocess.run(cmd, cwd=WORK, capture_output=True, text=True, check=False).stdout
    # Its one WebSocket item's call: the conversations, without pytest start-up.
    found = re.search(r"([\d.]+)s call", out)
    return examples / float(found.group(1)) if found else None


def must_reject_run() -> tuple[float, int, str]:
    """Wall time, conversations and outcome of the must_reject JSON-RPC route at a 2 s timeout."""
    folder = WORK / "jsonrpc"
    folder.mkdir()
    (folder / "rpc_app.py").write_text((ROOT / "tests" / "protocols" / "jsonrpc.py").read_text())
    (folder / "ws-routes.yaml").write_text((ROOT / "specs" / "jsonrpc.yaml").read_text())
    (folder / "pytest.ini").write_text("[pytest]\n")
    cmd = [
        sys.executable, "-m", "pytest", "--routes-websocket", "--routes-app", "rpc_app:app",
        "--routes-ws-message-timeout", "2", "--routes-max-examples", "100", "--routes-seed", "1",
        "-p", "no:cacheprovider", "-q",
    ]
    start = time.perf_counter()
    done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - start
    sequences = re.search(r"Sequences tested: ([\d,]+)", done.stdout)
    count = int(sequences.group(1).replace(",", "")) if sequences else 0
    return elapsed, count, "passed" if done.returncode == 0 else f"exit {done.returncode}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=1000)
    parser.add_argument("--no-pytest-routes", action="store_true")
    # For the echo figure of an older ws_routes (run this script with its venv's python): the
    # JSON-RPC route needs the spec keys of today's.
    parser.add_argument("--no-must-reject", action="store_true")
    args = parser.parse_args()
    (WORK / "echo_app.py").write_text(APP)
    (WORK / "ws-routes.yaml").write_text(SPEC)
    (WORK / "pytest.ini").write_text("[pytest]\n")
    baseline = raw_baseline()
    conv_s, msg_s, sequences, messages = plugin_run(args.examples)
    print(f"raw ASGI loop, 5-message conversations: {baseline:10,.0f} conversations/s (the limit)")
    print(f"ws_routes through pytest:               {conv_s:10,.0f} conversations/s "
          f"({conv_s / baseline:.1%} of raw), {msg_s:,.0f} messages/s")
    print(f"  {sequences:,} conversations, {messages:,} messages "
          f"({messages / max(sequences, 1):.1f} per conversation; generation, checks and shrinking included)")
    print("  target: >= 300 five-message conversations/s (the existing tool: 20-30)")
    if not args.no_pytest_routes:
        # Fewer examples: it runs each conversation through Starlette's TestClient thread.
        theirs = pytest_routes_run(min(args.examples, 200))
        shown = "not installable here" if theirs is None else f"{theirs:10,.1f} conversations/s"
        print(f"pytest-routes 0.4.1, same route:        {shown}")
    if args.no_must_reject:
        return
    elapsed, count, outcome = must_reject_run()
    print(f"must_reject JSON-RPC route (specs/jsonrpc.yaml, 2 s timeout): {elapsed:.1f} s wall, "
          f"{count:,} conversations, {outcome} (once: 534 s; the target: under 60 s)")


WORK = Path(tempfile.mkdtemp(prefix="ws-routes-bench-"))
ROOT = Path(__file__).resolve().parents[1]

if __name__ == "__main__":
    main()
