"""A route's clock: the time limit (``--routes-max-time``) and the progress the runner reports.

The route runner (:mod:`ws_routes.engine.runner`) asks :meth:`RoutePace.time_up` before each
probe, search and conversation, and tells it what happens; the progress callback (the pytest
layer's live line) gets a :class:`~ws_routes.engine.stats.Progress` after each conversation and
probe. No I/O here: what to print, and how often, is the caller's business.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from ws_routes.engine.stats import Progress, RouteStats

__all__ = ["RoutePace", "TimeUp"]


class TimeUp(BaseException):
    """The time limit passed in a search that had found nothing yet.

    A BaseException passes through Hypothesis, which stops generating at once; that search has
    nothing to shrink, and the runner ends it as finished.
    """


class RoutePace:
    """How far a route has got, and whether its time is up."""

    def __init__(
        self,
        stats: RouteStats,
        *,
        budget: int,
        max_time: float | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        clock: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.stats = stats
        self.max_time = max_time
        self.on_progress = on_progress
        self._clock = clock
        self.started = clock()
        self._deadline: float | None = None
        # The distinct bugs found so far (exception types: see findings.failure_type).
        self._kinds: set[type] = set()
        self._budget = budget
        self._probes = 0
        # The current search found a bug: its later runs mostly shrink it, and it must not be
        # stopped by the time limit before Hypothesis has shrunk what it found.
        self.failed_in_search = False

    def start(self) -> None:
        self.started = self._clock()
        if self.max_time is not None:
            self._deadline = self.started + self.max_time

    def time_up(self) -> bool:
        """Whether the time limit passed (noted in the route's stats when it did)."""
        if self._deadline is None or self._clock() < self._deadline:
            return False
        self.stats.time_limited = True
        return True

    def search(self, budget: int, *, first: bool) -> None:
        """A search starts, allowed ``budget`` conversations."""
        self._budget = budget if first else self._budget + budget
        self.failed_in_search = False

    def found(self, kind: type) -> None:
        """A bug of type ``kind`` was found (again, perhaps: each type counts once)."""
        self._kinds.add(kind)

    def report(self, *, probe: bool = False) -> None:
        """Tell the progress callback where the route is (after a probe, with ``probe``)."""
        self._probes += probe
        if self.on_progress is None:
            return
        s = self.stats
        self.on_progress(
            Progress(
                route=s.route,
                conversations=s.sequences,
                budget=self._budget,
                findings=len(self._kinds),
                probes=self._probes,
                elapsed_s=self._clock() - self.started,
                shrinking=self.failed_in_search,
            )
        )
