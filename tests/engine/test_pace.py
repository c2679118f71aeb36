"""pace: a route's time limit and the progress it reports, on a clock the test moves."""

from __future__ import annotations

from ws_routes.engine.pace import RoutePace, TimeUp
from ws_routes.engine.stats import Progress, RouteStats


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_without_a_time_limit_time_is_never_up() -> None:
    clock = Clock()
    pace = RoutePace(RouteStats(route="/ws"), budget=10, clock=clock)
    pace.start()
    clock.now += 10**9
    assert not pace.time_up()
    assert not pace.stats.time_limited


def test_time_is_up_at_the_limit_and_the_stats_say_so() -> None:
    clock = Clock()
    pace = RoutePace(RouteStats(route="/ws"), budget=10, max_time=2.0, clock=clock)
    pace.start()
    clock.now += 1.999
    assert not pace.time_up()
    assert not pace.stats.time_limited
    clock.now += 0.001
    assert pace.time_up()
    assert pace.stats.time_limited


def test_the_limit_counts_from_the_start_of_the_run_not_from_construction() -> None:
    clock = Clock()
    pace = RoutePace(RouteStats(route="/ws"), budget=10, max_time=1.0, clock=clock)
    clock.now += 5  # the app's lifespan starting, say
    pace.start()
    assert not pace.time_up()


def test_time_up_passes_through_an_except_exception() -> None:
    # Hypothesis catches Exception as a failure to shrink; the time limit must not be one.
    assert not issubclass(TimeUp, Exception)


def test_progress_counts_conversations_budget_findings_and_probes() -> None:
    clock = Clock()
    seen: list[Progress] = []
    stats = RouteStats(route="/ws/chat")
    pace = RoutePace(stats, budget=100, on_progress=seen.append, clock=clock)
    pace.start()
    pace.report(probe=True)
    pace.report(probe=True)
    assert seen[-1] == Progress(
        route="/ws/chat", conversations=0, budget=100, findings=0, probes=2, elapsed_s=0.0
    )
    pace.search(100, first=True)
    stats.sequences = 40
    clock.now += 2
    pace.found(KeyError)
    pace.found(KeyError)  # the same bug again counts once
    pace.failed_in_search = True
    pace.report()
    assert seen[-1] == Progress(
        route="/ws/chat",
        conversations=40,
        budget=100,
        findings=1,
        probes=2,
        elapsed_s=2.0,
        shrinking=True,
    )
    pace.search(60, first=False)  # a later search adds its budget and is not shrinking yet
    pace.report()
    assert (seen[-1].budget, seen[-1].shrinking) == (160, False)


def test_no_callback_no_progress() -> None:
    pace = RoutePace(RouteStats(route="/ws"), budget=1)
    pace.report(probe=True)  # nothing to call: nothing happens
