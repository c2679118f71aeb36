"""Markers and fixtures of a route item, as a test function has them.

Every route item carries the ``websocket`` marker and the spec route's own ``markers``, so
``-m websocket`` and ``-m "not slow"`` select routes. It requests the fixtures a test function in
the rootdir would get automatically (autouse ones: the session's, the root ``conftest.py``'s)
and those named by the ini option ``routes_fixtures`` and the route's ``fixtures``, through
pytest's own machinery: a fixture info computed for the item (as for a function with no
arguments and a ``usefixtures`` marker), a top-level ``FixtureRequest`` that fills them at setup,
and the item's finalizers, which tear them down after the route ran. A conftest that starts a
database or sets a dependency override of the app thus runs around each route.

Imported when pytest loads the plugin: only pytest and the standard library at module level.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Sequence
from typing import Any

import pytest

__all__ = ["MARKER", "MARKER_HELP", "add_markers", "fill_fixtures", "request_fixtures"]

MARKER = "websocket"
MARKER_HELP = f"{MARKER}: a WebSocket route's test item (ws_routes); select them with -m {MARKER}"


def add_markers(
    item: pytest.Item, names: Iterable[str], *, filename: str, lineno: int
) -> str | None:
    """Mark ``item`` with ``websocket`` and ``names``; what went wrong, or None.

    A marker the ini file does not register is warned about as on a test function, located at
    ``filename:lineno`` (the route in the spec) rather than in pytest; under ``--strict-markers``
    (or with filters that make the warning an error) it is refused, and that becomes the item's
    error instead of breaking the whole collection.
    """
    item.add_marker(MARKER)
    hint = "register it under `markers` in the ini file"
    for name in names:
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", pytest.PytestUnknownMarkWarning)
            try:
                item.add_marker(name)
            except pytest.fail.Exception as err:  # --strict-markers
                return f"{err.msg}: {hint}"
        for record in caught:
            message = pytest.PytestUnknownMarkWarning(f"unknown marker {name!r}: {hint}")
            if not isinstance(record.message, pytest.PytestUnknownMarkWarning):
                warnings.warn_explicit(
                    record.message, record.category, record.filename, record.lineno
                )
                continue
            try:
                warnings.warn_explicit(message, None, filename, lineno)
            except pytest.PytestUnknownMarkWarning:  # filters made it an error
                return str(message)
    return None


def request_fixtures(item: pytest.Item, names: Sequence[str]) -> None:
    """Compute what fixtures ``item`` requests: the autouse ones visible to it, and ``names``."""
    from _pytest import fixtures  # the request type pytest gives a test function

    if names:
        item.add_marker(pytest.mark.usefixtures(*names))
    item_any: Any = item
    item_any.nofuncargs = True  # no function to read arguments from (pytest 7 would try)
    info = item.session._fixturemanager.getfixtureinfo(node=item, func=None, cls=None)
    # What pytest's FixtureRequest reads from the item it serves (as from a Function).
    item_any._fixtureinfo = info
    item_any.fixturenames = info.names_closure
    item_any.funcargs = {}
    top: Any = getattr(fixtures, "TopRequest", None) or fixtures.FixtureRequest  # pytest < 8
    item_any._request = top(item, _ispytest=True)


def fill_fixtures(item: pytest.Item, named: dict[str, str]) -> None:
    """Set up ``item``'s fixtures (at its setup); ``named``: each name asked for, and by whom.

    A name no fixture has fails the item's setup with a message saying where it was named,
    instead of the traceback a test function would show.
    """
    from ws_routes.errors import did_you_mean

    item_any: Any = item
    known = item_any._fixtureinfo.name2fixturedefs
    for name, source in named.items():
        if name not in known:
            hint = did_you_mean(name, _fixture_names(item)) or "pytest --fixtures lists them"
            pytest.fail(f"{source}: fixture {name!r} not found ({hint})", pytrace=False)
    item_any._request._fillfixtures()


def _fixture_names(item: pytest.Item) -> list[str]:
    """Every fixture name pytest knows of (for a suggestion: where each is visible aside)."""
    manager: Any = item.session._fixturemanager
    for table in ("_arg2node2fixturedefs", "_arg2nodeid2fixturedefs", "_arg2fixturedefs"):
        names = getattr(manager, table, None)  # its name differs between pytest versions
        if isinstance(names, dict):
            return [str(name) for name in names]
    return []
