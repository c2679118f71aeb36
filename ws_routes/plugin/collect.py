"""Collection: the spec and the app loaded, routes matched and filtered, one item per route."""

from __future__ import annotations

import sys
import warnings
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

import pytest

from ws_routes.plugin.coexist import HTTP_NOTE, find_pytest_routes
from ws_routes.plugin.item import WebSocketRouteItem
from ws_routes.plugin.state import STATE, State

if TYPE_CHECKING:
    from ws_routes.spec.model import RouteSpec

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
    from ws_routes.app.discovery import inspect_app, load_app, match_routes
    from ws_routes.compile.registry import pattern_matches
    from ws_routes.errors import AppLoadError
    from ws_routes.spec.loader import load_spec
    from ws_routes.spec.model import default_route

    options = state.options
    rootdir = config.rootpath
    spec = load_spec(options.spec, rootdir=rootdir)
    state.spec = spec
    state.redactor.add(*(r.auth.token for r in spec.routes if r.auth is not None and r.auth.token))
    app_path = options.app or spec.app
    if not app_path:
        raise AppLoadError(
            "no app to test: pass --routes-app module:app, or set `app:` in ws-routes.yaml "
            "(or `app` under [tool.pytest-routes] in pyproject.toml)"
        )
    if str(rootdir) not in sys.path:
        sys.path.insert(0, str(rootdir))
    overrides = options.settings_overrides()
    settings = spec.settings.merged(**overrides)
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
