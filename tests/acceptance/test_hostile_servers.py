"""Acceptance: hostile server output becomes findings of its route, never a traceback of ours."""

from __future__ import annotations

from tests.conftest import STARLETTE_HEADER, RunRoutes


def test_a_close_reason_with_a_lone_surrogate_is_reported_as_a_finding(
    run_routes: RunRoutes,
) -> None:
    # Issue 10: a GraphQL server quoted the client's "\ud800" escape in its close reason.
    app = (
        STARLETTE_HEADER
        + """
async def query(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            data = json.loads(await ws.receive_text())
            ident = data.get("id") if isinstance(data, dict) else None
            if not isinstance(ident, str):
                await ws.close(code=1003)
                return
            if any(0xD800 <= ord(c) <= 0xDFFF for c in ident):
                await ws.close(code=4400, reason=f"bad id {ident}"[:30])
                return
            await ws.send_json({"id": ident})
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute("/ws/query", query)])
"""
    )
    spec = """
    routes:
      /ws/query:
        close_codes: [4000]
        messages:
          query:
            kind: json
            schema: {type: object, properties: {id: {type: string}}, required: [id]}
    """
    result = run_routes(app, spec=spec)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        ["Message: negative case, lone surrogate*server closed with undeclared code 4400"]
    )
    result.stdout.fnmatch_lines(["*x close 4400 \"bad id *\\ud800*"])
    assert "UnicodeEncodeError" not in result.stdout.str()
    assert "INTERNAL" not in result.stdout.str()


def test_a_flooding_server_is_a_finding_and_memory_stays_bounded(run_routes: RunRoutes) -> None:
    app = (
        STARLETTE_HEADER
        + '''
FRAME = b"x" * (30 * 2**20)


async def flood(ws: WebSocket) -> None:
    await ws.accept()
    await ws.receive_bytes()
    for _ in range(40):  # 1.2 GB, were it buffered
        await ws.send_bytes(FRAME)
        await asyncio.sleep(0)
    await ws.close()


async def large(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            await ws.receive_bytes()
            await ws.send_bytes(FRAME)  # one large frame per message: fine
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute("/ws/flood", flood), WebSocketRoute("/ws/large", large)])
'''
    )
    spec = """
    settings: {max_messages: 2, checks: {invalid_input: false}}
    routes:
      /ws/flood: {messages: {blob: {kind: bytes, max_size: 8}}}
      /ws/large: {messages: {blob: {kind: bytes, max_size: 8}}}
    """
    result = run_routes(app, "--routes-max-examples", "5", spec=spec)
    result.assert_outcomes(passed=1, failed=1)
    result.stdout.fnmatch_lines(
        [
            "WEBSOCKET TEST FAILURE: /ws/flood",
            "Check: flood",
            "Message: the server sent 40 frames (1,200.0 MiB) in one conversation*",
            "*38 more frame(s) received (1,195,376,640 bytes/chars), not kept*",
        ]
    )
    assert "MemoryError" not in result.stdout.str()
