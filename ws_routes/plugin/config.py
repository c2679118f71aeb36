"""Our options from the command line and the ini file, next to plugins that share some flags.

pytest-routes registers ``--routes``, ``--routes-app``, ``--routes-websocket`` and more of the
seed's flags with the same meaning, so each flag is registered only where no other plugin did,
and a value is read back knowing whose default it might be.
"""

from __future__ import annotations

import os
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ws_routes.options import RunOptions

# Our flags that another plugin (pytest-routes) registered, with that plugin's default.
FOREIGN = pytest.StashKey[dict[str, Any]]()
_GIVEN = pytest.StashKey[frozenset[str]]()
_NODE_PREFIX = "ws-routes::test_websocket["


def is_conftest(plugin: object) -> bool:
    return Path(str(getattr(plugin, "__file__", "") or "")).name == "conftest.py"


def add_missing_options(config: pytest.Config, parser: pytest.Parser) -> None:
    """Register each of our flags that no other plugin registered.

    Registering one twice stops pytest before it starts, and pytest loads installed plugins in
    no fixed order. So every plugin registers first, then we add what is still missing, and both
    plugins read the one value.
    """
    from ws_routes.options import OPTIONS

    if FOREIGN in config.stash:
        return
    registered = vars(parser.parse_known_args([]))  # dest -> default, for every known option
    foreign: dict[str, Any] = {}
    group = parser.getgroup("ws-routes", "WebSocket route testing (ws_routes)")
    for option in OPTIONS:
        if option.dest in registered:
            foreign[option.dest] = registered[option.dest]
        elif option.kind == "flag":
            group.addoption(
                option.flag, action="store_true", dest=option.dest, default=False, help=option.help
            )
        else:
            group.addoption(
                option.flag,
                action="store",
                dest=option.dest,
                default=None,
                metavar=option.metavar,
                help=option.help,
            )
    config.stash[FOREIGN] = foreign


def resolve_run_options(config: pytest.Config) -> RunOptions:
    """The run's options: command line over ini file, bad values a ``pytest.UsageError``."""
    from ws_routes.options import OptionError, resolve_options

    try:
        options = resolve_options(
            lambda dest: command_line_value(config, dest), lambda name: config.getini(name)
        )
    except OptionError as err:
        raise pytest.UsageError(str(err)) from None
    if options.url is not None:
        from ws_routes.spec.urls import url_problem

        problem = url_problem(options.url)
        if problem is not None:
            raise pytest.UsageError(f"--routes-url: {problem}")
    if options.server is not None:
        server_choice(options)  # a bad name or a server not installed stops the run at once
    if options.routes and not options.enabled:
        options = replace(options, enabled=_pyproject_enables_websocket(config.rootpath))
    return options


def server_choice(options: RunOptions) -> Any:
    """``--routes-server`` as a ``driver.servers.ServerChoice`` (None when not given)."""
    if options.server is None:
        return None
    from ws_routes.driver.servers import ServerStartError, parse_server

    if options.url is not None:
        raise pytest.UsageError(
            "--routes-server runs --routes-app under a server of ours; --routes-url tests one "
            "already running: give one of them"
        )
    try:
        return parse_server(options.server)
    except ServerStartError as err:
        raise pytest.UsageError(str(err)) from None


def command_line_value(config: pytest.Config, dest: str) -> Any:
    """``--flag``'s value, or None when the command line did not give it.

    Our flags default to None ("not given", so the ini file and the spec apply); a flag another
    plugin registered has that plugin's default (pytest-routes: ``--routes-max-examples`` 100),
    so for those the command line itself says whether the user gave it.
    """
    foreign = config.stash.get(FOREIGN, {})
    value = config.getoption(dest, None)
    default = foreign.get(dest)
    if dest not in foreign or default is None or default is False or value != default:
        return value
    given = config.stash.get(_GIVEN, None)
    if given is None:
        given = config.stash[_GIVEN] = _given_on_command_line(config, foreign)
    return value if dest in given else None


def _given_on_command_line(config: pytest.Config, dests: dict[str, Any]) -> frozenset[str]:
    import argparse
    import shlex

    from ws_routes.options import OPTIONS

    # The arguments pytest parsed: the ini file's addopts, then PYTEST_ADDOPTS, then the command.
    args = [
        *map(str, config.getini("addopts")),
        *shlex.split(os.environ.get("PYTEST_ADDOPTS", "")),
        *map(str, config.invocation_params.args),
    ]
    probe = argparse.ArgumentParser(add_help=False, allow_abbrev=False)
    for option in OPTIONS:
        if option.dest in dests:
            action = "store_true" if isinstance(dests[option.dest], bool) else "store"
            probe.add_argument(
                option.flag, dest=option.dest, action=action, default=argparse.SUPPRESS
            )
    try:
        known, _ = probe.parse_known_args(args)
    except SystemExit:  # pytest accepted these arguments; this cannot happen
        return frozenset(dests)
    return frozenset(vars(known))


def take_route_ids(config: pytest.Config) -> None:
    """Let ``pytest 'ws-routes::test_websocket[/ws/chat]'`` select routes, as node ids do.

    Our items come from no file, so pytest would refuse the argument ("file or directory not
    found"); it becomes an include pattern instead (which xdist passes on to its workers).
    """
    ids = [a for a in config.args if a.startswith(_NODE_PREFIX) and a.endswith("]")]
    if not ids:
        return
    config.args = [a for a in config.args if a not in ids]
    current = config.getoption("routes_ws_include", None)
    paths = [a[len(_NODE_PREFIX) : -1] for a in ids]
    config.option.routes_ws_include = ",".join([*([current] if current else []), *paths])


FIXTURES_INI = "routes_fixtures"
FIXTURES_HELP = "fixtures every WebSocket route item requests (names, space-separated)"


def ini_fixtures(config: pytest.Config) -> tuple[str, ...]:
    """The fixture names of the ini option ``routes_fixtures``; a bad one is a usage error."""
    try:
        raw = config.getini(FIXTURES_INI)
    except ValueError:  # not registered: a conftest loaded us after the ini options were read
        return ()
    names = tuple(str(name) for name in raw or ())
    bad = [name for name in names if not name.isidentifier()]
    if bad:
        raise pytest.UsageError(
            f"ini option {FIXTURES_INI!r}: expected fixture names (Python identifiers), "
            f"got {bad[0]!r}"
        )
    return tuple(dict.fromkeys(names))


def int_or_none(value: Any) -> int | None:
    try:
        return int(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def _pyproject_enables_websocket(rootpath: Path) -> bool:
    # `pytest --routes` alone tests WebSockets when the project opted in, as the seed documents.
    import tomllib

    try:
        data = tomllib.loads((rootpath / "pyproject.toml").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return False
    websocket = data.get("tool", {}).get("pytest-routes", {}).get("websocket", {})
    return bool(isinstance(websocket, dict) and websocket.get("enabled", False))
