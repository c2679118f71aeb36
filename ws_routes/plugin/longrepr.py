"""A route's failure as pytest reports it: the full report as the body, the finding as its one line.

pytest takes the line of the short test summary (``-rf``, and ``FAILED <id> - <line>``), of
``--tb=line`` and of JUnit's ``message`` attribute from ``longrepr.reprcrash.message`` when the
longrepr has one, else from the longrepr's text, which for us is the whole report (its banner,
and under ``CI=true`` every line of it). So a failure of ours is pytest's own
``ReprExceptionInfo``: the report as a single native traceback entry, the one-line finding as its
crash line. Being pytest's own type, it survives xdist, which sends a report to the controller
field by field and rebuilds it there.
"""

from __future__ import annotations

from typing import Any

__all__ = ["body_of", "finding_repr", "is_short"]


def is_short(style: str) -> bool:
    """Whether ``--tb=<style>`` shortens the report: the app's traceback then keeps its last
    frame only and the replay snippet is left out (the reproduce command stays)."""
    return style == "short"


def body_of(style: str, text: str) -> str:
    """What of the report ``--tb=<style>`` shows as the failure's body.

    ``line``: nothing, as pytest's own body is then only the exception's line, which for us is
    the crash line pytest prints anyway. ``no`` prints no body, but JUnit still gets it whole.
    """
    return "" if style == "line" else text


def finding_repr(text: str, line: str, *, path: str, lineno: int) -> Any:
    """The longrepr of a failure (a ``ReprExceptionInfo``): ``text`` as its body, ``line`` as the
    crash line, located at ``path:lineno`` (what ``--tb=line`` prints before it)."""
    # pytest does not export these: imported on use, so the module-level imports of the
    # package stay exactly its declared dependencies (tests/test_sources.py).
    from _pytest._code.code import (
        ReprEntryNative,
        ReprExceptionInfo,
        ReprFileLocation,
        ReprTraceback,
    )

    body = text if not text or text.endswith("\n") else text + "\n"
    entries = [ReprEntryNative([body])] if body else []
    return ReprExceptionInfo(
        reprtraceback=ReprTraceback(reprentries=entries, extraline=None, style="native"),
        reprcrash=ReprFileLocation(path=path, lineno=lineno, message=line),
    )
