"""Acceptance: conversations of several clients, on the room chat server of tests/protocols.

The server (tests/protocols/rooms.py) runs as the inner run's ``app.py`` under its spec
(``clients: {max: 3}``, ``message`` delivered to the others of the same room): the correct
version passes; ``stale_member`` (a member who left is still broadcast to) is found with a
minimal case of two clients, whose crash file reproduces it in a fresh process
(``ws-routes replay``); ``cross_room`` (a message reaching another room) is found by the
non-delivery check.

One seed by default (each run takes seconds: shrinking multi-client cases); seeds 1-3 with
WS_ROUTES_SLOW_TESTS=1.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SEEDS, RunRoutes

PROTOCOLS = Path(__file__).parent.parent / "protocols"


def _run(run_routes: RunRoutes, bugs: frozenset[str], seed: str, *args: str) -> pytest.RunResult:
    source = (PROTOCOLS / "rooms.py").read_text(encoding="utf-8")
    app = f"{source}\napp = make_app(bugs=frozenset({sorted(bugs)!r}))\n"
    spec = (PROTOCOLS / "rooms.yaml").read_text(encoding="utf-8")
    spec = spec.replace('app: "tests.protocols.rooms:app"', 'app: "app:app"')
    args = ("--routes-websocket", "--routes-seed", seed, *args)
    return run_routes(app, *args, spec=spec, defaults=False)


def _clients(transcript: list[str]) -> set[str]:
    return {m.group(1) for line in transcript if (m := re.match(r"\s*client (\d+) ", line))}


@pytest.mark.parametrize("seed", SEEDS)
def test_the_correct_room_server_passes(run_routes: RunRoutes, seed: str) -> None:
    # Half the spec's conversations: the false-alarm guard within the suite's time budget.
    result = _run(run_routes, frozenset(), seed, "--routes-max-examples", "100")
    out = result.stdout.str()
    assert result.ret == 0, out
    # Several clients did connect: the summary counts every client's connection.
    sequences = int(re.search(r"Sequences tested: (\d+)", out).group(1))  # type: ignore[union-attr]
    connections = int(re.search(r"Connections established: (\d+)", out).group(1))  # type: ignore[union-attr]
    assert connections > sequences, out


@pytest.mark.parametrize("seed", SEEDS)
def test_a_member_who_left_and_is_still_broadcast_to_is_found_with_two_clients(
    run_routes: RunRoutes, seed: str, pytester: pytest.Pytester
) -> None:
    result = _run(run_routes, frozenset({"stale_member"}), seed)
    out = result.stdout.str()
    assert result.ret == 1, out
    assert "Check: no_server_error" in out, out
    assert "the app raised WebSocketDisconnect" in out, out
    report = out.split("WEBSOCKET TEST FAILURE", 2)[1]
    transcript = report.split("Transcript (", 1)[1].split("\n\n", 1)[0].splitlines()
    # The minimal case: two clients, one of them leaving before the other speaks.
    assert _clients(transcript) == {"1", "2"}, report
    assert any("x close" in line or "x abort" in line for line in transcript), report
    # Its crash file (the one its report names) replays it in a fresh process.
    named = re.search(r"ws-routes replay (\S+\.json)", report)
    assert named is not None, report
    crash = pytester.path / named.group(1)
    saved = json.loads(crash.read_text(encoding="utf-8"))
    assert len(saved["conversation"]["clients"]) == 1
    replayed = subprocess.run(
        [sys.executable, "-m", "ws_routes", "replay", str(crash)],
        cwd=pytester.path,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert replayed.returncode == 1, replayed.stdout + replayed.stderr
    assert "client 2 > json" in replayed.stdout, replayed.stdout
    assert "1 of 1 crash file(s) still fail" in replayed.stderr, replayed.stderr


def test_a_message_reaching_another_room_is_found(run_routes: RunRoutes) -> None:
    result = _run(run_routes, frozenset({"cross_room"}), "1", "--routes-max-examples", "60")
    out = result.stdout.str()
    assert result.ret == 1, out
    assert "Check: non_delivery" in out, out
    assert re.search(r"client \d \(on /rooms/\S+\) received 'message'", out), out
