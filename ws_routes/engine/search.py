"""One Hypothesis search of a route's conversations: the @given test, and the bugs it ended with.

The route runner (:mod:`ws_routes.engine.runner`) runs up to :data:`SEARCHES` of them, each
ignoring the bugs found before it, on the budget :func:`search_budget` leaves it. Each distinct
bug raises its own exception type (:func:`ws_routes.engine.findings.failure_type`), so a search
may end with several, each shrunk on its own, in an exception group, or with a failure that did
not reproduce on every replay.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import seed as with_seed
from hypothesis import strategies as st
from hypothesis.database import ExampleDatabase
from hypothesis.errors import FlakyFailure, FlakyStrategyDefinition
from hypothesis.statistics import collector

from ws_routes.engine.conversation import Conversation
from ws_routes.engine.database import RouteDatabase
from ws_routes.engine.findings import ConversationFailed, InternalError

__all__ = [
    "SEARCHES",
    "Found",
    "hypothesis_test",
    "profile_deadline",
    "route_database",
    "run_search",
    "search_budget",
]

# How many Hypothesis searches a route gets: after each that finds bugs, another one ignores
# them and looks for different ones, so one easy crash does not hide the rest.
SEARCHES = 3


@dataclass(frozen=True, slots=True)
class Found:
    """What one search found: its distinct bugs, each shrunk (none when it passed)."""

    bugs: tuple[ConversationFailed, ...] = ()
    # An internal error Hypothesis reported next to the bugs: the bugs stand, ours is noted.
    internal: InternalError | None = None
    # Why the search stopped before its budget (the bugs then are as first met, not shrunk).
    diverged: str | None = None


# What a search that Hypothesis stopped for drawing differently on replay says (see _run).
DIVERGED = (
    "stopped early: the app answered the same messages differently when Hypothesis replayed a "
    "conversation (timing: a stream's frames, a timer), and the next message is drawn from what "
    "it answered, so Hypothesis could not replay it; the conversations run before stand"
)


def search_budget(search: int, max_examples: int, first_failure_at: int | None) -> int:
    """How many examples search number ``search`` (from 0) of a route may run.

    A later search gets what the first had left after its first failure (at conversation
    ``first_failure_at``), and at least a quarter of the budget again.
    """
    if not search:
        return max_examples
    return max(max_examples - (first_failure_at or 0), max_examples // 4, 1)


# Hypothesis' own default deadline: made for unit tests, not for conversations that wait for
# replies, so only a profile that sets another one applies it to route items.
_DEFAULT_DEADLINE = timedelta(milliseconds=200)


def profile_deadline(parent: settings) -> timedelta | None:
    """The deadline a conversation gets: the profile's, unless it is Hypothesis' default."""
    deadline = parent.deadline
    return None if deadline is None or deadline == _DEFAULT_DEADLINE else deadline


def route_database(
    parent: settings, route: str, key: int = 0, *, reuse: bool = True
) -> RouteDatabase | None:
    """Search number ``key`` of ``route``'s view of the profile's example database, if any.

    Each search has its own key: a bug the first one saved must not be replayed, found "fixed"
    (it is ignored there) and deleted by the second.
    """
    if parent.database is None:
        return None
    return RouteDatabase(parent.database, route + (f"#search{key}" if key else ""), reuse=reuse)


def leave_out_our_constants() -> None:
    """Keep ws_routes' own literals out of the constants Hypothesis mixes into its draws.

    Hypothesis draws, now and then, the strings and numbers found in "local" modules (not
    installed in site-packages): the app's own are worth it (they are what it matches on), but an
    editable install of ws_routes is local too, and then a seed would draw other conversations
    with every change to our code, or with the order our modules were imported in. There is no
    public switch: this marks our modules as already read, and does nothing on a Hypothesis
    without that pool.
    """
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:  # pragma: no cover - an older or newer Hypothesis
        return
    seen = getattr(providers, "_seen_modules", None)
    if isinstance(seen, set):
        seen.update(
            id(module)
            for name, module in list(sys.modules.items())
            if name == "ws_routes" or name.startswith("ws_routes.")
        )


def hypothesis_test(
    run_one: Callable[[Conversation], None],
    strategy: st.SearchStrategy[Conversation],
    *,
    parent: settings,
    seed: int | None,
    max_examples: int,
    database: ExampleDatabase | None,
    seen: dict[type[ConversationFailed], ConversationFailed] | None = None,
) -> Callable[[], None]:
    """The Hypothesis test running ``run_one`` on conversations drawn from ``strategy``.

    ``parent`` is the current profile (as --hypothesis-profile loaded it); ``database`` is the
    search's own view of its example database (:func:`route_database`); ``seen`` gets the first
    failure of each bug as it was met (see :func:`run_search`).
    """

    def conversation_test(conversation: Conversation) -> None:
        try:
            run_one(conversation)
        except ConversationFailed as failed:
            if seen is not None:
                seen.setdefault(type(failed), failed)
            raise

    leave_out_our_constants()
    test = given(strategy)(conversation_test)
    if seed is not None:
        # seed() switches the database off; settings() below switches it back on, per route,
        # so a seeded run still replays the last failure first.
        test = with_seed(seed)(test)
    test = settings(
        parent=parent,
        max_examples=max_examples,
        deadline=profile_deadline(parent),
        database=database,
        # Each distinct bug (see findings.bug_of) is shrunk and reported: a crash on one input
        # must not hide another bug of the same route.
        report_multiple_bugs=True,
        # All but nested_given, which HypoFuzz needs on to fuzz a route test (ws_routes.testing).
        suppress_health_check=[h for h in HealthCheck if h.name != "nested_given"],
        phases=[p for p in parent.phases if p is not Phase.explain],
        # Always: the blob goes into the crash file; the report prints it when the profile's
        # print_blob asks for it.
        print_blob=True,
    )(test)
    return test  # type: ignore[no-any-return]


def run_search(
    test: Callable[[], None],
    on_statistics: Callable[[dict[str, Any]], None] | None = None,
    seen: Mapping[type[ConversationFailed], ConversationFailed] | None = None,
) -> Found:
    """Run one Hypothesis test; the bugs it found, each shrunk, with its reproduction blob.

    ``on_statistics`` gets Hypothesis' statistics of the run (what --hypothesis-show-statistics
    prints); Hypothesis hands them to a per-thread collector, set here on the running thread.
    ``seen`` is the one :func:`hypothesis_test` filled, the first failure of each bug as it was
    met: what stands when Hypothesis stops the run because a replay drew differently
    (:data:`DIVERGED`).
    An internal error alone is raised (it ends the route); so is any other trouble of Hypothesis.
    """
    with collector.with_value(on_statistics):  # type: ignore[arg-type]
        found = _run(test, seen)
    for bug in found.bugs:
        bug.blob = _blob(bug)
    return found


# Hypothesis' note on a failure when print_blob is on: "... adding @reproduce_failure('6.x',
# b'...') as a decorator ...".
_BLOB = re.compile(r"@reproduce_failure\([^)]*\)")


def _blob(exc: BaseException) -> str | None:
    for note in getattr(exc, "__notes__", ()):
        match = _BLOB.search(str(note))
        if match:
            return match.group()
    return None


def _run(
    test: Callable[[], None], seen: Mapping[type[ConversationFailed], ConversationFailed] | None
) -> Found:
    try:
        return _outcome(test)
    except (FlakyStrategyDefinition, BaseExceptionGroup) as exc:
        # Steps are drawn from the replies so far: a server whose replies vary in timing makes a
        # replayed conversation draw differently, and Hypothesis gives up on the whole run. Its
        # findings must not go with it: each bug met stands as it was met, unshrunk.
        diverged = isinstance(exc, FlakyStrategyDefinition) or (
            isinstance(exc, BaseExceptionGroup) and _leaves(exc, FlakyStrategyDefinition)
        )
        if seen is None or not diverged:
            raise
        bugs = tuple(seen.values())
        for bug in bugs:
            bug.unshrunk = True
        return Found(bugs, diverged=DIVERGED)


def _outcome(test: Callable[[], None]) -> Found:
    try:
        test()
    except ConversationFailed as failed:
        return Found((failed,))
    except FlakyFailure as flaky:  # a failure that did not reproduce on every replay
        found = _failures(flaky)
        if not found:
            internal = _internal_errors(flaky)
            if internal:
                raise internal[0] from None
            raise
        found[0].flaky = True
        return Found((found[0],))
    except BaseExceptionGroup as group:  # several distinct bugs, each shrunk
        found = _failures(group)
        internal = _internal_errors(group)
        if not found:
            if internal:
                raise internal[0] from None
            raise
        return Found(tuple(found), internal[0] if internal else None)
    return Found()


E = TypeVar("E", bound=BaseException)


def _leaves(group: BaseExceptionGroup[Any], kind: type[E]) -> list[E]:
    """The exceptions of ``kind`` in ``group``, nested groups included, in order."""
    found: list[E] = []
    for exc in group.exceptions:
        if isinstance(exc, kind):
            found.append(exc)
        elif isinstance(exc, BaseExceptionGroup):
            found += _leaves(exc, kind)
    return found


def _failures(group: BaseExceptionGroup[Any]) -> list[ConversationFailed]:
    return _leaves(group, ConversationFailed)


def _internal_errors(group: BaseExceptionGroup[Any]) -> list[InternalError]:
    return _leaves(group, InternalError)
