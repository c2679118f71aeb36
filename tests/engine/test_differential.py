"""Differential mode: the same case in-process and under a real server, disagreements named."""

from __future__ import annotations

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from tests.engine.probe_routes import compiled
from ws_routes.driver.transcript import Frame, Transcript
from ws_routes.driver.transport import Accepted, Rejected
from ws_routes.engine.conversation import Conversation, Step
from ws_routes.engine.differential import (
    compare_cases,
    differential_failure,
    disagreements,
    key_facts,
)
from ws_routes.engine.probes import build_probes

pytest.importorskip("uvicorn")
pytest.importorskip("websockets")


async def refuses(ws: WebSocket) -> None:
    await ws.close(4001)  # before accepting: a real server answers HTTP 403


async def echoes(ws: WebSocket) -> None:
    await ws.accept()
    while True:
        text = await ws.receive_text()
        await ws.send_text(text)


def _app(handler: object) -> Starlette:
    return Starlette(routes=[WebSocketRoute("/ws/echo", handler)])  # type: ignore[arg-type]


def test_a_close_before_accept_is_http_403_under_uvicorn() -> None:
    from ws_routes.driver.servers import parse_server

    route = compiled()
    cases = [("the baseline", Conversation(path="/ws/echo", steps=(Step("say", "text", "hi"),)))]
    found = compare_cases(_app(refuses), route, parse_server("uvicorn"), cases)
    assert [f.failure.message for f in found] == [
        "uvicorn answers this handshake with HTTP 403; in-process it was a close 4001 before "
        "accepting"
    ]
    failure = found[0].failure
    assert failure.check == "differential"
    assert dict(failure.details)["in-process"].startswith("handshake: a close 4001")


def test_an_app_both_sides_agree_on_has_no_finding() -> None:
    from ws_routes.driver.servers import parse_server

    route = compiled()
    probes = build_probes(route, None)
    cases = [(p.name, p) for p in probes]
    assert cases
    assert compare_cases(_app(echoes), route, parse_server("uvicorn"), cases) == []


def _transcript(close: int | None, reason: str = "", *, dropped: bool = False) -> Transcript:
    t = Transcript(route="/ws", path="/ws", handshake=Accepted())
    t.frames.append(Frame(direction="recv", kind="text", data="x"))
    if close is not None:
        t.frames.append(Frame(direction="server_close", code=close, reason=reason, dropped=dropped))
    return t


def test_a_dropped_connection_and_a_cut_reason_are_named() -> None:
    here, there = _transcript(1011), _transcript(1006, dropped=True)
    assert disagreements("uvicorn", key_facts(here), key_facts(there)) == [
        "uvicorn closes with 1006, no close frame (the connection dropped); in-process it was 1011"
    ]
    long, cut = _transcript(4000, "r" * 130), _transcript(4000, "r" * 123)
    assert disagreements("uvicorn-wsproto", key_facts(long), key_facts(cut)) == [
        "uvicorn-wsproto cuts the close reason to 123 bytes; in-process it was 130"
    ]


def test_a_refused_handshake_stops_the_comparison_there() -> None:
    here = Transcript(route="/ws", path="/ws", handshake=Accepted())
    there = Transcript(route="/ws", path="/ws", handshake=Rejected(status=500))
    failure = differential_failure("hypercorn", "the baseline", here, there)
    assert failure is not None
    assert failure.actual == (
        "hypercorn answers this handshake with HTTP 500; in-process it was accepted"
    )
    assert differential_failure("hypercorn", "x", here, here) is None


def test_a_disagreement_that_does_not_happen_again_is_not_reported() -> None:
    from ws_routes.driver.servers import parse_server

    connections = []

    async def once_odd(ws: WebSocket) -> None:
        # Only the second connection (the first one under the server) closes differently, as a
        # reply that came late on a loaded machine would make it differ once.
        connections.append(ws)
        await ws.accept()
        await ws.close(4000 if len(connections) == 2 else 1000)

    route = compiled()
    cases = [("the baseline", Conversation(path="/ws/echo"))]
    assert compare_cases(_app(once_odd), route, parse_server("uvicorn"), cases) == []
    assert len(connections) == 4  # played twice on each side


def test_a_refusal_on_both_sides_is_no_difference_but_one_on_the_server_alone_is() -> None:
    from ws_routes.driver.transport import AppError

    refused = _transcript(1011)
    refused.app_error = AppError(
        UnicodeEncodeError("utf-8", "\ud800", 0, 1, "surrogates not allowed"),
        "uvicorn refused the app's websocket.send: UnicodeEncodeError: ...\n",
    )
    raised_here = _transcript(1011)
    raised_here.app_error = AppError(RuntimeError("a real server raises"), "Traceback ...")
    assert disagreements("hypercorn", key_facts(raised_here), key_facts(refused)) == []
    assert disagreements("hypercorn", key_facts(_transcript(1011)), key_facts(refused)) == [
        "uvicorn refused the app's websocket.send: UnicodeEncodeError: ...; in-process that "
        "went through"
    ]


async def crashes(ws: WebSocket) -> None:
    await ws.accept()
    await ws.receive_text()
    raise ZeroDivisionError


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (
            "uvicorn",
            [
                "uvicorn closes with 1006, no close frame (the connection dropped); "
                "in-process it was 1011"
            ],
        ),
        ("hypercorn", []),  # hypercorn closes with 1011, as in-process
    ],
)
def test_a_crash_is_a_drop_under_uvicorn_and_a_1011_under_hypercorn(
    name: str, expected: list[str]
) -> None:
    from ws_routes.driver.servers import parse_server

    if name == "hypercorn":
        pytest.importorskip("hypercorn")
    cases = [("the case", Conversation(path="/ws/echo", steps=(Step("say", "text", "hi"),)))]
    found = compare_cases(_app(crashes), compiled(), parse_server(name), cases)
    assert [f.failure.message for f in found] == expected
