"""One-line findings (pytest's short summary, JUnit's message), the progress line, the total."""

from __future__ import annotations

import dataclasses
import os
import traceback
from pathlib import Path

from ws_routes.compile.credentials import Redactor
from ws_routes.driver.transcript import Failure, Transcript
from ws_routes.driver.transport import AppError
from ws_routes.engine.conversation import Conversation
from ws_routes.engine.findings import ConversationFailed, InternalError, failure_type
from ws_routes.engine.stats import Progress, RouteStats
from ws_routes.report.oneline import (
    finding_line,
    internal_line,
    progress_line,
    route_line,
    total_line,
)

HERE = Path(__file__).resolve()
ROOT = str(HERE.parent.parent.parent)


def commands(items: list[str]) -> str:
    return items[3]  # raises IndexError: the line the finding must name


def app_error() -> tuple[AppError, int]:
    try:
        commands([])
    except IndexError as exc:
        line = exc.__traceback__.tb_next.tb_lineno  # type: ignore[union-attr]
        return AppError(exc, "".join(traceback.format_exception(exc))), line
    raise AssertionError("unreachable")


def found(
    *, sent: int = 1, cause: AppError | None = None, check: str = "no_server_error", **kw: object
) -> ConversationFailed:
    failure = Failure(
        check=check,
        error_type=str(kw.pop("error_type", "server_error")),
        message=str(kw.pop("message", "the app raised IndexError: list index out of range")),
        expected="",
        actual="",
        cause=cause,
    )
    transcript = Transcript(route="/ws/x", path="/ws/x", messages_sent=sent)
    return failure_type(check, check)(failure, transcript, Conversation(path="/ws/x"))


def test_a_crash_names_its_type_function_and_line_in_the_app() -> None:
    error, line = app_error()
    text = finding_line(found(cause=error), seed=1, root=ROOT)
    assert text == (
        f"no_server_error: IndexError in commands (tests/report/test_oneline.py:{line}) "
        "after 1 message [seed 1]"
    )


def test_outside_the_root_the_file_is_named_alone() -> None:
    error, line = app_error()
    text = finding_line(found(cause=error, sent=3), seed=7, root=os.sep + "elsewhere")
    assert (
        text
        == f"no_server_error: IndexError in commands (test_oneline.py:{line}) after 3 messages [seed 7]"
    )


def test_without_an_exception_the_check_says_what_broke_in_short() -> None:
    message = "reply 2 matches none of the declared replies:\n  " + "x" * 200
    text = finding_line(
        found(check="reply_schema", error_type="contract_violation", message=message, sent=2),
        seed=3,
    )
    assert text.startswith("reply_schema: reply 2 matches none of the declared replies: xxx")
    assert text.endswith("… after 2 messages [seed 3]")
    assert "\n" not in text
    assert len(text) < 130


def test_a_swallowed_exception_found_by_replaying_names_the_exception() -> None:
    error, line = app_error()
    bug = found(message="the server closed with 1011")
    bug.transcript.app_error = error  # what the traced replay recovered
    assert f"IndexError in commands (test_oneline.py:{line})" in finding_line(bug, seed=1)


def test_probes_flaky_runs_and_no_messages_are_said() -> None:
    bug = found(check="auth_enforced", error_type="security", message="SECURITY: served", sent=0)
    bug.probe = "auth: no credential"
    bug.flaky = True
    assert finding_line(bug, seed=None) == (
        "auth_enforced: SECURITY: served after 0 messages (probe auth: no credential) (flaky)"
    )


def test_a_route_line_counts_the_other_findings() -> None:
    first = found()
    first.also.extend([found(check="reply_schema"), found(check="close_code")])
    assert route_line(first, seed=1).endswith("[seed 1] (+2 more)")
    first.internal = InternalError(RuntimeError("oops"), None, None)
    assert route_line(first, seed=1).endswith("(+2 more) (and an internal error of ws_routes)")


def test_secrets_never_reach_the_line() -> None:
    bug = found(message="the app raised KeyError: 'tok-s3cret'")
    assert "tok-s3cret" not in finding_line(bug, seed=1, secrets=Redactor(["tok-s3cret"]))


def test_an_internal_error_in_one_line() -> None:
    error = InternalError(RuntimeError("oops\nsecond line"), None, None)
    assert internal_line(error, seed=5) == (
        "internal error in ws_routes: RuntimeError: oops second line [seed 5]"
    )


def test_the_total_of_a_session() -> None:
    stats = [
        RouteStats(route="/a", sequences=30, messages=90, failures=2, outcome="FAILED"),
        RouteStats(route="/b", sequences=1, messages=1, outcome="passed", time_limited=True),
    ]
    assert total_line(stats, seed=9) == (
        "ws_routes: 2 routes (1 failed), 31 conversations, 91 messages, 2 findings, "
        "1 stopped at the time limit [seed 9]"
    )
    one = [dataclasses.replace(stats[1], time_limited=False)]
    assert total_line(one, seed=1) == (
        "ws_routes: 1 route, 1 conversation, 1 message, 0 findings [seed 1]"
    )


def test_the_progress_line_in_each_phase() -> None:
    probing = Progress(
        route="/ws/x", conversations=0, budget=100, findings=0, probes=3, elapsed_s=0.4
    )
    assert progress_line(probing) == "/ws/x: 3 probes, then 100 conversations · 0 findings · 0 s"
    searching = dataclasses.replace(probing, conversations=1234, budget=5000, elapsed_s=12.2)
    assert progress_line(searching) == (
        "/ws/x: 1,234/5,000 conversations · 0 findings · 101 conversations/s · 12 s"
    )
    shrinking = dataclasses.replace(searching, findings=1, shrinking=True, elapsed_s=400.0)
    assert progress_line(shrinking) == (
        "/ws/x: shrinking, 1,234 conversations · 1 finding · 3.1 conversations/s · 400 s"
    )
