"""A small Starlette chat server with a realistic bug, to show what ws_routes finds.

Run from this folder:  pytest --routes --routes-app chat_app:app --routes-websocket

The bug: `leave` forgets to clear the member's nick, so a second `leave` tries to remove a member
who is already gone and the handler crashes (close 1011). Hand-written tests rarely send the same
command twice; generated conversations do.
"""

from __future__ import annotations

import itertools
import json
from datetime import UTC, datetime

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

rooms: dict[str, list[str]] = {}
ids = itertools.count(1)


def error(code: int, message: str) -> dict[str, object]:
    return {"type": "error", "code": code, "message": message}


async def chat(websocket: WebSocket) -> None:
    await websocket.accept()
    nick: str | None = None
    room = websocket.path_params["room"]
    try:
        while True:
            try:
                data = json.loads(await websocket.receive_text())
            except ValueError:
                await websocket.send_json(error(4400, "messages must be JSON"))
                continue
            kind = data.get("type") if isinstance(data, dict) else None
            if kind == "join":
                if nick is not None:
                    await websocket.send_json(error(4409, "already joined"))
                    continue
                nick = data["nick"]
                rooms.setdefault(room, []).append(nick)
                await websocket.send_json({"type": "ack", "id": next(ids)})
                await websocket.send_json({"type": "presence", "nick": nick, "status": "online"})
            elif kind == "message":
                if nick is None:
                    await websocket.send_json(error(4403, "join a room first"))
                    continue
                out = {
                    "type": "message",
                    "id": next(ids),
                    "from": nick,
                    "text": data["text"],
                    "ts": datetime.now(UTC).isoformat(),
                }
                await websocket.send_json({"type": "ack", "id": out["id"]})
                await websocket.send_json(out)
            elif kind == "typing":
                pass
            elif kind == "leave":
                if nick is None:
                    await websocket.send_json(error(4403, "not in a room"))
                    continue
                rooms[room].remove(nick)  # BUG: nick is not reset below, so a second leave crashes
                await websocket.send_json({"type": "ack", "id": next(ids)})
            else:
                await websocket.send_json(error(4400, f"unknown message type {kind!r}"))
    except WebSocketDisconnect:
        if nick is not None and nick in rooms.get(room, []):
            rooms[room].remove(nick)


async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    try:
        while True:
            await websocket.send_text(await websocket.receive_text())
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute("/ws/chat/{room}", chat), WebSocketRoute("/ws/echo", echo)])
