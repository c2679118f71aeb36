"""A route as an ordinary Hypothesis test, for pytest-xdist, HypoFuzz and ``@given`` tests.

A test module of one line per route::

    from ws_routes.testing import route_test

    test_chat = route_test("ws-routes.yaml", "/ws/chat/{room}", app="chat_app:app")

gives pytest a plain ``@given`` test that draws the conversations the plugin's item draws and
judges each with the same checks (:mod:`ws_routes.engine.example`): pytest-xdist spreads such
tests over workers and ``hypothesis fuzz`` (HypoFuzz) fuzzes them like any other. A failure is
shrunk by Hypothesis and raised with the plugin's failure report as a note. The probes (fixed
connections: handshake matrix, boundary paths, auth, origin) are not examples; the plugin runs
them (``pytest --routes-websocket``). docs/fuzzing.md has the recipes.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import settings
from hypothesis.control import current_build_context, currently_in_test_context

from ws_routes.app.discovery import load_app
from ws_routes.compile.credentials import Redactor, credential_for, parse_auth_option
from ws_routes.compile.route import CompiledRoute
from ws_routes.driver.transcript import Transcript
from ws_routes.engine.conversation import Conversation
from ws_routes.engine.example import ExampleRunner, RouteHung
from ws_routes.engine.findings import ConversationFailed
from ws_routes.errors import AppLoadError
from ws_routes.report.render import render_failure, replay_snippet
from ws_routes.spec.model import Spec
from ws_routes.strategies import SpecLike, compiled_route, spec_of

__all__ = ["RouteSession", "compiled_route", "route_session", "route_test"]


class RouteSession:
    """One route of one app under test: its conversations, and a runner that judges each.

    The app starts (its lifespan too) at the first conversation and runs until :meth:`close`
    or the end of the process.
    """

    def __init__(
        self,
        route: CompiledRoute,
        app: Any,
        *,
        app_name: str | None = None,
        auth: str | None = None,
        spec_file: str | None = None,
    ) -> None:
        credential = credential_for(route.spec.auth, parse_auth_option(auth) if auth else None)
        self.route = route
        self.runner = ExampleRunner(app, route, credential=credential)
        self._app_name = app_name or "module:app"
        self._spec_file = spec_file
        token = route.spec.auth.token if route.spec.auth is not None else None
        self.secrets = Redactor([s for s in (token, credential and credential.secret) if s])

    def check(self, conversation: Conversation) -> Transcript:
        """Run ``conversation`` and judge it with the plugin's checks; its transcript.

        Raises:
            ConversationFailed: a check failed; on Hypothesis' final replay of a shrunk example
                it carries the failure report as a note.
            RouteHung: the app hung (a ``BaseException``, so Hypothesis does not shrink it);
                its report is a note too.
        """
        __tracebackhide__ = True  # pytest shows the test's line and the report, not our frames
        try:
            return self.runner.check(conversation)
        except RouteHung as hung:  # past Hypothesis, unshrunk: no final replay to wait for
            hung.add_note(self.report(hung.failure))
            raise hung.with_traceback(None)  # noqa: B904 - the same exception, re-raised
        except ConversationFailed as failed:
            if currently_in_test_context() and current_build_context().is_final:
                self.runner.explain(failed)
                failed.add_note(self.report(failed))
            # Our frames (the runner, the loop thread) say nothing the report does not; the same
            # on every run, so Hypothesis still tells bugs apart (one exception type each).
            raise failed.with_traceback(None)  # noqa: B904 - the same exception, re-raised

    def report(self, failed: ConversationFailed) -> str:
        """The plugin's failure report of ``failed``, secrets redacted."""
        # Under pytest, the test running now is how to run it again.
        current = os.environ.get("PYTEST_CURRENT_TEST", "").rpartition(" (")[0]
        return render_failure(
            failed.failure,
            failed.transcript,
            reproduce_command=f"pytest {current!r}" if current else None,
            snippet=replay_snippet(self._app_name, failed.conversation, spec=self._spec_file),
            secrets=self.secrets,
        )

    def test(self, *, parent: settings | None = None) -> Callable[[], None]:
        """The route's ``@given`` test: what :func:`route_test` returns."""

        def run_one(conversation: Conversation) -> None:
            __tracebackhide__ = True
            self.check(conversation)

        return self.runner.hypothesis_test(run_one, parent=parent)

    def close(self) -> None:
        """Stop the app; a later conversation starts it again."""
        self.runner.close()


def route_session(
    spec: SpecLike,
    route: str,
    *,
    app: Any = None,
    auth: str | None = None,
    rootdir: Path | None = None,
) -> RouteSession:
    """A :class:`RouteSession` for ``route`` of ``spec`` against ``app``.

    Args:
        spec: a spec file, a loaded spec, or None for the project's own.
        route: the path template, as the spec (or the app) writes it: ``/ws/chat/{room}``.
        app: the ASGI app, or its import path ``"module:attribute"``; None for the spec's ``app``.
        auth: a credential, as ``--routes-auth`` takes it (``bearer:TOKEN``, ...).
        rootdir: the project folder (spec lookup, pyproject settings, app imports).

    Raises:
        SpecError: the spec or the route's schemas are wrong (located).
        AppLoadError: no app, or it does not import.
        WsRoutesError: no such route.
    """
    loaded = spec_of(spec, rootdir)
    ref = app if app is not None else loaded.app
    if ref is None:
        raise AppLoadError(
            "route_test: no app to test: pass app=... (an ASGI app or 'module:app'), "
            "or set `app:` in the spec"
        )
    app_obj = load_app(ref, rootdir=rootdir) if isinstance(ref, str) else ref
    compiled = compiled_route(loaded, route, app=app_obj)
    spec_file = loaded.source if isinstance(spec, Spec) else (str(spec) if spec else loaded.source)
    return RouteSession(
        compiled,
        app_obj,
        app_name=ref if isinstance(ref, str) else None,
        auth=auth,
        spec_file=spec_file,
    )


def route_test(
    spec: SpecLike,
    route: str,
    *,
    app: Any = None,
    auth: str | None = None,
    rootdir: Path | None = None,
) -> Callable[[], None]:
    """The route as an ordinary Hypothesis test (``@given`` and ``@settings`` applied).

    Bind it to a ``test_*`` name in a test module and pytest collects it; pytest-xdist and
    HypoFuzz run it as any ``@given`` test. Its settings are the current profile's, with the
    route's ``max_examples`` from the spec, no deadline unless the profile sets one, and the
    profile's example database keyed per route. The arguments are :func:`route_session`'s;
    the session is the test's ``ws_routes`` attribute.
    """
    session = route_session(spec, route, app=app, auth=auth, rootdir=rootdir)
    test = session.test()
    test.ws_routes = session  # type: ignore[attr-defined]
    test._ws_routes_route_test = True  # type: ignore[attr-defined] # plugin.ROUTE_TEST_FLAG
    return test
