"""A small Starlette chat server with a realistic bug, to show what ws_routes finds.

Run from this folder:  pytest --routes --routes-app chat_app:app --routes-websocket

The bug: `leave` forgets to clear the member's nick, so a second `leave` tries to remove a member
who is already gone and the handler crashes (close 1011). Hand-written tests rarely send the same
command twice; generated conversations do.
"""

from __future__ import annotations

import itertools
import json
import re
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

NICK = re.compile(r"[A-Za-z][A-Za-z0-9_]{1,23}")
rooms: dict[str, list[str]] = {}
ids = itertools.count(1)


def error(code: int, message: str) -> dict[str, object]:
    return {"type": "error", "code": code, "message": message}


async def send(websocket: WebSocket, data: dict[str, object]) -> None:
    # json.dumps escapes non-ASCII by default, so a "\ud800" a client sent comes back escaped.
    await websocket.send_text(json.dumps(data))


async def receive_object(websocket: WebSocket) -> dict[str, object] | None:
    """The next message as a JSON object; None for anything else (bytes, bad JSON, an array)."""
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000))
    try:
        data = json.loads(message.get("text") or "")
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    nick: str | None = None
    room = websocket.path_params["room"]
    try:
        while True:
            data = await receive_object(websocket)
            if data is None:
                await send(websocket, error(4400, "messages must be JSON objects"))
                continue
            kind = data.get("type")
            if kind == "join":
                if nick is not None:
                    await send(websocket, error(4409, "already joined"))
                    continue
                if not isinstance(data.get("nick"), str) or not NICK.fullmatch(data["nick"]):
                    await send(websocket, error(4400, "join needs a valid nick"))
                    continue
                nick = data["nick"]
                rooms.setdefault(room, []).append(nick)
                await send(websocket, {"type": "ack", "id": next(ids)})
                await send(websocket, {"type": "presence", "nick": nick, "status": "online"})
            elif kind == "message":
                if nick is None:
                    await send(websocket, error(4403, "join a room first"))
                    continue
                if not isinstance(data.get("text"), str) or not 1 <= len(data["text"]) <= 500:
                    await send(websocket, error(4400, "message needs a text of 1-500 characters"))
                    continue
                out = {
                    "type": "message",
                    "id": next(ids),
                    "from": nick,
                    "text": data["text"],
                    "ts": datetime.now(UTC).isoformat(),
                }
                await send(websocket, {"type": "ack", "id": out["id"]})
                await send(websocket, out)
            elif kind == "typing":
                pass
            elif kind == "leave":
                if nick is None:
                    await send(websocket, error(4403, "not in a room"))
                    continue
                rooms[room].remove(nick)  # BUG: nick is not reset below, so a second leave crashes
                await send(websocket, {"type": "ack", "id": next(ids)})
            else:
                await send(websocket, error(4400, f"unknown message type {str(kind)[:40]!r}"))
    except WebSocketDisconnect:
        if nick is not None and nick in rooms.get(room, []):
            rooms[room].remove(nick)


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is None:
            # A binary frame: refuse it the way RFC 6455 says (1003, unsupported data).
            await websocket.close(code=1003, reason="text frames only")
            return
        await websocket.send_text(message["text"])


app = Starlette(routes=[WebSocketRoute("/ws/chat/{room}", chat), WebSocketRoute("/ws/echo", echo)])
