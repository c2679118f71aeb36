"""Probes: which fixed connections a route gets, and how each is judged against small apps."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ws_routes.compile.credentials import Credential, credential_for
from ws_routes.compile.route import CompiledRoute, compile_route
from ws_routes.driver.asgi import AsgiTransport
from ws_routes.driver.loop import LoopThread
from ws_routes.driver.transcript import Transcript
from ws_routes.driver.transport import Accepted, Rejected
from ws_routes.engine.conversation import Step
from ws_routes.engine.probes import (
    MALFORMED_TOKEN,
    UNKNOWN_SUBPROTOCOL,
    Probe,
    ProbeOutcome,
    build_probes,
    early_close_warning,
    run_probe,
    simplest,
)
from ws_routes.spec.model import (
    AuthSpec,
    InvalidSpec,
    MessageSpec,
    ReplySpec,
    RouteSpec,
    Schema,
    Settings,
)

QUICK = Settings(connection_timeout=1.0, message_timeout=0.3)
SAY = MessageSpec(name="say", kind="text", schema=Schema(value={"const": "hi"}), reply=("echo",))
ECHO = ReplySpec(name="echo", kind="text")
DENIED = ReplySpec(
    name="denied", kind="json", schema=Schema(value={"required": ["error"]}), error=True
)
SECRET = "s3cret"


def compiled(path: str = "/ws/echo", **fields: Any) -> CompiledRoute:
    """A route without negative probes (their own tests say invalid=...), so lists stay short."""
    defaults = {"messages": (SAY,), "replies": (ECHO,), "settings": QUICK}
    defaults["invalid"] = InvalidSpec(enabled=False)
    return compile_route(RouteSpec(**{"path": path, **defaults, **fields}))


def names(probes: list[Probe]) -> list[str]:
    return [p.name for p in probes]


# -- build_probes ----------------------------------------------------------------------------------


def test_simplest_is_the_shrunk_value_and_deterministic() -> None:
    from hypothesis import strategies as st

    strategy = st.fixed_dictionaries({"n": st.integers(5, 100), "s": st.text(min_size=2)})
    assert simplest(strategy) == {"n": 5, "s": "00"}
    assert simplest(strategy) == simplest(strategy)


def test_route_without_subprotocols_gets_the_none_and_unknown_cells() -> None:
    probes = build_probes(compiled(), None)
    assert names(probes) == [
        "subprotocols: none offered",
        f"subprotocols: unknown {UNKNOWN_SUBPROTOCOL!r}",
    ]
    assert [p.conversation.subprotocols for p in probes] == [(), (UNKNOWN_SUBPROTOCOL,)]
    assert [p.expect for p in probes] == ["may_refuse", "may_refuse"]
    assert [p.baseline for p in probes] == [True, False]  # none offered: as conversations connect
    for probe in probes:
        assert probe.group == "handshake"
        # One valid message: the first declared message's simplest value, then a normal close.
        assert probe.conversation.steps == (Step("say", "text", "hi"),)
        assert probe.conversation.close_code == 1000


def test_declared_subprotocols_alone_in_order_and_reversed() -> None:
    probes = build_probes(compiled(subprotocols=("b", "a")), None)
    # The baseline first: the cell offering what conversations offer.
    assert names(probes) == [
        "subprotocols: ['b', 'a']",
        "subprotocols: none offered",
        "subprotocols: ['b']",
        "subprotocols: ['a']",
        "subprotocols: ['a', 'b']",
        f"subprotocols: unknown {UNKNOWN_SUBPROTOCOL!r}",
    ]
    assert [p.baseline for p in probes] == [True, False, False, False, False, False]
    offered = {p.name: (p.conversation.subprotocols, p.expect) for p in probes}
    assert offered["subprotocols: ['a', 'b']"] == (("a", "b"), "accept")
    assert offered["subprotocols: ['b']"] == (("b",), "accept")


def test_one_declared_subprotocol_is_not_offered_twice() -> None:
    probes = build_probes(compiled(subprotocols=("graphql-ws",)), None)
    assert names(probes) == [
        "subprotocols: ['graphql-ws']",
        "subprotocols: none offered",
        f"subprotocols: unknown {UNKNOWN_SUBPROTOCOL!r}",
    ]


def test_handshake_matrix_follows_its_checks() -> None:
    off = QUICK.merged(checks={"subprotocol_negotiation": False, "handshake": False})
    assert build_probes(compiled(subprotocols=("a",), settings=off), None) == []
    one_on = QUICK.merged(checks={"handshake": False})
    assert len(build_probes(compiled(subprotocols=("a",), settings=one_on), None)) == 3


def test_a_route_without_messages_probes_the_handshake_only() -> None:
    probes = build_probes(compiled(messages=(), replies=()), None)
    assert [p.conversation.steps for p in probes] == [(), ()]


@pytest.mark.parametrize(
    ("template", "paths"),
    [
        ("/ws/{id:int}", ["/ws/0", "/ws/123456789012345678901234567890"]),
        ("/ws/{x:float}", ["/ws/0", "/ws/123456789012345678901234567890.5"]),
        (
            "/ws/{room}",
            ["/ws/" + "a" * 1000, "/ws/%C3%BCn%C3%AF-%C3%A7%F0%9F%98%80"],
        ),
        ("/ws/{rest:path}", ["/ws/a/b/c"]),
        ("/ws/{key:uuid}", ["/ws/00000000-0000-0000-0000-000000000000"]),
        ("/ws/{day:date}", []),  # no boundary known for this converter
    ],
)
def test_boundary_path_values_per_converter(template: str, paths: list[str]) -> None:
    probes = [p for p in build_probes(compiled(template), None) if p.name.startswith("path:")]
    assert [p.conversation.path for p in probes] == paths
    assert all(p.group == "handshake" and p.expect == "survive" for p in probes)


def test_path_probe_names_are_short_and_other_params_keep_their_simplest_value() -> None:
    probes = build_probes(compiled("/ws/{room}/{id:int}"), None)
    path_probes = {p.name: p.conversation.path for p in probes if p.name.startswith("path:")}
    room = simplest(compiled("/ws/{room}/{id:int}").path_params)["room"]
    assert path_probes == {
        "path: room=<1000 chars>": f"/ws/{'a' * 1000}/0",
        "path: room=ünï-ç😀": "/ws/%C3%BCn%C3%AF-%C3%A7%F0%9F%98%80/0",
        "path: id=0": f"/ws/{room}/0",
        "path: id=123456789012345678901234567890": f"/ws/{room}/123456789012345678901234567890",
    }


def test_params_with_a_schema_are_not_probed() -> None:
    route = compiled(
        "/ws/{room}/{id:int}", path_params={"room": Schema(value={"enum": ["lobby", "main"]})}
    )
    paths = [p.conversation.path for p in build_probes(route, None) if p.name.startswith("path:")]
    assert paths == ["/ws/lobby/0", "/ws/lobby/123456789012345678901234567890"]


def test_handshake_probes_carry_the_valid_credential() -> None:
    auth = AuthSpec(query_param="token", token=SECRET)
    route = compiled(auth=auth)
    credential = credential_for(auth, None)
    for probe in build_probes(route, credential):
        if probe.group == "handshake":
            assert probe.conversation.query == (("token", SECRET),)
        else:
            assert ("token", SECRET) not in probe.conversation.query


def _auth_conversations(auth: AuthSpec, **fields: Any) -> dict[str, Any]:
    route = compiled(auth=auth, **fields)
    probes = [p for p in build_probes(route, credential_for(auth, None)) if p.group == "auth"]
    assert all(p.expect == "refuse" for p in probes)
    return {p.name: p.conversation for p in probes}


def test_auth_probes_in_the_query() -> None:
    found = _auth_conversations(AuthSpec(query_param="token", token=SECRET))
    assert {name: c.query for name, c in found.items()} == {
        "auth: no credential": (),
        "auth: empty credential": (("token", ""),),
        "auth: malformed credential": (("token", MALFORMED_TOKEN),),
    }
    assert all(c.steps == (Step("say", "text", "hi"),) for c in found.values())


def test_auth_probes_in_a_bearer_header_and_a_plain_one() -> None:
    bearer = _auth_conversations(AuthSpec(header="Authorization", scheme="Bearer", token=SECRET))
    assert {name: c.headers for name, c in bearer.items()} == {
        "auth: no credential": (),
        "auth: empty credential": (("authorization", "Bearer"),),
        "auth: malformed credential": (("authorization", f"Bearer {MALFORMED_TOKEN}"),),
    }
    plain = _auth_conversations(AuthSpec(header="X-Token"))
    assert plain["auth: empty credential"].headers == (("x-token", ""),)


def test_auth_probes_in_a_cookie_replace_the_routes_own_cookie_header() -> None:
    headers = Schema(
        value={
            "type": "object",
            "required": ["cookie", "x-trace"],
            "properties": {"cookie": {"const": "session=valid"}, "x-trace": {"const": "1"}},
        }
    )
    found = _auth_conversations(AuthSpec(cookie="session", token=SECRET), headers=headers)
    assert {name: c.headers for name, c in found.items()} == {
        "auth: no credential": (("x-trace", "1"),),
        "auth: empty credential": (("x-trace", "1"), ("cookie", "session=")),
        "auth: malformed credential": (("x-trace", "1"), ("cookie", f"session={MALFORMED_TOKEN}")),
    }


def test_auth_probes_in_the_first_message() -> None:
    schema = Schema(
        value={"type": "object", "required": ["type"], "properties": {"type": {"const": "auth"}}}
    )
    found = _auth_conversations(AuthSpec(first_message=schema, token=SECRET))
    say = Step("say", "text", "hi")
    assert {name: c.steps for name, c in found.items()} == {
        "auth: no credential": (Step("auth", "json", {"type": "auth"}), say),
        "auth: empty credential": (Step("auth", "json", {"type": "auth", "token": ""}), say),
        "auth: malformed credential": (
            Step("auth", "json", {"type": "auth", "token": MALFORMED_TOKEN}),
            say,
        ),
    }


def test_auth_place_comes_from_routes_auth_when_the_spec_does_not_say() -> None:
    option = Credential("header", "authorization", f"Bearer {SECRET}", SECRET)
    route = compiled(auth=AuthSpec())
    probes = [p for p in build_probes(route, option) if p.group == "auth"]
    assert [p.conversation.headers for p in probes] == [
        (),
        (("authorization", "Bearer"),),
        (("authorization", f"Bearer {MALFORMED_TOKEN}"),),
    ]
    # Without a place and without --routes-auth only "no credential" can be built.
    assert names([p for p in build_probes(route, None) if p.group == "auth"]) == [
        "auth: no credential"
    ]


def test_no_auth_probes_when_auth_is_optional_or_the_check_is_off() -> None:
    optional = compiled(auth=AuthSpec(query_param="t", required=False))
    assert not [p for p in build_probes(optional, None) if p.group == "auth"]
    off = compiled(
        auth=AuthSpec(query_param="t"), settings=QUICK.merged(checks={"auth_enforced": False})
    )
    assert not [p for p in build_probes(off, None) if p.group == "auth"]


def test_origin_probe_only_when_an_origin_is_set_and_checked() -> None:
    assert not [p for p in build_probes(compiled(), None) if p.group == "origin"]
    evil = QUICK.merged(origin="https://evil.example")
    auth = AuthSpec(header="x-token", token=SECRET)
    probes = [
        p
        for p in build_probes(compiled(settings=evil, auth=auth), credential_for(auth, None))
        if p.group == "origin"
    ]
    assert names(probes) == ["origin: https://evil.example"]
    # A valid credential: the only thing wrong with the connection is where it comes from.
    assert probes[0].conversation.headers == (
        ("x-token", SECRET),
        ("origin", "https://evil.example"),
    )
    unchecked = evil.merged(checks={"origin": False})
    assert not [p for p in build_probes(compiled(settings=unchecked), None) if p.group == "origin"]


# -- the server-realism lint -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("handshake", "warns"),
    [
        (Rejected(close_code=4001), True),
        (Rejected(close_code=1008), True),
        (Rejected(close_code=1000), False),  # ASGI's default code: a plain refusal
        (Rejected(status=403), False),
        (Accepted(), False),
        (None, False),
    ],
)
def test_early_close_warning(handshake: Any, warns: bool) -> None:
    t = Transcript(route="/ws/x", path="/ws/x", handshake=handshake)
    warning = early_close_warning("/ws/x", t)
    assert (warning is not None) == warns
    if warning:
        assert warning.startswith("/ws/x: the app closes the connection with code")
        assert "HTTP 403" in warning
        assert "accept() first, then close(code=" in warning


# -- run_probe against small apps ------------------------------------------------------------------


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
    from ws_routes.driver.transcript import Frame
    from ws_routes.engine.probes import judge

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


# -- negative probes -------------------------------------------------------------------------------


def test_negative_probes_send_each_family_once_per_message_after_the_credential() -> None:
    number = MessageSpec(
        name="set",
        kind="json",
        schema=Schema(
            value={
                "type": "object",
                "properties": {"n": {"type": "integer", "maximum": 9}},
                "required": ["n"],
                "additionalProperties": False,
            }
        ),
    )
    route = compiled(messages=(number,), invalid=InvalidSpec())
    credential = Credential("query", "token", "s3cret", "s3cret")
    negative = [p for p in build_probes(route, credential) if p.group == "negative"]
    labels = [p.name.removeprefix("negative: set: ") for p in negative]
    for expected in (
        "bytes frame to a json message",
        "missing required field /n",
        "extra field /x-unknown",
        "out of bounds at /n: 10 (maximum 9)",
        "empty text frame",
    ):
        assert expected in labels
    assert any(label.startswith("wrong type at /n") for label in labels)
    assert any(label.startswith("text that is not JSON") for label in labels)
    for probe in negative:
        (step,) = probe.conversation.steps
        assert step.mutation is not None
        assert probe.conversation.query == (("token", "s3cret"),)


def test_with_several_message_types_the_sweep_runs_again_after_the_first_declared_one() -> None:
    join = MessageSpec(name="join", kind="json", schema=Schema(value={"const": {"room": "a"}}))
    route = compiled(messages=(join, SAY), invalid=InvalidSpec())
    negative = [p for p in build_probes(route, None) if p.group == "negative"]
    fresh = [p for p in negative if not p.name.startswith("negative after join: ")]
    after = [p for p in negative if p.name.startswith("negative after join: ")]
    assert [p.name.removeprefix("negative: ") for p in fresh] == [
        p.name.removeprefix("negative after join: ") for p in after
    ]
    assert any(p.name.startswith("negative after join: say: ") for p in after)
    for probe in after:
        opening, mutant = probe.conversation.steps
        assert (opening.message, opening.payload, opening.mutation) == ("join", {"room": "a"}, None)
        assert mutant.mutation is not None
    # One message type: no opening to put first.
    single = compiled(invalid=InvalidSpec())
    assert not [p for p in build_probes(single, None) if " after " in p.name]


@pytest.mark.parametrize("limit", [0, 1, 2])
def test_no_probe_sends_more_messages_than_max_messages(limit: int) -> None:
    join = MessageSpec(name="join", kind="json", schema=Schema(value={"const": {"room": "a"}}))
    settings = Settings(connection_timeout=1.0, message_timeout=0.3, max_messages=limit)
    route = compiled(messages=(join, SAY), invalid=InvalidSpec(), settings=settings)
    probes = build_probes(route, None)
    groups = {p.group for p in probes}
    assert groups == ({"handshake", "negative"} if limit else {"handshake"})
    assert max(len(p.conversation.steps) for p in probes) == limit
    after = [p for p in probes if p.name.startswith("negative after join: ")]
    assert bool(after) == (limit >= 2)


def test_optional_fields_get_their_mutants_too() -> None:
    watch = MessageSpec(
        name="watch",
        kind="json",
        schema=Schema(
            value={
                "type": "object",
                "properties": {"symbol": {"type": "string"}, "window": {"type": "integer", "minimum": 1}},
                "required": ["symbol"],
            }
        ),
    )
    route = compiled(messages=(watch,), invalid=InvalidSpec())
    labels = [p.name for p in build_probes(route, None) if p.group == "negative"]
    # The simplest watch has no window; the sweep also starts from one that has every field.
    assert "negative: watch: out of bounds at /window: 0 (minimum 1)" in labels
    assert len(labels) == len(set(labels))


def test_no_negative_probes_when_invalid_testing_is_off() -> None:
    route = compiled(invalid=InvalidSpec(enabled=False))
    assert not [p for p in build_probes(route, None) if p.group == "negative"]
    off = compiled(invalid=InvalidSpec(), settings=Settings(checks={"invalid_input": False}))
    assert not [p for p in build_probes(off, None) if p.group == "negative"]
