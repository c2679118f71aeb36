"""The result of a route: skipped with the reason when nothing could be tested."""

from __future__ import annotations

from tests.engine.runner_app import QUICK, compiled, run
from ws_routes.compile.route import compile_route
from ws_routes.spec.model import AuthSpec, default_route


def test_undeclared_route_refusing_everything_is_skipped() -> None:
    route = compile_route(default_route("/ws/refuse", QUICK))
    result = run(route, max_examples=10)
    assert result.failure is None
    assert result.skipped is not None
    assert "the app refused all 10 connections" in result.skipped
    assert "--routes-auth" in result.skipped
    assert (result.stats.refused, result.stats.connections) == (10, 0)


def test_declared_auth_route_refusing_everything_is_skipped_with_refusals_counted() -> None:
    route = compiled("/ws/refuse", auth=AuthSpec(query_param="token", reject_close_codes=(4001,)))
    result = run(route, max_examples=10)
    assert result.failure is None
    assert result.skipped is not None
    assert (
        "requires auth and has no credential: set auth.token or pass --routes-auth"
        in result.skipped
    )
    assert (result.stats.refused, result.stats.connections) == (10, 0)
