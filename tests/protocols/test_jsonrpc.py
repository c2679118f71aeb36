"""The JSON-RPC 2.0 server follows the spec (and its initialize handshake); each planted bug is
visible. Bug tests switch on one bug each; all waits have timeouts (asgi_client).
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.protocols import jsonrpc
from tests.protocols.asgi_client import WsClient, async_test


def rpc(method: str, params: Any = None, request_id: Any = 1) -> dict[str, Any]:
    request: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
    if params is not None:
        request["params"] = params
    if request_id is not ...:
        request["id"] = request_id
    return request


async def initialized(client: WsClient) -> WsClient:
    await client.send_json(rpc("initialize", request_id=0))
    answer = await client.receive_json()
    assert answer["id"] == 0
    assert answer["result"]["serverInfo"]["version"] == "1.0"
    return client


def rpc_client(*bugs: str) -> WsClient:
    return WsClient(jsonrpc.make_app(bugs=frozenset(bugs)), "/ws/rpc")


@async_test
async def test_rpc_initialize_comes_first() -> None:
    async with rpc_client() as client:
        await client.send_json(rpc("echo", ["x"], "e"))
        answer = await client.receive_json()
        assert answer == {
            "jsonrpc": "2.0",
            "id": "e",
            "error": {"code": -32002, "message": "Server not initialized"},
        }
        await client.send_json(rpc("echo", ["x"], ...))  # a notification: never answered
        await initialized(client)
        await client.send_json(rpc("initialize", request_id=9))
        assert (await client.receive_json())["error"]["code"] == -32600
        assert await client.quiet() == []


@async_test
async def test_rpc_methods_run_concurrently_and_keep_their_ids() -> None:
    async with rpc_client() as client:
        await initialized(client)
        await client.send_json(rpc("sleep", [40], "slow"))
        await client.send_json(rpc("add", {"a": 1, "b": 2.5}, "fast"))
        await client.send_json(rpc("echo", ["hé"], ...))
        assert await client.receive_json() == {"jsonrpc": "2.0", "id": "fast", "result": 3.5}
        assert await client.receive_json() == {"jsonrpc": "2.0", "id": "slow", "result": 40}
        await client.send_json(rpc("echo", {"text": "hé"}, None))  # id null is still a request
        assert await client.receive_json() == {"jsonrpc": "2.0", "id": None, "result": "hé"}
        assert await client.quiet() == []


@pytest.mark.parametrize(
    ("frame", "code", "answer_id"),
    [
        ("{nope", -32700, None),
        (b"\x01", -32700, None),
        ('{"jsonrpc": "2.0", "method": "add", "params": [NaN, 1], "id": 1}', -32700, None),
        ('{"jsonrpc": "2.0", "method": "add", "params": null, "id": 4}', -32600, 4),
        ('{"jsonrpc": "1.0", "method": "add", "id": 5}', -32600, 5),
        ('{"jsonrpc": "2.0", "method": 1, "id": [1]}', -32600, None),
        ('{"jsonrpc": "2.0", "method": "add", "id": 6, "x": 0}', -32600, 6),
        ('"just a string"', -32600, None),
        ("[]", -32600, None),
        ('{"jsonrpc": "2.0", "method": "nope", "id": 7}', -32601, 7),
        ('{"jsonrpc": "2.0", "method": "add", "params": [1], "id": 8}', -32602, 8),
        ('{"jsonrpc": "2.0", "method": "add", "params": [true, 1], "id": 9}', -32602, 9),
        ('{"jsonrpc": "2.0", "method": "sleep", "params": {"ms": 5000}, "id": 10}', -32602, 10),
        ('{"jsonrpc": "2.0", "method": "echo", "params": {"txt": "a"}, "id": 11}', -32602, 11),
    ],
)
@async_test
async def test_rpc_errors(frame: str | bytes, code: int, answer_id: Any) -> None:
    async with rpc_client() as client:
        await initialized(client)
        await (client.send_bytes(frame) if isinstance(frame, bytes) else client.send_text(frame))
        answer = await client.receive_json()
        assert answer["error"]["code"] == code, answer
        assert answer["id"] == answer_id
        await client.send_json(rpc("nope", request_id=...))  # a bad notification: still silent
        assert await client.quiet() == []


@async_test
async def test_rpc_batches() -> None:
    async with rpc_client() as client:
        await client.send_json(
            [rpc("initialize", request_id="i"), rpc("add", [1, 2], 2), rpc("echo", ["n"], ...), 5]
        )
        answers = await client.receive_json()
        assert [a["id"] for a in answers] == ["i", 2, None]
        assert answers[1]["result"] == 3
        await client.send_json([rpc("echo", ["n"], ...), rpc("nope", request_id=...)])
        assert await client.quiet() == []


@async_test
async def test_rpc_bug_id_swap() -> None:
    async with rpc_client("id_swap") as client:
        await initialized(client)
        await client.send_json(rpc("sleep", [30], "slow"))
        await client.send_json(rpc("echo", ["x"], "fast"))
        ids = [(await client.receive_json())["id"] for _ in range(2)]
        assert ids == ["fast", "fast"]  # the slow call's answer carries the fast call's id


@async_test
async def test_rpc_bug_notification_answered() -> None:
    async with rpc_client("notification_answered") as client:
        await client.send_json(rpc("echo", ["x"], ...))
        assert (await client.receive_json())["error"]["code"] == -32002
        await initialized(client)
        await client.send_json(rpc("echo", ["x"], ...))
        assert await client.receive_json() == {"jsonrpc": "2.0", "id": None, "result": "x"}


@async_test
async def test_rpc_bug_batch_notifications_answered() -> None:
    async with rpc_client("batch_notifications_answered") as client:
        await initialized(client)
        await client.send_json([rpc("echo", ["n"], ...), rpc("nope", request_id=...)])
        assert await client.receive_json() == []  # JSON-RPC 2.0: MUST NOT return an empty array
        await client.send_json([rpc("add", [1, 2], 2)])
        assert (await client.receive_json())[0]["result"] == 3  # a batch with a request: as ever


@async_test
async def test_rpc_bug_params_null_crash() -> None:
    async with rpc_client("params_null_crash") as client:
        await initialized(client)
        await client.send_text('{"jsonrpc": "2.0", "method": "add", "params": null, "id": 1}')
        assert isinstance((await client.ended()).exception, TypeError)
