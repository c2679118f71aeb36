"""The in-process ASGI driver's transport: the scope a server sends, real frameworks end to end."""

from __future__ import annotations

from typing import Any

from litestar.connection import WebSocket as LitestarSocket  # resolved by Litestar at runtime
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from tests.driver.asgi_helpers import RawApp, Receive, Scope, Send, connect, run
from ws_routes.driver import asgi, asgi_connection, asgi_state_machine
from ws_routes.driver.asgi import AsgiTransport
from ws_routes.driver.transport import Accepted, ServerClose, TextFrame


def test_scope_is_what_a_server_sends() -> None:
    seen: list[Scope] = []

    async def app(scope: Scope, receive: Receive, send: Send) -> None:
        seen.append(scope)
        await receive()
        await send({"type": "websocket.close"})

    async def main() -> None:
        state = {"db": "pool"}
        transport = AsgiTransport(app, state=state)
        await transport.connect(
            "/caf%C3%A9/a%2Fb?x=1",
            headers=[("X-Token", "abc")],
            subprotocols=["chat", "json"],
            timeout=1,
        )
        scope = seen[0]
        scope["state"]["db"] = "changed"
        assert state == {"db": "pool"}  # a shallow copy per connection
        assert scope["type"] == "websocket"
        assert scope["asgi"] == {"version": "3.0", "spec_version": "2.4"}
        assert (scope["http_version"], scope["scheme"], scope["root_path"]) == ("1.1", "ws", "")
        assert scope["path"] == "/café/a/b"
        assert scope["raw_path"] == b"/caf%C3%A9/a%2Fb"
        assert scope["query_string"] == b"x=1"
        assert scope["client"][0] == "127.0.0.1"
        assert isinstance(scope["client"][1], int)
        assert scope["server"] == ("testserver", 80)
        assert scope["subprotocols"] == ["chat", "json"]
        assert scope["extensions"] == {"websocket.http.response": {}}
        headers = dict(scope["headers"])
        assert headers[b"host"] == b"testserver"
        assert headers[b"sec-websocket-protocol"] == b"chat, json"
        assert headers[b"sec-websocket-version"] == b"13"
        assert headers[b"upgrade"] == b"websocket"
        assert headers[b"connection"] == b"Upgrade"
        assert len(headers[b"sec-websocket-key"]) == 24
        assert headers[b"x-token"] == b"abc"
        assert "state" not in (await _scope_of(app))

    async def _scope_of(app: RawApp) -> Scope:
        seen.clear()
        await AsgiTransport(app).connect("/", timeout=1)
        return seen[0]

    run(main())


def test_query_string_and_headers_reach_a_starlette_handler() -> None:
    async def handler(ws: WebSocket) -> None:
        await ws.accept()
        await ws.send_json({"q": ws.query_params["room"], "h": ws.headers["authorization"]})
        await ws.close()

    app = Starlette(routes=[WebSocketRoute("/ws", handler)])

    async def main() -> None:
        conn = await connect(
            app, "/ws", query_string=b"room=7", headers=[("Authorization", "Bearer t")]
        )
        events, _ = await conn.settle(1)
        assert events == [TextFrame('{"q":"7","h":"Bearer t"}'), ServerClose(1000)]

    run(main())


def test_fastapi_route_with_params() -> None:
    from fastapi import FastAPI

    api = FastAPI()

    @api.websocket("/rooms/{room_id}")
    async def room(websocket: WebSocket, room_id: int, name: str = "anon") -> None:
        await websocket.accept()
        await websocket.send_json({"room": room_id, "name": name})
        await websocket.close()

    async def main() -> None:
        conn = await connect(api, "/rooms/12", query_string=b"name=bo")
        assert await conn.settle(1) == (
            [TextFrame('{"room":12,"name":"bo"}'), ServerClose(1000)],
            True,
        )

    run(main())


def test_litestar_handler_and_listener() -> None:
    from litestar import Litestar, websocket, websocket_listener

    @websocket("/ws/{room:int}")
    async def handler(socket: LitestarSocket[Any, Any, Any]) -> None:
        await socket.accept()
        data = await socket.receive_text()
        await socket.send_text(f"{socket.path_params['room']!r}:{data}")
        await socket.close(code=4000)

    @websocket_listener("/listen")
    async def listener(data: str) -> str:
        return data[::-1]

    app = Litestar(route_handlers=[handler, listener])

    async def main() -> None:
        conn = await connect(app, "/ws/5")
        await conn.send_text("x")
        assert await conn.settle(1) == ([TextFrame("5:x"), ServerClose(4000)], True)
        conn = await connect(app, "/listen")
        assert conn.handshake == Accepted()
        await conn.send_text("abc")
        assert await conn.receive(1) == TextFrame("cba")
        assert await conn.settle(1) == ([], True)
        assert await conn.close(timeout=1) is True
        assert conn.app_error is None
        assert conn.leaked_tasks == []

    run(main())


def test_the_driver_names_are_importable_from_here() -> None:
    # Moved to their own modules when the driver was split; importers keep using this one.
    assert asgi.AsgiConnection is asgi_connection.AsgiConnection
    assert asgi.QUIET_ITERATIONS is asgi_connection.QUIET_ITERATIONS
    assert asgi.AsgiProtocolError is asgi_state_machine.AsgiProtocolError
    assert asgi.ClientDisconnected is asgi_state_machine.ClientDisconnected
    assert set(asgi.__all__) <= set(dir(asgi))
