"""Acceptance: live mode, a running server tested over the network with --routes-url.

uvicorn serves the app on a free loopback port in a thread of this process; the inner pytest
gets only the URL and the spec. The same spec then runs unchanged in-process (--routes-app).
"""

from __future__ import annotations

import importlib.util
import itertools
import socket
import textwrap
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest

from tests.conftest import FAST_ARGS, STARLETTE_HEADER, TEXT_FRAMES, RunRoutes
from tests.servers import running_uvicorn

SPEC = """
routes:
  /ws/calc:
    messages:
      calc: {kind: json, schema: {type: object, required: [n], properties: {n: {type: integer, minimum: -3, maximum: 3}}}, reply: [result]}
    replies:
      result: {kind: json, schema: {type: object, required: [value], properties: {value: {type: number}}}}
  /ws/bye:
    close_codes: [4000]
    messages:
      say: {kind: text, schema: {enum: [hi, bye]}}
  /ws/private:
    auth: {required: true, query_param: token, reject_close_codes: [4001]}
    messages:
      say: {kind: text, schema: {enum: [hi]}}
"""

APP = (
    STARLETTE_HEADER
    + """
BUGGY = {buggy}


"""
    + TEXT_FRAMES
    + """


async def calc(ws: WebSocket) -> None:
    await ws.accept()
    async for text in texts(ws):
        try:
            n = json.loads(text)["n"]
            n + 0
        except (ValueError, TypeError, KeyError):
            await ws.close(1007)
            return
        # The bug: n == 0 divides by zero.
        value = 12 / n if BUGGY else (12 / n if n else 0)
        await ws.send_json({{"value": value}})


async def bye(ws: WebSocket) -> None:
    await ws.accept()
    async for text in texts(ws):
        if text == "bye":
            await ws.close(4999 if BUGGY else 4000)  # the bug: a code the spec does not declare
            return
        await ws.send_text(text)


async def private(ws: WebSocket) -> None:
    token = ws.query_params.get("token")
    if token != "let-me-in" and not (BUGGY and token is None):  # the bug: no token lets you in
        await ws.close(code=4001)
        return
    await echo(ws)


app = Starlette(
    routes=[
        WebSocketRoute("/ws/calc", calc),
        WebSocketRoute("/ws/bye", bye),
        WebSocketRoute("/ws/private", private),
    ]
)
"""
)

_modules = itertools.count()


Serve = Callable[[Path], AbstractContextManager[int]]


@pytest.fixture
def serve() -> Serve:
    """``with serve(app_file) as port``: the file's ``app`` under uvicorn on 127.0.0.1."""

    @contextmanager
    def start(path: Path) -> Iterator[int]:
        spec = importlib.util.spec_from_file_location(f"live_app_{next(_modules)}", path)
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        with running_uvicorn(module.app) as port:
            yield port

    return start


# FAST_ARGS without --routes-app (the URL alone says where the routes are), fewer examples.
LIVE_ARGS = (
    *(a for a in FAST_ARGS if a not in ("--routes-app", "app:app")),
    "--routes-max-examples",
    "10",
    "--routes-auth",
    "query:token:let-me-in",
)
FINDINGS = [
    "FAILED ws-routes::test_websocket[[]/ws/bye] - close_code: *",
    "FAILED ws-routes::test_websocket[[]/ws/calc] - no_server_error: *",
    "FAILED ws-routes::test_websocket[[]/ws/private] - auth_enforced: SECURITY: *",
]


def _run_live(
    run_routes: RunRoutes, pytester: pytest.Pytester, serve: Serve, *, buggy: bool
) -> pytest.RunResult:
    path = pytester.makepyfile(app=textwrap.dedent(APP.format(buggy=buggy)))
    with serve(path) as port:
        url = f"ws://127.0.0.1:{port}"
        return run_routes(None, *LIVE_ARGS, "--routes-url", url, spec=SPEC, defaults=False)


def test_live_mode_finds_a_crash_a_wrong_close_code_and_an_auth_bypass(
    run_routes: RunRoutes, pytester: pytest.Pytester, serve: Serve
) -> None:
    result = _run_live(run_routes, pytester, serve, buggy=True)
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(FINDINGS, consecutive=False)
    # What a client sees of the crash: uvicorn drops the connection, no traceback reaches us.
    result.stdout.fnmatch_lines(
        [
            "Message: the server dropped the connection without a close frame",
            "Over the network: findings rest on what a client can see",
            '*> json {"n": 0}    [[]calc]',
            "*x dropped (no close frame: the client sees 1006)    [[]by server]",
        ],
        consecutive=False,
    )
    assert "App traceback:" not in result.stdout.str()


def test_live_mode_passes_the_correct_server(
    run_routes: RunRoutes, pytester: pytest.Pytester, serve: Serve
) -> None:
    result = _run_live(run_routes, pytester, serve, buggy=False)
    # The refusals of /ws/private without a token arrive as HTTP 403 (the close code 4001 never
    # reaches a client), which a route declaring reject_close_codes allows.
    result.assert_outcomes(passed=3)
    result.stdout.fnmatch_lines(
        ["Tested over the network at ws://127.0.0.1:*: findings rest on what a client can see"]
    )


def test_the_same_spec_runs_in_process(run_routes: RunRoutes) -> None:
    result = run_routes(
        APP.format(buggy=True), *LIVE_ARGS, "--routes-app", "app:app", spec=SPEC, defaults=False
    )
    result.assert_outcomes(failed=3)
    result.stdout.fnmatch_lines(FINDINGS, consecutive=False)
    result.stdout.fnmatch_lines(
        ["App traceback:", "*ZeroDivisionError: division by zero"], consecutive=False
    )


def test_an_unreachable_server_is_one_clear_message_even_with_an_app(run_routes: RunRoutes) -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]  # closed at once: nothing listens there
    url = f"ws://127.0.0.1:{port}"
    # With --routes-app too, the URL gets the traffic: the app only serves discovery.
    args = ("--routes-url", url, "--routes-app", "app:app", "--routes-ws-include", "/ws/bye")
    app = APP.format(buggy=True)
    result = run_routes(app, *LIVE_ARGS, *args, spec=SPEC, defaults=False)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [f"*cannot reach the server at ws://127.0.0.1:{port} (*: is it running*"], consecutive=False
    )


def test_a_bad_url_is_a_usage_error(run_routes: RunRoutes) -> None:
    result = run_routes(None, *LIVE_ARGS, "--routes-url", "http://x", spec=SPEC, defaults=False)
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--routes-url: expected ws://HOST[[]:PORT][[]/prefix]*"])
    args = ("--routes-url", "wss://127.0.0.1:1", "--routes-tls-ca", "missing.pem")
    result = run_routes(None, *LIVE_ARGS, *args, spec=SPEC, defaults=False)
    assert result.ret == pytest.ExitCode.INTERRUPTED  # a collection error
    result.stdout.fnmatch_lines(["*--routes-tls-ca missing.pem: not a readable PEM CA file*"])
