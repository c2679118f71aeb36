"""no_server_error, no_hang and flood: positive and negative cases on hand-built transcripts."""

from __future__ import annotations

import pytest

from tests.engine.checks.builders import (
    MUTANT,
    VALID,
    WebSocketDisconnect,
    app_error,
    checks,
    client_close,
    negative_conversation,
    received,
    route,
    run,
    sent,
    server_close,
    transcript,
)
from ws_routes.driver.transcript import Frame
from ws_routes.driver.transport import Rejected
from ws_routes.engine.checks import evaluate
from ws_routes.spec.model import InvalidSpec, Settings

# -- no_server_error -------------------------------------------------------------------------------


def test_app_error_during_the_conversation_is_a_server_error() -> None:
    t = transcript(
        sent(0, "x"),
        server_close(1011),
        app_error=app_error(ValueError("bad")),
        app_error_index=0,
        app_error_phase="conversation",
    )
    failures = run(t)
    assert checks(failures) == ["no_server_error"]  # one failure, not one per symptom
    (failure,) = failures
    assert failure.error_type == "server_error"
    assert failure.message == "the app raised ValueError: bad"
    assert failure.actual == "ValueError: bad"
    assert failure.index == 0
    assert failure.frame is not None
    assert failure.frame.data == "x"


@pytest.mark.parametrize("code", [1011, 4500])
def test_internal_error_close_codes_are_server_errors(code: int) -> None:
    t = transcript(sent(0), server_close(code, "Internal Server Error"))
    (failure,) = run(t)
    assert failure.check == "no_server_error"
    assert failure.actual == f"connection closed with code {code} ('Internal Server Error')"
    assert failure.index == 0


def test_handshake_http_500_is_a_server_error() -> None:
    (failure,) = run(transcript(handshake=Rejected(status=500)))
    assert (failure.check, failure.actual) == ("no_server_error", "HTTP 500")


def test_handshake_http_403_is_not_a_server_error() -> None:
    assert "no_server_error" not in checks(run(transcript(handshake=Rejected(status=403))))


def test_protocol_errors_are_reported_as_server_errors() -> None:
    t = transcript(sent(0), protocol_errors=["'websocket.send' before the handshake", "again"])
    (failure,) = run(t)
    assert failure.check == "no_server_error"
    assert failure.error_type == "protocol_violation"
    assert failure.actual == "'websocket.send' before the handshake"


def test_disabling_no_server_error_silences_errors_and_protocol_errors() -> None:
    r = route(settings=Settings(checks={"no_server_error": False}))
    t = transcript(
        sent(0),
        server_close(1011),
        app_error=app_error(ValueError("bad")),
        app_error_phase="conversation",
        protocol_errors=["bad message"],
    )
    assert run(t, r) == []


def test_websocket_disconnect_mid_conversation_is_still_a_server_error() -> None:
    t = transcript(
        sent(0),
        server_close(1011),
        app_error=app_error(WebSocketDisconnect()),
        app_error_phase="conversation",
    )
    assert checks(run(t)) == ["no_server_error"]


def test_task_errors_while_connected_are_server_errors() -> None:
    error = app_error(KeyError("user"))
    failures = run(transcript(sent(0), client_close(), task_errors=[(error, False)]))
    assert checks(failures) == ["no_server_error"]


def test_failures_about_an_exception_carry_it_as_their_cause() -> None:
    error = app_error(KeyError("x"))
    t = transcript(sent(0), app_error=error, app_error_index=0, app_error_phase="conversation")
    (failure,) = run(t)
    assert failure.cause is error
    leak = transcript(sent(0), client_close(), leaked_tasks=["pump"])
    (leaked,) = run(leak)
    assert leaked.check == "disconnect"
    assert leaked.cause is None


def test_closing_with_an_allowed_code_then_raising_is_a_refusal_of_invalid_input() -> None:
    # Starlette's WebSocketEndpoint: close 1003, then RuntimeError("Malformed JSON data received.")
    r = route(invalid=InvalidSpec(close_codes=(1003,)))
    error = app_error(RuntimeError("Malformed JSON data received."))
    refused = transcript(
        sent(0, b"\x00", kind="bytes", mutation=MUTANT.mutation),
        server_close(1003, index=0),
        app_error=error,
        app_error_index=0,
        app_error_phase="conversation",
    )
    assert evaluate(r, negative_conversation(MUTANT), refused) == []
    # After a valid message, the same is a crash.
    crashed = transcript(
        sent(0), server_close(1003, index=0), app_error=error, app_error_index=0,
        app_error_phase="conversation",
    )
    assert checks(evaluate(r, negative_conversation(VALID), crashed)) == ["no_server_error"]
    # And so is raising without having closed first.
    raised = transcript(
        sent(0, b"\x00", kind="bytes", mutation=MUTANT.mutation),
        server_close(1011, index=0),
        app_error=error,
        app_error_index=0,
        app_error_phase="conversation",
    )
    assert checks(evaluate(r, negative_conversation(MUTANT), raised)) == ["invalid_input"]


# -- no_hang ---------------------------------------------------------------------------------------


def test_no_handshake_answer_is_a_hang() -> None:
    r = route(settings=Settings(connection_timeout=0.5))
    (failure,) = run(transcript(handshake=None), r)
    assert failure.check == "no_hang"
    assert failure.message == "the app neither accepted nor refused within 0.5 s"
    assert failure.index is None


def test_app_not_stopping_after_close_is_a_hang() -> None:
    t = transcript(sent(0), sent(1), client_close(index=1), app_stopped=False)
    (failure,) = run(t)
    assert failure.check == "no_hang"
    assert failure.index == 1
    assert "did not stop" in failure.message


# -- flood -----------------------------------------------------------------------------------------


def test_a_flood_is_a_finding_of_its_own() -> None:
    t = transcript(sent(0), received(0, "tick", kind="text"))
    t.dropped_frames, t.dropped_bytes, t.kept_bytes = 2, 100 * 2**20, 4
    (failure,) = run(t)
    assert failure.check == "flood"
    assert failure.error_type == "resource_exhaustion"
    assert failure.message.startswith("the server sent 3 frames (100.0 MiB) in one conversation")
    assert failure.actual == "2 frame(s) (104,857,600 bytes/chars) beyond that, counted but not kept"
    assert run(t, route(settings=Settings(checks={"flood": False}))) == []


def test_a_drop_over_the_network_is_a_server_error_not_a_missing_close() -> None:
    drop = Frame(direction="server_close", code=1006, dropped=True, index=0)
    (failure,) = run(transcript(sent(0), drop, over_network=True))
    assert (failure.check, failure.error_type) == ("no_server_error", "server_error")
    assert failure.message == "the server dropped the connection without a close frame"
    # In-process the same drop is a handler that returned without closing: its own check.
    assert checks(run(transcript(sent(0), drop))) == ["close_before_return"]


def test_a_frame_the_client_refused_is_named_in_the_finding() -> None:
    what = "the server sent a frame that breaks the WebSocket protocol (reserved opcode)"
    drop = Frame(direction="server_close", code=1006, reason=what, dropped=True, index=0)
    t = transcript(sent(0), drop, over_network=True, protocol_errors=[what])
    failures = run(t)
    assert [f.message for f in failures] == [
        what,
        f"the server broke the WebSocket protocol: {what}",
    ]


def test_no_valid_answer_to_the_handshake_is_a_server_error() -> None:
    t = transcript(handshake=Rejected(status=0, reason="InvalidMessage: no HTTP"), over_network=True)
    (failure,) = run(t)
    assert failure.check == "no_server_error"
    assert failure.actual == "InvalidMessage: no HTTP"


def test_no_closing_handshake_over_the_network_is_a_hang_of_the_server() -> None:
    (failure,) = run(transcript(sent(0), client_close(), app_stopped=False, over_network=True))
    assert failure.check == "no_hang"
    assert failure.message.startswith("the server did not finish the closing handshake")


def test_no_answer_over_the_network_names_the_server() -> None:
    (failure,) = run(transcript(handshake=None, over_network=True))
    assert failure.check == "no_hang"
    assert failure.message.startswith("the server neither accepted nor refused")
