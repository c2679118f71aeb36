"""Acceptance: ws_routes next to pytest-routes, which registers many of the same flags.

The first half stands in for pytest-routes with a small plugin that registers some of our flags
with defaults of its own, in both load orders, so the mechanism is tested in every venv. The
second half runs pytest-routes itself (skipped where it is not installed: ``.ci/pytest-routes``
builds a venv with it).
"""

from __future__ import annotations

import textwrap
from typing import Any

import pytest

from tests.conftest import STARLETTE_HEADER, RunRoutes, node
from ws_routes.plugin.state import STATE

# What pytest-routes 0.4 does with the flags both plugins know: other defaults and types.
OTHER_PLUGIN = """
def pytest_addoption(parser):
    group = parser.getgroup("routes")
    group.addoption("--routes", action="store_true", default=False)
    group.addoption("--routes-app", action="store")
    group.addoption("--routes-max-examples", type=int, default=100)
    group.addoption("--routes-seed", type=int, default=None)
    group.addoption("--routes-websocket", action="store_true", default=False)
    group.addoption("--routes-ws-timeout", type=float, default=30.0)


def pytest_report_header(config):
    return f"other plugin reads --routes-max-examples {config.getoption('routes_max_examples')}"
"""

ORDERS = {
    "ours first": ("-p", "ws_routes.plugin", "-p", "other_plugin"),
    "theirs first": ("-p", "other_plugin", "-p", "ws_routes.plugin"),
}


@pytest.fixture
def configure(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> Any:
    """``configure(order, *args)``: the options ws_routes resolved in a pytest run."""
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")  # the order is then ours to set
    monkeypatch.delenv("PYTEST_ADDOPTS", raising=False)
    pytester.makepyfile(other_plugin=OTHER_PLUGIN)
    pytester.syspathinsert()
    pytester.makeini("[pytest]\nroutes_max_examples = 7\nroutes_ws_timeout = 3\n")

    def run(order: str, *args: str) -> tuple[Any, pytest.Config]:
        config = pytester.parseconfigure(
            *ORDERS[order], "--routes-websocket", "--routes-app", "app:app", *args
        )
        return config.stash[STATE].options, config

    return run


@pytest.mark.parametrize("order", ORDERS)
def test_shared_flags_are_registered_once_in_either_order(configure: Any, order: str) -> None:
    options, config = configure(order)
    # The other plugin's defaults (100, 30.0) are not taken for a value the user gave.
    assert (options.max_examples, options.connection_timeout) == (7, 3.0)
    assert config.getoption("routes_max_examples") == 100  # what the other plugin reads
    assert options.enabled
    assert options.app == "app:app"


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize(
    "args",
    [
        ("--routes-max-examples", "100", "--routes-ws-timeout", "30"),
        ("--routes-max-examples=100", "--routes-ws-timeout=30.0"),
    ],
)
def test_a_shared_flag_given_with_the_other_plugins_default_still_wins(
    configure: Any, order: str, args: tuple[str, ...]
) -> None:
    options, _ = configure(order, *args)
    assert (options.max_examples, options.connection_timeout) == (100, 30.0)


def test_shared_flags_given_through_pytest_addopts_count_as_given(
    configure: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_ADDOPTS", "--routes-max-examples 100 --routes-seed 5")
    options, config = configure("theirs first", "--routes-ws-timeout", "9")
    assert (options.max_examples, options.seed, options.connection_timeout) == (100, 5, 9.0)
    assert config.getoption("routes_seed") == 5


def test_our_own_flags_keep_our_messages_next_to_the_other_plugin(configure: Any) -> None:
    with pytest.raises(pytest.UsageError, match="--routes-ws-message-timeout: expected a number"):
        configure("theirs first", "--routes-ws-message-timeout", "soon")


def test_loaded_from_a_conftest_we_still_register_what_is_missing(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    pytester.makepyfile(other_plugin=OTHER_PLUGIN)
    pytester.syspathinsert()
    pytester.makeconftest('pytest_plugins = ["ws_routes.plugin"]\n')
    config = pytester.parseconfigure(
        "-p", "other_plugin", "--routes-websocket", "--routes-ws-include", "/ws/*"
    )
    options = config.stash[STATE].options
    assert options.enabled
    assert options.include == ("/ws/*",)


# -- pytest-routes itself ------------------------------------------------------------------------

HTTP_AND_WEBSOCKET_APP = (
    STARLETTE_HEADER
    + """
from starlette.responses import PlainTextResponse
from starlette.routing import Route


async def hello(request):
    return PlainTextResponse("hello")


async def crashing(ws: WebSocket) -> None:
    await ws.accept()
    await ws.receive()
    raise RuntimeError("planted WebSocket bug")


app = Starlette(routes=[Route("/hello", hello), WebSocketRoute("/ws/crash", crashing)])
"""
)


@pytest.fixture
def pytest_routes_run(run_routes: RunRoutes, pytester: pytest.Pytester) -> RunRoutes:
    pytest.importorskip(
        "pytest_routes.plugin", reason="pytest-routes is not installed (.ci/pytest-routes is)"
    )
    # pytest-routes imports the app while pytest starts, before ws_routes puts the rootdir on
    # sys.path: a project testing with it needs this line (or `python -m pytest`).
    pytester.makeini("[pytest]\npythonpath = .\n")
    return run_routes


def test_the_seeds_combined_command_runs_http_and_websocket_tests(
    pytest_routes_run: RunRoutes,
) -> None:
    result = pytest_routes_run(
        HTTP_AND_WEBSOCKET_APP,
        *("--routes", "--routes-app", "app:app", "--routes-websocket", "--routes-seed", "1"),
        "-rA",
        defaults=False,
    )
    # pytest-routes' HTTP test and ours; its own WebSocket smoke test gives way to ours.
    result.assert_outcomes(passed=1, failed=1, deselected=1)
    result.stdout.fnmatch_lines(
        [
            "*pytest-routes: Route Discovery*",
            "*the app raised RuntimeError: planted WebSocket bug*",
            "PASSED ::test_GET_hello",
            f"FAILED {node('/ws/crash')}*",
        ]
    )
    assert "HTTP route(s)" not in result.stdout.str()  # they were tested


@pytest.mark.parametrize("order", ["ws_routes.plugin,pytest_routes.plugin", "pytest_routes.plugin,ws_routes.plugin"])
def test_either_load_order_runs_both(
    pytest_routes_run: RunRoutes, monkeypatch: pytest.MonkeyPatch, order: str
) -> None:
    monkeypatch.setenv("PYTEST_DISABLE_PLUGIN_AUTOLOAD", "1")
    first, second = order.split(",")
    result = pytest_routes_run(
        HTTP_AND_WEBSOCKET_APP, "-p", first, "-p", second, "--routes", "-rA"
    )
    result.assert_outcomes(passed=1, failed=1, deselected=1)
    result.stdout.fnmatch_lines(["*planted WebSocket bug*", "PASSED ::test_GET_hello"])


def test_websocket_flag_alone_runs_only_ours(pytest_routes_run: RunRoutes) -> None:
    result = pytest_routes_run(HTTP_AND_WEBSOCKET_APP)  # --routes-websocket ..., no --routes
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*the app raised RuntimeError: planted WebSocket bug*"])
    assert "Route Discovery" not in result.stdout.str()


# -- without pytest-routes -----------------------------------------------------------------------


def test_without_pytest_routes_untested_http_routes_get_one_note(run_routes: RunRoutes) -> None:
    app = textwrap.dedent(HTTP_AND_WEBSOCKET_APP).replace(
        'Route("/hello", hello)', 'Route("/hello", hello), Route("/bye", hello)'
    )
    result = run_routes(app, "-p", "no:pytest_routes", "--routes")
    result.assert_outcomes(failed=1)
    notes = [line for line in result.stdout.lines if "HTTP route(s)" in line]
    assert notes == [
        "ws_routes: 2 HTTP route(s) of app:app were not tested (/bye, /hello): ws_routes tests "
        "WebSocket routes only; HTTP routes need pytest-routes (pip install pytest-routes: the "
        "same --routes command then tests them too) or Schemathesis"
    ]


def test_without_routes_flag_there_is_no_http_note(run_routes: RunRoutes) -> None:
    result = run_routes(HTTP_AND_WEBSOCKET_APP, "-p", "no:pytest_routes")
    result.assert_outcomes(failed=1)
    assert "HTTP route" not in result.stdout.str()
