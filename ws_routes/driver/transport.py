"""The small interface a conversation talks through, and the events it sees.

The in-process ASGI driver (:mod:`ws_routes.driver.asgi`) and the network driver
(:mod:`ws_routes.driver.network`, a running server through websockets) implement it; the runner,
checks and reports do not care which (:mod:`ws_routes.driver.targets`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

__all__ = [
    "Accepted",
    "AppError",
    "BytesFrame",
    "Connection",
    "Event",
    "HandshakeResult",
    "Rejected",
    "ServerClose",
    "Silence",
    "TextFrame",
    "Transport",
]


@dataclass(frozen=True, slots=True)
class TextFrame:
    data: str


@dataclass(frozen=True, slots=True)
class BytesFrame:
    data: bytes


@dataclass(frozen=True, slots=True)
class ServerClose:
    """The server closed the connection (after accepting it)."""

    code: int
    reason: str = ""
    # No close frame at all: the handler returned without closing, and a real server then drops
    # the connection (the client sees 1006, RFC 6455 7.1.5). ``code`` is 1006 then.
    dropped: bool = False


Event = TextFrame | BytesFrame | ServerClose


class Silence(Enum):
    """Why :meth:`Connection.wait_event` returned no event."""

    IDLE = "idle"  # the app provably cannot send anything before the client acts: decided
    TIMEOUT = "timeout"  # nothing came within the timeout (the transport could not tell)


@dataclass(frozen=True, slots=True)
class Accepted:
    subprotocol: str | None = None
    headers: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class Rejected:
    """The server refused the handshake.

    ``close_code`` is set when the app sent ``websocket.close`` before accepting (a real server
    turns that into HTTP 403 and the client never sees the code); ``status`` is the HTTP status the
    client would see (403, or what a ``websocket.http.response`` denial sent).
    """

    status: int = 403
    close_code: int | None = None
    reason: str = ""
    body: bytes = b""
    # Headers of a ``websocket.http.response`` denial (e.g. ``www-authenticate``), lower-cased.
    headers: tuple[tuple[str, str], ...] = ()


# None: the app neither accepted nor refused within the connection timeout.
HandshakeResult = Accepted | Rejected | None


@dataclass(frozen=True, slots=True)
class AppError:
    """An exception the app raised, kept with its formatted traceback for the report."""

    exception: BaseException
    traceback: str

    @property
    def summary(self) -> str:
        """``Type: message``, cut to a preview and printable whatever the app put in it."""
        name = type(self.exception).__name__
        try:
            text = str(self.exception)
        except Exception:  # an exception whose __str__ raises is still the app's finding
            text = "<its str() raised>"
        if len(text) > 500:
            text = text[:500] + "…"
        # KeyboardInterrupt() has no message: no dangling colon then.
        line = f"{name}: {text}" if text else name
        return line.encode("utf-8", "backslashreplace").decode("utf-8")


class Connection(Protocol):
    """One WebSocket connection, as the client sees it, plus what only an in-process peer knows."""

    @property
    def handshake(self) -> HandshakeResult: ...

    @property
    def app_error(self) -> AppError | None:
        """The first exception the app raised on this connection, if any."""

    @property
    def server_close(self) -> ServerClose | None:
        """Set once the server has closed the connection."""

    @property
    def protocol_errors(self) -> Sequence[str]:
        """ASGI messages the app sent that a real server refuses (each was also raised in the app).

        Transports that cannot see the app's messages return an empty sequence.
        """

    @property
    def background_tasks(self) -> int:
        """How many tasks the app started on this connection are still pending (0 if unknowable).

        Whether one of them may still answer is ``wait_event``'s question, not this count's.
        """

    @property
    def app_stopped(self) -> bool | None:
        """True once the app returned on its own; False when it had to be cancelled because it did
        not finish within the ``close``/``abort`` timeout; None while it runs (or if unknowable)."""

    @property
    def leaked_tasks(self) -> Sequence[str]:
        """Descriptions of tasks the app started that were still pending after it returned."""

    async def finish_tasks(
        self, timeout: float = 0.05
    ) -> tuple[list[str], list[tuple[AppError, bool]]]:
        """After the app returned, its pending tasks given up to ``timeout`` to end or go dormant
        (so a task crashing just after the close is seen): descriptions of the tasks it started that still hold the
        connection (cancelled now), and exceptions of its tasks that nobody retrieved, each with
        whether the client had already gone. Transports that cannot see tasks return two empty
        lists."""

    async def send_text(self, data: str) -> None:
        """Send a text frame. Sending after the server closed is a no-op (the frame is lost)."""

    async def send_bytes(self, data: bytes) -> None: ...

    async def receive(self, timeout: float) -> Event | None:
        """The next event from the server, or None when nothing arrived within ``timeout``."""

    async def wait_event(self, timeout: float) -> Event | Silence:
        """The next event from the server; else ``Silence.IDLE`` as soon as the app provably
        cannot send one without client input, or ``Silence.TIMEOUT`` after ``timeout``."""

    async def settle(self, timeout: float) -> tuple[list[Event], bool]:
        """Collect what the server sends until it pauses; return (events, idle).

        The server pauses when the app waits in ``receive()`` (or has finished) and nothing it
        started is runnable now. ``idle`` says whether that pause is proof that no further frame
        can come without client input (no timer, thread or I/O that could still answer): False
        when the app only paused, or when ``timeout`` expired first.
        """

    async def close(self, code: int = 1000, reason: str = "", *, timeout: float) -> bool:
        """Close from the client side; True when the app finished within ``timeout``."""

    async def abort(self, *, timeout: float) -> bool:
        """Drop the connection without a close frame; True when the app finished in time."""


class Transport(Protocol):
    """Opens connections to one app."""

    async def connect(
        self,
        path: str,
        *,
        query_string: bytes = b"",
        headers: Sequence[tuple[str, str]] = (),
        subprotocols: Sequence[str] = (),
        timeout: float,
    ) -> Connection: ...
