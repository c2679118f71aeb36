"""evaluate: every check in its order, each switchable, on hand-built transcripts (no app)."""

from __future__ import annotations

from tests.engine.checks.builders import (
    PONG,
    app_error,
    checks,
    client_close,
    received,
    route,
    run,
    sent,
    server_close,
    transcript,
)
from ws_routes.engine.checks import CHECKS
from ws_routes.spec.model import Settings


def test_a_clean_conversation_passes_every_check() -> None:
    t = transcript(sent(0), received(0, "hi", kind="text"), client_close())
    assert run(t) == []


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
