"""The in-process ASGI WebSocket driver: runs the app as a task on the current event loop.

It speaks ASGI directly (https://asgi.readthedocs.io/en/latest/specs/www.html#websocket) rather
than through Starlette's TestClient (no receive timeout: a handler that never accepts hangs it)
or httpx-ws (turns app exceptions into close 1011 and loses the traceback).

:class:`AsgiTransport` (here) builds the scope a real server would send and starts the app on a
new connection. A connection lives in three modules, split where their concerns meet:

* :mod:`ws_routes.driver.asgi_state_machine`: the connection's states (connecting, responding,
  accepted, closed) and every move the app or the client makes; what the client sees of each
  outcome (the contract the checks rely on) is listed there.
* :mod:`ws_routes.driver.asgi_connection`: :class:`AsgiConnection`, the client's side: its
  frames, and its waits on the app (handshake, replies, quiet, stopping, leftover tasks).
* :mod:`ws_routes.driver.asgi_messages`: ASGI messages to and from the driver's values, each
  checked as a real server checks it; no state.

The names other modules use are importable from here.
"""

from __future__ import annotations

import base64
import itertools
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote, unquote

from ws_routes.driver.asgi_connection import QUIET_ITERATIONS, AsgiConnection
from ws_routes.driver.asgi_messages import AsgiApp, wire_bytes
from ws_routes.driver.asgi_state_machine import (
    AsgiProtocolError,
    ClientDisconnected,
    Watch,
    unwatched,
)

__all__ = [
    "QUIET_ITERATIONS",
    "AsgiConnection",
    "AsgiProtocolError",
    "AsgiTransport",
    "ClientDisconnected",
]

_connections = itertools.count()


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
        watch: Watch = unwatched,
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
            query_string = query_string or wire_bytes(query)
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
            "headers": [(wire_bytes(n.lower()), wire_bytes(v)) for n, v in pairs],
            "client": ("127.0.0.1", port),
            "server": (self.host, 80),
            "subprotocols": list(subprotocols),
            "extensions": {"websocket.http.response": {}},
        }
        if self.state is not None:
            scope["state"] = dict(self.state)
        return scope
