"""A multi-room chat server: ``/ws/rooms/{room}``, JSON text frames, a module-level room registry.

The protocol, as a client sees it:

- The room is the path parameter (``^[a-z0-9][a-z0-9_-]{0,31}$``; any other name: accepted, then
  closed with 4400 ``invalid room name``). A room exists while someone is in it.
- ``{"type": "join", "nick": N}`` answers ``{"type": "joined", "room", "nick", "members"}``
  (the others already there) and tells every other member ``{"type": "presence", "nick": N,
  "status": "joined"}``. A nick is a letter then 1-23 letters, digits or ``_``, unique in its
  room (taken: error 4409); joining twice on one socket is error 4409 too.
- ``{"type": "say", "text": T}`` (1-500 characters) answers ``{"type": "ack", "id": K}`` and
  sends ``{"type": "message", "id": K, "from": N, "text": T}`` to every *other* member of the
  *same* room. Before a join: error 4403.
- ``{"type": "leave"}`` answers ``{"type": "left", "room"}`` and tells the others ``presence``
  ``left``; the socket stays open and may join again. Not in the room: error 4403.
- Closing the socket leaves the room the same way (the others see ``presence`` ``left``).
- Anything else (binary, not JSON, not an object, unknown ``type``, a missing, extra or mistyped
  field) answers ``{"type": "error", "code": 4400, "message": ...}`` and the socket stays open.

A member may leave while someone is broadcasting to it (its socket is closed before its handler
notices): the broadcaster skips it, and that member's own handler removes it from the room.

Planted bugs (``make_app(bugs=frozenset({...}))``; ``buggy_app`` has them all):

- ``cross_room``: ``say`` reuses the server-wide announcement loop, so the message reaches the
  members of *every* room, not only the sender's (presence events stay in the room).
- ``leave_twice``: ``leave`` removes the member but forgets that it did, so a second ``leave``
  raises ``KeyError`` and the handler dies (close 1011 on a real server).
- ``send_to_closed``: the broadcast writes to every member without guarding the send. A member
  whose socket closed while the handler had not yet removed it makes the send raise Starlette's
  ``WebSocketDisconnect``; the broadcaster's handler takes it for its *own* disconnect, leaves
  the room (the others see it ``left``) and returns with its socket still open: the speaker gets
  no ``ack``, and a real server drops its connection (1006).
"""

from __future__ import annotations

import contextlib
import itertools
import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

BUGS = frozenset({"cross_room", "leave_twice", "send_to_closed"})
ROOM = re.compile(r"[a-z0-9][a-z0-9_-]{0,31}")
NICK = re.compile(r"[A-Za-z][A-Za-z0-9_]{1,23}")
SHAPES = {"join": {"type", "nick"}, "say": {"type", "text"}, "leave": {"type"}}

JSON = dict[str, Any]
# room -> nick -> socket. Module-level, as in most chat apps: every connection shares it.
Registry = dict[str, dict[str, WebSocket]]
ROOMS: Registry = {}
BUGGY_ROOMS: Registry = {}


class Refusal(Exception):
    """Answer the client with an error reply; the connection stays open."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(code, message)
        self.code = code
        self.message = message


def _send(websocket: WebSocket, data: JSON) -> Any:
    # json.dumps escapes non-ASCII, so a lone surrogate a client sent comes back escaped.
    return websocket.send_text(json.dumps(data))


def _decode(message: Mapping[str, Any]) -> JSON:
    text = message.get("text")
    if text is None:
        raise Refusal(4400, "binary frames are not supported")
    try:
        data = json.loads(text)
    except ValueError:
        raise Refusal(4400, "messages must be JSON") from None
    # isinstance first: a list is unhashable, so `in SHAPES` alone would raise (ws_routes found
    # that one, with a mutant that sent "type": []).
    if (
        not isinstance(data, dict)
        or not isinstance(data.get("type"), str)
        or data["type"] not in SHAPES
    ):
        raise Refusal(4400, "unknown message type")
    if set(data) != SHAPES[data["type"]]:
        raise Refusal(4400, f"{data['type']} takes exactly the keys {sorted(SHAPES[data['type']])}")
    return data


class Member:
    """One connection's state and what it may do to the room registry."""

    def __init__(
        self,
        websocket: WebSocket,
        room: str,
        rooms: Registry,
        ids: Iterator[int],
        bugs: frozenset[str],
    ) -> None:
        self.websocket, self.room, self.rooms, self.ids, self.bugs = (
            websocket,
            room,
            rooms,
            ids,
            bugs,
        )
        self.nick: str | None = None

    def others(self) -> list[tuple[str, WebSocket]]:
        return [
            (n, ws) for n, ws in self.rooms.get(self.room, {}).items() if ws is not self.websocket
        ]

    async def broadcast(self, data: JSON, *, everywhere: bool = False) -> None:
        if everywhere:  # the cross_room bug: the announcement loop over every room
            targets = [
                (n, ws)
                for members in self.rooms.values()
                for n, ws in members.items()
                if ws is not self.websocket
            ]
        else:
            targets = self.others()  # a copy: members may come and go while we await
        for _nick, websocket in targets:
            if "send_to_closed" in self.bugs:
                await _send(websocket, data)
                continue
            # That member's socket may be gone (RuntimeError: Starlette refuses a send after the
            # close was sent). Its own handler removes it; the others must still be told.
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                await _send(websocket, data)

    async def handle(self, data: JSON) -> None:
        kind = data["type"]
        if kind == "join":
            nick = data["nick"]
            if self.nick is not None:
                raise Refusal(4409, "already joined")
            if not isinstance(nick, str) or not NICK.fullmatch(nick):
                raise Refusal(4400, "a nick is a letter and 1-23 letters, digits or '_'")
            members = self.rooms.setdefault(self.room, {})
            if nick in members:
                raise Refusal(4409, "nick taken in this room")
            present = sorted(members)
            members[nick] = self.websocket
            self.nick = nick
            await _send(
                self.websocket,
                {"type": "joined", "room": self.room, "nick": nick, "members": present},
            )
            await self.broadcast({"type": "presence", "nick": nick, "status": "joined"})
        elif kind == "say":
            text = data["text"]
            if self.nick is None:
                raise Refusal(4403, "join the room first")
            if not isinstance(text, str) or not 1 <= len(text) <= 500:
                raise Refusal(4400, "text must be 1-500 characters")
            message_id = next(self.ids)
            out = {"type": "message", "id": message_id, "from": self.nick, "text": text}
            await self.broadcast(out, everywhere="cross_room" in self.bugs)
            await _send(self.websocket, {"type": "ack", "id": message_id})
        else:  # leave
            if self.nick is None:
                raise Refusal(4403, "not in the room")
            nick = self.nick
            del self.rooms[self.room][nick]  # the leave_twice bug: KeyError the second time
            if "leave_twice" not in self.bugs:
                self.nick = None
            self._forget_empty_room()
            await _send(self.websocket, {"type": "left", "room": self.room})
            await self.broadcast({"type": "presence", "nick": nick, "status": "left"})

    async def gone(self) -> None:
        """The socket closed: leave the room, if still in it, and tell the others."""
        members = self.rooms.get(self.room, {})
        if self.nick is None or members.get(self.nick) is not self.websocket:
            return
        nick, self.nick = self.nick, None
        del members[nick]
        self._forget_empty_room()
        await self.broadcast({"type": "presence", "nick": nick, "status": "left"})

    def _forget_empty_room(self) -> None:
        if not self.rooms.get(self.room, True):
            del self.rooms[self.room]


def make_app(*, bugs: frozenset[str] = frozenset(), rooms: Registry | None = None) -> Starlette:
    """The server; ``bugs`` switches planted bugs on, ``rooms`` is the registry it shares."""
    unknown = bugs - BUGS
    if unknown:
        raise ValueError(f"unknown bugs: {sorted(unknown)}")
    registry: Registry = {} if rooms is None else rooms
    ids = itertools.count(1)

    async def chat(websocket: WebSocket) -> None:
        await websocket.accept()
        room = websocket.path_params["room"]
        if not ROOM.fullmatch(room):
            await websocket.close(4400, "invalid room name")
            return
        member = Member(websocket, room, registry, ids, bugs)
        try:
            while True:
                message = await websocket.receive()
                if message["type"] == "websocket.disconnect":
                    break
                try:
                    await member.handle(_decode(message))
                except Refusal as refusal:
                    await _send(
                        websocket,
                        {"type": "error", "code": refusal.code, "message": refusal.message},
                    )
        except WebSocketDisconnect:
            pass  # with send_to_closed, also another member's: the bug takes it for ours
        await member.gone()

    return Starlette(routes=[WebSocketRoute("/ws/rooms/{room}", chat)])


app = make_app(rooms=ROOMS)
buggy_app = make_app(bugs=BUGS, rooms=BUGGY_ROOMS)
