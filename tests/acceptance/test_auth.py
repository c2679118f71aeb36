"""Acceptance: refusals the spec declares or not, credentials reaching the app, redaction."""

from __future__ import annotations

import pytest

from tests.conftest import ECHO_APP, STARLETTE_HEADER, RunRoutes

REFUSING_APP = (
    STARLETTE_HEADER
    + """
async def private(ws: WebSocket) -> None:
    if ws.query_params.get("token") != "let-me-in":
        await ws.close(code=4001)
        return
    await echo(ws)


app = Starlette(
    routes=[
        WebSocketRoute("/ws/declared", private),
        WebSocketRoute("/ws/tokened", private),
        WebSocketRoute("/ws/undeclared", private),
    ]
)
"""
)


def test_refusals_declared_undeclared_and_a_spec_token(run_routes: RunRoutes) -> None:
    spec = """
    routes:
      /ws/declared:
        auth: {required: true, query_param: token, reject_close_codes: [4001]}
        messages: {say: {kind: text}}
      /ws/tokened:
        auth: {query_param: token, token: let-me-in}
        messages: {say: {kind: text}}
    """
    result = run_routes(REFUSING_APP, "-rs", spec=spec)
    # A route that refuses every connection with an allowed code fails nothing but tests nothing
    # either: it is skipped with the reason, and the summary shows the refusals.
    result.assert_outcomes(passed=1, skipped=2)
    result.stdout.fnmatch_lines(
        [
            "Route: /ws/declared   [[]SKIPPED]",
            "  Connections established: 0",
            "  Connections refused: 30",
            "Route: /ws/tokened   [[]passed]",
            "  Connections established: 30",
            "SKIPPED [[]1] *: /ws/undeclared: the app refused all 30 connections, so no message "
            "could be tested; pass credentials with --routes-auth, or describe the route in "
            "ws-routes.yaml (auth, close_codes)",
        ]
    )
    assert "let-me-in" not in result.stdout.str()


SECRET_APP = (
    STARLETTE_HEADER
    + """
async def bearer(ws: WebSocket) -> None:
    authorization = ws.headers.get("authorization", "")
    if authorization != "Bearer cli-s3cr3t-value":
        await ws.close(code=4001)
        return
    await ws.accept()
    text = await ws.receive_text()
    raise ValueError(f"cannot handle {text!r} for {authorization}")


async def query(ws: WebSocket) -> None:
    token = ws.query_params.get("token")
    if token != "spec-s3cr3t-value":
        await ws.close(code=4001)
        return
    await ws.accept()
    text = await ws.receive_text()
    raise ValueError(f"cannot handle {text!r} for token={token}")


app = Starlette(routes=[WebSocketRoute("/ws/bearer", bearer), WebSocketRoute("/ws/query", query)])
"""
)


def test_routes_auth_reaches_the_app_and_secrets_are_redacted(run_routes: RunRoutes) -> None:
    spec = """
    routes:
      /ws/query:
        auth: {query_param: token, token: spec-s3cr3t-value}
        messages: {say: {kind: text}}
      /ws/bearer:
        messages: {say: {kind: text}}
    """
    result = run_routes(
        SECRET_APP,
        "--routes-auth",
        "bearer:cli-s3cr3t-value",
        "--routes-verbose",
        "--routes-ws-include",
        "/ws/bearer",
        spec=spec,
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["WEBSOCKET TEST FAILURE: /ws/bearer", "Check: no_server_error"])
    lines = result.stdout.lines
    # Redacted, not dropped: the report still shows where the credential went.
    assert "Message: the app raised ValueError: cannot handle '' for Bearer ***" in lines
    assert "        authorization: Bearer ***" in lines  # the failure's transcript
    assert "      authorization: Bearer ***" in lines  # --routes-verbose
    assert "      headers=[('authorization', 'Bearer ***')]," in lines  # the replay snippet
    command = next(line for line in lines if line.startswith("  pytest "))
    assert '--routes-auth "$WS_ROUTES_AUTH" ' in command
    output = result.stdout.str() + result.stderr.str()
    assert "s3cr3t" not in output


def test_spec_token_is_used_on_its_route_alongside_routes_auth(run_routes: RunRoutes) -> None:
    # The spec's auth.token belongs to one route; a global --routes-auth must not replace it
    # there. Today it does: /ws/query is sent the bearer header, refuses every connection with
    # a code its auth section allows, and passes without one message having been exchanged.
    spec = """
    routes:
      /ws/query:
        auth: {query_param: token, token: spec-s3cr3t-value}
        messages: {say: {kind: text}}
      /ws/bearer:
        messages: {say: {kind: text}}
    """
    result = run_routes(SECRET_APP, "--routes-auth", "bearer:cli-s3cr3t-value", spec=spec)
    assert "s3cr3t" not in result.stdout.str() + result.stderr.str()
    result.stdout.fnmatch_lines(
        [
            "WEBSOCKET TEST FAILURE: /ws/query",
            "Message: the app raised ValueError: cannot handle '' for token=***",
        ]
    )
    result.assert_outcomes(failed=2)


def test_spec_token_is_redacted_from_a_failure(run_routes: RunRoutes) -> None:
    spec = """
    routes:
      /ws/query:
        auth: {query_param: token, token: spec-s3cr3t-value}
        messages: {say: {kind: text}}
    """
    result = run_routes(
        SECRET_APP, "--routes-ws-include", "/ws/query", "--routes-verbose", spec=spec
    )
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["WEBSOCKET TEST FAILURE: /ws/query"])
    lines = result.stdout.lines
    assert "Message: the app raised ValueError: cannot handle '' for token=***" in lines
    assert "  ! connect /ws/query?token=***" in lines
    assert "! connect /ws/query?token=***" in lines  # --routes-verbose
    assert "      query=[('token', '***')]," in lines
    output = result.stdout.str() + result.stderr.str()
    assert "s3cr3t" not in output


def test_bad_routes_auth_is_a_usage_error_without_the_secret(run_routes: RunRoutes) -> None:
    result = run_routes(ECHO_APP, "--routes-auth", "basic:s3cr3t")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(
        [
            "ERROR: --routes-auth: expected one of bearer:TOKEN, header:NAME:VALUE, "
            "query:NAME:VALUE, cookie:NAME:VALUE, got the kind 'basic' (the value itself is not "
            "shown: it may hold the secret); for HTTP basic auth pass "
            "header:Authorization:Basic BASE64-OF-USER:PASSWORD"
        ]
    )
    assert "s3cr3t" not in result.stdout.str() + result.stderr.str()


def test_a_bare_token_as_routes_auth_is_not_echoed(run_routes: RunRoutes) -> None:
    result = run_routes(ECHO_APP, "--routes-auth", "s3cr3t-bare-token")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["ERROR: --routes-auth: *got a value with no ':' (17 characters)*"])
    assert "s3cr3t" not in result.stdout.str() + result.stderr.str()
def test_a_refused_credential_hint_says_where_it_went(run_routes: RunRoutes) -> None:
    result = run_routes(REFUSING_APP, "-rs", "--routes-auth", "bearer:let-me-in", "--routes-ws-include", "/ws/undeclared")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]1] *: /ws/undeclared: the app refused all 30 connections, so no message "
            "could be tested; the credential was sent in the Authorization header; if the app "
            "reads it elsewhere, pass --routes-auth query:NAME:TOKEN, header:NAME:VALUE or "
            "cookie:NAME:VALUE, or set the route's auth (query_param, header, cookie, "
            "first_message) in ws-routes.yaml"
        ]
    )
    assert "let-me-in" not in result.stdout.str()


def test_a_route_that_closes_every_connection_right_after_accepting_is_skipped_with_a_hint(
    run_routes: RunRoutes,
) -> None:
    # An auth check after accept: every connection is closed before a message can go, so the
    # route's messages were never tested; a pass would say they were.
    app = (
        STARLETTE_HEADER
        + """
async def gated(ws: WebSocket) -> None:
    await ws.accept()
    if ws.query_params.get("token") != "sesame":
        await ws.close(code=4001)
        return
    await echo_accepted(ws)


app = Starlette(routes=[WebSocketRoute("/ws/gated", gated)])
"""
    )
    result = run_routes(app, "-rs")
    result.assert_outcomes(skipped=1)
    result.stdout.fnmatch_lines(
        [
            "SKIPPED [[]1] *: /ws/gated: the server closed all * connections right after "
            "accepting them (close code 4001), so no message could be tested; pass credentials "
            "with --routes-auth, or describe the route in ws-routes.yaml (auth, close_codes)"
        ]
    )
    passing = run_routes(app, "--routes-auth", "query:token:sesame")
    passing.assert_outcomes(passed=1)
