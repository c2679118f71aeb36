"""Findings in one line, for where CI shows one line: pytest's short summary and JUnit's message.

``no_server_error: IndexError in commands (qs_app.py:21) after 1 message [seed 1]``: the check,
then what broke (the exception's type and where in the app's own code it was raised, or the
check's own short text when nothing was raised), how long the minimal case is, and the seed.
The full report (:mod:`ws_routes.report.render`) stays in the body. Pure functions: no I/O.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable

from ws_routes.compile.credentials import Redactor
from ws_routes.driver.transcript import printable
from ws_routes.driver.transport import AppError
from ws_routes.engine.findings import ConversationFailed, InternalError, app_frame
from ws_routes.engine.stats import Progress, RouteStats

__all__ = ["finding_line", "internal_line", "progress_line", "route_line", "total_line"]

# What a dashboard row holds without scrolling; the check's own text is cut to fit in it.
TEXT_LIMIT = 80
_SPACE = re.compile(r"\s+")


def _plural(count: int, word: str) -> str:
    return f"{count:,} {word}{'' if count == 1 else 's'}"


def _rate(count: int, seconds: float) -> str:
    rate = count / seconds if seconds > 0 else 0.0
    return f"{rate:.1f}" if rate < 10 else f"{rate:,.0f}"


def _one_line(text: str, limit: int = TEXT_LIMIT) -> str:
    text = _SPACE.sub(" ", printable(text)).strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _where(path: str, root: str | None) -> str:
    """``path`` relative to ``root`` when it is inside it, else its file name."""
    if root:
        try:
            relative = os.path.relpath(path, root)
        except ValueError:  # another drive, on Windows
            relative = ""
        if relative and not relative.startswith(os.pardir):
            return relative.replace(os.sep, "/")
    return os.path.basename(path)


def _error_of(found: ConversationFailed) -> AppError | None:
    """The exception the finding is about: its cause, or the one found by replaying a
    server-error close with tracing (the framework had caught it)."""
    failure = found.failure
    if failure.cause is not None:
        return failure.cause
    if failure.error_type == "server_error":
        return found.transcript.app_error
    return None


def _what(found: ConversationFailed, root: str | None) -> str:
    error = _error_of(found)
    if error is None:
        return _one_line(found.failure.message)
    name = type(error.exception).__name__
    frame = app_frame(error.exception)
    if frame is None:
        return name
    return f"{name} in {frame.function} ({_where(frame.filename, root)}:{frame.line})"


def finding_line(
    found: ConversationFailed,
    *,
    seed: int | None,
    root: str | None = None,
    secrets: Redactor | None = None,
) -> str:
    """One finding in one line (``root``: the folder app files are named relative to)."""
    parts = [f"{found.failure.check}: {_what(found, root)}"]
    parts.append(f"after {_plural(found.transcript.messages_sent, 'message')}")
    if found.probe is not None:
        parts.append(f"(probe {_one_line(found.probe, 40)})")
    if found.flaky:
        parts.append("(flaky)")
    if found.unshrunk:
        parts.append("(not shrunk)")
    if seed is not None:
        parts.append(f"[seed {seed}]")
    line = " ".join(parts)
    return secrets.redact(line) if secrets is not None else line


def route_line(
    found: ConversationFailed,
    *,
    seed: int | None,
    root: str | None = None,
    secrets: Redactor | None = None,
) -> str:
    """A route's findings in one line: the first, and how many more the report holds."""
    line = finding_line(found, seed=seed, root=root, secrets=secrets)
    more = len(found.also)
    if more:
        line += f" (+{more} more)"
    if found.internal is not None:
        line += " (and an internal error of ws_routes)"
    return line


def internal_line(
    error: InternalError, *, seed: int | None, secrets: Redactor | None = None
) -> str:
    """A bug of ws_routes itself in one line."""
    line = _one_line(str(error), 200) + (f" [seed {seed}]" if seed is not None else "")
    return secrets.redact(line) if secrets is not None else line


def total_line(stats: Iterable[RouteStats], *, seed: int) -> str:
    """The session in one line (``-qq``): routes, what ran, what failed, the seed."""
    routes = list(stats)
    failed = sum(1 for s in routes if s.outcome == "FAILED")
    limited = sum(1 for s in routes if s.time_limited)
    parts = [
        _plural(len(routes), "route") + (f" ({failed} failed)" if failed else ""),
        _plural(sum(s.sequences for s in routes), "conversation"),
        _plural(sum(s.messages for s in routes), "message"),
        _plural(sum(s.failures for s in routes), "finding"),
    ]
    if limited:
        parts.append(f"{limited} stopped at the time limit")
    return printable(f"ws_routes: {', '.join(parts)} [seed {seed}]")


def progress_line(p: Progress) -> str:
    """Where a running route is: the live line on a terminal, the periodic line in CI logs."""
    rate = f"{_rate(p.conversations, p.elapsed_s)} conversations/s"
    if p.shrinking:
        parts = [f"shrinking, {_plural(p.conversations, 'conversation')}", rate]
    elif p.conversations == 0:  # the probes run first
        parts = [f"{_plural(p.probes, 'probe')}, then {p.budget:,} conversations"]
    else:
        parts = [f"{p.conversations:,}/{p.budget:,} conversations", rate]
    parts[1:1] = [_plural(p.findings, "finding")]
    parts.append(f"{p.elapsed_s:.0f} s")
    return printable(f"{p.route}: {' · '.join(parts)}")
