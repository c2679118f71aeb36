"""One pytest item per WebSocket route: runs it, and renders its failures for pytest."""

from __future__ import annotations

import os
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ws_routes.plugin.itemsetup import add_markers, fill_fixtures, request_fixtures
from ws_routes.plugin.state import (
    CHECKS_PROPERTY,
    NOTE_PROPERTY,
    ROUTE_PROPERTY,
    SEED_PROPERTY,
    STATE,
    STATS_PROPERTY,
    VERBOSE_PROPERTY,
    State,
)

if TYPE_CHECKING:
    from ws_routes.compile.route import CompiledRoute
    from ws_routes.driver.transcript import Failure, Transcript
    from ws_routes.engine.findings import ConversationFailed
    from ws_routes.engine.result import RouteResult
    from ws_routes.spec.model import RouteSpec


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
        self._verbose_log: list[str] = []
        state = self.config.stash[STATE]
        if state.note:
            self.user_properties.append((NOTE_PROPERTY, state.note))
        # Where the spec names them: ws-routes.yaml:5:3: routes./ws/chat.markers
        where = str(route.location) if route.location.file else f"route {route.path}"
        marker_problem = add_markers(
            self,
            route.markers,
            filename=route.location.file or str(self.path),
            lineno=route.location.line or 0,
        )
        self.problem = problem or (f"{where}.markers: {marker_problem}" if marker_problem else None)
        # Each fixture asked for, and where: the ini file's first, then the route's own.
        self._requested = {name: "ini option 'routes_fixtures'" for name in state.fixtures}
        self._requested.update((name, f"{where}.fixtures") for name in route.fixtures)
        request_fixtures(self, list(self._requested))

    def reportinfo(self) -> tuple[Path, int | None, str]:
        return self.path, None, self.name

    def setup(self) -> None:
        fill_fixtures(self, self._requested)

    def runtest(self) -> None:
        from ws_routes.compile.credentials import credential_for
        from ws_routes.compile.route import compile_route
        from ws_routes.engine.runner import RouteRunner
        from ws_routes.errors import WsRoutesError, WsRoutesWarning
        from ws_routes.plugin import crashes
        from ws_routes.plugin.liveline import live_line
        from ws_routes.report.redaction import app_output_redacted

        state = self.config.stash[STATE]
        if self.problem:
            raise WsRoutesError(self.problem)
        if not self.route.settings.enabled:
            pytest.skip(f"{self.route.path}: disabled in the spec (settings.enabled: false)")
        compiled = _compile_softly(compile_route, self.route, self.converters)
        credential = credential_for(self.route.auth, state.credential)
        max_examples = self._max_examples(compiled)
        printer = self._verbose_printer(compiled) if state.options.verbose else None
        live = None if printer else live_line(self.config)
        saved = crashes.saved_for(self, credential)  # replayed first, like Hypothesis' database
        runner = RouteRunner(
            state.target or state.app,
            compiled,
            credential=credential,
            seed=state.seed,
            max_examples=max_examples,
            on_conversation=printer,
            on_probe=(lambda probe, t, f: printer(t, f, f"probe {probe.name!r}"))
            if printer
            else None,
            on_progress=live,
            max_time=state.options.max_time,
            replays=[s for _, s in saved],
            on_replay=(lambda i, t, f: printer(t, f, f"replay of {saved[i][0].name}"))
            if printer
            else None,
            reuse_database=not state.seeded,
            fresh=crashes.fresh_app(self),
        )
        try:
            with app_output_redacted(state.redactor):
                result = runner.run()
                if state.differential is not None:
                    from ws_routes.engine.differential import add_differences

                    add_differences(result, state.app, compiled, state.differential)
        finally:
            if live is not None:
                live.close()
            if self._verbose_log:
                self.user_properties.append((VERBOSE_PROPERTY, "\n".join(self._verbose_log)))
        crashes.after_run(self, result, saved)
        self._record(result)
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

    def _record(self, result: RouteResult) -> None:
        """The route's counters, for the summary (xdist's controller too) and JUnit."""
        stats = result.stats
        stats.outcome = (
            "FAILED"
            if result.failure or result.error or result.internal
            else ("SKIPPED" if result.skipped else "passed")
        )
        self.user_properties.append((STATS_PROPERTY, stats.to_json()))
        found = [result.failure, *result.failure.also] if result.failure is not None else []
        checks = ",".join(dict.fromkeys(f.failure.check for f in found))
        self.user_properties += [
            (ROUTE_PROPERTY, self.route.path),
            (SEED_PROPERTY, self.config.stash[STATE].seed),
            *((CHECKS_PROPERTY, checks),) * bool(checks),
            ("sequences", stats.sequences),
            ("messages", stats.messages),
            ("findings", stats.failures),
        ]
        if stats.time_limited:
            self.user_properties.append(("stopped_at_time_limit", "true"))

    def _warn(self, warning: Warning, *, always: bool = False) -> None:
        """Like ``Item.warn``, located at the route in the spec (an item has no line of its own).

        ``always`` shows it as a warning even where filters would raise it as an error.
        """
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

        state = self.config.stash[STATE]
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
        from ws_routes.plugin.longrepr import body_of, finding_repr
        from ws_routes.report.oneline import internal_line, route_line

        state = self.config.stash[STATE]
        exc = excinfo.value
        root = str(self.config.invocation_params.dir)
        if isinstance(exc, ConversationFailed):
            line = route_line(exc, seed=state.seed, root=root, secrets=state.redactor)
            text = self._render_conversation_failure(exc, state)
        elif isinstance(exc, InternalError):
            line = internal_line(exc, seed=state.seed, secrets=state.redactor)
            text = self._render_internal_error(exc, state)
        elif isinstance(exc, WsRoutesError):  # the route could not be tested: say why
            text = state.redactor.redact(str(exc))
            line = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
        else:
            return super().repr_failure(excinfo)
        # What --tb=line prints before the finding: the route in the spec, else the app's line.
        path, lineno = self._located(exc, root)
        style = str(self.config.getoption("tbstyle", "auto"))
        return finding_repr(body_of(style, text), line, path=path, lineno=lineno)

    def _located(self, exc: Any, root: str) -> tuple[str, int]:
        from ws_routes.engine.findings import app_frame

        where = self.route.location
        if where.file and where.file != "<string>":
            return os.path.relpath(where.file, root), where.line or 0
        error = getattr(getattr(exc, "failure", None), "cause", None)
        frame = app_frame(error.exception) if error is not None else None
        if frame is not None:
            return os.path.relpath(frame.filename, root), frame.line
        return self.nodeid, 0

    def _render_conversation_failure(self, exc: Any, state: State) -> str:
        from ws_routes.plugin import crashes
        from ws_routes.plugin.longrepr import is_short
        from ws_routes.report.render import render_failure, replay_snippet

        app = _replay_target(state)
        command = crashes.reproduce(self, exc)
        spec_source = state.spec.source if state.spec else None
        if spec_source:
            spec_source = os.path.relpath(spec_source, self.config.invocation_params.dir)
        # --tb=short: the finding, the transcript, the app's last frame, the command; no snippet.
        short = is_short(str(self.config.getoption("tbstyle", "auto")))
        snippet = (
            None
            if short
            else replay_snippet(app, exc.conversation, spec=spec_source, earlier=exc.earlier)
        )
        extra = _notes(exc) + crashes.blob_line(exc)
        extra = crashes.leak_lines(exc) + extra  # what a fresh app said first
        report = render_failure(
            exc.failure,
            exc.transcript,
            reproduce_command=command,
            snippet=snippet,
            secrets=state.redactor,
            extra=extra,
            probe=exc.probe,
            last_frame=short,
        )
        for other in exc.also:
            report += f"\n\nALSO FOUND ON {self.route.path} (a separate bug):\n" + render_failure(
                other.failure,
                other.transcript,
                reproduce_command=crashes.reproduce(self, other),
                snippet=None
                if short
                else replay_snippet(
                    app, other.conversation, spec=spec_source, earlier=other.earlier
                ),
                secrets=state.redactor,
                extra=crashes.leak_lines(other),
                probe=other.probe,
                traceback_lines=6,
                last_frame=short,
            )
        if exc.internal is not None:
            report += "\n\n" + self._render_internal_error(exc.internal, state)
        return report

    def _render_internal_error(self, exc: Any, state: State) -> str:
        from ws_routes.report.render import render_internal_error, replay_snippet, reproduce_command

        app = _replay_target(state)
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


def _compile_softly(
    compile_route: Any, route: RouteSpec, converters: dict[str, str] | None
) -> CompiledRoute:
    """``compile_route``, with its notes (an unknown ``format``, say) never raised as errors.

    They describe a correct spec that ws_routes honours only in part, so a project whose
    ``filterwarnings = error`` must not fail on them: such a filter shows them as warnings, while
    ``ignore`` filters still silence them. Other warnings pass through untouched.
    """
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


def _replay_target(state: State) -> str:
    """What a replay snippet replays against: the live server's URL, else the app."""
    url: str | None = getattr(state.target, "url", None)
    return url or state.options.app or (state.spec.app if state.spec else None) or "module:app"


def _notes(exc: ConversationFailed) -> list[str]:
    """What a reader must know before trusting the transcript as minimal or reproducible."""
    notes: list[str] = []
    if exc.flaky:
        notes.append(
            "Note: this failure did not reproduce on every replay (flaky: timing or shared state)."
        )
    if exc.unshrunk:
        notes.append(
            "Note: not shrunk: the app answered the same messages differently on replay "
            "(timing), so Hypothesis stopped; this is the conversation as it first failed."
        )
    return ["", *notes] if notes else []
