"""Acceptance: route items take the session's fixtures (autouse, the ini option's, the spec's),
set up before the route runs and torn down after, and carry markers that -m selects."""

from __future__ import annotations

import pytest

from tests.conftest import STARLETTE_HEADER, RunRoutes

# The app needs what a conftest sets up: a "database" its handler reads on every message.
DB_APP = (
    STARLETTE_HEADER
    + """
DB: dict[str, str] = {}


async def users(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            await ws.receive_text()
            await ws.send_text(DB["users"])  # KeyError when no fixture filled it
    except WebSocketDisconnect:
        pass


app = Starlette(
    routes=[WebSocketRoute("/ws/users", users), WebSocketRoute("/ws/echo", echo)]
)
"""
)
SPEC = """
routes:
  /ws/users:
    messages: {ask: {kind: text, schema: {const: list}}}
    invalid: {enabled: false}
    {extra}
  /ws/echo:
    messages: {say: {kind: text}}
    markers: [slow]
"""
# Each fixture writes its setup and teardown to events.log: the run's output is captured.
CONFTEST = """
import pathlib

import pytest

import app

LOG = pathlib.Path(__file__).with_name("events.log")


def log(event):
    with LOG.open("a") as f:
        f.write(event + "\\n")


@pytest.fixture({autouse})
def database(request):
    log("database up " + request.node.name)
    app.DB["users"] = "ann,bob"
    yield
    app.DB.clear()
    log("database down " + request.node.name)


@pytest.fixture(autouse=True)
def everywhere(request):
    log("autouse up " + request.node.name)
    yield
    log("autouse down " + request.node.name)


def pytest_runtest_call(item):
    log("run " + item.name)
"""


def events(pytester: pytest.Pytester) -> list[str]:
    return (pytester.path / "events.log").read_text("utf-8").splitlines()


def spec(extra: str = "") -> str:
    return SPEC.replace("{extra}", extra)


def test_an_autouse_fixture_runs_around_every_route(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(CONFTEST.replace("{autouse}", "autouse=True"))
    result = run_routes(DB_APP, spec=spec())
    result.assert_outcomes(passed=2, warnings=1)
    # An unregistered marker of the spec is warned about where the spec names it.
    result.stdout.fnmatch_lines(
        [
            "  ws-routes.yaml:7: PytestUnknownMarkWarning: unknown marker 'slow': register it"
            " under `markers` in the ini file"
        ]
    )
    # Autouse fixtures in name order (pytest's), each torn down after the route, in reverse.
    assert events(pytester) == [
        "database up test_websocket[/ws/echo]",
        "autouse up test_websocket[/ws/echo]",
        "run test_websocket[/ws/echo]",
        "autouse down test_websocket[/ws/echo]",
        "database down test_websocket[/ws/echo]",
        "database up test_websocket[/ws/users]",
        "autouse up test_websocket[/ws/users]",
        "run test_websocket[/ws/users]",
        "autouse down test_websocket[/ws/users]",
        "database down test_websocket[/ws/users]",
    ]


def test_without_its_fixture_the_app_fails(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(CONFTEST.replace("{autouse}", ""))
    result = run_routes(DB_APP, spec=spec())
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(["*KeyError: 'users'"])


def test_the_spec_names_a_fixture_for_its_route(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(CONFTEST.replace("{autouse}", ""))
    result = run_routes(DB_APP, spec=spec("fixtures: [database]"))
    result.assert_outcomes(passed=2)
    log = events(pytester)
    assert "database up test_websocket[/ws/users]" in log
    assert "database up test_websocket[/ws/echo]" not in log
    users = log.index("run test_websocket[/ws/users]")
    assert log[users - 1] == "database up test_websocket[/ws/users]"
    assert log[users + 1 :] == [
        "database down test_websocket[/ws/users]",
        "autouse down test_websocket[/ws/users]",
    ]


def test_the_ini_option_names_fixtures_for_every_route(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(CONFTEST.replace("{autouse}", ""))
    pytester.makeini("[pytest]\nroutes_fixtures = database\n")
    result = run_routes(DB_APP, spec=spec())
    result.assert_outcomes(passed=2)
    log = events(pytester)
    assert "database up test_websocket[/ws/echo]" in log
    assert "database down test_websocket[/ws/users]" in log


def test_an_unknown_fixture_is_an_error_of_its_route(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(CONFTEST.replace("{autouse}", ""))
    result = run_routes(DB_APP, spec=spec("fixtures: [databse]"))
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of test_websocket[[]/ws/users]*",
            "ws-routes.yaml:3:3: routes./ws/users.fixtures: fixture 'databse' not found"
            " (did you mean 'database'?)",
        ]
    )
    assert "Traceback" not in result.stdout.str()
    assert "INTERNALERROR" not in result.stdout.str()


def test_an_unknown_fixture_of_the_ini_option_says_so(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    pytester.makeini("[pytest]\nroutes_fixtures = nothing_here\n")
    result = run_routes(DB_APP, spec=spec())
    result.assert_outcomes(errors=2)
    result.stdout.fnmatch_lines(["ini option 'routes_fixtures': fixture 'nothing_here' not found*"])


def test_a_bad_fixture_name_in_the_ini_option_is_a_usage_error(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    pytester.makeini("[pytest]\nroutes_fixtures = my-db\n")
    result = run_routes(DB_APP, spec=spec())
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["*ini option 'routes_fixtures': expected fixture names (Python identifiers), got 'my-db'"]
    )


def test_m_selects_routes_by_the_websocket_marker_and_the_specs(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(CONFTEST.replace("{autouse}", "autouse=True"))
    pytester.makeini("[pytest]\nmarkers =\n    slow: slow routes\n")
    everything = run_routes(DB_APP, "--strict-markers", "-m", "websocket", spec=spec())
    everything.assert_outcomes(passed=2)
    fast = run_routes(DB_APP, "--strict-markers", "-m", "not slow", spec=spec())
    fast.assert_outcomes(passed=1, deselected=1)
    fast.stdout.fnmatch_lines(["Route: /ws/users   [[]passed]"])
    slow = run_routes(DB_APP, "--strict-markers", "-m", "websocket and slow", spec=spec())
    slow.assert_outcomes(passed=1, deselected=1)
    slow.stdout.fnmatch_lines(["Route: /ws/echo   [[]passed]"])


def test_an_unregistered_spec_marker_under_strict_markers_fails_its_route(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(CONFTEST.replace("{autouse}", "autouse=True"))
    result = run_routes(DB_APP, "--strict-markers", spec=spec())
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "ws-routes.yaml:7:3: routes./ws/echo.markers: 'slow' not found in `markers`"
            " configuration option: register it under `markers` in the ini file"
        ]
    )
