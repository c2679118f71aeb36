"""Acceptance: route items honour Hypothesis' conventions as @given tests do: derandomize (the
``ci`` profile), seeds with the database kept, print_blob, deadline, database, statistics."""

from __future__ import annotations

import shlex
import shutil
import textwrap

import pytest

from tests.acceptance.test_reports import CI_VARIABLES, DB_APP, DB_SPEC
from tests.conftest import ECHO_APP, FAST_ARGS, STARLETTE_HEADER, RunRoutes, section

UNSEEDED = FAST_ARGS[: FAST_ARGS.index("--routes-seed")]


def sent(result: pytest.RunResult) -> list[str]:
    """What --routes-verbose printed of the conversations, crash file replays left out."""
    out, replay = [], False
    for line in result.stdout.lines:
        if line.startswith("--- "):
            replay = " replay of " in line
        if not replay and line.startswith(("> ", "< ", "x ", "--- ")):
            out.append(line)
    return out


def counts(result: pytest.RunResult) -> list[str]:
    return [line for line in result.stdout.lines if line.startswith(("  Sequences", "  Messages"))]


@pytest.fixture
def not_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in CI_VARIABLES:
        monkeypatch.delenv(variable, raising=False)


@pytest.mark.usefixtures("not_ci")
def test_two_ci_runs_send_identical_conversations(
    run_routes: RunRoutes, monkeypatch: pytest.MonkeyPatch
) -> None:
    def twice() -> list[list[str]]:
        runs = [run_routes(ECHO_APP, *UNSEEDED, "--routes-verbose", defaults=False) for _ in "12"]
        for result in runs:
            result.assert_outcomes(passed=1)
        return [sent(result) for result in runs]

    # Without a seed, each run draws new conversations...
    first, second = twice()
    assert first != second
    # ...unless the profile derandomizes, as Hypothesis' "ci" profile (loaded when CI=true) does.
    monkeypatch.setenv("CI", "true")
    first, second = twice()
    assert len(first) > 30
    assert first == second


def test_a_derandomized_failure_names_its_seed_and_prints_the_blob(
    run_routes: RunRoutes, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CI", "true")
    result = run_routes(DB_APP, *UNSEEDED, spec=DB_SPEC, defaults=False)
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "Hypothesis reproduction blob (print_blob; also in the crash file): "
            "@reproduce_failure('*', b'*')",
            "Reproduce with:",
            "  pytest * --routes-ws-include /ws/a --routes-seed 0",
            "WebSocket test failed (seed: 0, derandomized)",
        ]
    )
    # The seed reproduces the CI run anywhere: without CI, without the crash file.
    monkeypatch.delenv("CI")
    shutil.rmtree(pytester.path / ".ws-routes")
    command = next(line for line in result.stdout.lines if line.startswith("  pytest "))
    again = pytester.runpytest_subprocess(*shlex.split(command)[1:], timeout=60)
    again.assert_outcomes(failed=1)
    assert section(again.stdout.lines, "Transcript (") == section(
        result.stdout.lines, "Transcript ("
    )
    assert "Hypothesis reproduction blob" not in again.stdout.str()  # print_blob is off here


@pytest.mark.usefixtures("not_ci")
def test_the_same_seed_twice_with_the_database_kept_sends_identical_conversations(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    args = ("--routes-seed", "12345", "--routes-verbose")
    first = run_routes(DB_APP, *args, spec=DB_SPEC)
    first.assert_outcomes(failed=1, passed=1)
    assert any((pytester.path / ".hypothesis" / "examples").iterdir())  # the database is kept
    second = run_routes(None, *args)
    second.assert_outcomes(failed=1, passed=1)
    second.stdout.fnmatch_lines(["--- /ws/a replay of ws-a-*.json: FAILED *"])  # the crash file
    assert len(sent(first)) > 30
    assert sent(first) == sent(second)
    assert counts(first) == counts(second)


def test_show_statistics_covers_route_items(run_routes: RunRoutes) -> None:
    result = run_routes(ECHO_APP, "--hypothesis-show-statistics")
    result.assert_outcomes(passed=1)
    lines = section(result.stdout.lines, "=" * 28 + " Hypothesis Statistics", stop="=")
    assert lines[0] == "ws-routes::test_websocket[/ws/echo]:"
    result.stdout.fnmatch_lines(
        [
            "*Hypothesis Statistics*",
            "ws-routes::test_websocket[[]/ws/echo]:",
            "  - during generate phase (* seconds):",
            "    - * passing, 0 failing, and * invalid test cases",
            "  - Stopped because settings.max_examples=30",
        ]
    )


SLOW_APP = (
    STARLETTE_HEADER
    + """
async def slow(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            text = await ws.receive_text()
            await asyncio.sleep(0.05)
            await ws.send_text(text)
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute("/ws/slow", slow)])
"""
)
SLOW_SPEC = """
settings: {checks: {invalid_input: false}}
routes: {/ws/slow: {messages: {say: {kind: text}}}}
"""


def test_a_profiles_deadline_and_database_apply_to_route_items(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(
        textwrap.dedent(
            """
            from hypothesis import settings
            from hypothesis.database import DirectoryBasedExampleDatabase

            settings.register_profile("strict", deadline=10)
            settings.register_profile("fleet", database=DirectoryBasedExampleDatabase("fleet-db"))
            """
        )
    )
    strict = run_routes(
        SLOW_APP, "--hypothesis-profile", "strict", "--routes-max-examples", "5", spec=SLOW_SPEC
    )
    strict.assert_outcomes(failed=1)
    strict.stdout.fnmatch_lines(["*/ws/slow: DeadlineExceeded: *"])

    # Hypothesis' default deadline (200 ms) is for unit tests, not conversations: not applied.
    slower = SLOW_APP.replace("asyncio.sleep(0.05)", "asyncio.sleep(0.25)")
    run_routes(slower, "--routes-max-examples", "2").assert_outcomes(passed=1)

    # A shared database (a directory here; Redis for a fleet) is where failures are saved.
    fleet = run_routes(DB_APP, "--hypothesis-profile", "fleet", spec=DB_SPEC)
    fleet.assert_outcomes(failed=1, passed=1)
    assert any(p.is_file() for p in (pytester.path / "fleet-db").rglob("*"))
