"""Acceptance: --routes-server runs --routes-app under a real server and tests it over TCP;
--routes-server differential reports where the server and in-process disagree.

The apps and spec are live mode's (a crash, a wrong close code, an auth bypass, and their
correct versions): under a server we started, the app's tracebacks still reach the report.
"""

from __future__ import annotations

import pytest

from tests.acceptance.test_live import APP, FINDINGS, LIVE_ARGS, SPEC
from tests.conftest import RunRoutes

pytest.importorskip("uvicorn")
pytest.importorskip("websockets")

ARGS = (*LIVE_ARGS, "--routes-app", "app:app")


def _run(run_routes: RunRoutes, *args: str, buggy: bool) -> pytest.RunResult:
    return run_routes(APP.format(buggy=buggy), *ARGS, *args, spec=SPEC, defaults=False)


def test_under_uvicorn_a_crash_a_wrong_close_code_and_an_auth_bypass_are_found(
    run_routes: RunRoutes,
) -> None:
    result = _run(run_routes, "--routes-server", "uvicorn", buggy=True)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(FINDINGS, consecutive=False)
    # The server is ours: the app's traceback is in the report, as in-process.
    result.stdout.fnmatch_lines(
        ["App traceback:", "*ZeroDivisionError: division by zero"], consecutive=False
    )


def test_under_uvicorn_the_correct_app_passes(run_routes: RunRoutes) -> None:
    result = _run(run_routes, "--routes-server", "uvicorn", buggy=False)
    result.assert_outcomes(passed=3)


def test_differential_names_the_handshake_uvicorn_turns_into_http_403(
    run_routes: RunRoutes,
) -> None:
    # The correct app: in-process every route passes. /ws/private refuses a client without a
    # token with a close 4001 before accepting, which uvicorn answers with HTTP 403; the other
    # two routes behave the same under uvicorn, so they pass.
    result = _run(run_routes, "--routes-server", "differential", buggy=False)
    result.assert_outcomes(passed=2, failed=1)
    result.stdout.fnmatch_lines(
        [
            "Message: uvicorn answers this handshake with HTTP 403; in-process it was a close "
            "4001 before accepting",
            "  in-process: handshake: a close 4001 before accepting; *",
            "  uvicorn: handshake: HTTP 403; *",
            "FAILED ws-routes::test_websocket[[]/ws/private] - differential: *",
        ],
        consecutive=False,
    )
    # Replayed in-process a crash file would pass: the command line is what reproduces it.
    assert "ws-routes replay" not in result.stdout.str()
    assert "--routes-server differential" in result.stdout.str()


def test_an_unknown_server_is_a_usage_error(run_routes: RunRoutes) -> None:
    result = _run(run_routes, "--routes-server", "gunicorn", buggy=False)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--routes-server: expected one of uvicorn, *got 'gunicorn'"])


def test_a_server_of_ours_and_a_running_one_are_a_usage_error(run_routes: RunRoutes) -> None:
    args = ("--routes-server", "uvicorn", "--routes-url", "ws://127.0.0.1:9")
    result = _run(run_routes, *args, buggy=False)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--routes-server runs --routes-app under a server of ours*"])
