"""The run's :class:`~ws_routes.compile.credentials.Redactor` applied to the output channels of the app.

``credentials.Redactor`` knows what to hide; this module hides it where the app's own output
travels to the user: log records (the app's loggers, the asyncio logger, live logging), warnings
the app emits while a route runs, and report objects pytest renders (tracebacks with ``-l``
locals). Whatever pytest captures as text (stdout, stderr, logs) the plugin redacts in the
report's sections; no pytest here.
"""

from __future__ import annotations

import dataclasses
import logging
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from ws_routes.compile.credentials import Redactor

__all__ = ["RedactingFilter", "app_output_redacted", "redact_in_place", "redact_report"]


class RedactingFilter(logging.Filter):
    """A logging filter that rewrites a record's message, traceback and stack without secrets.

    It never drops a record: on a handler or a logger, it only changes what the record says.
    """

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self.redactor = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        redact = self.redactor.redact
        try:
            message = record.getMessage()
        except Exception:  # the app's own bad format string: logging reports it, not us
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, None
        if record.exc_info and not record.exc_text:
            # Formatters keep an exc_text already set; the traceback's text holds the secret.
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


def _every_handler() -> set[logging.Handler]:
    handlers = set(logging.getLogger().handlers)
    for logger in list(logging.Logger.manager.loggerDict.values()):
        if isinstance(logger, logging.Logger):
            handlers.update(logger.handlers)
    if logging.lastResort is not None:
        handlers.add(logging.lastResort)
    return handlers


@contextmanager
def app_output_redacted(redactor: Redactor) -> Iterator[None]:
    """While a route runs: redact every log handler's records and the warnings the app emits.

    Handlers get the filter (not loggers: a record the app logs on its own logger reaches the
    root's handlers without passing the root logger's filters). Warnings are recorded and
    emitted again, redacted, at the place the app emitted them, once the route is done.
    """
    if not redactor:
        yield
        return
    log_filter = RedactingFilter(redactor)
    handlers = _every_handler()
    for handler in handlers:
        handler.addFilter(log_filter)
    try:
        with warnings.catch_warnings(record=True) as caught:
            yield
    finally:
        for handler in handlers:
            handler.removeFilter(log_filter)
        _emit_redacted(caught, redactor)


def _emit_redacted(caught: list[warnings.WarningMessage], redactor: Redactor) -> None:
    for record in caught:
        message = record.message
        text = str(message)
        clean = redactor.redact(text)
        if clean != text:
            try:
                message = record.category(clean)
            except Exception:  # a warning class with its own constructor
                message = UserWarning(f"{record.category.__name__}: {clean}")
            if redactor.redact(str(message)) != str(message):
                message = UserWarning(f"{record.category.__name__}: {clean}")
        with warnings.catch_warnings():
            # It passed the filters once, when the app emitted it: emit it as it was decided.
            warnings.simplefilter("always")
            warnings.warn_explicit(
                message, record.category, record.filename, record.lineno, source=record.source
            )


def redact_report(report: Any, redactor: Redactor) -> None:
    """Redact what pytest prints and writes to JUnit from a test or collection report of ours.

    The failure text, the sections of captured stdout, stderr and logs (the app's prints and
    log records), the user properties (--routes-verbose under xdist); a traceback object (an
    error of ours, with ``-l`` locals) is redacted in place, or replaced by its redacted text.
    """
    if not redactor:
        return
    report.sections = [(title, redactor.redact(text)) for title, text in report.sections]
    if hasattr(report, "user_properties"):
        report.user_properties = [
            (k, redactor.redact(v) if isinstance(v, str) else v) for k, v in report.user_properties
        ]
    longrepr = report.longrepr
    if isinstance(longrepr, str):
        report.longrepr = redactor.redact(longrepr)
    elif isinstance(longrepr, tuple):  # a skip: (path, line, reason)
        path, line, reason = longrepr
        report.longrepr = (path, line, redactor.redact(reason))
    elif longrepr is not None:
        redact_in_place(longrepr, redactor)
        text = str(longrepr)
        clean = redactor.redact(text)
        if clean != text:  # a part the walk did not reach: keep the text, not the secret
            report.longrepr = clean


def redact_in_place(obj: Any, redactor: Redactor) -> None:
    """Redact every string held by a tree of dataclasses (what pytest renders a traceback from).

    Lists are rewritten in place, tuples and strings replaced in their dataclass field; the
    caller checks the rendered text afterwards, so a shape this walk does not know is caught.
    """
    _walk(obj, redactor, set())


def _walk(value: Any, redactor: Redactor, seen: set[int]) -> Any:
    if isinstance(value, str):
        return redactor.redact(value)
    if id(value) in seen:
        return value
    seen.add(id(value))
    if isinstance(value, list):
        value[:] = [_walk(v, redactor, seen) for v in value]
        return value
    if isinstance(value, tuple) and not hasattr(value, "_fields"):
        return tuple(_walk(v, redactor, seen) for v in value)
    if isinstance(value, dict):
        for key in list(value):
            value[key] = _walk(value[key], redactor, seen)
        return value
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        for f in dataclasses.fields(value):
            old = getattr(value, f.name, None)
            new = _walk(old, redactor, seen)
            if new is not old:
                object.__setattr__(value, f.name, new)
    return value
