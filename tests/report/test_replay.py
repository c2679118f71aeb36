"""Replaying one conversation outside pytest, as failure reports tell users to."""

from __future__ import annotations

import io
import re
import sys
import types
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ws_routes.compile.credentials import Redactor
from ws_routes.compile.route import compile_route
from ws_routes.driver.transcript import Failure
from ws_routes.engine.conversation import Conversation, Step
from ws_routes.engine.probe_base import Probe
from ws_routes.errors import WsRoutesError
from ws_routes.report import crashfiles
from ws_routes.report.render import replay_snippet
from ws_routes.report.replay import ReplayFailed, ReplayResult, play_in_app, replay, replay_file
from ws_routes.spec.loader import load_spec
from ws_routes.spec.model import RouteSpec, Settings


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
    _, failures = replay(app_module, "/ws/chat", [("text", "boom")], out=out, check=False)
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
        check=False,
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
    with pytest.raises(ReplayFailed, match="Check: reply_expected"):
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
    with pytest.raises(ReplayFailed) as raised:
        exec(compile(snippet, "<snippet>", "exec"), {})
    out = capsys.readouterr().out + str(raised.value)
    assert "no_server_error" in out
    assert "a valid ticket, used" in out
    assert "! state: welcome" in out
def test_replay_returns_a_result_and_raises_with_the_report_when_a_check_fails(
    app_module: str,
) -> None:
    passed = replay(APP, "/ws/chat", [("text", "hi")], out=io.StringIO())
    assert isinstance(passed, ReplayResult)
    assert passed.passed
    assert (passed.failures, passed.report) == ([], "")
    assert passed.conversation.steps == (Step("text", "text", "hi"),)
    transcript, failures = passed  # unpacks as replay() returned before
    assert (transcript, failures) == (passed.transcript, [])

    with pytest.raises(ReplayFailed) as raised:
        replay(app_module, "/ws/chat", [("text", "boom")], out=io.StringIO())
    failed = raised.value.result
    assert isinstance(raised.value, WsRoutesError)
    assert [f.check for f in failed.failures] == ["no_server_error"]
    # The message is the report pytest prints for the same failure.
    report = str(raised.value)
    assert report == failed.report
    assert report.splitlines()[:5] == [
        "=" * 60,
        "WEBSOCKET TEST FAILURE: /ws/chat",
        "=" * 60,
        "Error Type: server_error",
        "Check: no_server_error",
    ]
    assert '  > text "boom"    [text]' in report.splitlines()
    assert "ValueError: boom" in report


def test_a_hang_on_replay_is_a_failure_not_a_traceback() -> None:
    import time

    async def stuck(ws: WebSocket) -> None:
        await ws.accept()
        await ws.receive_text()
        time.sleep(1.5)  # blocks the event loop past the message timeout

    app = Starlette(routes=[WebSocketRoute("/ws/stuck", stuck)])
    spec = RouteSpec(path="/ws/stuck", settings=Settings(connection_timeout=1, message_timeout=0.3))
    route = compile_route(spec)
    transcript, failures, _ = play_in_app(
        app, route, Conversation(path="/ws/stuck", steps=(Step("t", "text", "x"),))
    )
    assert [f.check for f in failures] == ["no_hang"]
    assert transcript.messages_sent == 1


async def guarded(ws: WebSocket) -> None:
    """Serves anyone (the auth probe's finding), and crashes without the right token."""
    await ws.accept()
    if ws.query_params.get("token") != "s3cret-value":
        raise ValueError("no token")
    await ws.send_text("hello")
    await ws.receive()


async def open_door(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text("welcome")  # BUG: nobody is refused
    await ws.receive()


GUARDED_APP = Starlette(
    routes=[WebSocketRoute("/ws/guarded", guarded), WebSocketRoute("/ws/open", open_door)]
)
GUARDED_SPEC = """\
routes:
  /ws/guarded:
    auth: {query_param: token}
    replies: {hello: {kind: text}}
  /ws/open:
    auth: {query_param: token}
    replies: {welcome: {kind: text}}
"""


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with a spec and the app importable as ``ws_routes_guarded_app:app``."""
    (tmp_path / "ws-routes.yaml").write_text(GUARDED_SPEC, encoding="utf-8")
    module = types.ModuleType("ws_routes_guarded_app")
    module.app = GUARDED_APP  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    monkeypatch.chdir(tmp_path)
    return tmp_path


def save_crash(root: Path, route_path: str, saved: Conversation | Probe, secret: str) -> Path:
    route = load_spec(root / "ws-routes.yaml").route(route_path)
    assert route is not None
    failure = Failure(
        check="no_server_error", error_type="server_error", message="m", expected="e", actual="a"
    )
    conversation = saved.conversation if isinstance(saved, Probe) else saved
    return crashfiles.save(
        root,
        crashfiles.build(
            route=route,
            failure=failure,
            bug="bug",
            conversation=conversation,
            report="",
            redactor=Redactor([secret]),
            probe=saved if isinstance(saved, Probe) else None,
            app="ws_routes_guarded_app:app",
            spec="ws-routes.yaml",
        ),
    )


def test_replay_file_puts_a_redacted_credential_back_from_auth(project: Path) -> None:
    with_token = Conversation(path="/ws/guarded", query=(("token", "s3cret-value"),))
    path = save_crash(project, "/ws/guarded", with_token, "s3cret-value")
    assert "s3cret-value" not in path.read_text()
    with pytest.raises(WsRoutesError, match="credential was redacted"):
        replay_file(path)
    result = replay_file(path, auth="query:token:s3cret-value")
    assert result.passed
    assert result.conversation == with_token
    assert result.notes == ("the credential, redacted in the file, was taken from --auth",)


def test_replay_file_reports_as_pytest_does_with_the_file_to_replay(project: Path) -> None:
    path = save_crash(project, "/ws/guarded", Conversation(path="/ws/guarded"), "unused")
    with pytest.raises(ReplayFailed) as raised:
        replay_file(path)
    report = raised.value.result.report
    assert "Check: no_server_error" in report
    assert "ValueError: no token" in report
    lines = report.splitlines()
    assert lines[lines.index("Reproduce with:") + 1] == (
        "  ws-routes replay .ws-routes/crashes/ws-guarded-bug.json"
    )
    assert "      spec='ws-routes.yaml'," in lines
    # check=False returns the same result instead of raising.
    assert replay_file(path, check=False).report.startswith(report[:200])


def test_a_probe_replays_as_the_probe_it_was(project: Path) -> None:
    # Served without a credential: only the auth probe's judge calls that a failure.
    probe = Probe("auth", "auth: no credential", Conversation(path="/ws/open"), "refuse")
    path = save_crash(project, "/ws/open", probe, "unused")
    result = replay_file(path, check=False)
    assert [f.check for f in result.failures] == ["auth_enforced"]
    assert "Probe: auth: no credential" in result.report


def test_a_route_whose_spec_changed_is_replayed_with_a_note(project: Path) -> None:
    path = save_crash(project, "/ws/open", Conversation(path="/ws/open"), "unused")
    assert replay_file(path).notes == ()
    spec = project / "ws-routes.yaml"
    spec.write_text(spec.read_text().replace("welcome: {kind: text}", "welcome: {kind: json}"))
    with pytest.raises(ReplayFailed) as raised:
        replay_file(path)
    assert raised.value.result.notes == (
        "the spec of /ws/open changed since this crash file was written; replayed with the "
        "current one",
    )
    assert "Note: the spec of /ws/open changed" in raised.value.result.report


def test_the_readmes_replay_example_runs_as_documented(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    root = Path(__file__).resolve().parents[2]
    readme = (root / "README.md").read_text("utf-8")
    api = readme.split("\n## Python API\n", 1)[1].split("\n## ", 1)[0]
    (example,) = re.findall(r"```python\n(.*?)\n```", api, flags=re.S)
    monkeypatch.chdir(root / "examples")
    monkeypatch.syspath_prepend(str(root / "examples"))
    monkeypatch.delitem(sys.modules, "chat_app", raising=False)
    exec(compile(example, "README.md", "exec"), {})
    out = capsys.readouterr().out
    assert "WEBSOCKET TEST FAILURE: /ws/chat/{room}" in out
    assert "Check: no_server_error" in out


def registry_app() -> Starlette:
    """Crashes on a message while a socket whose client left is still registered."""
    sockets: list[WebSocket] = []

    async def room(ws: WebSocket) -> None:
        await ws.accept()
        sockets.append(ws)
        try:
            while True:
                await ws.receive_text()
                if any(s.client_state.name != "CONNECTED" for s in sockets if s is not ws):
                    raise RuntimeError("a socket that left")
                await ws.send_text("ok")
        except WebSocketDisconnect:
            pass

    return Starlette(routes=[WebSocketRoute("/ws/room", room)])


def test_earlier_connections_run_first_in_the_same_app() -> None:
    alone = replay(registry_app(), "/ws/room", [("text", "hi")], out=io.StringIO())
    assert alone.passed
    out = io.StringIO()
    result = replay(
        registry_app(),
        "/ws/room",
        [("text", "hi")],
        earlier=[{"path": "/ws/room", "messages": [("text", "first")]}],
        out=out,
        check=False,
    )
    assert [f.check for f in result.failures] == ["no_server_error"]
    printed = out.getvalue()
    assert printed.index("Connection 1 (earlier):") < printed.index("> text \"first\"")
    assert "Connection 2 (the failing case):" in printed
    with pytest.raises(WsRoutesError, match="earlier connection 1 must be a dict with a 'path'"):
        replay(registry_app(), "/ws/room", earlier=[{"messages": []}], out=io.StringIO())


def test_a_crash_file_with_earlier_connections_replays_them(tmp_path: Path) -> None:
    app = types.ModuleType("registry_app_module")
    app.app = registry_app()  # type: ignore[attr-defined]
    route = RouteSpec(path="/ws/room")
    final = Conversation(path="/ws/room", steps=(Step("text", "text", "hi"),))
    saved = crashfiles.save(
        tmp_path,
        crashfiles.build(
            route=route,
            failure=Failure(
                check="no_server_error",
                error_type="server_error",
                message="m",
                expected="e",
                actual="a",
                index=0,
            ),
            bug="no_server_error-RuntimeError-00000000",
            conversation=final,
            report="r",
            redactor=Redactor([]),
            earlier=(Conversation(path="/ws/room"),),
        ),
    )
    result = replay_file(saved, app=app.app, check=False)  # type: ignore[attr-defined]
    assert [f.check for f in result.failures] == ["no_server_error"]
    assert "Earlier connections (replayed first, in order):" in result.report
    assert "Connection 1 (earlier):" in result.report
    assert "earlier=[" in result.report  # the snippet replays it too
