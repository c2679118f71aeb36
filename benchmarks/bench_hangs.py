"""How long hostile apps take to be reported: hangs against the configured timeouts, app faults.

Writes an app with one hostile route per scenario (plus a healthy echo route, which must still
run and pass) into a temporary folder and runs ``pytest --routes-websocket`` on each scenario,
printing the wall time, the outcome line and the finding's message. Figures only, no
assertions (the machines are shared and noisy).

    python benchmarks/bench_hangs.py [--examples N]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

APP = textwrap.dedent(
    """
    import asyncio, os, re, time
    from starlette.applications import Starlette
    from starlette.routing import WebSocketRoute

    async def echo(ws):
        await ws.accept()
        while (m := await ws.receive())["type"] != "websocket.disconnect":
            await ws.send_text(m.get("text") or "")

    async def blocks_after_accept(ws):
        await ws.accept()
        time.sleep(1000)

    async def blocks_before_accept(ws):
        time.sleep(1000)

    async def sleeps_10s(ws):
        await ws.accept()
        time.sleep(10)
        await ws.close()

    async def never_accepts(ws):
        await asyncio.Event().wait()

    async def ignores_close(ws):
        await ws.accept()
        while (await ws.receive())["type"] != "websocket.disconnect":
            pass
        await asyncio.Event().wait()

    async def keyboard_interrupt(ws):
        await ws.accept()
        raise KeyboardInterrupt

    async def os_exit(ws):
        await ws.accept()
        os._exit(3)

    async def holds_the_gil(ws):
        await ws.accept()
        re.match(r"(a+)+$", "a" * 40 + "b")  # C code that never releases the GIL

    ROUTE = os.environ["BENCH_ROUTE"]
    app = Starlette(routes=[WebSocketRoute("/ws/a", globals()[ROUTE]), WebSocketRoute("/ws/z", echo)])
    """
)

# (handler, extra pytest arguments)
SCENARIOS: list[tuple[str, tuple[str, ...]]] = [
    ("blocks_after_accept", ("--routes-ws-timeout", "3")),
    ("blocks_before_accept", ("--routes-ws-timeout", "3")),
    ("sleeps_10s", ("--routes-ws-message-timeout", "2")),
    ("never_accepts", ()),
    ("ignores_close", ()),
    ("keyboard_interrupt", ()),
    ("os_exit", ()),
    ("holds_the_gil", ("--routes-ws-message-timeout", "2")),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=20)
    parser.add_argument("--limit", type=float, default=300.0, help="seconds per scenario")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        (root / "app.py").write_text(APP, encoding="utf-8")
        (root / "tox.ini").write_text("[pytest]\n", encoding="utf-8")
        for handler, extra in SCENARIOS:
            command = [
                sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:xdist",
                "--routes-websocket", "--routes-app", "app:app", "--routes-seed", "1",
                "--routes-max-examples", str(args.examples), *extra,
            ]  # fmt: skip
            started = time.perf_counter()
            try:
                done = subprocess.run(
                    command,
                    cwd=root,
                    env={**os.environ, "BENCH_ROUTE": handler},
                    capture_output=True,
                    text=True,
                    timeout=args.limit,
                )
                out, code = done.stdout, str(done.returncode)
            except subprocess.TimeoutExpired:
                out, code = "", f"killed after {args.limit:.0f} s"
            wall = time.perf_counter() - started
            lines = out.splitlines()
            outcome = next((line.strip("= ") for line in reversed(lines) if " in " in line), "")
            message = next((line for line in lines if line.startswith("Message:")), "")
            print(f"{handler:22} {' '.join(extra):30} {wall:6.1f} s  exit {code}  {outcome}")
            if message:
                print(f"{'':22} {message[:150]}")


if __name__ == "__main__":
    main()
