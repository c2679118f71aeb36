"""A tiny raw ASGI WebSocket client for the protocol servers' self-tests.

It calls the app with a scope and two asyncio queues, as an ASGI server would, so the tests need
no HTTP client and no server. Every wait has a timeout. When the app returns or raises, an
``Ended`` marker is queued after its last message, so a test can tell "the handler crashed"
from "the handler is quiet". ``drop(notify=False)`` models the window every real server has: the
client's socket is gone (sends raise, as the ASGI spec says, an ``OSError``) before the handler
has read the disconnect.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass
from typing import Any, ParamSpec

Message = dict[str, Any]
App = Callable[[Message, Any, Any], Coroutine[Any, Any, None]]
P = ParamSpec("P")

TIMEOUT = 1.0  # for a reply that should come: ample, since they come in milliseconds
QUIET = 0.05  # how long "nothing more comes" is watched for
TEST_DEADLINE = 5.0


def async_test(function: Callable[P, Coroutine[Any, Any, None]]) -> Callable[P, None]:
    """Run an ``async def`` test on a fresh event loop, under a deadline (no plugin needed)."""

    @functools.wraps(function)
    def run(*args: P.args, **kwargs: P.kwargs) -> None:
        asyncio.run(asyncio.wait_for(function(*args, **kwargs), TEST_DEADLINE))

    return run


class ClientDisconnected(OSError):
    """What the server raises when the app sends to a socket the client has closed."""


@dataclass(frozen=True)
class Ended:
    """The app's call returned (``exception`` None) or raised."""

    exception: BaseException | None


class WsClient:
    def __init__(
        self, app: Any, path: str, *, subprotocols: Sequence[str] = (), query: bytes = b""
    ) -> None:
        headers = [(b"host", b"testserver"), (b"sec-websocket-version", b"13")]
        if subprotocols:
            headers.append((b"sec-websocket-protocol", ", ".join(subprotocols).encode()))
        self.scope: Message = {
            "type": "websocket",
            "asgi": {"version": "3.0", "spec_version": "2.4"},
            "http_version": "1.1",
            "scheme": "ws",
            "server": ("testserver", 80),
            "client": ("127.0.0.1", 50000),
            "root_path": "",
            "path": path,
            "raw_path": path.encode(),
            "query_string": query,
            "headers": headers,
            "subprotocols": list(subprotocols),
            "extensions": {},
        }
        self.app = app
        self.to_app: asyncio.Queue[Message] = asyncio.Queue()
        self.from_app: asyncio.Queue[Message | Ended] = asyncio.Queue()
        self.gone = False  # the client's side of the socket is closed
        self.task: asyncio.Task[None] | None = None

    async def _receive(self) -> Message:
        return await self.to_app.get()

    async def _send(self, message: Message) -> None:
        if self.gone and message["type"] in ("websocket.send", "websocket.close"):
            raise ClientDisconnected("the client has disconnected")
        await self.from_app.put(message)

    async def _run(self) -> None:
        try:
            await self.app(self.scope, self._receive, self._send)
        except Exception as exc:  # the handler crashed: the test looks at it
            await self.from_app.put(Ended(exc))
        else:
            await self.from_app.put(Ended(None))

    async def connect(self) -> Message:
        """The app's answer to the handshake: ``websocket.accept`` or ``websocket.close``."""
        self.task = asyncio.create_task(self._run())
        await self.to_app.put({"type": "websocket.connect"})
        answer = await self.receive()
        assert isinstance(answer, dict), f"the app ended during the handshake: {answer}"
        return answer

    async def __aenter__(self) -> WsClient:
        accepted = await self.connect()
        assert accepted["type"] == "websocket.accept", accepted
        return self

    async def __aexit__(self, *_: object) -> None:
        if self.task is None:
            return
        if not self.task.done():
            await self.drop()
            try:
                await asyncio.wait_for(asyncio.shield(self.task), TIMEOUT)
            except TimeoutError:
                self.task.cancel()
        await asyncio.gather(self.task, return_exceptions=True)

    async def send_text(self, text: str) -> None:
        await self.to_app.put({"type": "websocket.receive", "text": text})

    async def send_json(self, data: object) -> None:
        await self.send_text(json.dumps(data))

    async def send_bytes(self, data: bytes) -> None:
        await self.to_app.put({"type": "websocket.receive", "bytes": data})

    async def drop(self, code: int = 1000, *, notify: bool = True) -> None:
        """The client closes its socket; ``notify=False`` delays telling the app (see above)."""
        self.gone = True
        if notify:
            await self.to_app.put({"type": "websocket.disconnect", "code": code})

    async def notify(self, code: int = 1000) -> None:
        await self.to_app.put({"type": "websocket.disconnect", "code": code})

    async def receive(self, timeout: float = TIMEOUT) -> Message | Ended:
        return await asyncio.wait_for(self.from_app.get(), timeout)

    async def receive_json(self, timeout: float = TIMEOUT) -> Any:
        message = await self.receive(timeout)
        assert isinstance(message, dict), f"expected a frame, the app ended: {message}"
        assert message["type"] == "websocket.send", message
        assert message.get("text") is not None, f"expected a text frame: {message}"
        return json.loads(message["text"])

    async def receive_close(self, timeout: float = TIMEOUT) -> tuple[int, str]:
        message = await self.receive(timeout)
        assert isinstance(message, dict), f"expected a close, the app ended: {message}"
        assert message["type"] == "websocket.close", message
        return message.get("code", 1000), message.get("reason") or ""

    async def ended(self, timeout: float = TIMEOUT) -> Ended:
        """Skip what the app still sends until it ends; its exception, if any."""
        while True:
            message = await self.receive(timeout)
            if isinstance(message, Ended):
                return message

    async def quiet(self, duration: float = QUIET) -> list[Message | Ended]:
        """Whatever arrives within ``duration``: an empty list when the app keeps quiet."""
        seen: list[Message | Ended] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + duration
        while (left := deadline - loop.time()) > 0:
            try:
                seen.append(await self.receive(left))
            except TimeoutError:
                break
        return seen
