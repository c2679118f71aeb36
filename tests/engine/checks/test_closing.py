"""close_code, close_before_return, graceful_shutdown and disconnect, on hand-built transcripts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.checks.builders import (
    PATH,
    WebSocketDisconnect,
    app_error,
    checks,
    client_close,
    route,
    run,
    sent,
    server_close,
    transcript,
)
from ws_routes.compile.route import compile_route
from ws_routes.driver.transcript import Frame, Transcript
from ws_routes.driver.transport import Rejected
from ws_routes.engine.checks.closing import MAX_CLOSE_REASON_BYTES, is_benign_disconnect
from ws_routes.spec.model import InvalidSpec, Settings, default_route

# -- close_code ------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", [1004, 1005, 1006, 1015, 2999, 5000])
def test_reserved_close_codes_always_fail(code: int) -> None:
    (failure,) = run(transcript(sent(0), server_close(code)))
    assert failure.check == "close_code"
    assert failure.error_type == "protocol_violation"
    assert failure.message == f"server closed with code {code}, which no endpoint may send"


def test_reserved_close_code_before_accepting_fails_too() -> None:
    failures = run(transcript(handshake=Rejected(close_code=1005)), route(close_codes=(1005,)))
    assert "close_code" in checks(failures)


@pytest.mark.parametrize("code", [1000, 1001, 3000, 4000, 4999])
def test_valid_close_codes_pass_without_declared_codes(code: int) -> None:
    assert run(transcript(sent(0), server_close(code))) == []


def test_undeclared_close_code_fails_when_codes_are_declared() -> None:
    (failure,) = run(transcript(sent(0), server_close(4100, "nope")), route(close_codes=(4000,)))
    assert failure.check == "close_code"
    assert failure.error_type == "contract_violation"
    assert failure.expected == "one of [1000, 4000]"
    assert failure.actual == "connection closed with code 4100 ('nope')"


def test_1000_is_always_allowed() -> None:
    assert run(transcript(sent(0), server_close(1000)), route(close_codes=(4000,))) == []


def test_invalid_close_codes_are_allowed_only_after_an_invalid_message() -> None:
    r = route(close_codes=(4000,), invalid=InvalidSpec(close_codes=(1007,)))
    valid = transcript(sent(0), server_close(1007))
    mutated = transcript(sent(0, mutation="wrong type at /n"), server_close(1007))
    assert checks(run(valid, r)) == ["close_code"]
    assert run(mutated, r) == []


def test_close_reason_length_limit() -> None:
    assert MAX_CLOSE_REASON_BYTES == 123
    ok = transcript(sent(0), server_close(4000, "é" * 61 + "x"))  # 123 bytes
    too_long = transcript(sent(0), server_close(4000, "é" * 62))  # 124 bytes
    assert run(ok) == []
    (failure,) = run(too_long)
    assert failure.check == "close_code"
    assert failure.actual == "124 bytes"


def test_close_reasons_with_lone_surrogates_are_measured_as_sent() -> None:
    # Issue 10: a GraphQL server echoed the client's "\ud800" escape in its close reason.
    (failure,) = run(transcript(sent(0), server_close(4400, "bad: \ud800" * 20)))
    assert failure.check == "close_code"
    assert failure.actual == "160 bytes"
    (failure,) = run(transcript(sent(0), server_close(1006, "\ud800")))
    assert failure.actual == "connection closed with code 1006 ('\\ud800')"


def test_internal_error_codes_are_not_double_reported_as_close_code() -> None:
    assert checks(run(transcript(sent(0), server_close(1011)), route(close_codes=(4000,)))) == [
        "no_server_error"
    ]


def test_framework_refusal_after_a_valid_message_is_a_contract_finding() -> None:
    r = route(close_codes=(4001,))
    failures = run(transcript(sent(0), server_close(4500, "Validation failed for WebSocket")), r)
    assert checks(failures) == ["close_code"]
    assert "refused a message the spec declares valid" in failures[0].message


def test_framework_refusal_of_a_mutant_or_on_an_undescribed_route_passes() -> None:
    negative = transcript(
        sent(0, b"x", kind="bytes", mutation="bytes frame to a text message"),
        server_close(4500, "JSON is malformed: invalid character (byte 4)"),
    )
    assert run(negative, route(close_codes=(4001,))) == []
    undescribed = compile_route(default_route(PATH, Settings()))
    refused = transcript(sent(0, "not json"), server_close(4500, "JSON is malformed"))
    assert run(refused, undescribed) == []


# -- close_before_return ---------------------------------------------------------------------------


def dropped(index: int | None = 0) -> Frame:
    return Frame(direction="server_close", code=1006, index=index, dropped=True)


def test_a_handler_returning_without_closing_is_close_before_return_not_a_1006_close() -> None:
    (failure,) = run(transcript(sent(0), dropped()))
    assert failure.check == "close_before_return"
    assert failure.message == "the handler returned without closing the connection"
    assert failure.actual.endswith("the client sees an abnormal closure (1006)")
    assert failure.index == 0


def test_a_crash_without_a_close_is_no_server_errors_alone() -> None:
    t = transcript(sent(0), server_close(1011), app_error=app_error(KeyError("x")))
    found = checks(run(t))
    assert found[0] == "no_server_error"
    assert "close_before_return" not in found


def test_close_before_return_can_be_switched_off() -> None:
    settings = Settings(checks={"close_before_return": False})
    assert run(transcript(sent(0), dropped()), route(settings=settings)) == []


def test_a_real_1006_close_frame_is_still_close_code() -> None:
    assert checks(run(transcript(sent(0), server_close(1006)))) == ["close_code"]


# -- graceful_shutdown -----------------------------------------------------------------------------


def test_benign_disconnect_is_recognised_by_name_only() -> None:
    assert is_benign_disconnect(WebSocketDisconnect())
    assert not is_benign_disconnect(RuntimeError("WebSocketDisconnect"))

    class WebSocketDisconnected(RuntimeError):  # Starlette's "receive after disconnect" misuse
        pass

    assert not is_benign_disconnect(WebSocketDisconnected())


def test_error_while_shutting_down_is_graceful_shutdown_not_server_error() -> None:
    t = transcript(
        sent(0),
        client_close(1001),
        app_error=app_error(RuntimeError("cleanup")),
        app_error_index=0,
        app_error_phase="shutdown",
    )
    (failure,) = run(t, close_code=1001)
    assert failure.check == "graceful_shutdown"
    assert (
        failure.message == "the app raised RuntimeError: cleanup after the client closed with 1001"
    )
    assert failure.index == 0


def test_websocket_disconnect_escaping_at_shutdown_is_not_a_failure() -> None:
    t = transcript(
        sent(0),
        client_close(),
        app_error=app_error(WebSocketDisconnect()),
        app_error_phase="shutdown",
    )
    assert run(t) == []


# -- disconnect ------------------------------------------------------------------------------------


def aborted(*frames: Frame, **fields: Any) -> Transcript:
    return transcript(*frames, Frame(direction="abort", index=0), **fields)


def test_an_exception_after_an_abort_is_a_disconnect_finding() -> None:
    t = aborted(
        sent(0),
        app_error=app_error(RuntimeError("Cannot call send once a close message has been sent")),
        app_error_phase="shutdown",
    )
    failures = run(t, close_code=None)  # type: ignore[arg-type]
    assert checks(failures) == ["disconnect"]
    assert "dropped the connection" in failures[0].message


def test_a_benign_disconnect_after_an_abort_passes() -> None:
    class WebSocketDisconnect(Exception):
        pass

    t = aborted(sent(0), app_error=app_error(WebSocketDisconnect()), app_error_phase="shutdown")
    assert run(t) == []


def test_task_errors_after_the_client_left_are_disconnect_findings() -> None:
    error = app_error(OSError("the client disconnected"))
    failures = run(aborted(sent(0), task_errors=[(error, True)]))
    assert checks(failures) == ["disconnect"]
    assert "task the app started" in failures[0].message


def test_leaked_tasks_are_a_disconnect_finding() -> None:
    t = transcript(sent(0), client_close(), leaked_tasks=["Task-7: heartbeat (app.py:12)"])
    failures = run(t)
    assert checks(failures) == ["disconnect"]
    assert failures[0].error_type == "resource_leak"
    assert "heartbeat" in failures[0].actual


def test_the_disconnect_check_can_be_switched_off() -> None:
    r = route(settings=Settings(checks={"disconnect": False}))
    t = transcript(sent(0), client_close(), leaked_tasks=["Task-7: heartbeat (app.py:12)"])
    assert run(t, r) == []
