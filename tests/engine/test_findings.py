"""Findings: what tells one bug from another."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable
from dataclasses import replace
from typing import Any

from ws_routes.app.faults import is_app_code
from ws_routes.driver.loop import LoopThread
from ws_routes.driver.transcript import Failure, Frame, Transcript
from ws_routes.driver.transport import AppError
from ws_routes.engine.findings import bug_of, failure_type


def _parse(text: str) -> Any:
    return json.loads(text)  # one app line; the decoder raises from different lines inside


CRASH = Failure(
    check="no_server_error", error_type="server_error", message="", expected="", actual=""
)


def test_one_app_line_is_one_bug_wherever_the_library_raised() -> None:
    def bug_of_parsing(text: str) -> str:
        try:
            _parse(text)
        except ValueError as exc:
            t = Transcript(route="/ws", path="/ws", app_error=AppError(exc, ""))
            return bug_of(replace(CRASH, cause=t.app_error), t)
        raise AssertionError("parsed")

    assert bug_of_parsing("") == bug_of_parsing(
        "{"
    )  # "Expecting value" and "Expecting property name"
    assert "test_findings.py" in bug_of_parsing("")


def test_a_bug_is_keyed_by_the_exception_its_failure_is_about() -> None:
    try:
        raise KeyError("x")
    except KeyError as exc:
        error = AppError(exc, "")
    t = Transcript(route="/ws", path="/ws", app_error=error)
    crash = replace(CRASH, cause=error)
    leak = Failure(
        check="disconnect", error_type="resource_leak", message="", expected="", actual=""
    )
    assert bug_of(crash, t).startswith("raised KeyError@")
    # The leak is the leak, whatever else the app raised in the same conversation.
    assert bug_of(leak, t) == "disconnect|resource_leak"
    # After a mutant, a failure keeps its bug: the same leak with and without one is one bug.
    negative = replace(
        leak, check="invalid_input", error_type="negative_case", origin="disconnect|resource_leak"
    )
    assert bug_of(negative, t) == bug_of(leak, t)


# -- crashes inside libraries the app only mounted ---------------------------------------------


def _raised_in_library(fn: Callable[..., object], *args: object) -> BaseException:
    """What ``fn(*args)`` raises run on the driver's loop thread, with this test's own frames
    cut off: a traceback of our frames and the library's, none of the app's, as when the app
    mounted a protocol server and wrote none of its code."""
    with LoopThread() as loop:
        try:
            loop.call(fn, *args)
        except Exception as exc:
            tb = exc.__traceback__
            while tb is not None and is_app_code(tb.tb_frame.f_code.co_filename):
                tb = tb.tb_next
            assert tb is not None, "the call raised in this test's own code"
            return exc.with_traceback(tb)
    raise AssertionError("did not raise")


def _sent(name: str, family: str | None = None) -> Frame:
    return Frame(direction="send", kind="json", data=None, name=name, index=0, family=family)


def _bug(exc: BaseException, frame: Frame | None) -> str:
    t = Transcript(route="/ws", path="/ws")
    if frame is not None:
        t.frames.append(frame)
    error = AppError(exc, "")
    return bug_of(replace(CRASH, cause=error, index=0, frame=frame), t)


def test_library_crashes_are_told_apart_by_where_the_library_raised() -> None:
    # Both TypeErrors, both on a null: json.loads raises in json/__init__.py, b64decode in
    # base64.py. Without a frame of the app's, those are two bugs of the library's.
    loads = _raised_in_library(json.loads, None)
    decode = _raised_in_library(base64.b64decode, None)
    assert type(loads) is type(decode) is TypeError
    subscribe = _sent("subscribe")
    assert _bug(loads, subscribe) != _bug(decode, subscribe)
    assert "json" in _bug(loads, subscribe)
    assert ":loads:" in _bug(loads, subscribe)  # file:function:line of the innermost frame
    # The same crash again is the same bug: Hypothesis shrinks it on its own.
    again = _raised_in_library(json.loads, [])
    assert _bug(loads, subscribe) == _bug(again, subscribe)
    assert failure_type("no_server_error", _bug(loads, subscribe)) is failure_type(
        "no_server_error", _bug(again, subscribe)
    )
    assert failure_type("no_server_error", _bug(loads, subscribe)) is not failure_type(
        "no_server_error", _bug(decode, subscribe)
    )


def test_library_crashes_count_the_message_type_sent_last() -> None:
    loads = _raised_in_library(json.loads, None)
    assert _bug(loads, _sent("subscribe")) != _bug(loads, _sent("ping"))
    assert _bug(loads, _sent("subscribe")).endswith("after subscribe")
    # A field-level mutant still is a message of its type...
    assert _bug(loads, _sent("subscribe", "wrong_type")) == _bug(loads, _sent("subscribe"))
    # ...but a binary frame or broken JSON is no message of any type: one bug, whichever type
    # it was derived from.
    for family in ("wrong_frame_kind", "not_json", "empty_frame", "oversize"):
        assert _bug(loads, _sent("subscribe", family)) == _bug(loads, _sent("ping", family))
    # A task's error is attributed to no message: it may end at any one after its start.
    assert _bug(loads, None) == _bug(loads, _sent("ping", "not_json"))


def test_an_app_line_in_the_traceback_keeps_one_bug_per_root_cause() -> None:
    def crash(value: Any) -> BaseException:
        try:
            json.loads(value)
        except TypeError as exc:
            return exc
        raise AssertionError("parsed")

    first = _bug(crash(None), _sent("subscribe"))
    assert first == _bug(crash([]), _sent("ping"))  # the app's line: the message type is moot
    assert "after" not in first
    assert "test_findings.py" in first


# -- mutants the server did not reject ---------------------------------------------------------


def _not_rejected(family: str | None, mutation: str) -> str:
    frame = replace(_sent("say", family), mutation=mutation)
    t = Transcript(route="/ws", path="/ws")
    t.frames.append(frame)
    failure = Failure(
        check="invalid_input",
        error_type="negative_case",
        message=f"invalid message 0 ({mutation}) was not rejected",
        expected="",
        actual="silence",
        index=0,
        frame=frame,
    )
    return bug_of(failure, t)


def test_each_unrejected_mutation_family_is_its_own_bug() -> None:
    null = _not_rejected("wrong_type", "wrong type at /n: null instead of integer")
    text = _not_rejected("wrong_type", "wrong type at (root): string instead of object")
    missing = _not_rejected("missing_required", "missing required field /n")
    binary = _not_rejected("wrong_frame_kind", "bytes frame to a json message")
    assert null == text  # one family, wherever and whatever: shrunk within it
    assert len({null, missing, binary}) == 3
    # A replayed step carries no family: its mutation tells it apart instead.
    assert _not_rejected(None, "missing required field /n") != missing
