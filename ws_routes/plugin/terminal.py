"""The session's reporter: route counters from every report (xdist workers' too), the summary."""

from __future__ import annotations

from typing import Any

import pytest

from ws_routes.plugin.state import NOTE_PROPERTY, STATS_PROPERTY, VERBOSE_PROPERTY, State


class SessionReporter:
    """Collects route counters from every report (also from xdist workers) and prints the summary."""

    def __init__(self, config: pytest.Config, state: State) -> None:
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
        if int(self.config.getoption("verbose", 0) or 0) <= -2:  # -qq: one line, as pytest's
            from ws_routes.report.oneline import total_line

            terminalreporter.write_line(total_line(merged.values(), seed=self.state.seed))
            return
        terminalreporter.write_sep("=", "ws_routes")
        for line in render_summary(merged.values()).splitlines():
            terminalreporter.write_line(line)
        # Live mode (the controller under xdist knows the URL from the options alone).
        url = getattr(self.state.target, "url", None) or self.state.options.url
        if url:
            terminalreporter.write_line(
                f"Tested over the network at {url}: findings rest on what a client can see"
            )
        if any(s.failures for s in merged.values()):
            how = ", derandomized" if self.state.derandomized else ""
            terminalreporter.write_line(f"WebSocket test failed (seed: {self.state.seed}{how})")
