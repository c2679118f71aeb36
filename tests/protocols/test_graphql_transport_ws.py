"""The graphql-transport-ws server follows PROTOCOL.md, and each planted bug is visible.

Each bug test builds the server with that one bug switched on, so the flag alone is enough; the
protocol tests run on the correct server. All waits have timeouts (asgi_client).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.protocols import graphql_transport_ws
from tests.protocols.asgi_client import Ended, WsClient, async_test

GQL = graphql_transport_ws.SUBPROTOCOL


def gql_app(*bugs: str) -> Any:
    return graphql_transport_ws.make_app(bugs=frozenset(bugs), init_timeout=0.2, tick=0.005)


def subscribe(op_id: str, query: str, **payload: Any) -> dict[str, Any]:
    return {"type": "subscribe", "id": op_id, "payload": {"query": query, **payload}}


COUNTDOWN = "subscription { countdown(from: 50) }"


async def acked(client: WsClient) -> WsClient:
    await client.send_json({"type": "connection_init"})
    assert await client.receive_json() == {"type": "connection_ack"}
    return client


async def until_pong(client: WsClient) -> list[Any]:
    """Send a ping and collect what comes before its pong: what was already in flight."""
    await client.send_json({"type": "ping"})
    before = []
    while (message := await client.receive_json()) != {"type": "pong"}:
        before.append(message)
    return before


@async_test
async def test_gql_needs_its_subprotocol() -> None:
    client = WsClient(gql_app(), "/graphql")
    assert (await client.connect())["type"] == "websocket.accept"
    assert await client.receive_close() == (4406, "Subprotocol not acceptable")
    assert await client.ended() == Ended(None)


@async_test
async def test_gql_query_and_subscription() -> None:
    client = WsClient(gql_app(), "/graphql", subprotocols=["other", GQL])
    assert (await client.connect())["subprotocol"] == GQL
    await acked(client)
    await client.send_json(subscribe("q", "{ hello }"))
    assert await client.receive_json() == {
        "id": "q",
        "type": "next",
        "payload": {"data": {"hello": "world"}},
    }
    assert await client.receive_json() == {"id": "q", "type": "complete"}
    await client.send_json(
        subscribe("s", "subscription Tick { countdown(from: $n) }", variables={"n": 2})
    )
    values = [(await client.receive_json())["payload"]["data"]["countdown"] for _ in range(3)]
    assert values == [2, 1, 0]
    assert await client.receive_json() == {"id": "s", "type": "complete"}
    await client.drop()
    assert await client.ended() == Ended(None)


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("{ nope }", 'Cannot query field "nope" on type "Query".'),
        ("subscription { countdown }", 'Field "countdown" argument "from" is required.'),
        ("subscription { countdown(from: 101) }", '"from" must be an Int from 0 to 100.'),
        ("mutation { x }", "Syntax Error: expected a query or a subscription."),
    ],
)
@async_test
async def test_gql_an_invalid_operation_gets_one_error_and_no_complete(
    query: str, message: str
) -> None:
    async with WsClient(gql_app(), "/graphql", subprotocols=[GQL]) as client:
        await acked(client)
        await client.send_json(subscribe("e", query))
        error = await client.receive_json()
        assert error["type"] == "error"
        assert error["id"] == "e"
        assert error["payload"][0]["message"] == message
        assert await until_pong(client) == []


@async_test
async def test_gql_init_timeout_ping_before_init_second_init_and_early_subscribe() -> None:
    async with WsClient(gql_app(), "/graphql", subprotocols=[GQL]) as client:
        await client.send_json({"type": "ping", "payload": {"t": 1}})
        assert await client.receive_json() == {"type": "pong", "payload": {"t": 1}}
        assert await client.receive_close() == (4408, "Connection initialisation timeout")
    async with WsClient(gql_app(), "/graphql", subprotocols=[GQL]) as client:
        await acked(client)
        await client.send_json({"type": "connection_init", "payload": {}})
        assert await client.receive_close() == (4429, "Too many initialisation requests")
    async with WsClient(gql_app(), "/graphql", subprotocols=[GQL]) as client:
        await client.send_json(subscribe("a", "{ hello }"))
        assert await client.receive_close() == (4401, "Unauthorized")


async def close_frame(client: WsClient) -> tuple[int, str]:
    """Skip the frames still streaming; the close that follows them."""
    while (message := await client.receive()) != Ended(None):
        assert isinstance(message, dict)
        if message["type"] == "websocket.close":
            return message["code"], message["reason"]
    raise AssertionError("the app ended without a close frame")


@async_test
async def test_gql_ids_are_unique_among_running_operations_and_reusable_after() -> None:
    async with WsClient(gql_app(), "/graphql", subprotocols=[GQL]) as client:
        await acked(client)
        await client.send_json(subscribe("a", COUNTDOWN))
        await client.send_json(subscribe("b", COUNTDOWN))  # another id runs alongside
        assert {(await client.receive_json())["id"] for _ in range(2)} == {"a", "b"}
        await client.send_json({"type": "complete", "id": "a"})
        await until_pong(client)
        await client.send_json(subscribe("a", "{ hello }"))  # completed: the id is free again
        for_a = []
        while (message := await client.receive_json()) != {"id": "a", "type": "complete"}:
            for_a += [message["type"]] if message["id"] == "a" else []
        assert for_a == ["next"]
        await client.send_json(subscribe("b", COUNTDOWN))  # b still runs
        assert await close_frame(client) == (4409, "Subscriber for b already exists")
    async with WsClient(gql_app(), "/graphql", subprotocols=[GQL]) as client:
        await acked(client)
        long_id = "é" * 100
        await client.send_json(subscribe(long_id, COUNTDOWN))
        await client.send_json(subscribe(long_id, COUNTDOWN))
        code, reason = await close_frame(client)
        assert code == 4409
        assert reason.startswith("Subscriber for éé")
        assert len(reason.encode()) <= 123


@async_test
async def test_gql_client_complete_stops_the_stream_and_pongs_are_ignored() -> None:
    async with WsClient(gql_app(), "/graphql", subprotocols=[GQL]) as client:
        await acked(client)
        await client.send_json(subscribe("s", COUNTDOWN))
        assert (await client.receive_json())["type"] == "next"
        await client.send_json({"type": "complete", "id": "s"})
        await until_pong(client)  # what was in flight when complete arrived may still come
        await client.send_json({"type": "pong"})
        await client.send_json({"type": "complete", "id": "never-started"})
        assert await client.quiet() == []


@pytest.mark.parametrize(
    "frame",
    [
        b"\x00binary",
        "not json",
        "[]",
        '{"type": "subscription"}',
        '{"type": "subscribe", "payload": {"query": "{ hello }"}}',
        '{"type": "subscribe", "id": "", "payload": {"query": "{ hello }"}}',
        '{"type": "subscribe", "id": "a", "payload": {"query": 1}}',
        '{"type": "subscribe", "id": "a", "payload": {"query": "{ hello }", "x": 1}}',
        '{"type": "complete", "id": 7}',
        '{"type": "ping", "payload": []}',
        '{"type": "connection_init", "extra": true}',
    ],
)
@async_test
async def test_gql_invalid_messages_close_4400(frame: str | bytes) -> None:
    async with WsClient(gql_app(), "/graphql", subprotocols=[GQL]) as client:
        await acked(client)
        await (client.send_bytes(frame) if isinstance(frame, bytes) else client.send_text(frame))
        code, reason = await client.receive_close()
        assert code == 4400
        assert reason
        assert await client.ended() == Ended(None)


@async_test
async def test_gql_bug_stream_after_complete() -> None:
    async with WsClient(gql_app("stream_after_complete"), "/graphql", subprotocols=[GQL]) as client:
        await acked(client)
        await client.send_json(subscribe("s", COUNTDOWN))
        await client.receive_json()
        await client.send_json({"type": "complete", "id": "s"})
        await until_pong(client)
        late = [m for m in await client.quiet() if isinstance(m, dict)]
        assert late
        assert all('"next"' in m["text"] and '"s"' in m["text"] for m in late)


@async_test
async def test_gql_bug_second_subscribe_keyerror() -> None:
    async with WsClient(
        gql_app("second_subscribe_keyerror"), "/graphql", subprotocols=[GQL]
    ) as client:
        await acked(client)
        await client.send_json(subscribe("a", "{ hello }"))  # a query: nothing stays active
        await client.receive_json(), await client.receive_json()
        await client.send_json(subscribe("a", COUNTDOWN))
        await client.send_json(subscribe("b", COUNTDOWN))
        assert isinstance((await client.ended()).exception, KeyError)


@async_test
async def test_gql_bug_ping_before_ack() -> None:
    async with WsClient(gql_app("ping_before_ack"), "/graphql", subprotocols=[GQL]) as client:
        await client.send_json({"type": "ping"})
        answer = await client.receive_json()
        assert answer["type"] == "error"
        assert "id" not in answer
        await acked(client)
        assert await until_pong(client) == []  # after the ack, pings are fine


@async_test
async def test_gql_bug_pong_answered() -> None:
    async with WsClient(gql_app("pong_answered"), "/graphql", subprotocols=[GQL]) as client:
        await acked(client)
        await client.send_json({"type": "pong"})
        assert await client.receive_json() == {"type": "pong"}
