"""What a real server we started can tell about each of its connections: the app's exception, the
server's own errors, whether the app returned.

A client over TCP sees frames and close codes only. When ws_routes starts the server itself
(:mod:`ws_routes.driver.servers`) it also runs the app, so it wraps it (:class:`TaggingApp`): each
handshake carries a fresh tag in a header (:meth:`ServerRecord.connection_header`), which the
wrapper takes off the scope (the app sees the headers it would see in-process) and files what
happens on that connection under. A log handler on the server's loggers (:class:`ServerLog`)
turns what the server itself reports ("Exception in ASGI application" aside, which is the app's,
already recorded) into errors of the connection it was logging for. :class:`ServerRecord` answers
the network transport's ``ServerView`` questions from that record.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import traceback
import uuid
from collections.abc import Awaitable, Callable, Iterator, MutableMapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from ws_routes.driver.transport import AppError

__all__ = ["TAG_HEADER", "ServerError", "ServerLog", "ServerRecord", "TaggingApp", "server_part"]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
App = Callable[[Scope, Receive, Send], Awaitable[None]]

TAG_HEADER = "x-ws-routes-connection"
# The connection whose app code runs now. A task copies the context it was created in, so the
# server's own logging from the task that runs the app (uvicorn's "ASGI callable returned
# without sending handshake") still knows the connection.
_CURRENT: contextvars.ContextVar[str | None] = contextvars.ContextVar("ws_routes_tag", default=None)
# Connections kept per server: a route runs a few hundred; more than this is a runaway loop, and
# the oldest records are no longer asked about.
_KEPT = 4096


_REFUSED = " refused the app's "


class ServerError(Exception):
    """An error the server itself reported for a connection (a failed send, a protocol error).

    It stands in the transcript where an app's exception would, so the crash check reports it.
    """


@dataclass
class _Connection:
    error: AppError | None = None
    # True once the app returned or raised; False when it was cancelled (server shutdown).
    stopped: bool | None = None
    server_errors: list[AppError] = field(default_factory=list)


class ServerRecord:
    """Per-connection facts, written on the server's thread and read on the client's."""

    def __init__(self, server: str) -> None:
        self.server = server
        self._lock = threading.Lock()
        self._connections: dict[str, _Connection] = {}
        self._latest: str | None = None
        # Errors the server logged outside any connection (startup, lifespan), for its messages.
        self.unattributed: list[str] = []

    def connection_header(self) -> tuple[str, str]:
        """The header a handshake carries so the server-side record knows its connection."""
        return TAG_HEADER, uuid.uuid4().hex

    def app_error(self, tag: str) -> AppError | None:
        """The app's first exception on that connection, else the server's first error there."""
        with self._lock:
            record = self._connections.get(tag)
            if record is None:
                return None
            return record.error or (record.server_errors[0] if record.server_errors else None)

    def app_stopped(self, tag: str) -> bool | None:
        with self._lock:
            record = self._connections.get(tag)
            return None if record is None else record.stopped

    def server_errors(self, tag: str) -> tuple[AppError, ...]:
        with self._lock:
            record = self._connections.get(tag)
            return () if record is None else tuple(record.server_errors)

    def _get(self, tag: str) -> _Connection:
        # Called with the lock held.
        record = self._connections.get(tag)
        if record is None:
            if len(self._connections) >= _KEPT:
                del self._connections[next(iter(self._connections))]
            record = self._connections[tag] = _Connection()
        self._latest = tag
        return record

    def opened(self, tag: str) -> None:
        with self._lock:
            self._get(tag)

    def app_raised(self, tag: str, exc: BaseException) -> None:
        text = "".join(traceback.format_exception(exc))
        with self._lock:
            record = self._get(tag)
            if record.error is None:
                sent = next((e for e in record.server_errors if e.exception is exc), None)
                note = f"({sent.traceback.splitlines()[0]})\n" if sent is not None else ""
                record.error = AppError(exc, note + text)

    def app_returned(self, tag: str, *, cancelled: bool = False) -> None:
        with self._lock:
            self._get(tag).stopped = not cancelled

    def send_failed(self, tag: str, message_type: str, exc: BaseException) -> None:
        """The server raised from the app's ``send``: it refused that message (or the client had
        gone). The app may catch it; the server's refusal is a finding either way."""
        head = f"{self.server}{_REFUSED}{message_type}: {type(exc).__name__}: {exc}"
        self._server_error(tag, exc, head + "\n" + "".join(traceback.format_exception(exc)))

    def logged(self, tag: str | None, record: logging.LogRecord) -> None:
        """An error the server logged, filed under ``tag`` or else the latest connection."""
        exc = record.exc_info[1] if record.exc_info else None
        with self._lock:
            tag = tag or self._latest
            known = self._connections.get(tag) if tag is not None else None
            if (
                exc is not None
                and known is not None
                and known.error is not None
                and (known.error.exception is exc)
            ):
                return  # "Exception in ASGI application": the app's, recorded already
        text = f"{self.server} logged: {record.getMessage().strip()}"
        if exc is not None:
            text += "\n" + "".join(traceback.format_exception(exc))
        if tag is None:
            with self._lock:
                self.unattributed.append(text)
            return
        self._server_error(tag, ServerError(text.splitlines()[0]), text)

    def _server_error(self, tag: str, exc: BaseException, text: str) -> None:
        with self._lock:
            self._get(tag).server_errors.append(AppError(exc, text))


def server_part(error: AppError) -> tuple[str | None, bool]:
    """Of an error a :class:`ServerRecord` gave: the server's own part (one line, or None), and
    whether the app raised too (it may have caught the server's refusal of its send)."""
    if isinstance(error.exception, ServerError):
        return str(error.exception), False
    first = error.traceback.split("\n", 1)[0]
    if _REFUSED not in first:
        return None, True
    # "(...)" is the note on the app's own exception; a bare line is a refusal the app caught.
    noted = first.startswith("(") and first.endswith(")")
    return first.strip("()"), noted


class TaggingApp:
    """ASGI middleware: files each WebSocket connection's outcome under its tag header's value.

    Scopes without the tag (lifespan, HTTP, a client of the user's own) pass through untouched,
    apart from ``on_lifespan``, which hears the lifespan's outcome (a server's readiness signal).
    """

    def __init__(
        self, app: App, record: ServerRecord, on_lifespan: Callable[[str], None] | None = None
    ) -> None:
        self.app = app
        self.record = record
        self.on_lifespan = on_lifespan

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") == "lifespan" and self.on_lifespan is not None:
            await self._lifespan(scope, receive, send)
            return
        tag = _take_tag(scope) if scope.get("type") == "websocket" else None
        if tag is None:
            await self.app(scope, receive, send)
            return
        record = self.record
        record.opened(tag)
        _CURRENT.set(tag)  # left set: the server logs from this same task after the app ends

        async def tagged_send(message: Message) -> None:
            try:
                await send(message)
            except Exception as exc:
                if not _client_gone(exc):  # in-process, that raises in the app too (and is no bug)
                    record.send_failed(tag, str(message.get("type", "?")), exc)
                raise

        try:
            await self.app(scope, receive, tagged_send)
        except BaseException as exc:
            import asyncio

            if isinstance(exc, asyncio.CancelledError):
                record.app_returned(tag, cancelled=True)
            else:
                record.app_raised(tag, exc)
                record.app_returned(tag)
            raise
        record.app_returned(tag)

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        assert self.on_lifespan is not None
        hear = self.on_lifespan

        async def heard_send(message: Message) -> None:
            await send(message)
            hear(str(message.get("type", "")))

        try:
            await self.app(scope, receive, heard_send)
        finally:
            hear("returned")  # an app without lifespan support returns (or raises) at once


def _client_gone(exc: BaseException) -> bool:
    # uvicorn's ClientDisconnected and a reset socket are OSErrors; websockets' own name for a
    # closed connection is ConnectionClosed (not imported: the backend may be another).
    return isinstance(exc, OSError) or any(
        cls.__name__ == "ConnectionClosed" for cls in type(exc).__mro__
    )


def _take_tag(scope: Scope) -> str | None:
    name = TAG_HEADER.encode()
    headers = list(scope.get("headers") or ())
    tags = [value for key, value in headers if key.lower() == name]
    if not tags:
        return None
    # The app gets the headers it would get in-process.
    scope["headers"] = [(key, value) for key, value in headers if key.lower() != name]
    return bytes(tags[0]).decode("latin-1")


class ServerLog(logging.Handler):
    """Errors the server logs become errors of the connection they were logged for."""

    def __init__(self, record: ServerRecord) -> None:
        super().__init__(logging.ERROR)
        self.record = record

    def emit(self, record: logging.LogRecord) -> None:
        try:
            self.record.logged(_CURRENT.get(), record)
        except Exception:  # a logging handler must never raise into the server
            self.handleError(record)

    @contextmanager
    def installed(self, names: tuple[str, ...]) -> Iterator[None]:
        """Attach to the server's loggers for the run; restore their level and propagation after.

        Propagation is off meanwhile: the server's connection chatter would otherwise land in
        pytest's captured log of every item, and its errors are ours to report.
        """
        loggers = [logging.getLogger(name) for name in names]
        saved = [(lg.level, lg.propagate, lg.disabled) for lg in loggers]
        for logger in loggers:
            logger.addHandler(self)
            logger.setLevel(logging.INFO)
            logger.propagate = False
            logger.disabled = False
        try:
            yield
        finally:
            for logger, (level, propagate, disabled) in zip(loggers, saved, strict=True):
                logger.removeHandler(self)
                logger.setLevel(level)
                logger.propagate = propagate
                logger.disabled = disabled
