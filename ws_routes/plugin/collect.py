"""Collection: the spec and the app loaded, routes matched and filtered, one item per route."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from ws_routes.plugin.coexist import HTTP_NOTE, find_pytest_routes
from ws_routes.plugin.item import WebSocketRouteItem
from ws_routes.plugin.state import STATE, State

if TYPE_CHECKING:
    from ws_routes.options import RunOptions
    from ws_routes.spec.model import RouteSpec, Settings, Spec

# Importing the app and calling its factory may take this many connection_timeouts (a server
# starting up): generous, since importing a large app is slow, but never forever.
_APP_LOAD_FACTOR = 10


class RoutesCollector(pytest.Collector):
    """Loads the spec and the app, discovers routes, and yields one item per route."""

    def collect(self) -> Iterator[pytest.Item]:
        from ws_routes.errors import WsRoutesError

        state = self.config.stash[STATE]
        try:
            planned = _plan_routes(self.config, state)
        except WsRoutesError as err:
            raise self.CollectError(f"ws_routes: {err}") from None
        _warn_unmatched_registrations([route.path for route, _, _ in planned])
        for route, converters, problem in planned:
            name = f"test_websocket[{route.path}]"
            # An explicit node id: pytest's cache (--lf, --ff) reads ids back as strings.
            yield WebSocketRouteItem.from_parent(
                self,
                name=name,
                nodeid=f"{self.nodeid}::{name}",
                route=route,
                converters=converters,
                problem=problem,
            )


def _plan_routes(
    config: pytest.Config, state: State
) -> list[tuple[RouteSpec, dict[str, str] | None, str | None]]:
    from ws_routes.errors import AppLoadError
    from ws_routes.spec.loader import load_spec

    options = state.options
    rootdir = config.rootpath
    spec = load_spec(options.spec, rootdir=rootdir)
    state.spec = spec
    state.redactor.add(*(r.auth.token for r in spec.routes if r.auth is not None and r.auth.token))
    app_path = options.app or spec.app
    url = options.url or spec.server_url
    if not app_path and not url:
        raise AppLoadError(
            "no app to test: pass --routes-app module:app, or set `app:` in ws-routes.yaml "
            "(or `app` under [tool.pytest-routes] in pyproject.toml); or test a running server "
            "with --routes-url ws://HOST:PORT (or `server: {url: ...}` in the spec)"
        )
    overrides = options.settings_overrides()
    settings = spec.settings.merged(**overrides)
    if url:  # live mode: the traffic goes to the server; an app given too serves discovery only
        state.target = _live_target(url, options)
    choice = _server_choice(options, url)
    planned = _discovered(config, state, app_path, settings) if app_path else _declared(spec)
    if choice is not None and choice.differential:
        state.differential = choice  # in-process as usual, then each case under the server too
    elif choice is not None:
        from ws_routes.driver.targets import Target

        state.target = Target(app=state.app, server=choice)
    return _filtered(planned, overrides, settings)


def _server_choice(options: RunOptions, url: str | None) -> Any:
    from ws_routes.errors import AppLoadError
    from ws_routes.plugin.config import server_choice

    choice = server_choice(options)
    if choice is not None and url:  # the spec's server.url: the option alone was checked
        raise AppLoadError(
            f"--routes-server {options.server} runs the app under a server of ours, but the spec "
            f"names a running server ({url}): drop one of them"
        )
    return choice


def _live_target(url: str, options: RunOptions) -> Any:
    from ws_routes.driver.network import check_url, require_client
    from ws_routes.driver.targets import Target, tls_context

    require_client()  # a missing websockets is one collection error, not one per route
    tls = None
    if check_url(url).startswith("wss:") or options.tls_ca or options.tls_insecure:
        tls = tls_context(options.tls_ca, insecure=options.tls_insecure)
    return Target(url=url, tls=tls)


def _declared(spec: Spec) -> list[tuple[RouteSpec, dict[str, str] | None, str | None]]:
    """With no app to discover, the spec's routes are the routes: live mode."""
    from ws_routes.errors import WsRoutesError

    if not spec.routes:
        raise WsRoutesError(
            "testing a running server (--routes-url) needs the routes from the spec: "
            "it declares none (add `routes:`, or import an AsyncAPI document's channels)"
        )
    return [(route, None, None) for route in spec.routes]


def _discovered(
    config: pytest.Config, state: State, app_path: str, settings: Settings
) -> list[tuple[RouteSpec, dict[str, str] | None, str | None]]:
    from ws_routes.app.discovery import inspect_app, load_app, match_routes
    from ws_routes.spec.model import default_route

    options, spec, rootdir = state.options, state.spec, config.rootpath
    assert spec is not None
    if str(rootdir) not in sys.path:
        sys.path.insert(0, str(rootdir))
    # An import or factory that blocks is a located collection error, not a hang.
    state.app = load_app(
        app_path, rootdir=rootdir, timeout=settings.connection_timeout * _APP_LOAD_FACTOR
    )
    app_routes = inspect_app(state.app)
    if options.routes and app_routes.http_routes and find_pytest_routes(config) is None:
        state.note = (
            f"ws_routes: {len(app_routes.http_routes)} HTTP route(s) of {app_path} were not "
            f"tested ({', '.join(app_routes.http_routes[:3])}"
            f"{', ...' if len(app_routes.http_routes) > 3 else ''}): {HTTP_NOTE}"
        )
    planned: list[tuple[RouteSpec, dict[str, str] | None, str | None]] = []
    for match in match_routes(spec.routes, app_routes):
        if match.found is None:
            assert match.declared is not None
            problem = f"{match.declared.location}: {match.problem}" if match.problem else None
            planned.append((match.declared, None, problem))
            continue
        # Matched without converters: the spec may say {room} where the app says {room:str}.
        route = match.declared or default_route(match.found.path, spec.settings)
        planned.append((replace(route, path=match.found.path), dict(match.found.params), None))
    return planned


def _filtered(
    planned: list[tuple[RouteSpec, dict[str, str] | None, str | None]],
    overrides: dict[str, Any],
    settings: Settings,
) -> list[tuple[RouteSpec, dict[str, str] | None, str | None]]:
    from ws_routes.compile.registry import pattern_matches

    result = []
    for planned_route, converters, problem in planned:
        route = replace(planned_route, settings=planned_route.settings.merged(**overrides))
        include = settings.include
        if include and not any(pattern_matches(p, route.path) for p in include):
            continue
        if any(pattern_matches(p, route.path) for p in settings.exclude):
            continue
        result.append((route, converters, problem))
    return sorted(result, key=lambda r: r[0].path)


def _warn_unmatched_registrations(paths: list[str]) -> None:
    from ws_routes.compile.registry import pattern_matches, registered_strategies
    from ws_routes.errors import WsRoutesWarning

    for reg in registered_strategies():
        if not any(pattern_matches(reg.pattern, path) for path in paths):
            warnings.warn(
                WsRoutesWarning(
                    f"register_message_strategy({reg.pattern!r}, {reg.kind!r}, ...) matches none of "
                    f"the routes under test: {', '.join(paths) or 'none'}"
                ),
                stacklevel=1,
            )
