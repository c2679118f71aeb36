"""Findings: what tells one bug from another."""

from __future__ import annotations

import json
from dataclasses import replace
from typing import Any

from ws_routes.driver.transcript import Failure, Transcript
from ws_routes.driver.transport import AppError
from ws_routes.engine.findings import bug_of


def _parse(text: str) -> Any:
    return json.loads(text)  # one app line; the decoder raises from different lines inside


def test_one_app_line_is_one_bug_wherever_the_library_raised() -> None:
    def bug_of_parsing(text: str) -> str:
        try:
            _parse(text)
        except ValueError as exc:
            t = Transcript(route="/ws", path="/ws", app_error=AppError(exc, ""))
            failure = Failure(
                check="no_server_error",
                error_type="server_error",
                message="",
                expected="",
                actual="",
            )
            return bug_of(replace(failure, cause=t.app_error), t)
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
    crash = Failure(
        check="no_server_error",
        error_type="server_error",
        message="",
        expected="",
        actual="",
        cause=error,
    )
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
