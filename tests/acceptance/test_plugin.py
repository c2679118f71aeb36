"""Acceptance: pytest runs with our flags on tiny apps, asserting outcomes and report lines.

Sibling files: ``test_every_check.py`` (each check), ``test_auth.py`` (refusals,
credentials, redaction), ``test_reports.py`` (failure reports, replay, seeds, databases,
xdist). This one covers the passing case, discovery through the plugin, configuration errors,
route selection, verbose output and registered message strategies.
"""

from __future__ import annotations

import pytest

from tests.conftest import ECHO_APP, STARLETTE_HEADER, RunRoutes, node


def test_a_passing_route_prints_the_summary_block(run_routes: RunRoutes) -> None:
    result = run_routes(ECHO_APP)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "collected 1 item",
            "*= ws_routes =*",
            "ws_routes: WebSocket Test Summary",
            "Route: /ws/echo   [[]passed]",
            "  Sequences tested: 30",
            "  Messages sent: *",
            "  Connections established: 30",
            "  Failures: 0",
        ]
    )
    assert "WEBSOCKET TEST FAILURE" not in result.stdout.str()
    assert "WebSocket test failed" not in result.stdout.str()


# -- frameworks and discovery --------------------------------------------------------------------


def test_litestar_handler_that_raises_fails_with_its_4500_close(run_routes: RunRoutes) -> None:
    app = """
    from litestar import Litestar, websocket
    from litestar.connection import WebSocket


    @websocket("/ws/numbers")
    async def numbers(socket: WebSocket) -> None:
        await socket.accept()
        while True:
            text = await socket.receive_text()
            await socket.send_text(str(int(text)))


    app = Litestar([numbers], logging_config=None)
    """
    result = run_routes(app, spec="routes:\n  /ws/numbers: {messages: {n: {kind: text}}}\n")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "WEBSOCKET TEST FAILURE: /ws/numbers",
            "Error Type: server_error",
            "Check: no_server_error",
            "  connection closed with code 4500 ('Internal Server Error')",
            "Close Code: 4500",
            # Litestar swallows the exception; a traced replay of the minimal case recovers it.
            "App traceback:",
            "  (the framework caught this and closed the connection; found by replaying with tracing)",
            "*in numbers",
            "*ValueError: invalid literal for int()*",
        ]
    )


def test_route_behind_middleware_is_discovered_and_tested(run_routes: RunRoutes) -> None:
    app = (
        STARLETTE_HEADER
        + """
from starlette.middleware import Middleware


class Marker:
    def __init__(self, app, key):
        self.app = app
        self.key = key

    async def __call__(self, scope, receive, send):
        if scope["type"] == "websocket":
            scope.setdefault("state", {})[self.key] = True
        await self.app(scope, receive, send)


async def checked(ws: WebSocket) -> None:
    if not (ws.scope["state"].get("inner") and ws.scope["state"].get("outer")):
        raise RuntimeError("the request did not go through both middlewares")
    await echo(ws)


app = Marker(
    Starlette(
        routes=[WebSocketRoute("/ws/behind", checked)],
        middleware=[Middleware(Marker, key="inner")],
    ),
    key="outer",
)
"""
    )
    result = run_routes(app, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            f"{node('/ws/behind')} PASSED*",
            "Route: /ws/behind   [[]passed]",
            "  Connections established: 30",
        ]
    )


def test_fastapi_router_prefix_is_part_of_the_route(run_routes: RunRoutes) -> None:
    app = """
    from fastapi import APIRouter, FastAPI, WebSocket, WebSocketDisconnect

    router = APIRouter()


    @router.websocket("/ws/rooms/{room}")
    async def room(websocket: WebSocket, room: str) -> None:
        await websocket.accept()
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    return
                await websocket.send_text(room)
        except WebSocketDisconnect:
            pass


    app = FastAPI()
    app.include_router(router, prefix="/api/v1")
    """
    result = run_routes(app, "-v")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            f"{node('/api/v1/ws/rooms/{room}')} PASSED*",
            "Route: /api/v1/ws/rooms/{room}   [[]passed]",
        ]
    )


# -- spec and option errors ----------------------------------------------------------------------


def test_bad_spec_is_a_located_collection_error_without_traceback(run_routes: RunRoutes) -> None:
    spec = """\
    routes:
      /ws/echo:
        messages:
          say: {kind: jsn}
    """
    result = run_routes(ECHO_APP, spec=spec)
    result.assert_outcomes(errors=1)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(
        [
            "ws_routes: ws-routes.yaml:4:13: routes./ws/echo.messages.say.kind: 'jsn' is not one "
            "of 'json', 'text', 'bytes' (did you mean 'json'?)"
        ]
    )
    output = result.stdout.str() + result.stderr.str()
    assert "Traceback" not in output
    assert "ws_routes/" not in output  # no frames of our own code either


def test_a_collection_error_under_xdist_is_reported_not_an_internal_error(
    run_routes: RunRoutes,
) -> None:
    # xdist sends each collect report to the controller; one holding pytest's CallInfo cannot
    # be sent, and every collection error of ours used to be an INTERNALERROR under -n.
    result = run_routes('raise ValueError("boom at import")\n', "-n", "2")
    output = result.stdout.str() + result.stderr.str()
    assert "INTERNALERROR" not in output
    result.stdout.fnmatch_lines(
        ["*ws_routes: importing app module 'app' raised ValueError: boom at import (at *app.py:1)"]
    )
    assert result.ret == pytest.ExitCode.TESTS_FAILED


def test_spec_route_missing_from_the_app_fails_that_item_only(run_routes: RunRoutes) -> None:
    spec = """
    routes:
      /ws/ecoh: {messages: {say: {kind: text}}}
    """
    result = run_routes(ECHO_APP, spec=spec)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "*ws-routes.yaml:3*route '/ws/ecoh' is in the spec but the app has no such WebSocket "
            "route (did you mean '/ws/echo'?); the app's WebSocket routes: /ws/echo",
            f"FAILED {node('/ws/ecoh')}*",
        ]
    )
    assert "Traceback" not in result.stdout.str()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--routes-ws-timeout", "abc"),
            "ERROR: --routes-ws-timeout: expected a number of seconds greater than 0 and at most 86400, got 'abc'",
        ),
        (
            ("--routes-ws-max-messages", "-1"),
            "ERROR: --routes-ws-max-messages: expected a whole number >= 1, got -1",
        ),
        (
            ("--routes-max-examples", "many"),
            "ERROR: --routes-max-examples: expected a whole number, got 'many'",
        ),
    ],
)
def test_bad_option_values_are_usage_errors(
    run_routes: RunRoutes, args: tuple[str, ...], message: str
) -> None:
    result = run_routes(ECHO_APP, *args)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines([message])


def test_bad_ini_value_names_the_ini_option(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    pytester.makeini("[pytest]\nroutes_ws_timeout = soon\n")
    result = run_routes(ECHO_APP, "--routes-websocket", "--routes-app", "app:app", defaults=False)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        ["ERROR: ini option 'routes_ws_timeout': expected a number of seconds greater than 0 and at most 86400, got 'soon'"]
    )


# -- selection and enabling ----------------------------------------------------------------------

THREE_ROUTES = (
    STARLETTE_HEADER
    + """
app = Starlette(
    routes=[
        WebSocketRoute("/ws/a", echo),
        WebSocketRoute("/ws/b", echo),
        WebSocketRoute("/ws/internal/x", echo),
    ]
)
"""
)


def test_include_and_exclude_select_routes(run_routes: RunRoutes) -> None:
    result = run_routes(
        THREE_ROUTES,
        "-v",
        "--routes-ws-include",
        "/ws/a,/ws/internal/*",
        "--routes-ws-exclude",
        "/ws/internal/*",
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*collected 1 item", f"{node('/ws/a')} PASSED*"])
    assert "/ws/b" not in result.stdout.str()
    assert "/ws/internal/x" not in result.stdout.str()


def test_routes_alone_runs_no_websocket_items(run_routes: RunRoutes) -> None:
    result = run_routes(ECHO_APP, "--routes", "--routes-app", "app:app", defaults=False)
    assert result.ret == pytest.ExitCode.NO_TESTS_COLLECTED
    assert "WebSocket Test Summary" not in result.stdout.str()
    result.stdout.fnmatch_lines(
        ["ws_routes: --routes alone tests no WebSocket route: add --routes-websocket*"]
    )


def test_pyproject_opt_in_makes_routes_run_websocket_items(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    (pytester.path / "tox.ini").unlink()
    pytester.makepyprojecttoml(
        """
        [tool.pytest.ini_options]

        [tool.pytest-routes]
        app = "app:app"

        [tool.pytest-routes.websocket]
        enabled = true
        max_messages = 3
        """
    )
    result = run_routes(ECHO_APP, "--routes", "--routes-max-examples", "10", defaults=False)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["Route: /ws/echo   [[]passed]", "  Sequences tested: 10"])


def test_routes_verbose_prints_conversations(run_routes: RunRoutes) -> None:
    result = run_routes(ECHO_APP, "--routes-verbose", "--routes-max-examples", "5", spec=SAY_SPEC)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(
        [
            "--- /ws/echo conversation 1",
            "! connect /ws/echo",
            "! handshake accepted",
            "--- /ws/echo conversation 5",
        ]
    )
    lines = result.stdout.lines
    sent = [line for line in lines if line.startswith("> text ")]
    received = [line for line in lines if line.startswith("< text ")]
    assert sent
    assert received
    assert "--- /ws/echo conversation 6" not in lines


SAY_SPEC = """
routes:
  /ws/echo:
    messages: {say: {kind: text}}
    # The echo app returns binary frames too, and negative testing sends some.
    replies: {echo: {kind: text}, echo_bytes: {kind: bytes}}
"""


# -- register_message_strategy -------------------------------------------------------------------

SHAPE_APP = (
    STARLETTE_HEADER
    + """
async def shaped(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            data = json.loads(await ws.receive_text())
            shaped = isinstance(data, dict) and set(data) == {"cmd", "n"}
            if not (shaped and data["cmd"] in ("add", "sub") and data["n"] in range(10)):
                raise ValueError(f"unexpected message {data!r}")
            await ws.send_json({"ok": True})
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute("/ws/shape", shaped)])
"""
)

SHAPE_SPEC = """
# The handler raises on anything but its two commands: negative testing would find that first.
settings: {checks: {invalid_input: false}}
routes:
  /ws/shape: {messages: {command: {kind: json}}}
"""


@pytest.mark.parametrize("registered", [True, False])
def test_register_message_strategy_from_conftest(
    run_routes: RunRoutes, pytester: pytest.Pytester, registered: bool
) -> None:
    if registered:
        pytester.makeconftest(
            """
            from hypothesis import strategies as st
            from ws_routes.websocket import register_message_strategy

            register_message_strategy(
                "/ws/shape",
                "json",
                st.fixed_dictionaries(
                    {"cmd": st.sampled_from(["add", "sub"]), "n": st.integers(0, 9)}
                ),
            )
            """
        )
    result = run_routes(SHAPE_APP, spec=SHAPE_SPEC)
    if registered:
        result.assert_outcomes(passed=1)
        result.stdout.fnmatch_lines(["Route: /ws/shape   [[]passed]", "  Sequences tested: 30"])
    else:  # the same app fails on the default JSON values: the registration is what passes it
        result.assert_outcomes(failed=1)
        result.stdout.fnmatch_lines(["Check: no_server_error", "*unexpected message*"])


def test_register_message_strategy_with_an_unknown_kind_is_a_clear_error(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(
        """
        from hypothesis import strategies as st
        from ws_routes.websocket import register_message_strategy

        register_message_strategy("/ws/shape", "jsn", st.just({}))
        """
    )
    result = run_routes(SHAPE_APP, spec=SHAPE_SPEC)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "*register_message_strategy('/ws/shape', ...): kind must be one of 'json', 'text', "
            "'bytes', got 'jsn' (did you mean 'json'?)"
        ]
    )


def test_register_message_strategy_matching_no_route_warns(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(
        """
        from hypothesis import strategies as st
        from ws_routes.websocket import register_message_strategy

        register_message_strategy("/ws/shpae", "json", st.just({}))
        """
    )
    result = run_routes(ECHO_APP)
    result.assert_outcomes(passed=1, warnings=1)
    result.stdout.fnmatch_lines(
        [
            "*WsRoutesWarning: register_message_strategy('/ws/shpae', 'json', ...) matches none of "
            "the routes under test: /ws/echo"
        ]
    )


def test_hypothesis_profile_sets_the_number_of_conversations(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    pytester.makeconftest(
        "from hypothesis import settings\nsettings.register_profile('tiny', max_examples=7)\n"
    )
    args = ("--routes-websocket", "--routes-app", "app:app", "--routes-seed", "1")
    result = run_routes(ECHO_APP, *args, "--hypothesis-profile", "tiny", defaults=False)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["  Sequences tested: 7"])
    # --routes-max-examples wins over the profile.
    again = run_routes(
        None, *args, "--hypothesis-profile", "tiny", "--routes-max-examples", "4", defaults=False
    )
    again.stdout.fnmatch_lines(["  Sequences tested: 4"])


def test_item_ids_select_routes_like_node_ids(run_routes: RunRoutes) -> None:
    app = STARLETTE_HEADER + """
app = Starlette(routes=[WebSocketRoute("/ws/a", echo), WebSocketRoute("/ws/b", echo)])
"""
    result = run_routes(app, "--routes-max-examples", "3", "ws-routes::test_websocket[/ws/b]")
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["Route: /ws/b   [[]passed]"])
    assert "Route: /ws/a" not in result.stdout.str()


def test_routes_verbose_under_xdist_prints_every_route_when_it_finishes(
    run_routes: RunRoutes,
) -> None:
    result = run_routes(
        ECHO_APP, "--routes-verbose", "--routes-max-examples", "3", "-n", "2", spec=SAY_SPEC
    )
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["--- /ws/echo conversation 1", "--- /ws/echo conversation 3"])


def test_warnings_as_errors_never_replace_a_finding(run_routes: RunRoutes) -> None:
    app = STARLETTE_HEADER + """
async def picky(ws: WebSocket) -> None:
    if ws.query_params.get("token") == "no":
        await ws.close(code=4001)  # the lint: clients see HTTP 403, never 4001
        return
    await ws.accept()
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") == "":
            raise ValueError("empty")
        await ws.send_text("ok")


app = Starlette(routes=[WebSocketRoute("/ws", picky)])
"""
    spec = """
    routes:
      /ws:
        query: {type: object, properties: {token: {enum: ["no", "yes"]}}, required: [token]}
        messages: {say: {kind: text}}
        replies: {ok: {kind: text}}
        close_codes: [4001]
    """
    result = run_routes(app, "-W", "error", spec=spec)
    result.assert_outcomes(failed=1, warnings=1)
    result.stdout.fnmatch_lines(["Message: the app raised ValueError: empty", "*WsRoutesWarning*4001*"])
