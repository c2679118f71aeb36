"""The pytest layer: options, one item per WebSocket route, failure reports and the summary.

Loaded by every pytest run through the ``pytest11`` entry point, so it imports only pytest, the
standard library and the package's own modules, which do the same, at module level: runs that
do not pass ``--routes-websocket`` pay nothing. This module is the one pytest registers, so
every module-level hook is here; the others are registered as objects when a run needs them.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Generator, Iterator
from typing import TYPE_CHECKING, Any

import pytest

from ws_routes.plugin.coexist import (
    HTTP_NOTE,
    PytestRoutesWebSocketItems,
    RoutesAloneNote,
    find_pytest_routes,
)
from ws_routes.plugin.collect import RoutesCollector
from ws_routes.plugin.config import (
    FIXTURES_HELP,
    FIXTURES_INI,
    add_missing_options,
    ini_fixtures,
    int_or_none,
    is_conftest,
    resolve_run_options,
    take_route_ids,
)
from ws_routes.plugin.item import WebSocketRouteItem
from ws_routes.plugin.itemsetup import MARKER_HELP
from ws_routes.plugin.state import DERANDOMIZED_SEED, STATE, State
from ws_routes.plugin.terminal import SessionReporter

# Set on the functions ws_routes.testing.route_test returns (the plugin may not import it).
ROUTE_TEST_FLAG = "_ws_routes_route_test"

if TYPE_CHECKING:
    from ws_routes.errors import WsRoutesWarning

__all__ = ["RoutesCollector", "WebSocketRouteItem", "WsRoutesWarning"]


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    from ws_routes.options import OPTIONS

    for option in OPTIONS:
        parser.addini(option.ini, f"default for {option.flag}: {option.help}", default=None)
    parser.addini(FIXTURES_INI, FIXTURES_HELP, type="args", default=[])
    # The flags themselves wait until every plugin installed has registered its own (see
    # pytest_load_initial_conftests), unless a conftest loaded us: then every plugin already has.
    if any(is_conftest(plugin) for plugin in pluginmanager.get_plugins()):
        config = pluginmanager.get_plugin("pytestconfig")
        if isinstance(config, pytest.Config):
            add_missing_options(config, parser)


@pytest.hookimpl(hookwrapper=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser
) -> Iterator[None]:
    yield
    add_missing_options(early_config, parser)


def pytest_configure(config: pytest.Config) -> None:
    # Registered in every run, so --strict-markers accepts a conftest's `-m websocket` too.
    config.addinivalue_line("markers", MARKER_HELP)
    take_route_ids(config)
    options = resolve_run_options(config)
    if not options.enabled:
        if options.routes:
            http = None if find_pytest_routes(config) is not None else HTTP_NOTE
            config.pluginmanager.register(RoutesAloneNote(http), "ws_routes_note")
        return
    from ws_routes.compile.credentials import Redactor

    if options.auth is not None:
        from ws_routes.compile.credentials import parse_auth_option
        from ws_routes.errors import WsRoutesError

        try:
            credential = parse_auth_option(options.auth)
        except WsRoutesError as err:
            raise pytest.UsageError(str(err)) from None
    else:
        credential = None
    hypothesis_seed = config.getoption("hypothesis_seed", None)
    seed_value = options.seed if options.seed is not None else int_or_none(hypothesis_seed)
    # A seed given makes the example database write-only (see RouteDatabase): the same seed
    # twice sends the same conversations whatever the database holds.
    seeded = seed_value is not None
    # A derandomized profile (Hypothesis' "ci" one, loaded when CI=true) fixes the seed, as
    # Hypothesis fixes a @given test's, and replays its database (if it has one) as Hypothesis does.
    derandomized = not seeded and _profile_derandomizes(config)
    if derandomized:
        seed_value = DERANDOMIZED_SEED
    state = State(
        options=options,
        seed=seed_value if seed_value is not None else random.SystemRandom().getrandbits(32),
        redactor=Redactor([credential.secret] if credential is not None else []),
        credential=credential,
        fixtures=ini_fixtures(config),
        seeded=seeded,
        derandomized=derandomized,
    )
    _filter_asyncio_logger(state)
    config.stash[STATE] = state
    config.pluginmanager.register(SessionReporter(config, state), "ws_routes_session")
    # Before the app is imported: a C call holding the GIL there is the watcher's to report too.
    from ws_routes.plugin import watcher

    watcher.start(config)
    if find_pytest_routes(config) is not None:
        config.pluginmanager.register(PytestRoutesWebSocketItems(), "ws_routes_pytest_routes")


def _profile_derandomizes(config: pytest.Config) -> bool:
    """Whether the Hypothesis profile of the run (--hypothesis-profile, else the current one,
    which is "ci" on CI machines) sets ``derandomize``."""
    from hypothesis import settings

    name = config.getoption("hypothesis_profile", None)
    try:
        # Read by name: Hypothesis' own pytest_configure may load it after ours has run.
        profile = settings.get_profile(name) if name else settings()
    except Exception:  # an unknown profile: Hypothesis reports it itself
        profile = settings()
    return bool(profile.derandomize)


def _filter_asyncio_logger(state: State) -> None:
    """Redact the asyncio logger for the whole session: it may log an app's task long after
    the route ended ("Task exception was never retrieved"), outside any item."""
    from ws_routes.report.redaction import RedactingFilter

    state.log_filter = RedactingFilter(state.redactor)
    logging.getLogger("asyncio").addFilter(state.log_filter)


def pytest_unconfigure(config: pytest.Config) -> None:
    state = config.stash.get(STATE, None)
    if state is not None and state.log_filter is not None:
        logging.getLogger("asyncio").removeFilter(state.log_filter)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if isinstance(item, WebSocketRouteItem):
        _redact_report(item.config, report)
    elif getattr(getattr(item, "obj", None), ROUTE_TEST_FLAG, False):
        # A route test (ws_routes.testing): Hypothesis would offer a patch adding the failing
        # example to the @given function it sees, which is ours, inside ws_routes. Whichever
        # of the two wrappers runs first, the example is gone before the patch is made.
        item.__dict__.pop("_hypothesis_failing_examples", None)
        report.__dict__.pop("_hypothesis_failing_examples", None)
    return report


@pytest.hookimpl(wrapper=True)
def pytest_make_collect_report(
    collector: pytest.Collector,
) -> Generator[None, pytest.CollectReport, pytest.CollectReport]:
    report: pytest.CollectReport = yield
    if isinstance(collector, RoutesCollector):
        _redact_report(collector.config, report)
    return report


def _redact_report(config: pytest.Config, report: pytest.TestReport | pytest.CollectReport) -> None:
    """Every secret of the run out of a report of ours, whatever channel prints it."""
    state = config.stash.get(STATE, None)
    if state is not None:
        from ws_routes.report.redaction import redact_report

        redact_report(report, state.redactor)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = config.stash.get(STATE, None)
    if state is None:
        return
    collector = RoutesCollector.from_parent(session, name="ws-routes", nodeid="ws-routes")
    config.hook.pytest_collectstart(collector=collector)
    report: pytest.CollectReport = config.hook.pytest_make_collect_report(collector=collector)
    # pytest's own collection drops the CallInfo that pytest_make_collect_report leaves on the
    # report before anyone sees it; xdist cannot send a report holding one to the controller
    # (every collection error became an INTERNALERROR under -n).
    report.__dict__.pop("call", None)
    config.hook.pytest_collectreport(report=report)
    if report.passed:
        items.extend(node for node in report.result if isinstance(node, pytest.Item))


def __getattr__(name: str) -> Any:
    # WsRoutesWarning lives in ws_routes.errors, so the core warns without pytest; it is
    # re-exported lazily because this package imports only pytest and the stdlib at load time.
    if name == "WsRoutesWarning":
        from ws_routes.errors import WsRoutesWarning

        return WsRoutesWarning
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
