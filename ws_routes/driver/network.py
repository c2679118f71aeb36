"""The network driver: :class:`NetworkTransport` talks to a running server over TCP (or TLS).

The client is ``websockets`` (its asyncio implementation), chosen by measurement
(``benchmarks/bench_network.py``, one run over loopback against uvicorn): about 2.7 times the
conversations/s of httpx-ws (196 against 74; the in-process driver does 3,700), and it shows
everything the checks read: close codes 4000-4999 with their reason, a dropped connection as
"no close frame" (httpx-ws raised an ``ExceptionGroup`` there), a refused handshake's status,
headers *and body* (httpx-ws closes the stream first: the body is lost), the subprotocol, pings.

A client sees less than an in-process peer: no exception of the app (``app_error`` is None
unless a :class:`ServerView` of a server we started says otherwise), no ASGI protocol breach, no
tasks. Quiet cannot be proved: ``settle`` stops after a short gap without a frame and is never
idle; ``wait_event`` ends in ``Silence.TIMEOUT``. A close before accept is an HTTP 403 here, its
code unseen. Whatever the server does (garbage bytes, a frame over ``max_size``, no answer to the
handshake, a reset) becomes an event, a ``Rejected`` with status 0 (no valid HTTP answer) or a
``protocol_errors`` entry; every wait has a deadline.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Protocol

from ws_routes.driver.network_http import offerable, on_the_wire, wire_target
from ws_routes.driver.transport import (
    Accepted,
    AppError,
    BytesFrame,
    Event,
    HandshakeResult,
    Rejected,
    ServerClose,
    Silence,
    TextFrame,
)
from ws_routes.errors import WsRoutesError
from ws_routes.spec.urls import url_problem

if TYPE_CHECKING:
    from websockets.asyncio.client import ClientConnection
    from websockets.exceptions import ConnectionClosed

# websockets is the ``live`` extra's: imported when a transport is made, not with this module.

__all__ = [
    "QUIET_GAP",
    "NetworkConnection",
    "NetworkTransport",
    "ServerView",
    "check_url",
    "require_client",
]

# How long ``settle`` waits for one more frame before calling the server paused. Over loopback a
# reply takes well under a millisecond (the benchmark); a reply later than this is still waited
# for when the spec expects one (``wait_event``, up to message_timeout).
QUIET_GAP = 0.02
# How often a ServerView is asked whether the app stopped, while close/abort wait for it.
_POLL = 0.01
# Why the client gave up on a connection (RFC 6455 7.4.1), as a finding's words.
_FAILED = {
    1002: "a frame that breaks the WebSocket protocol",
    1007: "a text frame that is not valid UTF-8",
    1009: "a message over the size the client accepts",
}


def require_client() -> None:
    """A WsRoutesError naming the extra to install when the network client is missing."""
    try:
        import websockets.asyncio.client  # noqa: F401
    except ImportError:
        raise WsRoutesError(
            "testing a server over the network needs the websockets package: "
            "pip install 'ws-routes[live]'"
        ) from None


class ServerView(Protocol):
    """What a server we started ourselves can tell about one of its connections."""

    def connection_header(self) -> tuple[str, str]:
        """(name, value) sent with each handshake, fresh per connection."""

    def app_error(self, tag: str) -> AppError | None:
        """The first exception the app raised on the connection ``tag`` (that header's value)."""

    def app_stopped(self, tag: str) -> bool | None:
        """Whether the app's handler for ``tag`` returned (None: still running, or unknown)."""


def check_url(url: str) -> str:
    """``url`` without a trailing slash, or a WsRoutesError saying what is wrong with it."""
    problem = url_problem(url)
    if problem is not None:
        raise WsRoutesError(f"server URL: {problem}")
    return url.rstrip("/")


class NetworkTransport:
    """Opens connections to a server at ``base_url`` (``ws://host:port[/prefix]``).

    Args:
        base_url: Where the server is; a route's path is appended to it.
        tls: The TLS context for ``wss://`` (None: the default context, which verifies).
        view: What the server can tell about its connections, when we started it ourselves.
        max_size: The largest message accepted from the server (the route's max_message_size);
            a larger one fails the connection (1009) and is a finding.
        quiet: ``settle``'s gap without a frame that counts as a pause.
    """

    def __init__(
        self,
        base_url: str,
        *,
        tls: ssl.SSLContext | None = None,
        view: ServerView | None = None,
        max_size: int | None = None,
        quiet: float = QUIET_GAP,
    ) -> None:
        require_client()
        self.base_url = check_url(base_url)
        self.tls = tls
        self.view = view
        self.max_size = max_size
        self.quiet = quiet

    def url(self, path: str, query_string: bytes = b"") -> str:
        """The URL a route's ``path`` (as sent on the wire) and query go to."""
        return self.base_url + wire_target(path, query_string)

    async def connect(
        self,
        path: str,
        *,
        query_string: bytes = b"",
        headers: Sequence[tuple[str, str]] = (),
        subprotocols: Sequence[str] = (),
        timeout: float,
    ) -> NetworkConnection:
        """Open a connection and wait up to ``timeout`` for the server's handshake answer."""
        conn = NetworkConnection(self)
        await conn._open(self.url(path, query_string), headers, subprotocols, timeout)
        return conn


class NetworkConnection:
    """One connection over the network; implements :class:`ws_routes.driver.transport.Connection`.

    Attributes:
        over_network: Always True: the transcript then says findings rest on what a client sees.
        notes: What the driver had to change or leave out (a header or text HTTP cannot carry).
    """

    over_network = True

    def __init__(self, transport: NetworkTransport) -> None:
        self._transport = transport
        self._ws: ClientConnection | None = None
        self._events: deque[Event] = deque()
        self._handshake: HandshakeResult = None
        self._close: ServerClose | None = None
        self._tag: str | None = None
        self._errors: list[str] = []
        self.notes: list[str] = []

    # -- what the client sees ------------------------------------------------------------------

    @property
    def handshake(self) -> HandshakeResult:
        return self._handshake

    @property
    def server_close(self) -> ServerClose | None:
        return self._close

    @property
    def protocol_errors(self) -> Sequence[str]:
        """What the server sent that the WebSocket protocol forbids (the client failed it)."""
        return self._errors

    # -- what only the server knows ------------------------------------------------------------

    @property
    def app_error(self) -> AppError | None:
        view = self._transport.view
        return view.app_error(self._tag) if view is not None and self._tag is not None else None

    @property
    def app_stopped(self) -> bool | None:
        view = self._transport.view
        return view.app_stopped(self._tag) if view is not None and self._tag is not None else None

    @property
    def background_tasks(self) -> int:
        return 0

    @property
    def leaked_tasks(self) -> Sequence[str]:
        return ()

    async def finish_tasks(
        self, timeout: float = 0.05
    ) -> tuple[list[str], list[tuple[AppError, bool]]]:
        return [], []  # a client cannot see the server's tasks

    # -- the handshake -------------------------------------------------------------------------

    async def _open(
        self,
        url: str,
        headers: Sequence[tuple[str, str]],
        subprotocols: Sequence[str],
        timeout: float,
    ) -> None:
        from websockets.asyncio.client import connect
        from websockets.exceptions import InvalidHandshake, InvalidStatus, InvalidURI

        transport = self._transport
        extra, left_out = on_the_wire(headers)
        if left_out:
            self.notes.append(
                f"{left_out} header(s) not sent: HTTP cannot carry a control character (CR, LF) "
                "in a value, nor a name that is not a token"
            )
        offered = offerable(subprotocols)
        if len(offered) < len(subprotocols):
            self.notes.append(
                f"{len(subprotocols) - len(offered)} subprotocol(s) not offered: "
                "Sec-WebSocket-Protocol carries HTTP tokens only"
            )
        if transport.view is not None:
            name, self._tag = transport.view.connection_header()
            extra.append((name, self._tag))
        tls = transport.tls if url.startswith("wss:") else None
        try:
            async with asyncio.timeout(timeout):
                self._ws = await connect(
                    url,
                    additional_headers=extra,
                    subprotocols=offered or None,  # type: ignore[arg-type]
                    compression=None,  # frames as the app sent them, as in-process
                    open_timeout=None,  # ours, above: it also covers the TCP connect
                    ping_interval=None,  # the server's pings are still answered
                    close_timeout=timeout,
                    max_size=transport.max_size,
                    # max_queue stays websockets' default: a flooding server is held back by
                    # TCP flow control, never buffered without bound here.
                    user_agent_header=None,
                    proxy=None,  # never an environment's proxy: the URL is the target
                    ssl=tls,
                )
        except TimeoutError:
            return  # no answer within the timeout: handshake None, the no_hang check's
        except InvalidStatus as exc:
            r = exc.response
            self._handshake = Rejected(
                status=r.status_code,
                reason=r.reason_phrase,
                body=bytes(r.body or b""),
                headers=tuple((k.lower(), v) for k, v in r.headers.raw_items()),
            )
            return
        except InvalidURI as exc:
            raise WsRoutesError(f"cannot connect to {url}: {exc}") from None
        except (InvalidHandshake, OSError, EOFError) as exc:
            # No valid HTTP answer at all: a reset, garbage, a TLS failure, a bad upgrade.
            self._handshake = Rejected(status=0, reason=f"{type(exc).__name__}: {exc}")
            return
        response = self._ws.response
        pairs = tuple((k.lower(), v) for k, v in response.headers.raw_items()) if response else ()
        self._handshake = Accepted(subprotocol=self._ws.subprotocol, headers=pairs)

    # -- frames --------------------------------------------------------------------------------

    def _closed(self, exc: ConnectionClosed) -> ServerClose:
        rcvd, sent = exc.rcvd, exc.sent
        if rcvd is not None:
            return ServerClose(code=rcvd.code, reason=rcvd.reason)
        if sent is not None and sent.code in _FAILED:
            # The client failed the connection because of what the server sent.
            what = f"the server sent {_FAILED[sent.code]} ({sent.reason})"
            self._errors.append(what)
            return ServerClose(code=1006, reason=what, dropped=True)
        return ServerClose(code=1006, dropped=True)  # no close frame: a drop, a reset

    async def _next(self, timeout: float) -> Event | None:
        from websockets.exceptions import ConnectionClosed

        ws = self._ws
        if ws is None or self._close is not None:
            return None
        try:
            async with asyncio.timeout(timeout):
                data = await ws.recv()
        except TimeoutError:
            return None  # recv() is cancellation-safe: nothing is lost
        except ConnectionClosed as exc:
            self._close = self._closed(exc)
            return self._close
        return TextFrame(data) if isinstance(data, str) else BytesFrame(bytes(data))

    async def receive(self, timeout: float) -> Event | None:
        if self._events:
            return self._events.popleft()
        return await self._next(max(0.0, timeout))

    async def wait_event(self, timeout: float) -> Event | Silence:
        event = await self.receive(timeout)
        return Silence.TIMEOUT if event is None else event  # a client cannot prove idleness

    async def settle(self, timeout: float) -> tuple[list[Event], bool]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        out = list(self._events)
        self._events.clear()
        while not (out and isinstance(out[-1], ServerClose)):
            left = deadline - loop.time()
            if left <= 0:
                break
            event = await self._next(min(left, self._transport.quiet))
            if event is None:
                break
            out.append(event)
        return out, False

    async def _send(self, data: str | bytes) -> None:
        from websockets.exceptions import ConnectionClosed

        ws = self._ws
        if ws is None or self._close is not None:
            return
        try:
            # A server that stops reading fills the socket: the frame is then lost, not waited on.
            async with asyncio.timeout(ws.close_timeout or 1.0):
                await ws.send(data)
        except (ConnectionClosed, TimeoutError):
            pass  # the close (or drop) arrives as an event; the frame is lost, as documented

    async def send_text(self, data: str) -> None:
        try:
            data.encode("utf-8")
        except UnicodeEncodeError:
            # A lone surrogate cannot travel in a text frame: send U+FFFD, as a client would.
            data = data.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
            self.notes.append("a lone surrogate in a text frame was sent as U+FFFD")
        await self._send(data)

    async def send_bytes(self, data: bytes) -> None:
        await self._send(data)

    # -- ending --------------------------------------------------------------------------------

    async def _stopped(self, timeout: float) -> bool:
        """With a view: whether the app returned within ``timeout``; else True (unknowable)."""
        view, tag = self._transport.view, self._tag
        if view is None or tag is None:
            return True
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while view.app_stopped(tag) is not True:
            if loop.time() >= deadline:
                return False
            await asyncio.sleep(_POLL)
        return True

    async def close(self, code: int = 1000, reason: str = "", *, timeout: float) -> bool:
        from websockets.exceptions import ConnectionClosed, ProtocolError
        from websockets.protocol import State

        ws = self._ws
        if ws is None:
            return await self._stopped(timeout)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        try:
            async with asyncio.timeout(timeout):
                await ws.close(code, reason)
        except ProtocolError:  # a code a client may not send (1005, 1006, ...): drop instead
            self._drop()
        except TimeoutError:
            self._drop()
            return False  # the server never finished the closing handshake
        except (ConnectionClosed, OSError):
            pass
        closed = ws.state is State.CLOSED
        return await self._stopped(max(0.0, deadline - loop.time())) and closed

    async def abort(self, *, timeout: float) -> bool:
        self._drop()
        ws = self._ws
        if ws is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(timeout):
                    await ws.wait_closed()
        return await self._stopped(timeout)

    def _drop(self) -> None:
        """Close the TCP connection without a close frame."""
        from websockets.protocol import State

        ws = self._ws
        if ws is not None and ws.state is not State.CLOSED:
            transport: Any = ws.transport
            transport.abort()
