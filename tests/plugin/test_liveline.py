"""liveline: the progress line rewritten in place on a terminal, a line now and then in a log."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import pytest

from ws_routes.engine.stats import Progress
from ws_routes.plugin import liveline
from ws_routes.plugin.liveline import LiveLine, live_line


class Writer:
    """pytest's TerminalWriter as far as the live line uses it."""

    def __init__(self, current: str = "ws-routes ", width: int = 80) -> None:
        self._current_line = current
        self.fullwidth = width
        self.out = ""

    def write(self, text: str, *, flush: bool = False) -> None:
        self.out += text
        self._current_line += text.rsplit("\n", 1)[-1]

    def screen(self) -> str:
        """What the terminal shows on the current line (carriage returns applied)."""
        shown: list[str] = []
        column = 0
        for char in self.out.rsplit("\n", 1)[-1]:
            if char == "\r":
                column = 0
                continue
            if column < len(shown):
                shown[column] = char
            else:
                shown.append(char)
            column += 1
        return "".join(shown)


class Reporter:
    def __init__(self) -> None:
        self._tw = Writer()
        self.lines: list[str] = []

    def write_line(self, line: str) -> None:
        self.lines.append(line)


class Capture:
    def __init__(self) -> None:
        self.suspended = 0

    @contextlib.contextmanager
    def global_and_fixture_disabled(self) -> Iterator[None]:
        self.suspended += 1
        yield


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def progress(conversations: int, elapsed: float = 1.0) -> Progress:
    return Progress(
        route="/ws/x",
        conversations=conversations,
        budget=100,
        findings=0,
        probes=2,
        elapsed_s=elapsed,
    )


def test_on_a_terminal_the_line_is_rewritten_in_place_and_erased_at_the_end() -> None:
    reporter, capture, clock = Reporter(), Capture(), Clock()
    live = LiveLine(reporter, capture, tty=True, clock=clock)
    clock.now = 1.0
    live(progress(10))
    assert (
        reporter._tw.screen()
        == "ws-routes /ws/x: 10/100 conversations · 0 findings · 10 conversations/s · 1 s"
    )
    clock.now = 1.1  # too soon: not rewritten
    live(progress(11))
    assert "11/100" not in reporter._tw.out
    clock.now = 2.0
    live(progress(9, elapsed=2.0))
    assert reporter._tw.screen() == (
        "ws-routes /ws/x: 9/100 conversations · 0 findings · 4.5 conversations/s · 2 s"
    )
    # pytest's own measure of its line is what it wrote, for its right-aligned [ 50%].
    assert reporter._tw._current_line == "ws-routes "
    live.close()
    assert reporter._tw.screen().rstrip() == "ws-routes"
    assert reporter._tw._current_line == "ws-routes "
    assert "\n" not in reporter._tw.out
    assert reporter.lines == []
    assert capture.suspended == 3  # every write with pytest's capture suspended
    clock.now = 10.0
    live(progress(50))  # after the route ended (an abandoned loop thread): nothing
    assert "50/100" not in reporter._tw.out


def test_the_live_line_fits_the_terminal() -> None:
    reporter, clock = Reporter(), Clock()
    reporter._tw = Writer(current="ws-routes::test_websocket[/ws/x] ", width=60)
    live = LiveLine(reporter, None, tty=True, clock=clock)
    clock.now = 1.0
    live(progress(10))
    assert len(reporter._tw.screen()) == 59


def test_without_a_terminal_a_line_every_interval_and_none_for_short_routes() -> None:
    reporter, clock = Reporter(), Clock()
    live = LiveLine(reporter, Capture(), tty=False, clock=clock)
    for second in range(1, 25):
        clock.now = float(second)
        live(progress(second, elapsed=float(second)))
    assert reporter.lines == [
        "ws_routes: /ws/x: 10/100 conversations · 0 findings · 1.0 conversations/s · 10 s",
        "ws_routes: /ws/x: 20/100 conversations · 0 findings · 1.0 conversations/s · 20 s",
    ]
    live.close()
    assert reporter._tw.out == ""  # nothing to erase in a log

    short = Reporter()
    live = LiveLine(short, None, tty=False, clock=clock)
    clock.now += liveline.LOG_INTERVAL - 0.5
    live(progress(5))
    assert short.lines == []


class Config:
    def __init__(self, plugins: dict[str, Any], *, worker: bool = False) -> None:
        self.pluginmanager = self
        self.plugins = plugins
        if worker:
            self.workerinput: dict[str, Any] = {}

    def get_plugin(self, name: str) -> Any:
        return self.plugins.get(name)


def test_which_printer_a_run_gets(pytestconfig: pytest.Config) -> None:
    reporter = Reporter()
    reporter.isatty = True  # type: ignore[attr-defined]
    chosen = live_line(Config({"terminalreporter": reporter}))  # type: ignore[arg-type]
    assert chosen is not None
    assert chosen.tty
    reporter.isatty = False  # type: ignore[attr-defined]
    chosen = live_line(Config({"terminalreporter": reporter}))  # type: ignore[arg-type]
    assert chosen is not None
    assert not chosen.tty
    # An xdist worker prints nothing: the controller shows pytest's own progress.
    assert live_line(Config({"terminalreporter": reporter}, worker=True)) is None  # type: ignore[arg-type]
    assert live_line(Config({})) is None  # type: ignore[arg-type]  # -p no:terminal
    # This very run: a live line where its terminal is a TTY, lines in the log otherwise.
    real = live_line(pytestconfig)
    if hasattr(pytestconfig, "workerinput"):  # this run is an xdist worker (pytest -n 2)
        assert real is None
        return
    terminal = pytestconfig.pluginmanager.get_plugin("terminalreporter")
    assert real is not None
    assert real.tty is bool(terminal.isatty)
