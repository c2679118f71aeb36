"""Replaying one conversation outside pytest, as failure reports tell users to."""

from __future__ import annotations

import io
import sys
import types
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ws_routes.engine.conversation import Conversation, Step
from ws_routes.errors import WsRoutesError
from ws_routes.report.render import replay_snippet
from ws_routes.report.replay import replay


async def chat(ws: WebSocket) -> None:
    await ws.accept(subprotocol=(ws.scope["subprotocols"] or [None])[0])
    try:
        while True:
            message = await ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            if message.get("bytes") is not None:
                await ws.send_bytes(message["bytes"])
                continue
            text = message["text"]
            if text == '{"type":"leave"}':
                continue  # BUG: leave is never acknowledged
            if text == "boom":
                raise ValueError("boom")
            await ws.send_text('{"type":"ack"}' if text.startswith("{") else text)
    except WebSocketDisconnect:
        pass


async def whoami(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text(
        f"{ws.path_params['room']}|{ws.query_params.get('lang')}|{ws.headers.get('x-trace')}"
    )
    message = await ws.receive()
    assert message["type"] == "websocket.disconnect"
    if message["code"] != 1000:
        await ws.close(code=4000)  # lost: the client is gone; the code only shows in the transcript


TICKETS = iter(range(10**6))


async def tickets(ws: WebSocket) -> None:
    """hello gets a new ticket; use crashes on a ticket this connection was not given."""
    await ws.accept()
    ticket = None
    try:
        while True:
            data = await ws.receive_json()
            if data["type"] == "hello":
                ticket = f"t{next(TICKETS)}"
                await ws.send_json({"type": "welcome", "ticket": ticket})
            elif data["type"] == "use" and data["ticket"] != ticket:
                await ws.close(4403)
                return
            elif data["type"] == "use":
                raise ValueError("a valid ticket, used")  # the bug the snippet must reproduce
    except WebSocketDisconnect:
        pass


APP = Starlette(
    routes=[
        WebSocketRoute("/ws/chat", chat),
        WebSocketRoute("/ws/rooms/{room}", whoami),
        WebSocketRoute("/ws/tickets", tickets),
    ]
)

SPEC = """\
routes:
  /ws/chat:
    messages:
      join: {kind: json, schema: {type: object}, reply: [ack]}
      leave: {kind: json, schema: {type: object}, reply: [ack]}
      say: {kind: text}
    replies:
      ack: {kind: json, schema: {type: object, required: [type], properties: {type: {const: ack}}}}
      echo: {kind: text}
  /ws/tickets:
    states: [new, welcome]
    opening: [hello]
    messages:
      hello: {kind: json, reply: [welcome], when: [new]}
      use: {kind: json, when: [welcome], use: {/ticket: ticket}}
    replies:
      welcome: {kind: json, goto: welcome, capture: {ticket: /ticket}}
"""


@pytest.fixture
def spec_file(tmp_path: Path) -> str:
    path = tmp_path / "ws-routes.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return str(path)


@pytest.fixture
def app_module(monkeypatch: pytest.MonkeyPatch) -> str:
    """The app importable as ``ws_routes_replay_app:app``, as a snippet names it."""
    module = types.ModuleType("ws_routes_replay_app")
    module.app = APP  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return f"{module.__name__}:app"


def test_replay_passing_conversation_prints_transcript() -> None:
    out = io.StringIO()
    transcript, failures = replay(APP, "/ws/chat", [("text", "hi"), ("bytes", b"\x01")], out=out)
    assert failures == []
    assert out.getvalue().splitlines() == [
        "! connect /ws/chat",
        "! handshake accepted",
        '> text "hi"    [text]',
        '< text "hi"    [undocumented]',
        "> bytes b'\\x01'    [bytes]",
        "< bytes b'\\x01'    [undocumented]",
        "x close 1000    [by client]",
        "",
        "all checks passed",
    ]
    assert transcript.messages_sent == 2


def test_replay_reports_failures_with_the_traceback(app_module: str) -> None:
    out = io.StringIO()
    _, failures = replay(app_module, "/ws/chat", [("text", "boom")], out=out)
    assert [f.check for f in failures] == ["no_server_error"]
    text = out.getvalue()
    assert "App traceback:" in text
    assert "ValueError: boom" in text
    assert "FAILED no_server_error: the app raised ValueError: boom" in text
    assert "all checks passed" not in text


def test_replay_with_a_spec_names_messages_and_checks_replies(spec_file: str) -> None:
    out = io.StringIO()
    transcript, failures = replay(
        APP,
        "/ws/chat",
        [("join", "json", {}), ("leave", "json", {"type": "leave"})],
        spec=spec_file,
        out=out,
    )
    assert transcript.route == "/ws/chat"
    assert [f.check for f in failures] == ["reply_expected"]
    assert failures[0].message == "no ack reply to message 1"
    assert '> json {"type": "leave"}    [leave]' in out.getvalue().splitlines()


def test_replay_snippet_from_a_report_reproduces_a_missing_reply(
    spec_file: str, app_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The failing conversation, as the runner would hand it to the report.
    conversation = Conversation(
        path="/ws/chat", steps=(Step("join", "json", {}), Step("leave", "json", {"type": "leave"}))
    )
    snippet = replay_snippet(app_module, conversation, spec=spec_file)
    exec(compile(snippet, "<snippet>", "exec"), {})
    assert "FAILED reply_expected: no ack reply to message 1" in capsys.readouterr().out


def test_replay_sends_a_burst_as_a_burst(spec_file: str) -> None:
    messages = [
        ("join", "json", {}, {"wait": False}),
        ("join", "json", {}),
    ]
    transcript, _ = replay(APP, "/ws/chat", messages, spec=spec_file, out=io.StringIO())
    assert [f.direction for f in transcript.frames[:3]] == ["send", "send", "recv"]


def test_replay_fills_the_handshake(spec_file: str) -> None:
    out = io.StringIO()
    transcript, failures = replay(
        APP,
        "/ws/rooms/r1",
        query=[("lang", "en")],
        headers=[("x-trace", "t1")],
        close_code=1001,
        spec=spec_file,
        out=out,
    )
    assert failures == []
    assert transcript.route == "/ws/rooms/{room}"
    assert [f.data for f in transcript.received] == ["r1|en|t1"]
    assert out.getvalue().splitlines()[:4] == [
        "! connect /ws/rooms/r1?lang=en",
        "      x-trace: t1",
        "! handshake accepted",
        '< text "r1|en|t1"    [undocumented]',
    ]
    assert "x close 1001    [by client]" in out.getvalue()


def test_replay_offers_subprotocols() -> None:
    out = io.StringIO()
    transcript, _ = replay(APP, "/ws/chat", subprotocols=["chat.v1"], out=out)
    assert transcript.subprotocols == ("chat.v1",)
    assert out.getvalue().splitlines()[:2] == [
        "! connect /ws/chat  subprotocols=['chat.v1']",
        "! handshake accepted (subprotocol 'chat.v1')",
    ]


def test_replay_rejects_an_unknown_kind() -> None:
    with pytest.raises(
        WsRoutesError, match="message kind must be one of json, text, bytes, got 'jsn'"
    ):
        replay(APP, "/ws/chat", [("jsn", {})], out=io.StringIO())


def test_replay_of_a_kind_the_spec_route_does_not_declare_is_a_clear_error(spec_file: str) -> None:
    # /ws/chat declares json and text messages, no bytes: a KeyError from deep inside the
    # conversation runner would tell the user nothing.
    with pytest.raises(WsRoutesError, match="bytes"):
        replay(APP, "/ws/chat", [("bytes", b"\x00")], spec=spec_file, out=io.StringIO())


def test_replay_of_an_unknown_message_name_is_a_clear_error(spec_file: str) -> None:
    with pytest.raises(WsRoutesError, match="joni"):
        replay(APP, "/ws/chat", [("joni", "json", {})], spec=spec_file, out=io.StringIO())


def test_replay_snippet_of_a_protocol_route_fills_in_this_run_s_values(
    spec_file: str, app_module: str, capsys: pytest.CaptureFixture[str]
) -> None:
    # The recorded ticket was the first run's; the replay's server hands out another one.
    conversation = Conversation(
        path="/ws/tickets",
        steps=(
            Step("hello", "json", {"type": "hello"}),
            Step("use", "json", {"type": "use", "ticket": "t-recorded"}),
        ),
    )
    snippet = replay_snippet(app_module, conversation, spec=spec_file)
    exec(compile(snippet, "<snippet>", "exec"), {})
    out = capsys.readouterr().out
    assert "FAILED no_server_error: the app raised ValueError: a valid ticket, used" in out
    assert "! state: welcome" in out
