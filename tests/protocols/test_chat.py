"""The chat-room server keeps rooms apart, announces presence, survives members that vanish; each
planted bug is visible. Bug tests switch on one bug each; all waits have timeouts (asgi_client).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.protocols import chat
from tests.protocols.asgi_client import Ended, WsClient, async_test


async def joined(app: Any, room: str, nick: str) -> WsClient:
    client = await WsClient(app, f"/ws/rooms/{room}").__aenter__()
    await client.send_json({"type": "join", "nick": nick})
    answer = await client.receive_json()
    assert answer["type"] == "joined", answer
    assert answer["nick"] == nick
    return client


@async_test
async def test_chat_rooms_presence_and_messages() -> None:
    rooms: chat.Registry = {}
    app = chat.make_app(rooms=rooms)
    ann = await joined(app, "r1", "ann")
    bob = await joined(app, "r1", "bob")
    other = await joined(app, "r2", "cat")
    assert await ann.receive_json() == {"type": "presence", "nick": "bob", "status": "joined"}
    await bob.send_json({"type": "say", "text": "hi"})
    ack = await bob.receive_json()
    assert ack["type"] == "ack"
    assert await ann.receive_json() == {
        "type": "message",
        "id": ack["id"],
        "from": "bob",
        "text": "hi",
    }
    assert await other.quiet() == []
    assert await bob.quiet() == []
    await bob.send_json({"type": "leave"})
    assert await bob.receive_json() == {"type": "left", "room": "r1"}
    assert await ann.receive_json() == {"type": "presence", "nick": "bob", "status": "left"}
    await bob.send_json({"type": "leave"})
    assert (await bob.receive_json())["code"] == 4403
    await bob.send_json({"type": "join", "nick": "ann"})
    assert (await bob.receive_json())["code"] == 4409  # taken in this room
    await bob.drop()
    await other.drop()
    assert await ann.quiet() == []  # bob had left already; cat is in another room
    await ann.drop()
    for client in (ann, bob, other):
        assert await client.ended() == Ended(None)
    assert rooms == {}


@pytest.mark.parametrize(
    "frame",
    [
        b"\x00",
        "nope",
        "[1]",
        '{"type": "shout"}',
        '{"type": ["join"]}',
        '{"type": "say"}',
        '{"type": "leave", "x": 1}',
        '{"type": "join", "nick": "1x"}',
    ],
)
@async_test
async def test_chat_bad_input_gets_an_error_and_the_socket_stays_open(frame: str | bytes) -> None:
    async with WsClient(chat.make_app(), "/ws/rooms/lobby") as client:
        await client.send_json({"type": "say", "text": "hi"})
        assert (await client.receive_json())["code"] == 4403  # not joined yet
        await (client.send_bytes(frame) if isinstance(frame, bytes) else client.send_text(frame))
        assert (await client.receive_json())["code"] == 4400
        await client.send_json({"type": "join", "nick": "ann"})
        assert (await client.receive_json())["type"] == "joined"


@async_test
async def test_chat_bad_room_name_and_a_member_gone_during_a_broadcast() -> None:
    client = WsClient(chat.make_app(), "/ws/rooms/Bad%20Room")
    assert (await client.connect())["type"] == "websocket.accept"
    assert await client.receive_close() == (4400, "invalid room name")
    app = chat.make_app()
    ann, bob = await joined(app, "r", "ann"), await joined(app, "r", "bob")
    await ann.receive_json()
    await bob.drop(notify=False)  # bob's socket is gone, his handler does not know yet
    await ann.send_json({"type": "say", "text": "still there?"})
    assert (await ann.receive_json())["type"] == "ack"
    await bob.notify()
    assert await bob.ended() == Ended(None)
    assert await ann.receive_json() == {"type": "presence", "nick": "bob", "status": "left"}
    await ann.drop()
    assert await ann.ended() == Ended(None)


@async_test
async def test_chat_bug_cross_room() -> None:
    app = chat.make_app(bugs=frozenset({"cross_room"}))
    ann, cat = await joined(app, "r1", "ann"), await joined(app, "r2", "cat")
    await ann.send_json({"type": "say", "text": "secret"})
    assert (await cat.receive_json())["text"] == "secret"  # cat is in another room
    await ann.drop()
    await cat.drop()


@async_test
async def test_chat_bug_leave_twice() -> None:
    app = chat.make_app(bugs=frozenset({"leave_twice"}))
    ann = await joined(app, "r", "ann")
    await ann.send_json({"type": "leave"})
    assert (await ann.receive_json())["type"] == "left"
    await ann.send_json({"type": "leave"})
    assert isinstance((await ann.ended()).exception, KeyError)


@async_test
async def test_chat_bug_send_to_closed() -> None:
    app = chat.make_app(bugs=frozenset({"send_to_closed"}))
    ann, bob = await joined(app, "r", "ann"), await joined(app, "r", "bob")
    await ann.receive_json()
    await bob.drop(notify=False)
    await ann.send_json({"type": "say", "text": "still there?"})
    end = await ann.receive()
    assert isinstance(end, Ended)  # no ack, no close frame: the handler is gone
    assert not ann.gone  # ... while ann's client is still connected
    await bob.notify()
    await bob.ended()
