"""A running route's progress on the terminal: one line rewritten in place, or a line every ~10 s.

On a terminal (TTY) the line sits after what pytest has already written on the current line
(``ws-routes ..`` or, with ``-v``, the item's id), is rewritten a few times a second and erased
when the route ends, so neither the terminal nor a saved log keeps it. Without a terminal (CI),
a route running longer than :data:`LOG_INTERVAL` seconds prints a line every that often, each
on its own line. xdist workers print nothing: the controller shows pytest's own progress.

The runner calls the printer on its loop thread; pytest's output capture is suspended for each
write, as for ``--routes-verbose``.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from ws_routes.engine.stats import Progress
from ws_routes.report.oneline import progress_line

__all__ = ["LOG_INTERVAL", "TTY_INTERVAL", "LiveLine", "live_line"]

# Seconds between two lines in a log (no terminal): a CI log must show that a long route lives,
# without a line per conversation.
LOG_INTERVAL = 10.0
# Seconds between two rewrites of the live line: often enough to look alive, rarely enough to
# cost nothing next to the conversations.
TTY_INTERVAL = 0.25


def live_line(config: pytest.Config) -> LiveLine | None:
    """The progress printer of a route item, or None where nothing is to be printed."""
    if hasattr(config, "workerinput"):  # an xdist worker: the controller owns the terminal
        return None
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return None
    writer = getattr(reporter, "_tw", None)
    # The live line must know what pytest already wrote on the line to write it again after
    # each carriage return; a writer that does not say falls back to the log's lines.
    tty = bool(reporter.isatty) and isinstance(getattr(writer, "_current_line", None), str)
    return LiveLine(reporter, config.pluginmanager.get_plugin("capturemanager"), tty=tty)


class LiveLine:
    """Prints the progress the runner reports (``__call__``); :meth:`close` erases a live line."""

    def __init__(
        self,
        reporter: Any,
        capture: Any,
        *,
        tty: bool,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.reporter = reporter
        self.capture = capture
        self.tty = tty
        self._clock = clock
        self._started = clock()
        self._last = self._started
        self._lock = threading.Lock()
        self._closed = False
        self._prefix: str | None = None  # what pytest had on the line (TTY)
        self._shown = 0  # the width of the live text on the screen now (TTY)

    def __call__(self, progress: Progress) -> None:
        now = self._clock()
        with self._lock:
            if self._closed:
                return  # a loop thread abandoned earlier, reporting after the route ended
            interval = TTY_INTERVAL if self.tty else LOG_INTERVAL
            if now - self._last < interval:
                return
            self._last = now
            text = progress_line(progress)
            with self._uncaptured():
                if self.tty:
                    self._rewrite(text)
                else:
                    self.reporter.write_line(f"ws_routes: {text}")

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self.tty and self._prefix is not None and self._shown:
                with self._uncaptured():
                    self._rewrite("")

    def _rewrite(self, text: str) -> None:
        writer = self.reporter._tw
        if self._prefix is None:
            self._prefix = str(writer._current_line)
        room = max(writer.fullwidth - len(self._prefix) - 1, 0)
        text = text[:room]
        erase = " " * max(self._shown - len(text), 0)
        line = "\r" + self._prefix + text + erase
        if erase:  # back to the end of the text
            line += "\r" + self._prefix + text
        writer.write(line, flush=True)
        # pytest measures the current line for its right-aligned progress: it must stay what
        # pytest wrote, since the live text is erased before pytest writes again.
        writer._current_line = self._prefix
        self._shown = len(text)

    def _uncaptured(self) -> Any:
        if self.capture is None:
            return contextlib.nullcontext()
        return self.capture.global_and_fixture_disabled()
