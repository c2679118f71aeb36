"""Typed Litestar listeners shared by the handlertypes and scaffold tests."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated, Literal

import msgspec
from litestar import websocket_listener
from litestar.dto import MsgspecDTO
from litestar.params import FromQuery, HeaderParameter, QueryParameter

__all__ = ["Ack", "Join", "Leave", "either", "join", "shout", "sink"]


class Join(msgspec.Struct):
    type: Literal["join"]
    room: int


class Leave(msgspec.Struct):
    type: Literal["leave"]
    room: int


@dataclass
class Ack:
    ok: bool
    room: int


@websocket_listener("/ws/join/{room:int}", dto=MsgspecDTO[Join])
async def join(
    data: Join,
    token: FromQuery[str],
    limit: Annotated[int, QueryParameter(name="max", ge=1)] = 5,
    agent: Annotated[str | None, HeaderParameter(name="user-agent")] = None,
) -> Ack:
    return Ack(ok=True, room=data.room)


@websocket_listener("/ws/either")
async def either(data: Join | Leave) -> dict[str, int]:
    return {"room": 1}


@websocket_listener("/ws/shout")
async def shout(data: str) -> str:
    return data.upper()


@websocket_listener("/ws/sink", receive_mode="binary")
async def sink(data: bytes) -> None:
    return None
