"""Run one route: a loop thread, the app's lifespan once, the probes, then Hypothesis searches.

This is the engine behind each pytest item, usable without pytest. Before the conversations, the
route's probes (:mod:`ws_routes.engine.probes`) run once each; a probe's failure is already
minimal and is kept as it is, except the baseline's, which the conversations get to find and
shrink first. A time limit (``max_time``, :mod:`ws_routes.engine.pace`) ends the searches early,
never before what they found is shrunk. Hangs never stall a run: a handshake or shutdown that
times out, and an app that blocks the event loop, end the route at once with a ``no_hang``
failure instead of being shrunk (each replay would cost a full timeout).

One Hypothesis search is :mod:`ws_routes.engine.search`; what a failure becomes (one exception
type per bug) is :mod:`ws_routes.engine.findings`; this module is the route's lifecycle around
them: the loop thread, the probes, judging each conversation, the searches in rounds, the result.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Coroutine, Sequence
from typing import Any, TypeVar

from hypothesis import settings
from hypothesis.errors import HypothesisException

from ws_routes.compile.credentials import Credential
from ws_routes.compile.route import CompiledRoute
from ws_routes.driver.apps import running_app
from ws_routes.driver.loop import LoopBlocked, LoopThread
from ws_routes.driver.swallowed import trace_exceptions
from ws_routes.driver.targets import Target, running_target
from ws_routes.driver.transcript import Failure, Transcript
from ws_routes.driver.transport import Accepted, Rejected, Transport
from ws_routes.engine.checks import evaluate
from ws_routes.engine.conversation import Conversation, conversations
from ws_routes.engine.findings import (
    ConversationFailed,
    InternalError,
    bug_of,
    failure_type,
    hang_failure,
    needs_tracing,
    swallowed,
)
from ws_routes.engine.leaks import FreshApp, History, verify_fresh
from ws_routes.engine.pace import RoutePace, TimeUp
from ws_routes.engine.play import as_sent, run_conversation
from ws_routes.engine.probes import Probe, build_probes, lint_warnings, run_probe
from ws_routes.engine.result import RouteResult, untested_reason
from ws_routes.engine.saved import Saved, judge_saved, play_saved, unpacked
from ws_routes.engine.search import (
    SEARCHES,
    hypothesis_test,
    route_database,
    run_search,
    search_budget,
)
from ws_routes.engine.stats import Progress, RouteStats
from ws_routes.errors import WsRoutesError

# ConversationFailed, InternalError, RouteResult (findings, result) and running_app (the driver)
# are re-exported: the pytest layer, the report stage and the tests import them from here.
__all__ = [
    "ConversationFailed",
    "InternalError",
    "RouteResult",
    "RouteRunner",
    "running_app",
]

T = TypeVar("T")


class _Abandon(BaseException):
    # A BaseException passes straight through Hypothesis: no replay, no shrinking.
    def __init__(self, failure: ConversationFailed | None = None, skip: str | None = None):
        super().__init__(skip or (failure and str(failure)))
        self.failure = failure
        self.skip = skip


class RouteRunner:
    """Tests one compiled route against one app."""

    def __init__(
        self,
        app: Any,
        route: CompiledRoute,
        *,
        credential: Credential | None = None,
        seed: int | None = None,
        max_examples: int = 100,
        on_conversation: Callable[[Transcript, list[Failure]], None] | None = None,
        probes: bool = True,
        on_probe: Callable[[Probe, Transcript, list[Failure]], None] | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        max_time: float | None = None,
        replays: Sequence[Saved] = (),
        on_replay: Callable[[int, Transcript, list[Failure]], None] | None = None,
        reuse_database: bool = True,
        fresh: FreshApp | None = None,
    ) -> None:
        """``replays``: saved failures (crash files) to replay first, each once, judged as a
        conversation or as the probe it was. ``reuse_database`` False keeps the example database
        write-only, so a seeded run draws from its seed alone (see ``RouteDatabase``). ``fresh``
        replays each finding in a fresh app, finding the earlier connections a leak needs."""
        self.app = app  # or a Target: a running server (driver.targets)
        self.target = app if isinstance(app, Target) else Target(app=app)
        self.route = route
        self.credential = credential
        self.seed = seed
        self.max_examples = max_examples
        self.on_conversation = on_conversation
        self.probes = probes
        self.on_probe = on_probe
        self.replays = tuple(replays)
        self.on_replay = on_replay
        self.reuse_database = reuse_database
        self.fresh = fresh
        self._replayed: list[ConversationFailed | None] = []
        self._statistics: list[dict[str, Any]] = []
        self._probes: dict[str, Probe] = {}
        self.stats = RouteStats(route=route.spec.path)
        self.pace = RoutePace(
            self.stats, budget=max_examples, max_time=max_time, on_progress=on_progress
        )
        self._ignore: frozenset[type[ConversationFailed]] = frozenset()
        # An internal error that surfaced next to findings (a Hypothesis group holding both).
        self._internal: InternalError | None = None
        self._first_failure_at: int | None = None
        self._diverged = False  # a search stopped because replays drew differently
        self.warnings: list[str] = []
        # Codes the server closed with before the first message of a conversation could go.
        self._closed_at_once: set[int] = set()
        # Read on the caller's thread: Hypothesis keeps the current settings per thread, and the
        # searches run on the loop thread.
        self._settings = settings()
        # The connections sent to the app, in order (where a state leak is searched), and what
        # runs on the loop now: what a blocked loop is reported with, since its thread never returns.
        self.history = History.starting(route.spec.path)

    def _hard_deadline(self, conversation: Conversation) -> float:
        # Only for a loop that keeps running: a blocked one is found at the timeout of the wait
        # it blocked (LoopThread.watch); this bounds a conversation that never ends anyway.
        s = self.route.spec.settings
        # Each client connects, closes and is waited for on its own.
        n = 1 + len(conversation.clients)
        return (
            n * (2 * s.connection_timeout + s.message_timeout * (conversation.max_steps + 1)) + 5.0
        )

    def _run(self, loop: LoopThread, coro: Coroutine[Any, Any, T], conversation: Conversation) -> T:
        # A wait on the app that names no timeout of its own (after the accept, a reply poll)
        # is held to message_timeout: a reply may still come (see LoopThread.watch).
        return loop.run(
            coro,
            timeout=self._hard_deadline(conversation),
            stall=self.route.spec.settings.message_timeout,
        )

    def _blocked(
        self, exc: LoopBlocked, transcript: Transcript, conversation: Conversation
    ) -> _Abandon:
        # The conversation never reached its end, where the driver notes the time.
        transcript.elapsed_ms = round((time.perf_counter() - self.history.current[3]) * 1000, 3)
        failure = hang_failure(exc, self.route.spec.settings, transcript, conversation.recorded())
        return _Abandon(failure)

    def _warn(self, warning: str | None) -> None:
        # One lint per route: the same mistake seen in a hundred conversations is one warning.
        if warning is not None and not self.warnings:
            self.warnings.append(warning)

    def _run_probes(
        self, loop: LoopThread, transport: Transport
    ) -> tuple[ConversationFailed | None, list[ConversationFailed]]:
        """Run every probe once; return (failing baseline, the other probes' distinct bugs).

        A failing baseline connects as conversations do, so what broke is no probe's doing: the
        conversations find it too, shrunk and reported as usual. Every other probe's failure is
        already minimal and is kept, one per bug; the conversations then look for other bugs. A
        hang ends the route at once (each replay would cost a full timeout).
        """
        baseline: ConversationFailed | None = None
        found: list[ConversationFailed] = []
        for probe in build_probes(self.route, self.credential):
            if self.pace.time_up():
                break  # what the probes found so far stands
            self._probes[probe.name] = probe
            transcript = Transcript(route=self.route.spec.path, path=probe.conversation.path)
            self.history.start(transcript, probe.conversation, probe.name)
            try:
                outcome = self._run(
                    loop,
                    run_probe(transport, self.route, probe, transcript=transcript),
                    probe.conversation,
                )
            except LoopBlocked as exc:
                abandon = self._blocked(exc, transcript, probe.conversation)
                assert abandon.failure is not None
                abandon.failure.probe = probe.name
                raise abandon from None
            except Exception as exc:
                raise InternalError(exc, transcript, probe.conversation) from exc
            self.stats.count_probe(probe.group, probe.name)
            for warning in outcome.warnings:
                self._warn(warning)
            if self.on_probe is not None:
                self.on_probe(probe, transcript, outcome.failures)
            if not outcome.failures:
                self.pace.report(probe=True)
                continue
            first = outcome.failures[0]
            bug = bug_of(first, transcript)
            error = failure_type(first.check, bug)(first, transcript, probe.conversation)
            self.pace.found(type(error))
            self.pace.report(probe=True)
            error.probe = probe.name
            hang = first.check == "no_hang" or first.error_type == "timeout"
            if hang:
                # Every other probe and conversation would hang too, each costing a full timeout,
                # and a hang has nothing to shrink: the route ends with this one, keeping what
                # the probes before it found.
                error.also.extend(([baseline] if baseline else []) + found)
                raise _Abandon(error)
            if probe.baseline:
                baseline = baseline or error
            elif type(error) not in {type(f) for f in found}:
                found.append(error)
        if baseline is not None:  # the conversations shrink that one; other probes' copies go
            found = [f for f in found if type(f) is not type(baseline)]
        return baseline, found

    def _replay_saved(self, loop: LoopThread, transport: Transport) -> None:
        """Replay each saved failure once, as Hypothesis replays its database first: apart from
        the counters and from the searches (which do not skip the bugs found here), so a seeded
        run sends the same conversations whatever was saved. ``run`` reports what the searches
        did not find again."""
        for index, saved in enumerate(self.replays):
            conversation, name, earlier = unpacked(saved)
            transcript = Transcript(route=self.route.spec.path, path=conversation.path)
            try:
                for before in earlier:  # a state leak's earlier connections first
                    played = Transcript(route=self.route.spec.path, path=before.path)
                    self._run(loop, play_saved(transport, self.route, before, played), before)
                self.history.start(transcript, conversation, name)
                self._run(loop, play_saved(transport, self.route, saved, transcript), conversation)
                failures = judge_saved(self.route, saved, transcript)
            except LoopBlocked as exc:
                abandon = self._blocked(exc, transcript, conversation)
                assert abandon.failure is not None
                abandon.failure.probe, abandon.failure.replayed = name, "a crash file"
                raise abandon from None
            except Exception as exc:
                raise InternalError(exc, transcript, conversation) from exc
            self.stats.replayed += 1
            if self.on_replay is not None:
                self.on_replay(index, transcript, failures)
            error = None
            if failures:
                kind = failure_type(failures[0].check, bug_of(failures[0], transcript))
                error = kind(failures[0], transcript, conversation)
                error.probe, error.replayed = name, "a crash file"
                error.earlier = earlier
            self._replayed.append(error)

    def _run_one(self, loop: LoopThread, transport: Transport, conversation: Conversation) -> None:
        # Past the time limit a search that found nothing stops; one that found a bug goes on,
        # so Hypothesis still shrinks it (its own limits bound that).
        if not self.pace.failed_in_search and self.pace.time_up():
            raise TimeUp
        transcript = Transcript(route=self.route.spec.path, path=conversation.path)
        self.history.start(transcript, conversation, None)
        try:
            self._run_and_judge(loop, transport, conversation, transcript)
        except _Abandon:
            raise
        except ConversationFailed:
            self.pace.failed_in_search = True
            raise
        except Exception as exc:  # ours: the app's exceptions are caught by the driver
            self.pace.failed_in_search = True
            raise InternalError(exc, transcript, conversation.recorded()) from exc
        finally:
            self.pace.report()

    def _run_and_judge(
        self,
        loop: LoopThread,
        transport: Transport,
        conversation: Conversation,
        transcript: Transcript,
    ) -> None:
        stats = self.stats
        stats.sequences += 1
        try:
            self._run(
                loop,
                run_conversation(transport, self.route, conversation, transcript=transcript),
                conversation,
            )
        except LoopBlocked as exc:
            raise self._blocked(exc, transcript, conversation) from None
        # What was sent: drawn steps (a protocol's) become fixed ones for the checks and reports.
        conversation = conversation.recorded()
        if self.route.ties.used:  # ids rewritten at send time: what reports print, replays send
            conversation = as_sent(conversation, transcript)
        stats.messages += transcript.messages_sent
        close = transcript.server_close()
        if (
            close is not None
            and close.code not in (None, 1000, 1001)  # a push-once route says goodbye so
            and not transcript.messages_sent
        ):
            self._closed_at_once.add(close.code)
        stats.negative += sum(1 for f in transcript.sent if f.mutation)
        if transcript.aborted:
            stats.aborts += 1
        for warning in lint_warnings(self.route, transcript):
            self._warn(warning)
        for client in (transcript, *transcript.others):  # every client of a conversation
            if isinstance(client.handshake, Accepted):
                stats.connections += 1
            elif isinstance(client.handshake, Rejected):
                stats.refused += 1
        failures = evaluate(self.route, conversation, transcript)
        if self.on_conversation is not None:
            self.on_conversation(transcript, failures)
        if not failures:
            return
        # The first failure is the most severe; the others in the same conversation are mostly
        # its consequences (a crash also closes with 1011 and leaves replies unsent), so they
        # must not count as further bugs when a later search ignores the first.
        failure = failures[0]
        kind = failure_type(failure.check, bug_of(failure, transcript))
        if kind in self._ignore:
            return  # found and reported in an earlier search: look for other bugs
        if self._first_failure_at is None:
            self._first_failure_at = stats.sequences
        self.pace.found(kind)
        error = kind(failure, transcript, conversation)
        if failure.check == "no_hang":
            raise _Abandon(error)
        raise error

    def run(self) -> RouteResult:
        """Probe the route, then run up to ``max_examples`` conversations; shrink and return
        what failed: the first bug, with any others in ``failure.also``."""
        result = RouteResult(
            stats=self.stats,
            warnings=self.warnings,
            replayed=self._replayed,
            statistics=self._statistics,
            probes=self._probes,
        )
        with running_target(self.target, settings=self.route.spec.settings) as (loop, transport):
            started = time.perf_counter()
            self.pace.start()
            negative = False
            found: list[ConversationFailed] = []

            def explore() -> None:
                nonlocal negative
                self._replay_saved(loop, transport)
                baseline, probed = self._run_probes(loop, transport) if self.probes else (None, [])
                # A negative probe's bug may not need the mutant at all (a reply that breaks the
                # schema, a crash on any input): the conversations look for it too, and their
                # shrunk copy, without the mutant if it can go, replaces the probe's.
                later = [f for f in probed if f.failure.error_type == "negative_case"]
                found.extend(f for f in probed if f not in later)
                # A negative probe already found how bad input breaks the route (typically a
                # handler that crashes on a binary frame): the conversations then stay valid, so
                # that crash cannot mask the bugs only sequences of valid messages reach.
                negative = bool(later)
                for search in range(SEARCHES):
                    if self.pace.time_up():
                        break
                    budget = search_budget(search, self.max_examples, self._first_failure_at)
                    self.pace.search(budget, first=not search)
                    # Bugs found so far (by the probes too) are skipped: look for other ones.
                    self._ignore = frozenset(type(f) for f in found)
                    new = self._search(loop, transport, search, budget, not negative)
                    if not new:
                        break
                    found.extend(new)
                    if self._diverged or any(f.flaky for f in new):
                        break  # replays disagree: another search would chase the same ghost
                for missed in ([baseline] if baseline else []) + later:
                    if type(missed) not in {type(f) for f in found}:  # the conversations missed it
                        found.append(missed)

            try:
                # On the loop thread: each conversation then runs without a thread hop.
                loop.call(explore)
            except LoopBlocked as exc:  # the loop never came back; its thread was abandoned
                transcript, conversation, probe, _ = self.history.current
                blocked = self._blocked(exc, transcript, conversation).failure
                assert blocked is not None
                blocked.probe = probe
                found.append(blocked)
            except _Abandon as abandon:
                if abandon.failure is not None:
                    found.append(abandon.failure)
                elif not found:
                    result.skipped = abandon.skip
            except HypothesisException as exc:
                if not found:  # a later search's trouble must not hide what an earlier one found
                    result.error = f"{type(exc).__name__}: {exc}"
            except InternalError as exc:
                result.internal = exc
            except Exception as exc:  # ours, outside any conversation (probes, bookkeeping)
                transcript, conversation, _probe, _ = self.history.current
                result.internal = InternalError(exc, transcript, conversation.recorded())
            finally:
                self.stats.elapsed_s = round(time.perf_counter() - started, 3)
            result.internal = result.internal or self._internal
            for replayed in self._replayed:  # a saved failure the searches did not find again
                if replayed is not None and type(replayed) not in {type(f) for f in found}:
                    found.append(replayed)
                    result.skipped = None
            if found:
                # Bugs in valid traffic first: they are what a negative case would otherwise hide.
                found.sort(key=lambda f: f.failure.error_type == "negative_case")
                result.failure = found[0]
                result.failure.also.extend(found[1:])
                result.failure.internal = result.internal
                if loop.usable:
                    for each in found:
                        try:
                            self._find_swallowed_exception(loop, transport, each)
                        except Exception as exc:  # ours; the finding stands without it
                            result.internal = result.internal or InternalError(
                                exc, each.transcript, each.conversation
                            )
                            result.failure.internal = result.internal
        if self.fresh is not None and found:  # does each replay in a fresh app? (engine.leaks)
            verify_fresh(self.fresh, found, self.history, self.route.spec.settings, self._probes)
        # Distinct failures, not the failing replays shrinking went through.
        self.stats.failures = len(found)
        if result.failure is None and result.error is None and result.internal is None:
            # Nothing failed, but nothing was tested either: say so instead of passing silently.
            result.skipped = untested_reason(
                self.route, self.credential, self.stats, self._closed_at_once
            )
        return result

    def _find_swallowed_exception(
        self, loop: LoopThread, transport: Transport, failed: ConversationFailed
    ) -> None:
        """Replay a server-error close that came without an exception, tracing the app's code."""
        if not needs_tracing(failed):
            return
        t = failed.transcript
        replayed = Transcript(route=t.route, path=t.path)
        play = run_conversation(transport, self.route, failed.conversation, transcript=replayed)
        try:
            _, found = self._run(loop, trace_exceptions(play), failed.conversation)
        except (LoopBlocked, WsRoutesError):
            return
        if found is not None:
            swallowed(failed, found.exception, found.traceback)

    def _search(
        self, loop: LoopThread, transport: Transport, search: int, budget: int, negative: bool
    ) -> list[ConversationFailed]:
        """One Hypothesis run; the bugs it found, each shrunk ([] when none)."""

        def run_one(conversation: Conversation) -> None:
            self._run_one(loop, transport, conversation)

        database = route_database(
            self._settings, self.route.spec.path, search, reuse=self.reuse_database
        )
        seen: dict[type[ConversationFailed], ConversationFailed] = {}
        test = hypothesis_test(
            run_one,
            conversations(self.route, credential=self.credential, negative=negative),
            parent=self._settings,
            seed=self.seed,
            max_examples=budget,
            database=database,
            seen=seen,
        )
        try:
            found = run_search(test, self._statistics.append, seen)
        except TimeUp:
            return []  # it had found nothing (see _run_one)
        if found.diverged is not None:  # the search stopped early: say so, and search no more
            self.warnings.append(f"{self.route.spec.path}: {found.diverged}")
            self._diverged = True
        self._internal = self._internal or found.internal
        if database is not None and database.reused:
            for bug in found.bugs:  # the seed did not draw it alone: saved examples came first
                bug.replayed = bug.replayed or "the example database"
        return list(found.bugs)
