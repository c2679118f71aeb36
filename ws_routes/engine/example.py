"""A route's conversations one at a time, each an example of a Hypothesis test someone else runs.

The plugin's item runs a whole route (:class:`~ws_routes.engine.runner.RouteRunner.run`: probes,
then searches it drives). A route test (:mod:`ws_routes.testing`) is an ordinary ``@given`` test
instead, run by pytest, pytest-xdist or HypoFuzz, which call it once per example: this runner
keeps the app running between the calls and runs each conversation exactly as the item's
searches do (the same player, the same checks, the same exception type per bug), so Hypothesis
shrinks the same findings. The probes are fixed connections, not examples: they stay the item's.
"""

from __future__ import annotations

import atexit
import contextlib
import threading
from collections.abc import Callable
from typing import Any

from hypothesis import settings
from hypothesis import strategies as st

from ws_routes.compile.credentials import Credential
from ws_routes.compile.route import CompiledRoute
from ws_routes.driver.apps import running_app
from ws_routes.driver.asgi import AsgiTransport
from ws_routes.driver.loop import LoopBlocked, LoopThread
from ws_routes.driver.transcript import Transcript
from ws_routes.engine.conversation import Conversation, conversations
from ws_routes.engine.findings import ConversationFailed
from ws_routes.engine.runner import RouteRunner, _Abandon
from ws_routes.engine.search import hypothesis_test

__all__ = ["ExampleRunner", "RouteHung"]


class RouteHung(BaseException):
    """The app hung (``no_hang``): the finding, raised past Hypothesis so it is not shrunk.

    As in the item, where a hang ends the route at once: each replay of a hang costs a full
    timeout, and there is nothing to shrink in a handshake nobody answers. pytest reports it as
    a failure.
    """

    def __init__(self, failure: ConversationFailed) -> None:
        super().__init__(str(failure))
        self.failure = failure


class ExampleRunner(RouteRunner):
    """One route, its app started at the first conversation and kept running until ``close``.

    Thread-safe to the extent Hypothesis needs: a process runs one example at a time, but the
    app may be started by whichever thread calls first.
    """

    def __init__(self, app: Any, route: CompiledRoute, *, credential: Credential | None = None):
        super().__init__(app, route, credential=credential, probes=False)
        self._lock = threading.Lock()
        self._running: contextlib.ExitStack | None = None
        self._app: tuple[LoopThread, AsgiTransport] | None = None

    def strategy(self, *, negative: bool = True) -> st.SearchStrategy[Conversation]:
        """The conversations the plugin's item draws for this route."""
        return conversations(self.route, credential=self.credential, negative=negative)

    def hypothesis_test(
        self, run_one: Callable[[Conversation], None], *, parent: settings | None = None
    ) -> Callable[[], None]:
        """``run_one`` as the item's ``@given`` test, with the item's settings.

        The database is the profile's own, not the item's per-route view: HypoFuzz fuzzes only
        tests whose database is the default one. It is keyed per test all the same: under pytest
        Hypothesis keys a test by its node id; elsewhere the route's path does it.
        """
        parent = parent if parent is not None else settings()
        chosen = self.route.spec.settings.max_examples
        test = hypothesis_test(
            run_one,
            self.strategy(),
            parent=parent,
            seed=None,  # Hypothesis' own: --hypothesis-seed, a derandomizing profile, HypoFuzz
            max_examples=chosen if chosen is not None else parent.max_examples,
            database=parent.database,
        )
        # Hypothesis' hook for parametrised tests (its pytest plugin sets it to the node id).
        inner = test.hypothesis.inner_test  # type: ignore[attr-defined]
        inner._hypothesis_internal_add_digest = f"ws_routes:{self.route.spec.path}".encode()
        return test

    def _start(self) -> tuple[LoopThread, AsgiTransport]:
        with self._lock:
            if self._app is not None and self._app[0].usable:
                return self._app
            # A loop the app blocked was abandoned with its thread: start the app afresh.
            stack = contextlib.ExitStack()
            timeout = self.route.spec.settings.connection_timeout
            self._app = stack.enter_context(running_app(self.app, timeout=timeout))
            self._running = stack
            self.pace.start()
            atexit.register(self.close)
            return self._app

    def check(self, conversation: Conversation) -> Transcript:
        """Run one conversation and judge it; its transcript, or its finding raised.

        Raises:
            ConversationFailed: a check failed (one exception type per bug, as in the item).
            RouteHung: the app hung; not shrunk, since every replay would cost a timeout.
            InternalError: ws_routes itself failed.
        """
        loop, transport = self._start()
        try:
            loop.call(self._run_one, loop, transport, conversation)
        except LoopBlocked as exc:  # the loop never came back; the next example restarts it
            transcript, current, _, _ = self.history.current
            blocked = self._blocked(exc, transcript, current).failure
            assert blocked is not None  # _blocked always builds the hang's finding
            raise RouteHung(blocked) from None
        except _Abandon as abandon:  # a hang: as in the item, not shrunk
            if abandon.failure is None:
                raise
            raise RouteHung(abandon.failure) from None
        return self.history.current[0]

    def explain(self, failed: ConversationFailed) -> None:
        """What the item adds to a finding before reporting it: the handler's traceback of a
        server error a framework caught, recovered by replaying with tracing."""
        if self._app is not None and self._app[0].usable:
            self._find_swallowed_exception(*self._app, failed)

    def close(self) -> None:
        """Shut the app down (its lifespan's shutdown); the next conversation starts it again."""
        with self._lock:
            running, self._running, self._app = self._running, None, None
        if running is not None:
            atexit.unregister(self.close)
            running.close()
