"""Reports: failure blocks, handshake lines, replay snippets, reproduce commands, the summary."""

from __future__ import annotations

import ast
import shlex
from typing import Any

import pytest

from ws_routes.driver.transcript import Failure, Frame, Transcript
from ws_routes.driver.transport import Accepted, AppError, HandshakeResult, Rejected
from ws_routes.engine.conversation import Client, Conversation, Step
from ws_routes.engine.stats import RouteStats
from ws_routes.report.render import (
    RULE,
    render_failure,
    render_handshake,
    render_internal_error,
    render_summary,
    replay_snippet,
    reproduce_command,
)


def transcript(*frames: Frame, handshake: HandshakeResult = None, **fields: Any) -> Transcript:
    t = Transcript(route="/ws/chat/{room}", path="/ws/chat/general", handshake=handshake, **fields)
    t.frames.extend(frames)
    t.messages_sent = len(t.sent)
    return t


SENT = Frame(direction="send", kind="json", data={"type": "leave"}, name="leave", index=1)
FAILURE = Failure(
    check="no_server_error",
    error_type="server_error",
    message="the app raised ValueError: x not in list",
    expected="the handler to handle every message without raising",
    actual="ValueError: x not in list",
    index=1,
    frame=SENT,
)


def failing_transcript() -> Transcript:
    return transcript(
        Frame(direction="send", kind="json", data={"type": "join"}, name="join", index=0),
        Frame(direction="recv", kind="json", data={"type": "ack"}, name="ack", index=0),
        SENT,
        Frame(direction="server_close", code=1011, index=1),
        handshake=Accepted(),
        query_string="token=tok-123",
        headers=(("authorization", "Bearer tok-123"),),
        app_error=AppError(
            ValueError("x not in list"),
            "Traceback (most recent call last):\nValueError: x not in list\n",
        ),
        app_error_index=1,
        elapsed_ms=12.345,
    )


# -- render_handshake ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handshake", "line"),
    [
        (Accepted(), "! handshake accepted"),
        (Accepted(subprotocol="chat.v1"), "! handshake accepted (subprotocol 'chat.v1')"),
        (
            Rejected(close_code=4001),
            "! handshake refused: close 4001 before accept (HTTP 403 on a real server)",
        ),
        (Rejected(status=401), "! handshake refused: HTTP 401"),
        (None, "! handshake no answer (neither accepted nor refused)"),
    ],
)
def test_render_handshake_results(handshake: HandshakeResult, line: str) -> None:
    assert render_handshake(transcript(handshake=handshake)).splitlines() == [
        "! connect /ws/chat/general",
        line,
    ]


def test_render_handshake_shows_query_subprotocols_and_headers() -> None:
    t = transcript(
        handshake=Accepted(),
        query_string="lang=en",
        subprotocols=("chat.v2", "chat.v1"),
        headers=(("x-trace", "1"), ("cookie", "a=b")),
    )
    assert render_handshake(t).splitlines() == [
        "! connect /ws/chat/general?lang=en  subprotocols=['chat.v2', 'chat.v1']",
        "      x-trace: 1",
        "      cookie: a=b",
        "! handshake accepted",
    ]


# -- render_failure --------------------------------------------------------------------------------


def test_render_failure_has_every_section_in_order() -> None:
    text = render_failure(
        FAILURE,
        failing_transcript(),
        reproduce_command="pytest --routes-websocket --routes-seed 7",
        snippet="from ws_routes import replay\n",
    )
    lines = text.splitlines()
    assert lines[:3] == [RULE, "WEBSOCKET TEST FAILURE: /ws/chat/{room}", RULE]
    assert lines[-1] == RULE
    expected_in_order = [
        "Error Type: server_error",
        "Check: no_server_error",
        "Message: the app raised ValueError: x not in list",
        "Failed at message index: 1",
        "Sent (json):",
        '  {"type": "leave"}',
        "Expected:",
        "  the handler to handle every message without raising",
        "Actual:",
        "  ValueError: x not in list",
        "Connection State: closed by the server",
        "Close Code: 1011",
        "Additional Context:",
        "  total_messages_sent: 2",
        '  last_response: < json {"type": "ack"}    [ack]',
        "  elapsed_time_ms: 12.3",
        "Transcript (2 message(s) sent, minimal after shrinking):",
        "  ! connect /ws/chat/general?token=tok-123",
        "        authorization: Bearer tok-123",
        "  ! handshake accepted",
        '  > json {"type": "join"}    [join]',
        '  < json {"type": "ack"}    [ack]',
        '  > json {"type": "leave"}    [leave]',
        "  x close 1011    [by server]",
        "App traceback:",
        "  Traceback (most recent call last):",
        "  ValueError: x not in list",
        "Reproduce with:",
        "  pytest --routes-websocket --routes-seed 7",
        "Or replay this exact conversation in Python:",
        "  from ws_routes import replay",
    ]
    position = 0
    for line in expected_in_order:
        assert line in lines[position:], f"{line!r} missing or out of order"
        position = lines.index(line, position) + 1


def test_render_failure_redacts_secrets_everywhere() -> None:
    text = render_failure(
        FAILURE,
        failing_transcript(),
        reproduce_command="pytest --routes-auth bearer:tok-123",
        snippet="replay(headers=[('authorization', 'Bearer tok-123')])",
        secrets=["tok-123", ""],
    )
    assert "tok-123" not in text
    assert "  pytest --routes-auth bearer:***" in text.splitlines()
    assert "        authorization: Bearer ***" in text.splitlines()


def test_render_failure_redacts_longer_secrets_first() -> None:
    text = render_failure(FAILURE, failing_transcript(), secrets=["tok", "tok-123"])
    assert "-123" not in text


def test_render_failure_without_index_frame_or_reproduction() -> None:
    failure = Failure(
        check="no_hang",
        error_type="timeout",
        message="the app neither accepted nor refused within 1.0 s",
        expected="websocket.accept or websocket.close during the handshake",
        actual="no answer",
    )
    lines = render_failure(failure, transcript(handshake=None)).splitlines()
    assert not any(
        line.startswith(("Failed at message index", "Sent (", "Reproduce")) for line in lines
    )
    assert "Close Code: None" in lines
    assert "Connection State: never opened (no answer to the handshake)" in lines
    assert "App traceback:" not in lines


def test_render_failure_of_a_probe_names_it_and_says_nothing_was_shrunk() -> None:
    security = Failure(
        check="auth_enforced",
        error_type="security",
        message="SECURITY: authentication not enforced: ...",
        expected="a refusal",
        actual="accepted, then replied",
        security=True,
    )
    lines = render_failure(security, failing_transcript(), probe="auth: no credential").splitlines()
    assert lines[1] == "WEBSOCKET TEST FAILURE: /ws/chat/{room}   [SECURITY]"
    assert lines[3:7] == [
        "Error Type: security",
        "Check: auth_enforced",
        "Probe: auth: no credential",
        "Message: SECURITY: authentication not enforced: ...",
    ]
    assert "Transcript (2 message(s) sent, a fixed probe, nothing to shrink):" in lines
    plain = render_failure(FAILURE, failing_transcript()).splitlines()
    assert not any(line.startswith("Probe:") for line in plain)


def test_render_failure_refused_handshake_shows_its_close_code_or_status() -> None:
    refused = render_failure(FAILURE, transcript(handshake=Rejected(close_code=4404)))
    assert "Close Code: 4404 (before accept; HTTP 403 on a real server)" in refused.splitlines()
    assert "Connection State: refused" in refused.splitlines()
    denied = render_failure(FAILURE, transcript(handshake=Rejected(status=401)))
    assert "Close Code: None (HTTP 401)" in denied.splitlines()


@pytest.mark.parametrize(
    ("frames", "state"),
    [
        ((Frame(direction="client_close", code=1000, index=0),), "closed by the client"),
        ((), "open"),
        ((Frame(direction="server_close", code=4000, index=0),), "closed by the server"),
        ((Frame(direction="abort", index=0),), "dropped by the client"),
    ],
)
def test_render_failure_connection_state(frames: tuple[Frame, ...], state: str) -> None:
    lines = render_failure(FAILURE, transcript(*frames, handshake=Accepted())).splitlines()
    assert f"Connection State: {state}" in lines


def test_render_failure_marks_invalid_messages_security_failures_and_details() -> None:
    frame = Frame(
        direction="send", kind="json", data={"n": "x"}, name="div", index=0, mutation="type at /n"
    )
    failure = Failure(
        check="close_code",
        error_type="security",
        message="m",
        expected="e",
        actual="a",
        index=0,
        frame=frame,
        security=True,
        details=(("origin", "https://evil.example"),),
    )
    lines = render_failure(
        failure, transcript(frame, handshake=Accepted()), extra=["", "Note: flaky"]
    ).splitlines()
    assert lines[1] == "WEBSOCKET TEST FAILURE: /ws/chat/{room}   [SECURITY]"
    assert "Sent (json) [invalid: type at /n]:" in lines
    assert "  origin: https://evil.example" in lines
    assert "Note: flaky" in lines


def test_render_failure_cuts_huge_payloads() -> None:
    frame = Frame(direction="send", kind="text", data="x" * 5000, name="say", index=0)
    failure = Failure(
        check="c", error_type="e", message="m", expected="e", actual="a", index=0, frame=frame
    )
    text = render_failure(failure, transcript(frame, handshake=Accepted()))
    sent_line = text.splitlines()[text.splitlines().index("Sent (text):") + 1]
    assert sent_line.endswith("… (5000 chars)")
    assert len(sent_line) < 2100


# -- replay_snippet --------------------------------------------------------------------------------


def conversation(**fields: Any) -> Conversation:
    defaults: dict[str, Any] = {
        "path": "/ws/chat/general",
        "steps": (
            Step("join", "json", {"type": "join", "nick": "é\n"}),
            Step("blob", "bytes", b"\x00\xff"),
            Step("ping", "text", 'say "hi"'),
        ),
    }
    return Conversation(**{**defaults, **fields})


def call_of(snippet: str) -> ast.Call:
    module = ast.parse(snippet)
    compile(module, "<snippet>", "exec")
    assert isinstance(module.body[0], ast.ImportFrom)
    assert module.body[0].module == "ws_routes"
    expression = module.body[1]
    assert isinstance(expression, ast.Expr)
    assert isinstance(expression.value, ast.Call)
    return expression.value


def test_replay_snippet_is_valid_python_with_the_exact_values() -> None:
    snippet = replay_snippet(
        "chat_app:app",
        conversation(
            query=(("lang", "en"),),
            headers=(("x-trace", "1"),),
            subprotocols=("chat.v1",),
            close_code=1001,
        ),
        spec="specs/chat.yaml",
    )
    call = call_of(snippet)
    assert [ast.literal_eval(a) for a in call.args] == ["chat_app:app", "/ws/chat/general"]
    keywords = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    messages = keywords.pop("messages")
    assert [m[-1] for m in messages] == [{"type": "join", "nick": "é\n"}, b"\x00\xff", 'say "hi"']
    assert [m[-2] for m in messages] == ["json", "bytes", "text"]
    assert keywords == {
        "query": [("lang", "en")],
        "headers": [("x-trace", "1")],
        "subprotocols": ["chat.v1"],
        "close_code": 1001,
        "spec": "specs/chat.yaml",
    }


def test_replay_snippet_names_the_message_types_it_sends() -> None:
    # Two json messages with different `reply` expectations: (kind, payload) pairs would make
    # the replay treat both as the first json message, and reply_expected would not reproduce.
    snippet = replay_snippet(
        "app:app",
        conversation(steps=(Step("join", "json", {}), Step("leave", "json", {}))),
        spec="ws-routes.yaml",
    )
    keywords = {k.arg: ast.literal_eval(k.value) for k in call_of(snippet).keywords}
    assert [m[0] for m in keywords["messages"]] == ["join", "leave"]


def test_replay_snippet_keeps_bursts_and_mutations() -> None:
    # Without the burst the second request is sent after the first one's reply: a correlation
    # bug that needs two requests in flight would not reproduce.
    steps = (
        Step("call", "json", {"id": 1}, wait=False),
        Step("call", "json", {"id": 1}, wait=False, mutation="duplicate_id"),
        Step("call", "json", {"id": 2}),
    )
    keywords = {
        k.arg: ast.literal_eval(k.value)
        for k in call_of(replay_snippet("app:app", conversation(steps=steps))).keywords
    }
    assert keywords["messages"] == [
        ("call", "json", {"id": 1}, {"wait": False}),
        ("call", "json", {"id": 1}, {"mutation": "duplicate_id", "invalid": False, "wait": False}),
        ("call", "json", {"id": 2}),
    ]


def test_replay_snippet_without_messages_or_options() -> None:
    call = call_of(replay_snippet("app:app", Conversation(path="/ws")))
    assert {k.arg: ast.literal_eval(k.value) for k in call.keywords} == {"messages": []}


# -- reproduce_command -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args",
    [
        ["-n", "2", "--routes-websocket"],
        ["-n2", "--routes-websocket"],
        ["-n=4", "--routes-websocket"],
        ["-nauto", "--routes-websocket"],
        ["--numprocesses", "auto", "--routes-websocket"],
        ["--numprocesses=3", "--routes-websocket"],
        ["--routes-seed", "99", "--routes-websocket"],
        ["--routes-seed=99", "--routes-websocket"],
        ["--hypothesis-seed", "5", "--routes-websocket"],
        ["--routes-ws-include", "/ws/*", "--routes-websocket"],
        ["--routes-ws-include=/ws/*", "--routes-websocket"],
    ],
)
def test_reproduce_command_strips_parallelism_seeds_and_selection(args: list[str]) -> None:
    command = reproduce_command(args, route="/ws/chat/{room}", seed=42)
    assert shlex.split(command) == [
        "pytest",
        "--routes-websocket",
        "--routes-ws-include",
        "/ws/chat/{room}",
        "--routes-seed",
        "42",
    ]


def test_reproduce_command_keeps_everything_else_and_quotes() -> None:
    args = [
        "tests/",
        "-k",
        "not slow",
        "--routes-app",
        "my app:app",
        "--routes-ws-exclude",
        "/ws/internal/*",
    ]
    command = reproduce_command(args, route="/ws/a b", seed=0)
    assert shlex.split(command) == [
        "pytest",
        *args,
        "--routes-ws-include",
        "/ws/a b",
        "--routes-seed",
        "0",
    ]
    assert "'not slow'" in command
    assert "'/ws/internal/*'" in command


# -- summary ---------------------------------------------------------------------------------------


def test_render_summary_sorted_with_counts_and_refusals() -> None:
    stats = [
        RouteStats(
            route="/ws/b",
            sequences=1200,
            messages=4567,
            connections=1190,
            refused=10,
            failures=1,
            outcome="FAILED",
        ),
        RouteStats(route="/ws/a", sequences=30, messages=99, connections=30, outcome="passed"),
    ]
    lines = render_summary(stats).splitlines()
    assert lines[:2] == ["ws_routes: WebSocket Test Summary", "=" * 37]
    assert lines[-1] == "=" * 37
    body = [line for line in lines if not line.startswith("  Time:")]
    assert body[2:-1] == [
        "Route: /ws/a   [passed]",
        "  Sequences tested: 30",
        "  Messages sent: 99",
        "  Connections established: 30",
        "  Failures: 0",
        "Route: /ws/b   [FAILED]",
        "  Sequences tested: 1,200",
        "  Messages sent: 4,567",
        "  Connections established: 1,190",
        "  Connections refused: 10",
        "  Failures: 1",
    ]


def test_render_summary_adds_one_line_of_the_nonzero_probe_and_negative_counts() -> None:
    stats = [
        RouteStats(
            route="/ws/a",
            sequences=100,
            negative=1037,
            handshake_cells=6,
            path_probes=2,
            auth_probes=3,
            aborts=12,
        ),
        RouteStats(route="/ws/b", sequences=5, origin_probes=1),
        RouteStats(route="/ws/c", sequences=5),
    ]
    lines = render_summary(stats).splitlines()
    assert (
        "  Negative cases: 1,037 · Handshake cells: 6 · Path probes: 2 · Auth probes: 3 · "
        "Aborted connections: 12"
    ) in lines
    assert "  Origin probes: 1" in lines
    c = lines.index("Route: /ws/c")
    assert lines[c + 1 : c + 5] == [
        "  Sequences tested: 5",
        "  Messages sent: 0",
        "  Connections established: 0",
        "  Failures: 0",
    ]


def test_route_stats_survive_json() -> None:
    stats = RouteStats(
        route="/ws/x",
        sequences=3,
        messages=4,
        connections=2,
        refused=1,
        failures=1,
        outcome="FAILED",
        elapsed_s=1.5,
        negative=7,
        aborts=2,
        handshake_cells=6,
        path_probes=1,
        auth_probes=3,
        origin_probes=1,
    )
    assert RouteStats.from_json(stats.to_json()) == stats


def test_traceback_lines_keeps_the_end_of_a_long_traceback() -> None:
    t = Transcript(route="/ws", path="/ws")
    t.app_error = AppError(KeyError("k"), "\n".join(f"line {i}" for i in range(20)))
    failure = Failure(
        check="no_server_error", error_type="server_error", message="m", expected="e", actual="a"
    )
    short = render_failure(failure, t, traceback_lines=3)
    assert "line 19" in short
    assert "line 17" in short
    assert "line 16" not in short
    assert "  ..." in short
    assert "line 0" in render_failure(failure, t)


def test_last_frame_keeps_only_the_innermost_frame_and_the_exception() -> None:
    # --tb=short: the app's traceback shrinks to where it raised.
    tb = (
        "Traceback (most recent call last):\n"
        '  File "/lib/starlette/routing.py", line 70, in app\n'
        "    await func(session)\n"
        '  File "/app/qs_app.py", line 21, in commands\n'
        "    return items[3]\n"
        "           ~~~~~^^^\n"
        "IndexError: list index out of range\n"
    )
    t = Transcript(route="/ws", path="/ws")
    t.app_error = AppError(IndexError("list index out of range"), tb)
    failure = Failure(
        check="no_server_error", error_type="server_error", message="m", expected="e", actual="a"
    )
    text = render_failure(failure, t, last_frame=True)
    block = text[text.index("App traceback:") :].splitlines()[1:6]
    assert block == [
        "  ...",
        '    File "/app/qs_app.py", line 21, in commands',
        "      return items[3]",
        "             ~~~~~^^^",
        "  IndexError: list index out of range",
    ]
    assert "routing.py" in render_failure(failure, t)


def test_render_summary_says_when_a_route_stopped_at_its_time_limit() -> None:
    stats = RouteStats(route="/ws", sequences=1234, outcome="passed", time_limited=True)
    assert "  Stopped at the time limit after 1,234 conversations" in render_summary([stats])
    assert "time limit" not in render_summary([RouteStats(route="/ws", sequences=5)])


def test_internal_error_report_says_it_is_ours_and_how_to_report_it() -> None:
    t = transcript(SENT, handshake=Accepted())
    text = render_internal_error(
        "/ws/chat/{room}",
        "Traceback (most recent call last):\n  ...\nZeroDivisionError: s3cret \ud800\n",
        t,
        reproduce_command="pytest --routes-websocket",
        snippet="replay(...)",
        secrets=["s3cret"],
    )
    lines = text.splitlines()
    assert lines[:3] == [RULE, "INTERNAL ERROR IN WS_ROUTES: /ws/chat/{room}", RULE]
    assert "this is a bug in ws_routes, not a" in lines[3]
    assert any("open an issue on the ws_routes tracker" in line for line in lines)
    assert "  ZeroDivisionError: *** \\ud800" in lines  # redacted and printable
    assert '  > json {"type": "leave"}    [leave]' in lines
    assert lines[-4:] == [
        "  pytest --routes-websocket",
        "Or replay this exact conversation in Python:",
        "  replay(...)",
        RULE,
    ]


def test_huge_tracebacks_and_payloads_are_cut_in_reports() -> None:
    sent = Frame(direction="send", kind="text", data="s" * 10**6, name="say", index=0)
    error = AppError(ValueError("x"), "Traceback:\nValueError: " + "v" * 10**6 + "\n")
    text = render_failure(replace_frame(FAILURE, sent), transcript(sent, app_error=error))
    assert len(text) < 20_000
    assert "… (1000012 chars)" in text


def replace_frame(failure: Failure, frame: Frame) -> Failure:
    from dataclasses import replace

    return replace(failure, frame=frame)


def test_over_the_network_a_refusal_prints_the_servers_handshake_response() -> None:
    refused = Rejected(
        status=401,
        reason="Unauthorized",
        headers=(("www-authenticate", "Bearer"), ("content-length", "8")),
        body=b"no token",
    )
    assert render_handshake(transcript(handshake=refused, over_network=True)).splitlines() == [
        "! connect /ws/chat/general",
        "! handshake refused: HTTP 401 Unauthorized",
        "      www-authenticate: Bearer",
        "      content-length: 8",
        "      body: b'no token'",
    ]
    garbage = Rejected(status=0, reason="InvalidMessage: did not receive a valid HTTP response")
    assert render_handshake(transcript(handshake=garbage, over_network=True)).splitlines()[1] == (
        "! handshake no valid HTTP response (InvalidMessage: did not receive a valid HTTP response)"
    )


def test_a_failure_over_the_network_says_what_its_findings_rest_on() -> None:
    failure = Failure(check="no_server_error", error_type="server_error", message="m", expected="e", actual="a")
    lines = render_failure(failure, transcript(handshake=Accepted(), over_network=True)).splitlines()
    assert "Over the network: findings rest on what a client can see" in lines
    assert "Over the network" not in render_failure(failure, transcript(handshake=Accepted()))


def test_replay_snippet_runs_earlier_connections_first() -> None:
    earlier = (
        Conversation(path="/ws/chat/a"),
        Conversation(
            path="/ws/chat/b",
            query=(("lang", "en"),),
            steps=(Step("say", "text", "hi"),),
            close_code=None,
        ),
    )
    call = call_of(replay_snippet("chat_app:app", conversation(), earlier=earlier))
    keywords = {k.arg: ast.literal_eval(k.value) for k in call.keywords}
    assert keywords["earlier"] == [
        {"path": "/ws/chat/a"},
        {
            "path": "/ws/chat/b",
            "query": [("lang", "en")],
            "close_code": None,
            "messages": [("say", "text", "hi")],
        },
    ]


def test_replay_snippet_keeps_every_client_and_a_transcript_labels_them() -> None:
    steps = (Step("", "text", None, client=1, leave="close"), Step("say", "text", "hi"))
    others = (Client(path="/ws/chat/other", joins=1),)
    keywords = {
        k.arg: ast.literal_eval(k.value)
        for k in call_of(
            replay_snippet("app:app", conversation(steps=steps, clients=others))
        ).keywords
    }
    assert keywords["messages"] == [
        ("", "text", None, {"client": 2, "leave": "close"}),
        ("say", "text", "hi"),
    ]
    assert keywords["clients"] == [{"path": "/ws/chat/other", "joins": 1}]
    first = Transcript(route="/ws", path="/ws")
    first.others.append(Transcript(route="/ws", path="/ws", client=1))
    first.timeline += [
        (1, Frame(direction="send", kind="text", data="a", name="say")),
        (0, Frame(direction="recv", kind="text", data="a", name="said")),
    ]
    assert first.render() == [
        'client 2 > text "a"    [say]',
        'client 1 < text "a"    [said]',
    ]
