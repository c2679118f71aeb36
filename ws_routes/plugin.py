"""The pytest layer: options, one item per WebSocket route, failure reports and the summary.

Loaded by every pytest run through the ``pytest11`` entry point, so it imports only pytest and
the standard library at module level: runs that do not pass ``--routes-websocket`` pay nothing.
"""

from __future__ import annotations

import os
import random
import sys
from collections.abc import Generator, Iterator
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ws_routes.compile.credentials import Credential, Redactor
    from ws_routes.compile.route import CompiledRoute
    from ws_routes.driver.transcript import Failure, Transcript
    from ws_routes.engine.stats import RouteStats
    from ws_routes.errors import WsRoutesWarning
    from ws_routes.options import RunOptions
    from ws_routes.spec.model import RouteSpec, Spec

__all__ = ["RoutesCollector", "WebSocketRouteItem", "WsRoutesWarning"]

STATS_PROPERTY = "ws_routes_stats"
# --routes-verbose under xdist: a worker has no terminal, so each route's conversations travel
# to the controller with its report and are printed there when the route finishes.
VERBOSE_PROPERTY = "ws_routes_verbose"
# The note that the app's HTTP routes went untested travels with each item's report (xdist too).
NOTE_PROPERTY = "ws_routes_note"
_NODE_PREFIX = "ws-routes::test_websocket["
# Importing the app and calling its factory may take this many connection_timeouts (a server
# starting up): generous, since importing a large app is slow, but never forever.
_APP_LOAD_FACTOR = 10


@dataclass(slots=True)
class _State:
    options: RunOptions
    seed: int
    # Every secret of the run (--routes-auth, the spec's auth.token), in every encoding; its repr
    # and the credential's are masked, so a traceback's locals (pytest -l) show neither.
    redactor: Redactor
    app: Any = None
    spec: Spec | None = None
    credential: Credential | None = None
    log_filter: Any = None  # on the asyncio logger for the whole session
    note: str | None = None


_STATE = pytest.StashKey["_State"]()
# Our flags that another plugin (pytest-routes) registered, with that plugin's default.
_FOREIGN = pytest.StashKey[dict[str, Any]]()
_GIVEN = pytest.StashKey[frozenset[str]]()


def pytest_addoption(parser: pytest.Parser, pluginmanager: pytest.PytestPluginManager) -> None:
    from ws_routes.options import OPTIONS

    for option in OPTIONS:
        parser.addini(option.ini, f"default for {option.flag}: {option.help}", default=None)
    # The flags themselves wait until every plugin installed has registered its own (see
    # pytest_load_initial_conftests), unless a conftest loaded us: then every plugin already has.
    if any(_is_conftest(plugin) for plugin in pluginmanager.get_plugins()):
        config = pluginmanager.get_plugin("pytestconfig")
        if isinstance(config, pytest.Config):
            _add_missing_options(config, parser)


def _is_conftest(plugin: object) -> bool:
    return Path(str(getattr(plugin, "__file__", "") or "")).name == "conftest.py"


@pytest.hookimpl(hookwrapper=True)
def pytest_load_initial_conftests(
    early_config: pytest.Config, parser: pytest.Parser
) -> Iterator[None]:
    yield
    _add_missing_options(early_config, parser)


def _add_missing_options(config: pytest.Config, parser: pytest.Parser) -> None:
    """Register each of our flags that no other plugin registered.

    pytest-routes registers ``--routes``, ``--routes-app``, ``--routes-websocket`` and more of
    the seed's flags with the same meaning; registering one twice stops pytest before it starts,
    and pytest loads installed plugins in no fixed order. So every plugin registers first, then
    we add what is still missing, and both plugins read the one value.
    """
    from ws_routes.options import OPTIONS

    if _FOREIGN in config.stash:
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
    config.stash[_FOREIGN] = foreign


def _command_line_value(config: pytest.Config, dest: str) -> Any:
    """``--flag``'s value, or None when the command line did not give it.

    Our flags default to None ("not given", so the ini file and the spec apply); a flag another
    plugin registered has that plugin's default (pytest-routes: ``--routes-max-examples`` 100),
    so for those the command line itself says whether the user gave it.
    """
    foreign = config.stash.get(_FOREIGN, {})
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


def pytest_configure(config: pytest.Config) -> None:
    from ws_routes.options import OptionError, resolve_options

    _take_route_ids(config)

    try:
        options = resolve_options(
            lambda dest: _command_line_value(config, dest), lambda name: config.getini(name)
        )
    except OptionError as err:
        raise pytest.UsageError(str(err)) from None
    if options.routes and not options.enabled:
        enabled = _pyproject_enables_websocket(config.rootpath)
        options = replace(options, enabled=enabled)
    if not options.enabled:
        if options.routes:
            http = None if _pytest_routes(config) is not None else _HTTP_NOTE
            config.pluginmanager.register(_RoutesAloneNote(http), "ws_routes_note")
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
    seed_value = options.seed if options.seed is not None else _int_or_none(hypothesis_seed)
    state = _State(
        options=options,
        seed=seed_value if seed_value is not None else random.SystemRandom().getrandbits(32),
        redactor=Redactor([credential.secret] if credential is not None else []),
        credential=credential,
    )
    _filter_asyncio_logger(state)
    config.stash[_STATE] = state
    config.pluginmanager.register(_SessionReporter(config, state), "ws_routes_session")
    if _pytest_routes(config) is not None:
        config.pluginmanager.register(_PytestRoutesWebSocketItems(), "ws_routes_pytest_routes")


def _pytest_routes(config: pytest.Config) -> Any:
    """pytest-routes' plugin module when it takes part in this run, else None."""
    module = sys.modules.get("pytest_routes.plugin")
    return module if module is not None and config.pluginmanager.is_registered(module) else None


def _filter_asyncio_logger(state: _State) -> None:
    """Redact the asyncio logger for the whole session: it may log an app's task long after
    the route ended ("Task exception was never retrieved"), outside any item."""
    import logging

    from ws_routes.report.redaction import RedactingFilter

    state.log_filter = RedactingFilter(state.redactor)
    logging.getLogger("asyncio").addFilter(state.log_filter)


def pytest_unconfigure(config: pytest.Config) -> None:
    import logging

    state = config.stash.get(_STATE, None)
    if state is not None and state.log_filter is not None:
        logging.getLogger("asyncio").removeFilter(state.log_filter)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report: pytest.TestReport = yield
    if isinstance(item, WebSocketRouteItem):
        _redact_report(item.config, report)
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
    state = config.stash.get(_STATE, None)
    if state is not None:
        from ws_routes.report.redaction import redact_report

        redact_report(report, state.redactor)


def _take_route_ids(config: pytest.Config) -> None:
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


def _int_or_none(value: Any) -> int | None:
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


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(
    session: pytest.Session, config: pytest.Config, items: list[pytest.Item]
) -> None:
    state = config.stash.get(_STATE, None)
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


class RoutesCollector(pytest.Collector):
    """Loads the spec and the app, discovers routes, and yields one item per route."""

    def collect(self) -> Iterator[pytest.Item]:
        from ws_routes.errors import WsRoutesError

        state = self.config.stash[_STATE]
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
    config: pytest.Config, state: _State
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
    if options.routes and app_routes.http_routes and _pytest_routes(config) is None:
        state.note = (
            f"ws_routes: {len(app_routes.http_routes)} HTTP route(s) of {app_path} were not "
            f"tested ({', '.join(app_routes.http_routes[:3])}"
            f"{', ...' if len(app_routes.http_routes) > 3 else ''}): {_HTTP_NOTE}"
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


def __getattr__(name: str) -> Any:
    # WsRoutesWarning lives in ws_routes.errors, so the core warns without pytest; it is
    # re-exported lazily because this module imports only pytest and the stdlib at load time.
    if name == "WsRoutesWarning":
        from ws_routes.errors import WsRoutesWarning

        return WsRoutesWarning
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _warn_unmatched_registrations(paths: list[str]) -> None:
    import warnings

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


def _compile_softly(
    compile_route: Any, route: RouteSpec, converters: dict[str, str] | None
) -> CompiledRoute:
    """``compile_route``, with its notes (an unknown ``format``, say) never raised as errors.

    They describe a correct spec that ws_routes honours only in part, so a project whose
    ``filterwarnings = error`` must not fail on them: such a filter shows them as warnings, while
    ``ignore`` filters still silence them. Other warnings pass through untouched.
    """
    import warnings

    from ws_routes.errors import WsRoutesWarning

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        compiled: CompiledRoute = compile_route(route, converters=converters)
    for record in caught:
        message, where = record.message, (record.category, record.filename, record.lineno)
        if not isinstance(message, WsRoutesWarning):
            warnings.warn_explicit(message, *where)
            continue
        try:
            warnings.warn_explicit(message, *where)
        except WsRoutesWarning:
            with warnings.catch_warnings():
                warnings.simplefilter("always", WsRoutesWarning)
                warnings.warn_explicit(message, *where)
    return compiled


class WebSocketRouteItem(pytest.Item):
    """One WebSocket route: many generated conversations, shrunk to a minimal failing one."""

    def __init__(
        self,
        *,
        route: RouteSpec,
        converters: dict[str, str] | None,
        problem: str | None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.route = route
        self.converters = converters
        self.problem = problem
        self._verbose_log: list[str] = []
        note = self.config.stash[_STATE].note
        if note:
            self.user_properties.append((NOTE_PROPERTY, note))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name

    def runtest(self) -> None:
        from ws_routes.compile.credentials import credential_for
        from ws_routes.compile.route import compile_route
        from ws_routes.engine.runner import RouteRunner
        from ws_routes.errors import WsRoutesError, WsRoutesWarning
        from ws_routes.report.redaction import app_output_redacted

        state = self.config.stash[_STATE]
        if self.problem:
            raise WsRoutesError(self.problem)
        if not self.route.settings.enabled:
            pytest.skip(f"{self.route.path}: disabled in the spec (settings.enabled: false)")
        compiled = _compile_softly(compile_route, self.route, self.converters)
        credential = credential_for(self.route.auth, state.credential)
        max_examples = self._max_examples(compiled)
        printer = self._verbose_printer(compiled) if state.options.verbose else None
        runner = RouteRunner(
            state.app,
            compiled,
            credential=credential,
            seed=state.seed,
            max_examples=max_examples,
            on_conversation=printer,
            on_probe=(lambda probe, t, f: printer(t, f, f"probe {probe.name!r}"))
            if printer
            else None,
        )
        try:
            with app_output_redacted(state.redactor):
                result = runner.run()
        finally:
            if self._verbose_log:
                self.user_properties.append((VERBOSE_PROPERTY, "\n".join(self._verbose_log)))
        stats = result.stats
        stats.outcome = (
            "FAILED"
            if result.failure or result.error or result.internal
            else ("SKIPPED" if result.skipped else "passed")
        )
        self.user_properties.append((STATS_PROPERTY, stats.to_json()))
        # A project that turns warnings into errors must still see the route's findings: with a
        # failure (or error) to report, the lint stays a warning instead of replacing it.
        keep_warning = result.failure is not None or result.error is not None
        for warning in result.warnings:
            self._warn(WsRoutesWarning(state.redactor.redact(warning)), always=keep_warning)
        if result.failure is not None:
            raise result.failure  # with result.internal, if any, attached to it
        if result.internal is not None:
            raise result.internal
        if result.error:
            raise WsRoutesError(f"{self.route.path}: {result.error}")
        if result.skipped:
            pytest.skip(result.skipped)

    def _warn(self, warning: Warning, *, always: bool = False) -> None:
        """Like ``Item.warn``, located at the route in the spec (an item has no line of its own).

        ``always`` shows it as a warning even where filters would raise it as an error.
        """
        import warnings

        from ws_routes.errors import WsRoutesWarning

        where = self.route.location
        with warnings.catch_warnings():
            if always:
                warnings.simplefilter("always", WsRoutesWarning)
            warnings.warn_explicit(
                warning,
                category=None,
                filename=where.file or str(self.path),
                lineno=where.line or 0,
            )

    def _max_examples(self, compiled: CompiledRoute) -> int:
        from hypothesis import settings as hypothesis_settings

        # --routes-max-examples and the spec are already merged into the route's settings.
        chosen = compiled.spec.settings.max_examples
        return chosen if chosen is not None else hypothesis_settings().max_examples

    def _verbose_printer(self, compiled: CompiledRoute) -> Any:
        from ws_routes.report.render import render_handshake

        state = self.config.stash[_STATE]
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        capture = self.config.pluginmanager.get_plugin("capturemanager")
        counter = [0]

        def show(transcript: Transcript, failures: list[Failure], label: str = "") -> None:
            if not label:
                counter[0] += 1
                label = f"conversation {counter[0]}"
            lines = [
                f"--- {compiled.spec.path} {label}"
                + (f": FAILED {failures[0].check}" if failures else "")
            ]
            lines += render_handshake(transcript).splitlines() + transcript.render(limit=160)
            text = state.redactor.redact("\n".join(lines))
            if hasattr(self.config, "workerinput"):
                self._verbose_log.append(text)  # printed by the controller (VERBOSE_PROPERTY)
                return
            if reporter is None or capture is None:
                print(text)
                return
            with capture.global_and_fixture_disabled():
                reporter.write_line("")
                for line in text.splitlines():
                    reporter.write_line(line)

        return show

    def repr_failure(
        self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None
    ) -> str | Any:
        from ws_routes.engine.runner import ConversationFailed, InternalError
        from ws_routes.errors import WsRoutesError

        state = self.config.stash[_STATE]
        exc = excinfo.value
        if isinstance(exc, ConversationFailed):
            return self._render_conversation_failure(exc, state)
        if isinstance(exc, InternalError):
            return self._render_internal_error(exc, state)
        if isinstance(exc, WsRoutesError):
            return state.redactor.redact(str(exc))
        return super().repr_failure(excinfo)

    def _render_conversation_failure(self, exc: Any, state: _State) -> str:
        from ws_routes.report.render import render_failure, replay_snippet, reproduce_command

        app = state.options.app or (state.spec.app if state.spec else None) or "module:app"
        args = list(self.config.invocation_params.args)
        seed = state.seed
        command = reproduce_command(args, route=self.route.path, seed=seed)
        spec_source = state.spec.source if state.spec else None
        if spec_source:
            spec_source = os.path.relpath(spec_source, self.config.invocation_params.dir)
        snippet = replay_snippet(app, exc.conversation, spec=spec_source)
        extra = (
            [
                "",
                "Note: this failure did not reproduce on every replay (flaky: timing or shared state).",
            ]
            if exc.flaky
            else []
        )
        report = render_failure(
            exc.failure,
            exc.transcript,
            reproduce_command=command,
            snippet=snippet,
            secrets=state.redactor,
            extra=extra,
            probe=exc.probe,
        )
        for other in exc.also:
            report += f"\n\nALSO FOUND ON {self.route.path} (a separate bug):\n" + render_failure(
                other.failure,
                other.transcript,
                reproduce_command=command,
                snippet=replay_snippet(app, other.conversation, spec=spec_source),
                secrets=state.redactor,
                probe=other.probe,
                traceback_lines=6,
            )
        if exc.internal is not None:
            report += "\n\n" + self._render_internal_error(exc.internal, state)
        return report

    def _render_internal_error(self, exc: Any, state: _State) -> str:
        from ws_routes.report.render import render_internal_error, replay_snippet, reproduce_command

        app = state.options.app or (state.spec.app if state.spec else None) or "module:app"
        args = list(self.config.invocation_params.args)
        command = reproduce_command(args, route=self.route.path, seed=state.seed)
        snippet = replay_snippet(app, exc.conversation) if exc.conversation is not None else None
        return render_internal_error(
            self.route.path,
            exc.traceback,
            exc.transcript,
            reproduce_command=command,
            snippet=snippet,
            secrets=state.redactor,
        )


_HTTP_NOTE = (
    "ws_routes tests WebSocket routes only; HTTP routes need pytest-routes "
    "(pip install pytest-routes: the same --routes command then tests them too) or Schemathesis"
)


class _RoutesAloneNote:
    """`--routes` alone tests nothing here; say so rather than pass silently."""

    def __init__(self, http: str | None) -> None:
        self.http = http

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        terminalreporter.write_line(
            "ws_routes: --routes alone tests no WebSocket route: add --routes-websocket, or set "
            "enabled = true under [tool.pytest-routes.websocket] in pyproject.toml"
            + (f"; {self.http}" if self.http else "")
        )


class _PytestRoutesWebSocketItems:
    """With both plugins, pytest-routes tests the HTTP routes and ws_routes the WebSocket ones.

    pytest-routes 0.4 also adds a smoke test per WebSocket route for ``--routes-websocket``; the
    same flag asks ws_routes for its own items on those routes, so pytest-routes' are deselected
    (reported as such) rather than run twice with two verdicts.
    """

    @pytest.hookimpl(trylast=True)  # after pytest-routes added its items
    def pytest_collection_modifyitems(
        self, config: pytest.Config, items: list[pytest.Item]
    ) -> None:
        module = _pytest_routes(config)
        theirs = getattr(module, "WebSocketTestItem", None)
        if not isinstance(theirs, type):
            return
        dropped = [item for item in items if isinstance(item, theirs)]
        if dropped:
            items[:] = [item for item in items if not isinstance(item, theirs)]
            config.hook.pytest_deselected(items=dropped)


class _SessionReporter:
    """Collects route counters from every report (also from xdist workers) and prints the summary."""

    def __init__(self, config: pytest.Config, state: _State) -> None:
        self.config = config
        self.state = state
        self.collected: list[str] = []
        self.notes: dict[str, None] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        self.collected.extend(str(v) for k, v in report.user_properties if k == STATS_PROPERTY)
        self.notes.update((str(v), None) for k, v in report.user_properties if k == NOTE_PROPERTY)
        verbose = [str(v) for k, v in report.user_properties if k == VERBOSE_PROPERTY]
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if verbose and reporter is not None:
            reporter.write_line("")
            for line in "\n".join(verbose).splitlines():
                reporter.write_line(line)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.state.note:  # also when no WebSocket route was collected
            self.notes[self.state.note] = None
        self._summary(terminalreporter)
        for note in self.notes:
            terminalreporter.write_line(note)

    def _summary(self, terminalreporter: Any) -> None:
        if not self.collected:
            return
        from ws_routes.engine.stats import RouteStats
        from ws_routes.report.render import render_summary

        merged: dict[str, RouteStats] = {}
        for text in self.collected:
            stats = RouteStats.from_json(text)
            merged[stats.route] = stats
        terminalreporter.write_sep("=", "ws_routes")
        for line in render_summary(merged.values()).splitlines():
            terminalreporter.write_line(line)
        if any(s.failures for s in merged.values()):
            terminalreporter.write_line(f"WebSocket test failed (seed: {self.state.seed})")
