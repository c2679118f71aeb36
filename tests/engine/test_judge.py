"""Judging probes: what each group allows, against small apps that get it right or wrong."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.engine.probe_routes import DENIED, ECHO, QUICK, SECRET, compiled
from ws_routes.compile.credentials import Credential, credential_for
from ws_routes.compile.route import CompiledRoute
from ws_routes.driver.asgi import AsgiTransport
from ws_routes.driver.loop import LoopThread
from ws_routes.driver.transcript import Frame, Transcript
from ws_routes.driver.transport import Accepted, Rejected
from ws_routes.engine.judge import judge
from ws_routes.engine.probes import UNKNOWN_SUBPROTOCOL, ProbeOutcome, build_probes, run_probe
from ws_routes.spec.model import AuthSpec, ReplySpec, Schema


async def _echo(ws: WebSocket) -> None:
    try:
        while True:
            await ws.send_text(await ws.receive_text())
    except WebSocketDisconnect:
        pass


async def always_graphql_ws(ws: WebSocket) -> None:
    await ws.accept(subprotocol="graphql-ws")
    await _echo(ws)


async def echoes_the_offer(ws: WebSocket) -> None:
    offered = ws.scope["subprotocols"]
    await ws.accept(subprotocol=offered[0] if offered else None)
    await _echo(ws)


SUPPORTED = {"chat.v2": 2, "chat.v1": 1}


async def crashes_on_unknown(ws: WebSocket) -> None:
    offered = ws.scope["subprotocols"]
    version = SUPPORTED[offered[0]] if offered else 0  # KeyError on anything unknown
    await ws.accept(subprotocol=offered[0] if version else None)
    await _echo(ws)


async def negotiates(ws: WebSocket) -> None:
    chosen = next((p for p in ws.scope["subprotocols"] if p in SUPPORTED), None)
    if chosen is None and ws.scope["subprotocols"]:
        await ws.close()  # a plain refusal: HTTP 403
        return
    await ws.accept(subprotocol=chosen)
    await _echo(ws)


async def divides_by_id(ws: WebSocket) -> None:
    share = 100 // ws.path_params["id"]
    await ws.accept()
    await ws.send_text(str(share))
    await _echo(ws)


async def refuses_long_names(ws: WebSocket) -> None:
    await ws.accept()
    first = await ws.receive_text()
    if len(ws.path_params["name"]) > 64:
        await ws.close(code=1008, reason="name too long")
        return
    await ws.send_text(first)
    await _echo(ws)


async def header_present(ws: WebSocket) -> None:
    if "authorization" not in ws.headers:  # the bug: only checks that the header is there
        await ws.close(code=4001)
        return
    await ws.accept()
    await _echo(ws)


async def any_token(ws: WebSocket) -> None:
    await ws.accept()
    if not ws.query_params.get("token"):  # the bug: any non-empty token will do
        await ws.close(code=4001)
        return
    await _echo(ws)


async def strict_token(ws: WebSocket) -> None:
    await ws.accept()
    first = await ws.receive_text()
    if ws.query_params.get("token") != SECRET:
        await ws.send_text(json.dumps({"error": "unauthorized"}))
        await ws.close(code=4001)
        return
    await ws.send_text(first)
    await _echo(ws)


async def snapshot_then_check(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text("the whole room's history")  # the leak: served before the check
    if ws.query_params.get("token") != SECRET:
        await ws.close(code=4001)
        return
    await _echo(ws)


async def first_message(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text(json.dumps({"hello": "send an auth message"}))
    auth = json.loads(await ws.receive_text())
    if auth.get("token") != SECRET:
        await ws.send_text(json.dumps({"error": "unauthorized"}))
        await ws.close(code=4003)
        return
    await _echo(ws)


async def first_message_lax(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text(json.dumps({"hello": "send an auth message"}))
    await ws.receive_text()  # the bug: never looks at the token
    await _echo(ws)


async def ignores_origin(ws: WebSocket) -> None:
    await ws.accept()
    await _echo(ws)


async def checks_origin(ws: WebSocket) -> None:
    if ws.headers.get("origin", "https://app.example") != "https://app.example":
        await ws.close()
        return
    await ws.accept()
    await _echo(ws)


async def early_4001(ws: WebSocket) -> None:
    await ws.close(code=4001)


APP = Starlette(
    routes=[
        WebSocketRoute(f"/ws/{handler.__name__}", handler)
        for handler in (
            always_graphql_ws,
            echoes_the_offer,
            crashes_on_unknown,
            negotiates,
            header_present,
            any_token,
            strict_token,
            snapshot_then_check,
            first_message,
            first_message_lax,
            ignores_origin,
            checks_origin,
            early_4001,
        )
    ]
    + [
        WebSocketRoute("/ws/divides_by_id/{id:int}", divides_by_id),
        WebSocketRoute("/ws/refuses_long_names/{name}", refuses_long_names),
    ]
)


@pytest.fixture(scope="module")
def app_loop() -> Iterator[tuple[LoopThread, AsgiTransport]]:
    loop = LoopThread()
    try:
        yield loop, AsgiTransport(APP)
    finally:
        loop.close()


def outcomes(
    app_loop: tuple[LoopThread, AsgiTransport],
    route: CompiledRoute,
    credential: Credential | None = None,
) -> dict[str, ProbeOutcome]:
    loop, transport = app_loop
    return {
        p.name: loop.run(run_probe(transport, route, p), timeout=10)
        for p in build_probes(route, credential)
    }


def failing(found: dict[str, ProbeOutcome]) -> dict[str, list[str]]:
    return {name: [f.check for f in o.failures] for name, o in found.items() if o.failures}


def test_a_server_selecting_a_subprotocol_nobody_offered_fails(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    found = outcomes(app_loop, compiled("/ws/always_graphql_ws", subprotocols=("graphql-ws",)))
    assert failing(found) == {
        "subprotocols: none offered": ["subprotocol_negotiation"],
        f"subprotocols: unknown {UNKNOWN_SUBPROTOCOL!r}": ["subprotocol_negotiation"],
    }
    failure = found["subprotocols: none offered"].failures[0]
    assert (
        failure.message
        == "server selected subprotocol 'graphql-ws', which the client did not offer"
    )


def test_a_server_echoing_the_offered_subprotocol_fails_the_unknown_cell(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    found = outcomes(app_loop, compiled("/ws/echoes_the_offer", subprotocols=("chat.v2",)))
    assert failing(found) == {
        f"subprotocols: unknown {UNKNOWN_SUBPROTOCOL!r}": ["subprotocol_negotiation"]
    }
    failure = found[f"subprotocols: unknown {UNKNOWN_SUBPROTOCOL!r}"].failures[0]
    assert failure.expected == "one of ['chat.v2'], no subprotocol, or a refusal"


def test_a_server_crashing_on_an_unknown_subprotocol_fails(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    route = compiled("/ws/crashes_on_unknown", subprotocols=("chat.v2", "chat.v1"))
    found = outcomes(app_loop, route)
    assert failing(found) == {f"subprotocols: unknown {UNKNOWN_SUBPROTOCOL!r}": ["no_server_error"]}
    outcome = found[f"subprotocols: unknown {UNKNOWN_SUBPROTOCOL!r}"]
    assert "KeyError" in outcome.failures[0].message
    # The none-offered cell was accepted without a subprotocol: allowed.
    none = found["subprotocols: none offered"].transcript.handshake
    assert none == Accepted(subprotocol=None)


def test_a_negotiating_server_passes_every_cell_refusing_or_not(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    found = outcomes(app_loop, compiled("/ws/negotiates", subprotocols=("chat.v1", "chat.v2")))
    assert failing(found) == {}
    unknown = found[f"subprotocols: unknown {UNKNOWN_SUBPROTOCOL!r}"].transcript.handshake
    assert isinstance(unknown, Rejected)
    assert unknown.close_code == 1000
    assert found["subprotocols: ['chat.v2', 'chat.v1']"].transcript.handshake == Accepted(
        subprotocol="chat.v2"
    )
    assert all(not o.warnings for o in found.values())  # close() before accept is a plain 403


def test_a_declared_cell_that_is_refused_still_fails(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    found = outcomes(app_loop, compiled("/ws/negotiates", subprotocols=("chat.v3",)))
    assert failing(found) == {"subprotocols: ['chat.v3']": ["handshake"]}


def test_a_server_crashing_on_path_id_zero_fails(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    found = outcomes(app_loop, compiled("/ws/divides_by_id/{id:int}", messages=(), replies=()))
    # Every probe connects with the simplest id, 0: all of them find the crash.
    assert all(checks == ["no_server_error"] for checks in failing(found).values())
    assert "ZeroDivisionError" in found["path: id=0"].failures[0].message
    assert not found["path: id=123456789012345678901234567890"].failures


def test_refusing_an_odd_path_value_is_not_a_finding(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    route = compiled("/ws/refuses_long_names/{name}", close_codes=(1000,))
    found = outcomes(app_loop, route)
    long_name = found["path: name=<1000 chars>"]
    close = long_name.transcript.server_close()
    assert close is not None
    assert close.code == 1008
    assert failing(found) == {}


def test_auth_that_only_checks_the_header_is_there_fails_the_empty_probe(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    auth = AuthSpec(header="authorization", scheme="Bearer", token=SECRET)
    found = outcomes(
        app_loop, compiled("/ws/header_present", auth=auth), credential_for(auth, None)
    )
    assert failing(found) == {
        "auth: empty credential": ["auth_enforced"],
        "auth: malformed credential": ["auth_enforced"],
    }
    failure = found["auth: empty credential"].failures[0]
    assert failure.security
    assert failure.error_type == "security"
    assert failure.message == (
        "SECURITY: authentication not enforced: the server accepted and served a client with "
        "an empty credential (header 'authorization': 'Bearer')"
    )
    assert failure.actual == 'accepted, then replied < text "hi"    [echo]'
    assert failure.index == 0
    assert failure.frame is not None
    assert failure.frame.data == "hi"
    # The refused probe is fine, but its close before accept earns the realism warning.
    assert found["auth: no credential"].warnings
    assert not found["auth: no credential"].failures


def test_auth_accepting_any_non_empty_token_fails_the_malformed_probe(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    auth = AuthSpec(query_param="token", token=SECRET)
    found = outcomes(app_loop, compiled("/ws/any_token", auth=auth), credential_for(auth, None))
    assert failing(found) == {"auth: malformed credential": ["auth_enforced"]}
    assert "'xxx.invalid'" in found["auth: malformed credential"].failures[0].message


def test_strict_auth_with_an_error_reply_then_a_reject_code_passes(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    auth = AuthSpec(query_param="token", token=SECRET, reject_close_codes=(4001,))
    route = compiled("/ws/strict_token", auth=auth, replies=(DENIED, ECHO))
    found = outcomes(app_loop, route, credential_for(auth, None))
    assert failing(found) == {}
    assert [f.name for f in found["auth: malformed credential"].transcript.received] == ["denied"]


def test_data_served_before_an_immediate_reject_close_is_a_leak(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    auth = AuthSpec(query_param="token", token=SECRET)
    route = compiled("/ws/snapshot_then_check", auth=auth)
    found = outcomes(app_loop, route, credential_for(auth, None))
    assert failing(found) == {
        "auth: no credential": ["auth_enforced"],
        "auth: empty credential": ["auth_enforced"],
        "auth: malformed credential": ["auth_enforced"],
    }


def test_an_undeclared_reply_to_a_bad_token_counts_as_served_without_replies() -> None:
    # With no replies declared nothing tells an error from service: any frame is served.
    route = compiled("/ws/x", replies=(), auth=AuthSpec(query_param="t"))
    probe = next(p for p in build_probes(route, None) if p.group == "auth")
    t = Transcript(route="/ws/x", path="/ws/x", handshake=Accepted())
    t.frames.append(Frame(direction="recv", kind="text", data="nope", index=0))
    assert [f.check for f in judge(route, probe, t).failures] == ["auth_enforced"]
    silent = Transcript(route="/ws/x", path="/ws/x", handshake=Accepted())
    assert judge(route, probe, silent).failures == []  # silence then a client close: nothing served


FIRST = Schema(
    value={"type": "object", "required": ["type"], "properties": {"type": {"const": "auth"}}}
)
HELLO = ReplySpec(name="hello", kind="json", schema=Schema(value={"required": ["hello"]}))


def test_first_message_auth_greeting_is_not_service_but_serving_a_bad_token_is(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    auth = AuthSpec(first_message=FIRST, token=SECRET)
    replies = (HELLO, DENIED, ECHO)  # the first match names a frame: the catch-all echo last
    good = outcomes(
        app_loop,
        compiled("/ws/first_message", auth=auth, replies=replies),
        credential_for(auth, None),
    )
    assert failing(good) == {}
    lax = outcomes(
        app_loop,
        compiled("/ws/first_message_lax", auth=auth, replies=replies),
        credential_for(auth, None),
    )
    assert failing(lax) == {
        "auth: no credential": ["auth_enforced"],
        "auth: empty credential": ["auth_enforced"],
        "auth: malformed credential": ["auth_enforced"],
    }
    failure = lax["auth: no credential"].failures[0]
    assert failure.index == 1  # the message after the auth message was served


def test_a_server_ignoring_origin_fails_and_one_checking_it_passes(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    evil = QUICK.merged(origin="https://evil.example")
    found = outcomes(app_loop, compiled("/ws/ignores_origin", settings=evil))
    assert failing(found) == {"origin: https://evil.example": ["origin"]}
    failure = found["origin: https://evil.example"].failures[0]
    assert failure.message.startswith("SECURITY: cross-site WebSocket hijacking")
    assert failure.security
    assert failing(outcomes(app_loop, compiled("/ws/checks_origin", settings=evil))) == {}


def test_probe_outcomes_carry_the_early_close_warning(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    found = outcomes(app_loop, compiled("/ws/early_4001", close_codes=(4001,)))
    assert failing(found) == {}
    assert all(len(o.warnings) == 1 for o in found.values())
    assert "code 4001 before accepting it" in found["subprotocols: none offered"].warnings[0]
