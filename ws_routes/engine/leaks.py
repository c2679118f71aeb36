"""State leaks made visible: each minimal failing case replayed in a fresh app, and, when it
passes there, the fewest earlier connections that make it fail again.

An app that keeps state at module level (a registry of sockets, a counter) or in ``app.state``
carries it from one conversation to the next: a crash caused by a socket an earlier connection
left behind shrinks to a one-message conversation that passes on its own. So after the searches,
each finding is replayed once in a fresh app (:class:`FreshApp`: a new process that imported the
app anew, with a new lifespan, is the implementation the pytest run uses, ``report.fresh``).
When it passes there, the report says so, and the connections the run sent to this app instance
before it (:class:`History`: the last ``HISTORY_CAP``, in order) are reduced by delta debugging
(:func:`ddmin`), each candidate replayed in a fresh app, to a minimal prefix that, followed by
the failing case, fails again: those earlier connections become part of the minimal case.

Everything here is bounded by a time budget from the route's settings (:func:`budget_for`); a
budget that runs out is said, as is a prefix that does not reproduce (flaky, order-dependent).
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from ws_routes.driver.transcript import Transcript
from ws_routes.engine.conversation import Conversation
from ws_routes.engine.findings import ConversationFailed, bug_of
from ws_routes.engine.probe_base import Probe
from ws_routes.spec.model import Settings

__all__ = [
    "HISTORY_CAP",
    "FreshApp",
    "FreshOutcome",
    "History",
    "Leak",
    "budget_for",
    "ddmin",
    "verify_fresh",
]

# The connections remembered per app instance: enough for a leak that needs many (a counter
# past N), small enough that a candidate replays in well under a second.
HISTORY_CAP = 256
# The most earlier connections whose transcripts a report prints in full.
_SHOWN = 10


@dataclass(frozen=True, slots=True)
class FreshOutcome:
    """How a candidate ended in a fresh app."""

    # The bug (findings.bug_of) of the final connection's first failure; None when it passed.
    bug: str | None = None
    check: str | None = None
    # The earlier connections' transcripts, rendered (when asked for), one list per connection.
    earlier: tuple[tuple[str, ...], ...] = ()
    # Why the replay could not run or finish ("" when it did): a timeout, an import failure.
    error: str = ""


class FreshApp(Protocol):
    """Replays connections, in order, in an app nothing ran in before (new lifespan, new module
    state where it can give it), and judges the last one as the run did."""

    def replay(
        self,
        earlier: Sequence[Conversation],
        final: Conversation | Probe,
        *,
        timeout: float,
        render: bool = False,
    ) -> FreshOutcome: ...

    def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class Leak:
    """What the fresh replays found out about one finding (``ConversationFailed.leak``)."""

    # The earlier connections, in order, that make the case fail in a fresh app (() if none).
    earlier: tuple[Conversation, ...] = ()
    # Their transcripts in the fresh app, rendered.
    transcripts: tuple[tuple[str, ...], ...] = ()
    # How many connections the run had sent to this app instance before the case.
    searched: int = 0
    forgotten: int = 0  # of those, how many were no longer remembered (past HISTORY_CAP)
    replays: int = 0
    elapsed_s: float = 0.0
    # "found" (earlier holds them), "none" (no prefix reproduced), "budget" (time ran out
    # first) or "error" (the fresh app could not be run: ``detail`` says why).
    outcome: str = "found"
    detail: str = ""
    # Whether no earlier connection can go (False: the budget ran out while reducing them).
    minimal: bool = True


class History:
    """The connections sent to one app instance since it started, the last ``cap`` kept, and
    the one running now (what a blocked loop is reported with)."""

    def __init__(
        self, current: tuple[Transcript, Conversation, str | None, float], cap: int = HISTORY_CAP
    ) -> None:
        self.current = current
        self.count = 0
        # A transcript's id, not the transcript: its app error's traceback holds the app's
        # objects (a socket), which must not outlive their connection (a WeakSet of sockets).
        self._sent: deque[tuple[int, Conversation]] = deque(maxlen=cap)

    @classmethod
    def starting(cls, path: str) -> History:
        """A history of nothing yet, an empty conversation on ``path`` as the current one."""
        return cls((Transcript(route=path, path=path), Conversation(path=path), None, 0.0))

    def start(self, transcript: Transcript, conversation: Conversation, probe: str | None) -> None:
        """Note a connection starting now (its conversation, resolved when asked for)."""
        self.current = (transcript, conversation, probe, time.perf_counter())
        self._sent.append((id(transcript), conversation))
        self.count += 1

    def before(self, transcript: Transcript) -> tuple[list[Conversation], int]:
        """The conversations sent before the last connection that recorded into ``transcript``
        (all remembered ones when it is not remembered), and how many are forgotten."""
        # The last entry with its id is its own: no other object had that id while it lived.
        sent = list(self._sent)
        at = next((i for i in range(len(sent) - 1, -1, -1) if sent[i][0] == id(transcript)), None)
        kept = sent if at is None else sent[:at]
        before = self.count - len(sent) + len(kept)
        # A drawn conversation's steps are known once it ran: recorded() fixes them.
        return [c.recorded() for _, c in kept], before - len(kept)


def budget_for(settings: Settings) -> float:
    """Seconds the fresh replays of one finding may take: a few conversations' worth of the
    route's timeouts, at least 10 s, at most 60 s."""
    return min(60.0, max(10.0, 2 * settings.connection_timeout + 4 * settings.message_timeout))


def ddmin(items: Sequence[int], fails: Callable[[Sequence[int]], bool | None]) -> list[int]:
    """Zeller's delta debugging: a 1-minimal subsequence of ``items`` (order kept) on which
    ``fails`` holds, given that it holds on ``items``. ``fails`` returns None when it cannot
    tell any more (out of time): the smallest failing subsequence found so far is returned."""
    current = list(items)
    n = 2
    while len(current) >= 2:
        size = len(current) / n
        chunks = [current[round(i * size) : round((i + 1) * size)] for i in range(n)]
        reduced = False
        for chunk in chunks:  # a chunk alone, then everything but a chunk
            verdict = fails(chunk)
            if verdict is None:
                return current
            if verdict:
                current, n, reduced = chunk, 2, True
                break
        if not reduced:
            for chunk in chunks:
                rest = [i for i in current if i not in set(chunk)]
                verdict = fails(rest)
                if verdict is None:
                    return current
                if verdict:
                    current, n, reduced = rest, max(n - 1, 2), True
                    break
        if not reduced:
            if n >= len(current):
                break
            n = min(n * 2, len(current))
    return current


def verify_fresh(
    fresh: FreshApp,
    found: Sequence[ConversationFailed],
    history: History,
    settings: Settings,
    probes: dict[str, Probe],
) -> None:
    """Replay each finding in a fresh app; set ``failure.leak`` on those that pass there."""
    try:
        for failed in found:
            if failed.failure.check == "no_hang" or failed.earlier:
                continue  # a hang costs a timeout per replay; a crash file's prefix is known
            final: Conversation | Probe = (
                probes.get(failed.probe, failed.conversation)
                if failed.probe
                else failed.conversation
            )
            try:
                _verify_one(fresh, failed, final, history, budget_for(settings))
            except Exception as exc:  # ours: the finding stands, with what went wrong said
                detail = f"the fresh replay raised {type(exc).__name__}: {exc}"
                failed.leak, failed.earlier = Leak(outcome="error", detail=detail), ()
    finally:
        fresh.close()


def _verify_one(
    fresh: FreshApp,
    failed: ConversationFailed,
    final: Conversation | Probe,
    history: History,
    budget: float,
) -> None:
    started = time.perf_counter()
    bug = bug_of(failed.failure, failed.transcript)
    replays = 0
    last = FreshOutcome()

    def reproduces(earlier: Sequence[Conversation], render: bool = False) -> bool | None:
        """Whether the case fails as it did after ``earlier``; None: out of time, or broken."""
        nonlocal replays, last
        left = budget - (time.perf_counter() - started)
        if left <= 0:
            last = FreshOutcome(error="the budget ran out")
            return None
        replays += 1
        last = fresh.replay(earlier, final, timeout=left, render=render)
        return None if last.error else last.bug == bug

    alone = reproduces(())
    if alone is False and last.bug is not None:
        # It failed, but as another bug: ask once more (a fresh app may answer it more surely).
        alone = reproduces(())
    if alone:
        return  # an ordinary bug: the report stays as it was
    earlier, forgotten = history.before(failed.transcript)

    def leak(
        prefix: Sequence[Conversation] = (),
        transcripts: tuple[tuple[str, ...], ...] = (),
        minimal: bool = True,
    ) -> Leak:
        ran_out = budget - (time.perf_counter() - started) <= 0
        outcome = "found" if prefix else "budget" if ran_out else "error" if last.error else "none"
        return Leak(
            earlier=tuple(prefix),
            transcripts=transcripts,
            searched=len(earlier) + forgotten,
            forgotten=forgotten,
            replays=replays,
            elapsed_s=round(time.perf_counter() - started, 3),
            outcome=outcome,
            detail="" if prefix else last.error,
            minimal=minimal,
        )

    if alone is None or not earlier or not reproduces(earlier):
        failed.leak = leak()
        return
    stopped = False

    def fails(indexes: Sequence[int]) -> bool | None:
        nonlocal stopped
        verdict = reproduces([earlier[i] for i in indexes])
        stopped = stopped or verdict is None
        return verdict

    prefix = [earlier[i] for i in ddmin(range(len(earlier)), fails)]
    # The earlier connections' own steps are rarely all needed: try each without any.
    for i, conversation in enumerate(prefix):
        if conversation.steps and not stopped:
            candidate = [*prefix[:i], replace(conversation, steps=()), *prefix[i + 1 :]]
            verdict = reproduces(candidate)
            stopped = verdict is None
            if verdict:
                prefix = candidate
    # One more replay, rendered: the report shows what these connections saw.
    shown = len(prefix) <= _SHOWN and not stopped and reproduces(prefix, render=True)
    failed.leak = leak(prefix, last.earlier if shown else (), minimal=not stopped)
    failed.earlier = tuple(prefix)
