"""Checks: each one's positive and negative cases, on hand-built transcripts (no app)."""

from __future__ import annotations

from typing import Any

import pytest

from ws_routes.compile.route import CompiledRoute, compile_route
from ws_routes.driver.transcript import Failure, Frame, Transcript
from ws_routes.driver.transport import Accepted, AppError, HandshakeResult, Rejected
from ws_routes.engine.checks import (
    CHECKS,
    MAX_CLOSE_REASON_BYTES,
    evaluate,
    is_benign_disconnect,
    is_server_error_close,
    valid_close_code,
)
from ws_routes.engine.conversation import Conversation, Step
from ws_routes.spec.model import (
    AuthSpec,
    InvalidSpec,
    MessageSpec,
    ReplySpec,
    RouteSpec,
    Schema,
    Settings,
    default_route,
)

PATH = "/ws/t"


def route(**fields: Any) -> CompiledRoute:
    defaults: dict[str, Any] = {
        "path": PATH,
        "messages": (MessageSpec(name="say", kind="text"),),
    }
    return compile_route(RouteSpec(**{**defaults, **fields}))


def transcript(
    *frames: Frame,
    handshake: HandshakeResult = Accepted(),  # noqa: B008  (frozen dataclass)
    **fields: Any,
) -> Transcript:
    t = Transcript(route=PATH, path=PATH, handshake=handshake, **fields)
    t.frames.extend(frames)
    t.messages_sent = len(t.sent)
    return t


def sent(index: int, data: Any = "hi", kind: Any = "text", **kw: Any) -> Frame:
    return Frame(direction="send", kind=kind, data=data, name="say", index=index, **kw)


def received(index: int, data: Any, kind: Any = "json", name: str | None = None) -> Frame:
    return Frame(direction="recv", kind=kind, data=data, name=name, index=index)


def server_close(code: int, reason: str = "", index: int | None = 0) -> Frame:
    return Frame(direction="server_close", code=code, reason=reason, index=index)


def client_close(code: int = 1000, index: int | None = 0) -> Frame:
    return Frame(direction="client_close", code=code, index=index)


def app_error(exc: BaseException) -> AppError:
    return AppError(exc, f"Traceback (most recent call last):\n{type(exc).__name__}: {exc}\n")


def run(t: Transcript, r: CompiledRoute | None = None, close_code: int = 1000) -> list[Failure]:
    return evaluate(r or route(), Conversation(path=PATH, close_code=close_code), t)


def checks(failures: list[Failure]) -> list[str]:
    return [f.check for f in failures]


class WebSocketDisconnect(Exception):  # named like every framework's "client went away"
    pass


# -- valid_close_code ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        (0, False),
        (999, False),
        (1000, True),
        (1001, True),
        (1003, True),
        (1004, False),
        (1005, False),
        (1006, False),
        (1007, True),
        (1011, True),
        (1014, True),
        (1015, False),
        (1016, False),
        (2999, False),
        (3000, True),
        (4000, True),
        (4999, True),
        (5000, False),
        (65535, False),
    ],
)
def test_valid_close_code(code: int, valid: bool) -> None:
    assert valid_close_code(code) is valid


def test_benign_disconnect_is_recognised_by_name_only() -> None:
    assert is_benign_disconnect(WebSocketDisconnect())
    assert not is_benign_disconnect(RuntimeError("WebSocketDisconnect"))

    class WebSocketDisconnected(RuntimeError):  # Starlette's "receive after disconnect" misuse
        pass

    assert not is_benign_disconnect(WebSocketDisconnected())


def test_a_clean_conversation_passes_every_check() -> None:
    t = transcript(sent(0), received(0, "hi", kind="text"), client_close())
    assert run(t) == []


# -- no_server_error -----------------------------------------------------------------------------


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


# -- graceful_shutdown -----------------------------------------------------------------------------


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


def test_websocket_disconnect_mid_conversation_is_still_a_server_error() -> None:
    t = transcript(
        sent(0),
        server_close(1011),
        app_error=app_error(WebSocketDisconnect()),
        app_error_phase="conversation",
    )
    assert checks(run(t)) == ["no_server_error"]


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


# -- handshake ---------------------------------------------------------------------------------------


def test_declared_route_refusing_with_an_undeclared_code_fails_handshake() -> None:
    (failure,) = run(transcript(handshake=Rejected(close_code=4404)))
    assert failure.check == "handshake"
    assert failure.error_type == "handshake_error"
    assert failure.actual == (
        "refused with close code 4404 before accepting (HTTP 403 on a real server)"
    )


def test_refusing_with_1000_hints_at_an_unmatched_path() -> None:
    (failure,) = run(transcript(handshake=Rejected(close_code=1000)))
    assert "a router closes with 1000 when no route matches" in failure.message


def test_http_denial_fails_handshake_with_its_status() -> None:
    (failure,) = run(transcript(handshake=Rejected(status=401)))
    assert (failure.check, failure.actual) == ("handshake", "refused with HTTP 401")


@pytest.mark.parametrize("status", [401, 403])
def test_http_denial_is_a_declared_refusal_on_an_auth_route(status: int) -> None:
    r = route(auth=AuthSpec(header="authorization", scheme="Bearer"))
    assert run(transcript(handshake=Rejected(status=status)), r) == []
    assert checks(run(transcript(handshake=Rejected(status=404)), r)) == ["handshake"]


@pytest.mark.parametrize(
    "fields",
    [
        {"close_codes": (1000, 4404)},
        {"auth": AuthSpec(query_param="token", reject_close_codes=(4404,))},
    ],
    ids=["close_codes", "auth.reject_close_codes"],
)
def test_declared_refusal_codes_pass_handshake(fields: dict[str, Any]) -> None:
    assert run(transcript(handshake=Rejected(close_code=4404)), route(**fields)) == []


def test_default_auth_reject_codes_allow_4001_1008_4003() -> None:
    r = route(auth=AuthSpec(query_param="token"))
    for code in (1008, 4001, 4003):
        assert run(transcript(handshake=Rejected(close_code=code)), r) == []


def test_undeclared_route_refusing_is_left_to_the_item() -> None:
    r = compile_route(default_route(PATH, Settings()))
    assert run(transcript(handshake=Rejected(close_code=4404)), r) == []


# -- subprotocol_negotiation -----------------------------------------------------------------------


def test_subprotocol_not_offered_fails() -> None:
    t = transcript(handshake=Accepted(subprotocol="evil"), subprotocols=("chat.v1",))
    (failure,) = run(t, route(subprotocols=("chat.v1",)))
    assert failure.check == "subprotocol_negotiation"
    assert failure.expected == "one of ['chat.v1']"
    assert failure.actual == "'evil'"


def test_subprotocol_chosen_when_none_offered_fails() -> None:
    (failure,) = run(transcript(handshake=Accepted(subprotocol="chat.v1")))
    assert failure.expected == "no subprotocol (none was offered)"


def test_no_subprotocol_chosen_from_declared_ones_fails() -> None:
    t = transcript(handshake=Accepted(), subprotocols=("chat.v1", "chat.v2"))
    (failure,) = run(t, route(subprotocols=("chat.v1", "chat.v2")))
    assert failure.message == "server accepted without selecting any of the offered subprotocols"


def test_no_subprotocol_chosen_is_fine_when_validation_is_off() -> None:
    r = route(subprotocols=("chat.v1",), settings=Settings(validate_subprotocols=False))
    assert run(transcript(handshake=Accepted(), subprotocols=("chat.v1",)), r) == []


def test_offered_subprotocol_chosen_passes() -> None:
    t = transcript(handshake=Accepted(subprotocol="chat.v2"), subprotocols=("chat.v1", "chat.v2"))
    assert run(t, route(subprotocols=("chat.v1", "chat.v2"))) == []


# -- reply_schema / undocumented_reply / reply_expected --------------------------------------------

PONG = ReplySpec(
    name="pong",
    kind="json",
    schema=Schema(
        value={"type": "object", "required": ["ok"], "properties": {"ok": {"const": True}}}
    ),
)
ERROR = ReplySpec(name="error", kind="json", schema=Schema(value={"required": ["error"]}))


def test_reply_not_matching_any_schema_fails_reply_schema_with_reasons() -> None:
    t = transcript(sent(0), received(0, {"ok": False}))
    (failure,) = run(t, route(replies=(PONG, ERROR)))
    assert failure.check == "reply_schema"
    assert failure.error_type == "contract_violation"
    assert failure.index == 0
    assert failure.expected == "one of ['pong', 'error'] (closest: 'pong')"
    assert failure.actual.splitlines() == [
        '< json {"ok": false}    [undocumented]',
        "at /ok: true was expected",
    ]


def test_matched_replies_pass() -> None:
    t = transcript(sent(0), received(0, {"ok": True}, name="pong"))
    assert run(t, route(replies=(PONG,))) == []


def test_reply_of_undeclared_kind_is_undocumented() -> None:
    t = transcript(sent(0), received(0, b"\x00", kind="bytes"))
    (failure,) = run(t, route(replies=(PONG,)))
    assert failure.check == "undocumented_reply"
    assert failure.expected == "replies of kind ['json']"
    assert failure.actual == "< bytes b'\\x00'    [undocumented]"


def test_route_without_declared_replies_accepts_any_reply() -> None:
    t = transcript(sent(0), received(0, b"\x00", kind="bytes"), received(0, {"any": 1}))
    assert run(t) == []


def test_reply_checks_switch_off_separately() -> None:
    bad_schema = transcript(sent(0), received(0, {"ok": False}))
    wrong_kind = transcript(sent(0), received(0, "hello", kind="text"))
    no_schema = route(replies=(PONG,), settings=Settings(checks={"reply_schema": False}))
    assert run(bad_schema, no_schema) == []
    assert checks(run(wrong_kind, no_schema)) == ["undocumented_reply"]
    no_undocumented = route(
        replies=(PONG,), settings=Settings(checks={"undocumented_reply": False})
    )
    assert run(wrong_kind, no_undocumented) == []
    assert checks(run(bad_schema, no_undocumented)) == ["reply_schema"]


def test_only_the_first_bad_reply_is_reported() -> None:
    t = transcript(sent(0), received(0, {"ok": 1}), received(0, {"ok": 2}))
    assert checks(run(t, route(replies=(PONG,)))) == ["reply_schema"]


def test_missed_reply_fails_reply_expected() -> None:
    r = route(settings=Settings(message_timeout=0.25), replies=(PONG, ERROR))
    t = transcript(sent(0), sent(1, "y"), missed_replies=[(1, ("pong", "error"))])
    (failure,) = run(t, r)
    assert failure.check == "reply_expected"
    assert failure.message == "no pong or error reply to message 1"
    assert failure.expected == "a reply of type 'pong' or 'error' within 0.25 s"
    assert failure.frame is not None
    assert failure.frame.data == "y"


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


def test_internal_error_codes_are_not_double_reported_as_close_code() -> None:
    assert checks(run(transcript(sent(0), server_close(1011)), route(close_codes=(4000,)))) == [
        "no_server_error"
    ]


# -- evaluate --------------------------------------------------------------------------------------


def test_every_check_name_is_a_documented_check() -> None:
    from ws_routes.spec.model import CHECK_NAMES

    assert {name for name, _ in CHECKS} <= set(CHECK_NAMES)


def test_failures_come_in_severity_order() -> None:
    t = transcript(
        sent(0),
        received(0, b"\x00", kind="bytes"),
        server_close(4100),
        app_error=app_error(ValueError("x")),
        app_error_phase="conversation",
    )
    assert checks(run(t, route(replies=(PONG,), close_codes=(4000,)))) == [
        "no_server_error",
        "undocumented_reply",
        "close_code",
    ]


def test_a_disabled_check_is_skipped() -> None:
    r = route(settings=Settings(checks={"close_code": False}))
    assert run(transcript(sent(0), server_close(1005)), r) == []


# -- server-error closes: crash or deliberate refusal -------------------------------------------


@pytest.mark.parametrize(
    ("code", "reason", "crash"),
    [
        (1011, "", True),
        (1011, "anything", True),
        (4500, "Internal Server Error", True),
        (4500, "", True),
        (4500, "JSON is malformed: invalid character (byte 4)", False),
        (1008, "", False),
        (None, "", False),
    ],
)
def test_is_server_error_close(code: int | None, reason: str, crash: bool) -> None:
    assert is_server_error_close(code, reason) is crash


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


# -- negative cases ------------------------------------------------------------------------------


def negative_conversation(*steps: Step, close_code: int | None = 1000) -> Conversation:
    return Conversation(path=PATH, steps=steps, close_code=close_code)


VALID = Step("say", "text", "hi")
MUTANT = Step("say", "bytes", b"\x00", mutation="bytes frame to a text message", invalid=True)


def test_failures_after_a_mutant_are_negative_cases_naming_it() -> None:
    t = transcript(
        sent(0), sent(1, b"\x00", kind="bytes", mutation=MUTANT.mutation), server_close(1011, index=1)
    )
    failures = evaluate(route(), negative_conversation(VALID, MUTANT), t)
    assert checks(failures) == ["invalid_input"]
    assert failures[0].error_type == "negative_case"
    assert failures[0].message.startswith("negative case, bytes frame to a text message:")


def test_failures_before_any_mutant_keep_their_check() -> None:
    t = transcript(sent(0), server_close(1011, index=0), sent(1, b"\x00", kind="bytes"))
    failures = evaluate(route(), negative_conversation(VALID, MUTANT), t)
    assert checks(failures) == ["no_server_error"]


def test_an_allowed_reaction_to_a_mutant_passes() -> None:
    r = route(close_codes=(4001,), invalid=InvalidSpec(close_codes=(1003,)))
    t = transcript(sent(0, b"\x00", kind="bytes", mutation=MUTANT.mutation), server_close(1003))
    assert evaluate(r, negative_conversation(MUTANT), t) == []


def must_reject_route() -> CompiledRoute:
    return route(
        replies=(
            ReplySpec(name="ok", kind="text"),
            ReplySpec(name="error", kind="json", error=True),
        ),
        invalid=InvalidSpec(must_reject=True, close_codes=(4400,)),
    )


def test_must_reject_fails_on_silence_and_passes_on_an_error_reply_or_a_close() -> None:
    r = must_reject_route()
    frame = sent(0, b"\x00", kind="bytes", mutation=MUTANT.mutation)
    silent = evaluate(r, negative_conversation(MUTANT), transcript(frame, client_close()))
    assert checks(silent) == ["invalid_input"]
    assert "was not rejected" in silent[0].message
    assert "4400" in silent[0].expected
    replied = transcript(frame, received(0, {"e": 1}, name="error"), client_close())
    assert evaluate(r, negative_conversation(MUTANT), replied) == []
    closed = transcript(frame, server_close(4400, index=0))
    assert evaluate(r, negative_conversation(MUTANT), closed) == []


def test_must_reject_ignores_mutants_that_may_be_valid() -> None:
    awkward = Step("say", "text", "a\x00b", mutation="NUL in a string", invalid=False)
    t = transcript(sent(0, "a\x00b", mutation=awkward.mutation), client_close())
    assert evaluate(must_reject_route(), negative_conversation(awkward), t) == []


# -- disconnect ----------------------------------------------------------------------------------


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


def test_task_errors_while_connected_are_server_errors() -> None:
    error = app_error(KeyError("user"))
    failures = run(transcript(sent(0), client_close(), task_errors=[(error, False)]))
    assert checks(failures) == ["no_server_error"]


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


# -- what answers invalid input, and frameworks that refuse by raising -----------------------------


def test_a_reply_to_invalid_input_may_break_the_reply_schema_unless_it_is_an_error_reply() -> None:
    # A server may tolerate a bad message and answer it; only its error replies stay bound.
    typed_error = ReplySpec(
        name="error",
        kind="json",
        error=True,
        schema=Schema(
            value={"required": ["error", "code"], "properties": {"error": {"type": "string"}}}
        ),
    )
    r = route(replies=(typed_error, PONG), settings=Settings(checks={"disconnect": False}))
    tolerated = transcript(
        sent(0, b"\x00", kind="bytes", mutation=MUTANT.mutation), received(0, {"ok": "echoed"})
    )
    assert evaluate(r, negative_conversation(MUTANT), tolerated) == []
    broken_error = transcript(
        sent(0, b"\x00", kind="bytes", mutation=MUTANT.mutation), received(0, {"error": 5, "code": 1})
    )
    (failure,) = evaluate(r, negative_conversation(MUTANT), broken_error)
    assert failure.check == "invalid_input"
    assert "closest: 'error'" in failure.expected
    # The same reply to a valid message is a contract violation.
    valid = transcript(sent(0), received(0, {"ok": "echoed"}))
    assert checks(evaluate(r, negative_conversation(VALID), valid)) == ["reply_schema"]


def test_an_unrecognised_reply_is_not_also_a_missing_reply() -> None:
    r = route(replies=(PONG,))
    t = transcript(sent(0), received(0, {"ok": False}), missed_replies=[(0, ("pong",))])
    assert checks(run(t, r)) == ["reply_schema"]


def test_a_reply_with_nan_or_infinity_is_not_json() -> None:
    r = route(replies=(PONG,))
    t = transcript(sent(0), received(0, '{"ok": Infinity}', kind="text"))
    (failure,) = run(t, r)
    assert failure.check == "undocumented_reply"
    assert failure.message == "a reply is not valid JSON, and only JSON replies are declared"
    assert failure.actual.splitlines()[-1] == "Infinity is not JSON (RFC 8259); JSON.parse rejects it"


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


def test_failures_about_an_exception_carry_it_as_their_cause() -> None:
    error = app_error(KeyError("x"))
    t = transcript(sent(0), app_error=error, app_error_index=0, app_error_phase="conversation")
    (failure,) = run(t)
    assert failure.cause is error
    leak = transcript(sent(0), client_close(), leaked_tasks=["pump"])
    (leaked,) = run(leak)
    assert leaked.check == "disconnect"
    assert leaked.cause is None


def test_a_flood_is_a_finding_of_its_own() -> None:
    t = transcript(sent(0), received(0, "tick", kind="text"))
    t.dropped_frames, t.dropped_bytes, t.kept_bytes = 2, 100 * 2**20, 4
    (failure,) = run(t)
    assert failure.check == "flood"
    assert failure.error_type == "resource_exhaustion"
    assert failure.message.startswith("the server sent 3 frames (100.0 MiB) in one conversation")
    assert failure.actual == "2 frame(s) (104,857,600 bytes/chars) beyond that, counted but not kept"
    assert run(t, route(settings=Settings(checks={"flood": False}))) == []


def test_close_reasons_with_lone_surrogates_are_measured_as_sent() -> None:
    # Issue 10: a GraphQL server echoed the client's "\ud800" escape in its close reason.
    (failure,) = run(transcript(sent(0), server_close(4400, "bad: \ud800" * 20)))
    assert failure.check == "close_code"
    assert failure.actual == "160 bytes"
    (failure,) = run(transcript(sent(0), server_close(1006, "\ud800")))
    assert failure.actual == "connection closed with code 1006 ('\\ud800')"


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
