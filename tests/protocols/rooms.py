"""A room chat server: ``/rooms/{room}``, JSON text frames, module-level membership.

The protocol, as a client sees it:

- Connecting to ``/rooms/{room}`` (a room is ``^[a-z][a-z0-9-]{0,15}$``; any other name is
  refused with close 4404 before accept) joins the room as a new member with a server-given
  id: the newcomer gets ``{"type": "welcome", "you": ID, "members": [IDS]}`` (the others
  already there) and every other member ``{"type": "presence", "member": ID, "status":
  "joined"}``. A room exists while someone is in it.
- ``{"type": "say", "text": T}`` (1-200 characters) answers ``{"type": "ack"}`` and sends
  ``{"type": "message", "from": ID, "text": T}`` to every *other* member of the *same* room.
- ``{"type": "who"}`` answers ``{"type": "members", "members": [IDS]}`` (everyone in the room).
- Anything else answers ``{"type": "error", "message": ...}`` and the socket stays open.
- Closing or dropping the socket leaves the room: the others get ``presence`` ``left``.

Planted bugs (``make_app(bugs=frozenset({...}))``; ``buggy_app`` has them all):

A member may close while someone is broadcasting to it (its socket closed before its own
handler noticed): the broadcast skips a socket whose send fails, and that member's handler
removes it from the room.

- ``stale_member``: on disconnect the member is taken off the room's roster (what ``who`` and
  ``welcome`` list) but its socket stays in the broadcast list, and the broadcast trusts that
  list (it does not guard the send). The next ``say`` in that room sends to the dead socket,
  which raises in the speaker's handler. It takes two clients: one that leaves, one that speaks
  after. (A room, roster and sockets, is dropped once its roster is empty, so nothing outlives
  a conversation.)
- ``cross_room``: ``say`` broadcasts to every member of every room, not only the speaker's
  (presence notices stay in the room).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
from dataclasses import dataclass, field
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

BUGS = frozenset({"stale_member", "cross_room"})
ROOM = re.compile(r"[a-z][a-z0-9-]{0,15}")


@dataclass
class Room:
    roster: list[int] = field(default_factory=list)  # member ids, in joining order
    sockets: dict[int, WebSocket] = field(default_factory=dict)  # who broadcasts reach


# room name -> Room. Module-level, as in most chat servers: every connection shares it.
ROOMS: dict[str, Room] = {}
BUGGY_ROOMS: dict[str, Room] = {}


def make_app(
    *, bugs: frozenset[str] = frozenset(), rooms: dict[str, Room] | None = None
) -> Starlette:
    unknown = bugs - BUGS
    if unknown:
        raise ValueError(f"unknown bugs: {sorted(unknown)}")
    registry: dict[str, Room] = {} if rooms is None else rooms
    ids = itertools.count(1)

    async def notify(room: str, data: dict[str, Any], *, skip: int) -> None:
        """Presence: to the room's roster, guarded (a member may close meanwhile)."""
        here = registry[room]
        for member in list(here.roster):
            socket = here.sockets.get(member)
            if member != skip and socket is not None:
                # It left meanwhile: its own handler takes it out of the room.
                with contextlib.suppress(WebSocketDisconnect):
                    await socket.send_json(data)

    async def chat(room: str, data: dict[str, Any], *, skip: int) -> None:
        """A said message: to every socket of the room (of every room, with ``cross_room``)."""
        targets = list(registry.values()) if "cross_room" in bugs else [registry[room]]
        for each in targets:
            for member, socket in list(each.sockets.items()):
                if member == skip:
                    continue
                if "stale_member" in bugs:  # trusts the socket list
                    await socket.send_json(data)
                    continue
                with contextlib.suppress(WebSocketDisconnect):
                    await socket.send_json(data)

    def leave(room: str, me: int) -> None:
        here = registry[room]
        here.roster.remove(me)
        if "stale_member" not in bugs:
            del here.sockets[me]
        if not here.roster:
            del registry[room]

    async def endpoint(websocket: WebSocket) -> None:
        room = websocket.path_params["room"]
        if not ROOM.fullmatch(room):
            await websocket.close(4404)
            return
        await websocket.accept()
        me = next(ids)
        here = registry.setdefault(room, Room())
        others = list(here.roster)
        here.roster.append(me)
        here.sockets[me] = websocket
        try:
            await websocket.send_json({"type": "welcome", "you": me, "members": others})
            await notify(room, {"type": "presence", "member": me, "status": "joined"}, skip=me)
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                await handle(room, me, websocket, message.get("text"))
        finally:
            leave(room, me)
        if room in registry:
            await notify(room, {"type": "presence", "member": me, "status": "left"}, skip=me)

    async def handle(room: str, me: int, websocket: WebSocket, text: str | None) -> None:
        try:
            data = None if text is None else json.loads(text)
        except ValueError:
            data = None
        kind = data.get("type") if isinstance(data, dict) else None
        if kind == "say" and set(data) == {"type", "text"} and _text_ok(data["text"]):
            await websocket.send_json({"type": "ack"})
            await chat(room, {"type": "message", "from": me, "text": data["text"]}, skip=me)
        elif kind == "who" and set(data) == {"type"}:
            await websocket.send_json({"type": "members", "members": registry[room].roster})
        else:
            await websocket.send_json({"type": "error", "message": "expected say or who"})

    return Starlette(routes=[WebSocketRoute("/rooms/{room}", endpoint)])


def _text_ok(text: Any) -> bool:
    return isinstance(text, str) and 1 <= len(text) <= 200


app = make_app(rooms=ROOMS)
buggy_app = make_app(bugs=BUGS, rooms=BUGGY_ROOMS)
stale_member_app = make_app(bugs=frozenset({"stale_member"}))
cross_room_app = make_app(bugs=frozenset({"cross_room"}))
