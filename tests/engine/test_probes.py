"""Probes: which fixed connections a route gets (handshake cells, path values, auth, origin)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.probe_routes import QUICK, SECRET, compiled, names
from ws_routes.compile.credentials import Credential, credential_for
from ws_routes.engine.conversation import Step
from ws_routes.engine.probes import MALFORMED_TOKEN, UNKNOWN_SUBPROTOCOL, build_probes, simplest
from ws_routes.spec.model import AuthSpec, Schema


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
