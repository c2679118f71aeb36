"""The state machine of one in-process ASGI WebSocket connection, and every move of it.

A connection is connecting (before the handshake), responding (sending a
``websocket.http.response`` denial), accepted, or closed. The app moves it through ASGI
``receive``/``send``, the client by sending frames and disconnecting; which message is allowed
when is decided here, whether a message is well formed and what it means for the client in
:mod:`ws_routes.driver.asgi_messages`. The client's waits on the app (handshake, replies, quiet,
stopping) are :class:`ws_routes.driver.asgi_connection.AsgiConnection`'s.

What the client sees, decided here and relied on by the checks:

* Handshake. ``websocket.accept`` -> :class:`Accepted` (the subprotocol as sent, offered or not);
  ``websocket.close`` first -> ``Rejected(403, close_code=...)``; a ``websocket.http.response``
  denial -> ``Rejected(status, body=..., headers=...)``; the app returning or raising first ->
  ``Rejected(500)`` (what servers answer) with ``app_error`` set; nothing within the timeout ->
  None. An app calling ``receive()`` again before accepting waits for a frame the client cannot
  send yet: detected at once, reported as None plus an entry in ``protocol_errors``.
* After accepting. ``websocket.close`` -> ``ServerClose(code or 1000, reason)``; the app raising
  -> ``ServerClose(1011)`` (uvicorn, hypercorn), with the exception and traceback in
  ``app_error``; the app returning without a close -> ``ServerClose(1006, dropped=True)``: no
  close frame was sent, so a client sees an abnormal closure (RFC 6455 7.1.5).
* App ``receive()``: frames in order, then ``websocket.disconnect`` forever once the client
  closed (its code; 1006 for ``abort`` or before an accept) or the app closed (its code, echoed
  as a client does).
* App ``send()`` is validated like a real server: malformed messages, a send before accepting,
  an accept after accepting, anything after close are appended to ``protocol_errors`` and
  raised in the app as :class:`AsgiProtocolError`. A close reason over 123 bytes is cut, as
  wsproto servers do, and noted in ``portability`` (uvicorn's websockets backend fails it).
  ``websocket.send`` after the client left raises :class:`ClientDisconnected` (an ``OSError``,
  spec 2.4); a close then is a no-op.
* Frames beyond ``MAX_KEPT_FRAMES`` or ``MAX_KEPT_BYTES`` on one connection (see
  :mod:`ws_routes.driver.transcript`) are counted in ``dropped_frames``/``dropped_bytes``, never
  queued: memory stays bounded whatever the app sends, and the ``flood`` check reports it.
"""

from __future__ import annotations

import asyncio
import enum
from collections import deque
from collections.abc import Callable, Mapping
from typing import Any, NoReturn

from ws_routes.app.faults import is_app_fault
from ws_routes.driver.asgi_messages import (
    AsgiApp,
    Message,
    accepted,
    app_traceback,
    close_of,
    disconnect_message,
    response_body,
    response_start,
    sent_frame,
)
from ws_routes.driver.tasks import TaskOwner, track_tasks
from ws_routes.driver.transcript import MAX_KEPT_BYTES, MAX_KEPT_FRAMES
from ws_routes.driver.transport import (
    Accepted,
    AppError,
    Event,
    HandshakeResult,
    Rejected,
    ServerClose,
)

__all__ = ["AsgiProtocolError", "AsgiStateMachine", "ClientDisconnected", "Watch", "unwatched"]

# watch(limit, during): a wait on the app starts; the loop must not stay silent for longer than
# ``limit`` seconds (None: the watcher's default) while the client waits for ``during``.
# watch(None, "") when the wait is over.
Watch = Callable[[float | None, str], None]


def unwatched(limit: float | None, during: str) -> None:
    """The default ``watch``: nobody outside the loop is looking."""


# Cut from the top of an app's traceback: this module's frame that called the app (_run_app).
_OUR_FILES = frozenset({__file__})
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


class AsgiStateMachine:
    """The state of one connection, moved by the app (its task starts here) and by the client.

    The base of :class:`ws_routes.driver.asgi_connection.AsgiConnection`, which adds the
    client's waits; it wakes the client (``_wake``) whenever something the client waits for
    happens.
    """

    def __init__(self, scope: dict[str, Any], app: AsgiApp, *, watch: Watch = unwatched) -> None:
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
        # Every future a task of the app waits on in receive(): waiting for the client.
        self._inputs: set[asyncio.Future[None]] = set()
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

    # -- what the client's waits ask -----------------------------------------------------------

    def _finished(self) -> bool:
        """No further event can arrive."""
        return self._task.done() or self._state is _State.CLOSED or self._client_gone

    def _quiet(self) -> bool:
        waiter = self._app_waiter
        return self._task.done() or (waiter is not None and not waiter.done() and not self._inbox)

    def _not_reading(self) -> bool:
        return self._state is _State.ACCEPTED and not self._read_since_accept and bool(self._inbox)

    # -- the client side: frames and disconnects -----------------------------------------------

    def _deliver(self, message: Message) -> None:
        if self._state is _State.ACCEPTED and not self._client_gone:  # else lost, as on a socket
            self._inbox.append(message)
            self._wake_app()

    def _client_close(self, code: int, reason: str) -> None:
        if self._state is _State.ACCEPTED or self.server_close is not None:
            self._client_disconnect(code, reason)
        else:  # no WebSocket yet, so no close frame: the client just drops the connection
            self._client_disconnect(1006, "")

    def _client_disconnect(self, code: int, reason: str) -> None:
        self._client_gone = self._owner.client_gone = True
        if self._disconnect is None:
            self._disconnect = disconnect_message(code, reason)
        self._wake_app()

    def _wake_app(self) -> None:
        waiter = self._app_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _wake(self) -> None:
        waiter = self._client_waiter
        if waiter is not None and not waiter.done():
            waiter.set_result(True)

    # -- the app side --------------------------------------------------------------------------

    async def _run_app(self) -> None:
        self._owner.enter()  # inherited by every task the app creates (see background_tasks)
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
            self.app_error = AppError(exc, app_traceback(exc, _OUR_FILES))
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
            self._disconnect = disconnect_message(close.code, close.reason)
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
            self._inputs.add(waiter)
            if self._wake_on_quiet:
                self._wake()
            try:
                await waiter
            finally:
                self._inputs.discard(waiter)
                if self._app_waiter is waiter:
                    self._app_waiter = None

    async def _send(self, message: Message) -> None:
        mtype = message.get("type") if isinstance(message, (dict, Mapping)) else None
        if mtype == "websocket.send" and self._state is _State.ACCEPTED and not self._client_gone:
            frame = sent_frame(message, self._refuse, self._keep)  # the hot path
            if frame is not None:
                self._events.append(frame)
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
            handshake = accepted(message, self._refuse)
            self._state = _State.ACCEPTED
            self._resolve(handshake)
        elif mtype == "websocket.close" and self._state in (_State.CONNECTING, _State.ACCEPTED):
            self._close(message)
        elif mtype == "websocket.http.response.start" and self._state is _State.CONNECTING:
            self._response = response_start(message, self._refuse)
            self._state = _State.RESPONDING
        elif mtype == "websocket.http.response.body" and self._state is _State.RESPONDING:
            body, more = response_body(message, self._refuse)
            self._body += body
            if not more:
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
        code, reason, note = close_of(message, self._refuse)
        if note is not None:
            self.portability.append(note)
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
