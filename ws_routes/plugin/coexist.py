"""pytest-routes in the same run: it tests the HTTP routes, ws_routes the WebSocket ones.

Without it, ``--routes`` alone (pytest-routes' flag) tests nothing here, and an app's HTTP routes
go untested: both are said once in the terminal summary rather than passed over silently.
"""

from __future__ import annotations

import sys
from typing import Any

import pytest

HTTP_NOTE = (
    "ws_routes tests WebSocket routes only; HTTP routes need pytest-routes "
    "(pip install pytest-routes: the same --routes command then tests them too) or Schemathesis"
)


# Not named pytest_*: the hooks module imports it, and pluggy would take it for a hook.
def find_pytest_routes(config: pytest.Config) -> Any:
    """pytest-routes' plugin module when it takes part in this run, else None."""
    module = sys.modules.get("pytest_routes.plugin")
    return module if module is not None and config.pluginmanager.is_registered(module) else None


class RoutesAloneNote:
    """`--routes` alone tests nothing here; say so rather than pass silently."""

    def __init__(self, http: str | None) -> None:
        self.http = http

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_line(
            "ws_routes: --routes alone tests no WebSocket route: add --routes-websocket, or set "
            "enabled = true under [tool.pytest-routes.websocket] in pyproject.toml"
            + (f"; {self.http}" if self.http else "")
        )


class PytestRoutesWebSocketItems:
    """With both plugins, pytest-routes tests the HTTP routes and ws_routes the WebSocket ones.

    pytest-routes 0.4 also adds a smoke test per WebSocket route for ``--routes-websocket``; the
    same flag asks ws_routes for its own items on those routes, so pytest-routes' are deselected
    (reported as such) rather than run twice with two verdicts.
    """

    @pytest.hookimpl(trylast=True)  # after pytest-routes added its items
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        module = find_pytest_routes(config)
        theirs = getattr(module, "WebSocketTestItem", None)
        if not isinstance(theirs, type):
            return
        dropped = [item for item in items if isinstance(item, theirs)]
        if dropped:
            items[:] = [item for item in items if not isinstance(item, theirs)]
            config.hook.pytest_deselected(items=dropped)
