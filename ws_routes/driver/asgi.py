"""The in-process ASGI WebSocket driver: runs the app as a task on the current event loop.

It speaks ASGI directly (https://asgi.readthedocs.io/en/latest/specs/www.html#websocket) rather
than through Starlette's TestClient (no receive timeout: a handler that never accepts hangs it)
or httpx-ws (turns app exceptions into close 1011 and loses the traceback).

What the client sees, decided here and relied on by the checks:

* Handshake. ``websocket.accept`` -> :class:`Accepted` (the subprotocol as sent, offered or not);
  ``websocket.close`` first -> ``Rejected(403, close_code=...)``; a ``websocket.http.response``
  denial -> ``Rejected(status, body=..., headers=...)``; the app returning or raising first ->
  ``Rejected(500)`` (what servers answer) with ``app_error`` set; nothing within the timeout ->
  None. An app calling ``receive()`` again before accepting waits for a frame the client cannot
  send yet: detected at once, reported as None plus an entry in ``protocol_errors``.
* After accepting. ``websocket.close`` -> ``ServerClose(code or 1000, reason)``; the app raising
  -> ``ServerClose(1011)`` (uvicorn, hypercorn), with the exception and traceback in
  ``app_error``; the app returning without a close -> ``ServerClose(1006, dropped=True)``: no close frame was
  sent, so a client sees an abnormal closure (RFC 6455 7.1.5).
* App ``receive()``: frames in order, then ``websocket.disconnect`` forever once the client
  closed (its code; 1006 for ``abort`` or before an accept) or the app closed (its code, echoed
  as a client does).
* App ``send()`` is validated like a real server: malformed messages, a send before accepting,
  an accept after accepting, anything after close are appended to ``protocol_errors`` and
  raised in the app as :class:`AsgiProtocolError`. A close reason over 123 bytes is cut, as
  wsproto servers do, and noted in ``portability`` (uvicorn's websockets backend fails it). ``websocket.send``
  after the client left raises :class:`ClientDisconnected` (an ``OSError``, spec 2.4); a close
  then is a no-op.
* Frames beyond ``MAX_KEPT_FRAMES`` or ``MAX_KEPT_BYTES`` on one connection (see
  :mod:`ws_routes.driver.transcript`) are counted in ``dropped_frames``/``dropped_bytes``, never
  queued: memory stays bounded whatever the app sends, and the ``flood`` check reports it.

Quiet (``settle``): the app is quiet when its task is done, or one of its tasks waits in our
``receive()`` with nothing left in the inbox; and then up to ``QUIET_ITERATIONS`` more loop
iterations produce no frame and leave it quiet (iterations stop early when CPython's ready queue
is empty: nothing can run before I/O or a timer). Nothing polls: the client sleeps on one future
that the app side resolves when it sends, finishes, or (during ``settle``) blocks in receive.

Blocked loops: the transport takes a ``watch`` callback (``LoopThread.watch``) and tells it the
timeout of each wait it starts (the handshake, replies, the app stopping) and when it ends, so a
watchdog outside the loop can tell a loop the app blocked for longer than that timeout from a
loop that merely waits.

Background tasks: tasks not done that the app created on this connection, directly or through
tasks it created, found by :mod:`ws_routes.driver.tasks`. ``finish_tasks`` judges them once the app
has returned: which still hold the connection (leaked) and which died with an exception nobody
retrieved.
"""

from __future__ import annotations

import asyncio
import base64
import enum
import itertools
import traceback
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from typing import Any, NoReturn
from urllib.parse import quote, unquote

from ws_routes.app.faults import is_app_fault
from ws_routes.driver.tasks import TaskOwner, describe, track_tasks
from ws_routes.driver.transcript import MAX_KEPT_BYTES, MAX_KEPT_FRAMES
from ws_routes.driver.transport import (
    Accepted,
    AppError,
    BytesFrame,
    Event,
    HandshakeResult,
    Rejected,
    ServerClose,
    TextFrame,
)

__all__ = [
    "QUIET_ITERATIONS",
    "AsgiConnection",
    "AsgiProtocolError",
    "AsgiTransport",
    "ClientDisconnected",
]

Message = MutableMapping[str, Any]
AsgiApp = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]
# watch(limit, during): a wait on the app starts; the loop must not stay silent for longer than
# ``limit`` seconds (None: the watcher's default) while the client waits for ``during``.
# watch(None, "") when the wait is over.
Watch = Callable[[float | None, str], None]


def _unwatched(limit: float | None, during: str) -> None:
    """The default ``watch``: nobody outside the loop is looking."""


QUIET_ITERATIONS = 4
# After cancelling an app that ignored a close, wait this long for the cancellation to land.
_CANCEL_GRACE = 0.2
# RFC 6455 5.5: a control frame carries at most 125 bytes, 2 of them the close code.
_MAX_REASON_BYTES = 123
# After the app returned, how long its remaining tasks get to end on their own before the
# ones still holding the connection count as leaked.
_LEAK_GRACE = 0.05
_connections = itertools.count()
_EXPECTED = {
    "connecting": "before the handshake: expected 'websocket.accept', 'websocket.close' or "
    "'websocket.http.response.start'",
    "responding": "during a denial response: expected 'websocket.http.response.body'",
    "accepted": "after 'websocket.accept': expected 'websocket.send' or 'websocket.close'",
    "closed": "after the connection was closed (or the denial response completed)",
}


class AsgiProtocolError(RuntimeError):
    """Raised in the app when it sends a message a real ASGI server would refuse."""


class ClientDisconnected(OSError):  # uvicorn's name for the same thing
    """Raised in the app by ``websocket.send`` after the client disconnected (ASGI spec 2.4)."""


class _State(enum.Enum):
    CONNECTING = "connecting"
    RESPONDING = "responding"  # sending a websocket.http.response denial
    ACCEPTED = "accepted"
    CLOSED = "closed"  # the app closed, refused, or finished


class AsgiTransport:
    """Opens in-process connections to one ASGI app on the running event loop.

    Args:
        app: The ASGI application.
        state: The lifespan state; each connection's scope gets a shallow copy, as servers do.
        host: The ``host`` header and server name.
        watch: Told the timeout of every wait a connection starts, and its end (see
            ``LoopThread.watch``); by default nobody is told.
    """

    def __init__(
        self,
        app: Any,
        *,
        state: Mapping[str, Any] | None = None,
        host: str = "testserver",
        watch: Watch = _unwatched,
    ) -> None:
        self.app: AsgiApp = app
        self.state = state
        self.host = host
        self.watch = watch

    async def connect(
        self,
        path: str,
        *,
        query_string: bytes = b"",
        headers: Sequence[tuple[str, str]] = (),
        subprotocols: Sequence[str] = (),
        timeout: float,
    ) -> AsgiConnection:
        """Start the app on a new connection and wait up to ``timeout`` for its handshake.

        ``path`` is the URL path as sent on the wire (percent-encoded); a ``?query`` in it is used
        when ``query_string`` is empty. The caller must ``close`` or ``abort`` the connection,
        also when the handshake is None or a rejection, so that the app task ends.
        """
        if "?" in path:
            path, _, query = path.partition("?")
            query_string = query_string or _encode(query)
        conn = AsgiConnection(
            self._scope(path, query_string, headers, subprotocols), self.app, watch=self.watch
        )
        await conn._wait_handshake(timeout)
        return conn

    def _scope(
        self,
        path: str,
        query: bytes,
        headers: Sequence[tuple[str, str]],
        subprotocols: Sequence[str],
    ) -> dict[str, Any]:
        raw_path = quote(path, safe="/%!$&'()*+,;=:@-._~")
        number = next(_connections)
        port = 49152 + number % 16384  # the ephemeral port range a client's OS picks from
        given = {name.lower() for name, _ in headers}
        # What a real client sends (RFC 6455 4.1); a deterministic key keeps runs reproducible.
        defaults = [
            ("host", self.host),
            ("connection", "Upgrade"),
            ("upgrade", "websocket"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-key", base64.b64encode(number.to_bytes(16, "big")).decode()),
        ]
        if subprotocols:
            defaults.append(("sec-websocket-protocol", ", ".join(subprotocols)))
        pairs = [(n, v) for n, v in defaults if n not in given] + list(headers)
        scope: dict[str, Any] = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": "ws",
            "path": unquote(raw_path),
            "raw_path": raw_path.encode("ascii"),
            "root_path": "",
            "query_string": query,
            "headers": [(_encode(n.lower()), _encode(v)) for n, v in pairs],
            "client": ("127.0.0.1", port),
            "server": (self.host, 80),
            "subprotocols": list(subprotocols),
            "extensions": {"websocket.http.response": {}},
        }
        if self.state is not None:
            scope["state"] = dict(self.state)
        return scope


class AsgiConnection:
    """One in-process connection; implements :class:`ws_routes.driver.transport.Connection`.

    Attributes:
        handshake, app_error, server_close, protocol_errors, app_stopped: see ``Connection``.
        handshake_deadlock: The app called ``receive()`` twice before accepting.
        scope: The ASGI scope the app was called with.
    """

    def __init__(self, scope: dict[str, Any], app: AsgiApp, *, watch: Watch = _unwatched) -> None:
        self.scope = scope
        self.handshake: HandshakeResult = None
        self.app_error: AppError | None = None
        self.server_close: ServerClose | None = None
        self.protocol_errors: list[str] = []
        # What works here but not on every real server (see probes.lint_warnings).
        self.portability: list[str] = []
        self.app_stopped: bool | None = None
        self.handshake_deadlock = False
        self._app = app
        self._watch = watch
        self._loop = asyncio.get_running_loop()
        self._state = _State.CONNECTING
        self._inbox: deque[Message] = deque()  # to the app
        self._events: deque[Event] = deque()  # to the client
        # Frames beyond MAX_KEPT_FRAMES / MAX_KEPT_BYTES are counted here and never queued, so a
        # flooding app cannot make the client side buffer gigabytes (issue 11).
        self.dropped_frames = self.dropped_bytes = 0
        self._kept_frames = self._kept_bytes = 0
        self._app_waiter: asyncio.Future[None] | None = None
        self._client_waiter: asyncio.Future[bool] | None = None
        self._wake_on_quiet = False
        self._disconnect: Message | None = None  # what every app receive() returns from now on
        self._client_gone = self._connect_delivered = self._handshake_done = False
        self._cancelled = False
        # Whether the app has asked for a message since accepting: push-only handlers never do.
        self._read_since_accept = False
        self._response: tuple[int, tuple[tuple[str, str], ...]] = (500, ())
        self._body = bytearray()
        # The app's tasks carry this owner in their context, not the connection itself: that
        # would be a cycle (task -> context -> connection -> task) alive until a GC pass.
        self._owner = TaskOwner()
        track_tasks(self._loop)
        self._task = self._loop.create_task(self._run_app())

    @property
    def app_done(self) -> bool:
        """Whether the app task has finished, on its own or cancelled."""
        return self._task.done()

    @property
    def background_tasks(self) -> int:
        return len(self._background())

    @property
    def leaked_tasks(self) -> Sequence[str]:
        return [describe(t) for t in self._owner.leaked(self.scope)] if self._task.done() else []

    async def finish_tasks(self) -> tuple[list[str], list[tuple[AppError, bool]]]:
        """Once the app has returned: (leaked tasks, unhandled task errors with "client gone").

        Tasks still pending get ``_LEAK_GRACE`` to end on their own; those still holding the
        connection afterwards are leaked and get cancelled, so they cannot disturb later
        connections. Tasks that do not hold it (shared by every connection) are left alone.
        """
        if not self._task.done():
            return [], []
        pending = self._owner.pending()
        if pending:
            self._watch(None, "waiting for the app's tasks to end")
            try:
                await asyncio.wait(pending, timeout=_LEAK_GRACE)
            finally:
                self._watch(None, "")
        leaked = self._owner.leaked(self.scope)
        names = [describe(t) for t in leaked]
        for task in leaked:
            task.cancel()
        if leaked:
            await asyncio.wait(leaked, timeout=_CANCEL_GRACE)
        return names, self._owner.unhandled()

    async def send_text(self, data: str) -> None:
        self._deliver({"type": "websocket.receive", "text": data})

    async def send_bytes(self, data: bytes) -> None:
        self._deliver({"type": "websocket.receive", "bytes": data})

    async def receive(self, timeout: float) -> Event | None:
        events = self._events
        if not events and not self._finished():
            deadline = self._loop.time() + timeout
            # ``timeout`` may be a short poll (play._collect): the silence allowed is the
            # watcher's default (message_timeout), as a reply may still come.
            self._watch(None, "waiting for a reply")
            try:
                await asyncio.sleep(0)  # the app usually answers within one iteration: no timer
                while not events and not self._finished() and await self._wait_change(deadline):
                    pass
            finally:
                self._watch(None, "")
        return events.popleft() if events else None

    async def settle(self, timeout: float) -> tuple[list[Event], bool]:
        deadline = self._loop.time() + timeout
        events, out = self._events, list[Event]()
        spun = quiet = False
        self._wake_on_quiet = True
        self._watch(timeout, "waiting for replies")
        try:
            while True:
                out += events
                events.clear()
                if self._quiet():
                    quiet = await self._stays_quiet()
                    if quiet:
                        break
                elif self._not_reading() and await self._stays_idle():
                    # A push-only handler never reads what we send, so nothing it sends is an
                    # answer to it: waiting out the timeout would only slow every step.
                    quiet = True
                    break
                elif not spun:  # the app usually answers within one iteration: no timer
                    spun = True
                    await asyncio.sleep(0)
                elif not await self._wait_change(deadline):
                    break
        finally:
            self._wake_on_quiet = False
            self._watch(None, "")
        out += events
        events.clear()
        return out, quiet

    async def close(self, code: int = 1000, reason: str = "", *, timeout: float) -> bool:
        if self._state is _State.ACCEPTED or self.server_close is not None:
            self._client_disconnect(code, reason)
        else:  # no WebSocket yet, so no close frame: the client just drops the connection
            self._client_disconnect(1006, "")
        return await self._finish(timeout)

    async def abort(self, *, timeout: float) -> bool:
        self._client_disconnect(1006, "")
        return await self._finish(timeout)

    # -- client side internals -----------------------------------------------------------------

    def _deliver(self, message: Message) -> None:
        if self._state is _State.ACCEPTED and not self._client_gone:  # else lost, as on a socket
            self._inbox.append(message)
            self._wake_app()

    def _client_disconnect(self, code: int, reason: str) -> None:
        self._client_gone = self._owner.client_gone = True
        if self._disconnect is None:
            self._disconnect = _disconnect_message(code, reason)
        self._wake_app()

    def _wake_app(self) -> None:
        waiter = self._app_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake(self) -> None:
        waiter = self._client_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    def _finished(self) -> bool:
        """No further event can arrive."""
        return self._task.done() or self._state is _State.CLOSED or self._client_gone

    def _quiet(self) -> bool:
        waiter = self._app_waiter
        return self._task.done() or (waiter is not None and not waiter.done() and not self._inbox)

    def _not_reading(self) -> bool:
        return self._state is _State.ACCEPTED and not self._read_since_accept and bool(self._inbox)

    async def _stays_idle(self) -> bool:
        """Nothing is runnable: the app waits on a timer or I/O, not on our message."""
        ready = getattr(self._loop, "_ready", None)
        for _ in range(QUIET_ITERATIONS):
            await asyncio.sleep(0)
            if self._events or not self._not_reading():
                return False
            if ready is not None and not ready:
                return True
        return ready is None

    async def _stays_quiet(self) -> bool:
        # CPython's ready queue is private (and absent on uvloop: then we always iterate).
        ready = getattr(self._loop, "_ready", None)
        for _ in range(QUIET_ITERATIONS):
            if ready is not None and not ready:
                return True
            await asyncio.sleep(0)
            if self._events or not self._quiet():
                return False
        return True

    async def _wait_change(self, deadline: float) -> bool:
        """Sleep until the app side reports a change (True) or ``deadline`` passes (False)."""
        loop = self._loop
        remaining = deadline - loop.time()
        if remaining <= 0:
            return False
        waiter: asyncio.Future[bool] = loop.create_future()
        self._client_waiter = waiter
        timer = loop.call_later(remaining, _expire, waiter)
        try:
            return await waiter
        finally:
            timer.cancel()
            self._client_waiter = None

    async def _wait_handshake(self, timeout: float) -> None:
        deadline = self._loop.time() + timeout
        # Until the app answers: connection_timeout; once it has, see _resolve.
        self._watch(timeout, "waiting for the handshake")
        try:
            await asyncio.sleep(0)
            while not self._handshake_done and await self._wait_change(deadline):
                pass
        finally:
            self._watch(None, "")
        self._handshake_done = True  # None if nothing came: a later accept changes nothing

    async def _finish(self, timeout: float) -> bool:
        task = self._task
        deadline = self._loop.time() + timeout
        self._watch(timeout, "waiting for the app to stop")  # the grace covers _CANCEL_GRACE
        try:
            if not task.done():
                await asyncio.sleep(0)  # most apps end within an iteration of the disconnect
            while not task.done() and await self._wait_change(deadline):
                pass
            if task.done():
                return True
            self.app_stopped, self._cancelled = False, True
            task.cancel()
            await asyncio.wait([task], timeout=_CANCEL_GRACE)
            return False
        finally:
            self._watch(None, "")

    def _background(self) -> list[asyncio.Task[Any]]:
        return self._owner.pending()

    # -- the app side --------------------------------------------------------------------------

    async def _run_app(self) -> None:
        self._owner.enter()  # inherited by every task the app creates (see _background)
        error: BaseException | None = None
        try:
            await self._app(self.scope, self._receive, self._send)
        except ClientDisconnected:
            pass  # our own "the client left" escaped the app: servers ignore it too
        except BaseException as exc:
            # KeyboardInterrupt, SystemExit, a BaseException of the app's own: a finding of this
            # connection, which must not end the test session (see faults.py).
            if not is_app_fault(exc):
                raise
            error = exc
            self.app_error = AppError(exc, _app_traceback(exc))
        finally:
            if not self._cancelled:
                self.app_stopped = True
            if self._state in (_State.CONNECTING, _State.RESPONDING):
                self._refused(*self._response)
            elif self._state is _State.ACCEPTED and not self._client_gone:
                self._push_close(
                    ServerClose(1011) if error is not None else ServerClose(1006, dropped=True)
                )
            self._state = _State.CLOSED
            self._wake()

    def _resolve(self, result: HandshakeResult) -> None:
        if not self._handshake_done:
            self.handshake, self._handshake_done = result, True
            # Answered: replies may come next, so what the app does now is held to the default
            # limit (the runner's message_timeout), not to connection_timeout.
            self._watch(None, "handling the connection")
            self._wake()

    def _refused(self, status: int, headers: tuple[tuple[str, str], ...]) -> None:
        self._state = _State.CLOSED
        self._resolve(Rejected(status=status, body=bytes(self._body), headers=headers))

    def _push_close(self, close: ServerClose) -> None:
        self._state = _State.CLOSED
        self._owner.client_gone = True  # the connection is over for the app's tasks too
        self.server_close = close
        self._events.append(close)
        if self._disconnect is None:  # the client echoes the close (RFC 6455 5.5.1)
            self._disconnect = _disconnect_message(close.code, close.reason)
        self._wake()

    async def _receive(self) -> Message:
        if self._state is _State.ACCEPTED:
            self._read_since_accept = True
        while True:
            if self._inbox:
                return self._inbox.popleft()
            if self._disconnect is not None:
                return self._disconnect
            if not self._connect_delivered:
                self._connect_delivered = True
                return {"type": "websocket.connect"}
            if self._state is _State.CONNECTING and not self._handshake_done:
                self.handshake_deadlock = True
                self.protocol_errors.append(
                    "the app called receive() again before accepting: the client cannot send "
                    "before the handshake completes, so this waits forever on a real server"
                )
                self._resolve(None)
            waiter: asyncio.Future[None] = self._loop.create_future()
            self._app_waiter = waiter
            if self._wake_on_quiet:
                self._wake()
            try:
                await waiter
            finally:
                if self._app_waiter is waiter:
                    self._app_waiter = None

    async def _send(self, message: Message) -> None:
        mtype = message.get("type") if isinstance(message, (dict, Mapping)) else None
        if mtype == "websocket.send" and self._state is _State.ACCEPTED and not self._client_gone:
            text, data = message.get("text"), message.get("bytes")  # the hot path: one frame
            if data is None and isinstance(text, str):
                if not text.isascii() and not _utf8(text):
                    self._refuse(
                        "websocket.send text holds a lone surrogate, which UTF-8 cannot encode: "
                        "a real server raises UnicodeEncodeError (was a client's \\ud800 escape "
                        f"echoed with ensure_ascii=False?): {text!r:.80}"
                    )
                if self._keep(len(text)):
                    self._events.append(TextFrame(text))
            elif text is None and isinstance(data, (bytes, bytearray, memoryview)):
                if self._keep(len(data)):
                    self._events.append(BytesFrame(bytes(data)))
            else:
                self._refuse(
                    "websocket.send needs exactly one of 'text' (str) and 'bytes' (bytes), "
                    f"got text={text!r:.60} and bytes={data!r:.60}"
                )
            self._wake()
        elif not isinstance(mtype, str):
            self._refuse(f"expected an ASGI message dict with a 'type', got {message!r:.200}")
        elif mtype == "websocket.send" and self._client_gone and self._open_until_client_left():
            # Also once the handler has returned: a task it left behind sending to a client that
            # left gets what a real server raises, not a protocol error of its own.
            raise ClientDisconnected("the client disconnected")
        elif mtype == "websocket.accept" and self._state is _State.CONNECTING:
            if self._client_gone:
                raise ClientDisconnected("the client disconnected before the handshake completed")
            subprotocol = message.get("subprotocol")
            if subprotocol is not None and not isinstance(subprotocol, str):
                self._refuse(f"websocket.accept subprotocol must be str or None: {subprotocol!r}")
            headers = _decode_headers(message.get("headers", ()), self._refuse)
            self._state = _State.ACCEPTED
            self._resolve(Accepted(subprotocol=subprotocol, headers=headers))
        elif mtype == "websocket.close" and self._state in (_State.CONNECTING, _State.ACCEPTED):
            self._close(message)
        elif mtype == "websocket.http.response.start" and self._state is _State.CONNECTING:
            status = message.get("status")
            if not isinstance(status, int) or not 100 <= status <= 599:
                self._refuse(f"websocket.http.response.start needs an int status: {status!r}")
            self._response = (status, _decode_headers(message.get("headers", ()), self._refuse))
            self._state = _State.RESPONDING
        elif mtype == "websocket.http.response.body" and self._state is _State.RESPONDING:
            body = message.get("body", b"")
            if not isinstance(body, bytes):
                self._refuse(f"websocket.http.response.body needs bytes, got {body!r:.60}")
            self._body += body
            if not message.get("more_body", False):
                self._refused(*self._response)
        elif mtype.startswith("websocket."):
            self._refuse(f"{mtype!r} {_EXPECTED[self._state.value]}")
        else:
            self._refuse(f"unknown ASGI message type {mtype!r} on a websocket connection")

    def _keep(self, size: int) -> bool:
        if (
            self.dropped_frames
            or self._kept_frames >= MAX_KEPT_FRAMES
            or self._kept_bytes + size > MAX_KEPT_BYTES
        ):
            self.dropped_frames += 1
            self.dropped_bytes += size
            return False
        self._kept_frames += 1
        self._kept_bytes += size
        return True

    def _close(self, message: Message) -> None:
        code, reason = message.get("code", 1000), message.get("reason") or ""
        if not isinstance(code, int) or not isinstance(reason, str):
            self._refuse(f"websocket.close needs an int code and str reason: {message!r:.200}")
        size = len(reason.encode("utf-8", "surrogatepass"))
        if size > _MAX_REASON_BYTES:
            # Servers disagree here (wsproto cuts the reason, uvicorn's websockets backend fails
            # the close), and the long reason is often a framework quoting the client's input:
            # a lint, with the reason cut as a client would receive it from wsproto.
            self.portability.append(
                f"the app closed with code {code} and a {size}-byte reason ({reason[:40]!r}...); "
                f"a close frame carries at most {_MAX_REASON_BYTES}: hypercorn and uvicorn with "
                "wsproto cut it, uvicorn's default websockets backend fails the close and the "
                "client sees 1006. Keep close reasons short (they often quote the client's input)."
            )
            reason = _cut_utf8(reason, _MAX_REASON_BYTES)
        if self._state is _State.CONNECTING:
            self._state = _State.CLOSED
            self._resolve(Rejected(status=403, close_code=code, reason=reason))
        elif not self._client_gone:  # closing after the client left is a harmless no-op
            self._push_close(ServerClose(code, reason))

    def _open_until_client_left(self) -> bool:
        """Accepted, and not closed by the server: the client's leaving is what ended it."""
        return self._state is _State.ACCEPTED or (
            self._state is _State.CLOSED
            and isinstance(self.handshake, Accepted)
            and self.server_close is None
        )

    def _refuse(self, problem: str) -> NoReturn:
        self.protocol_errors.append(problem)
        raise AsgiProtocolError(problem)


def _disconnect_message(code: int, reason: str) -> Message:
    return {"type": "websocket.disconnect", "code": code, "reason": reason}


def _expire(waiter: asyncio.Future[bool]) -> None:
    if not waiter.done():
        waiter.set_result(False)


def _decode_headers(raw: object, refuse: Callable[[str], NoReturn]) -> tuple[tuple[str, str], ...]:
    if not isinstance(raw, Iterable):
        refuse(f"headers must be an iterable of (bytes, bytes) pairs, got {raw!r:.100}")
    pairs: list[tuple[str, str]] = []
    for pair in raw:
        name, value = pair if isinstance(pair, list | tuple) and len(pair) == 2 else (None, None)
        if not isinstance(name, bytes) or not isinstance(value, bytes):
            refuse(f"each header must be a (bytes, bytes) pair, got {pair!r:.100}")
        pairs.append((name.decode("latin-1").lower(), value.decode("latin-1")))
    return tuple(pairs)


def _cut_utf8(text: str, limit: int) -> str:
    """The longest prefix of ``text`` that takes at most ``limit`` bytes in UTF-8."""
    return text.encode("utf-8", "surrogatepass")[:limit].decode("utf-8", "ignore")


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _encode(text: str) -> bytes:
    # Header values are latin-1 (RFC 9110 5.5); clients send anything else as UTF-8.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode()


def _app_traceback(exc: BaseException) -> str:
    """The traceback from the app's entry point down: our own frame on top is noise."""
    tb = exc.__traceback__
    if tb is not None and tb.tb_frame.f_code.co_filename == __file__ and tb.tb_next is not None:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))
