"""The example specs in specs/ load cleanly and their bundled schemas accept real messages."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from ws_routes.spec.loader import load_spec, validate_spec
from ws_routes.spec.model import RouteSpec, Schema, Spec

SPECS = Path(__file__).resolve().parents[2] / "specs"


def _schemas(route: RouteSpec) -> list[Schema]:
    found = [*route.path_params.values(), route.query, route.headers]
    found += [m.schema for m in route.messages] + [r.schema for r in route.replies]
    if route.auth is not None:
        found.append(route.auth.first_message)
    return [s for s in found if s is not None]


def _refs(value: Any) -> list[str]:
    if isinstance(value, dict):
        own = [value["$ref"]] if isinstance(value.get("$ref"), str) else []
        return own + [r for v in value.values() for r in _refs(v)]
    if isinstance(value, list):
        return [r for v in value for r in _refs(v)]
    return []


def _accepts(schema: Schema | None, instance: Any) -> bool:
    assert schema is not None
    return bool(Draft202012Validator(schema.value).is_valid(instance))


def test_there_are_five_examples() -> None:
    assert sorted(p.name for p in SPECS.glob("*.yaml")) == [
        "chat.yaml",
        "graphql-transport-ws.yaml",
        "graphql-ws-legacy.yaml",
        "jsonrpc.yaml",
        "telemetry.yaml",
    ]


@pytest.mark.parametrize("path", sorted(SPECS.glob("*.yaml")), ids=lambda p: p.name)
def test_example_loads_cleanly_and_is_self_contained(path: Path) -> None:
    assert validate_spec(path) == []
    spec = load_spec(path)
    assert spec.routes
    for route in spec.routes:
        for schema in _schemas(route):
            Draft202012Validator.check_schema(schema.value)
            assert all(ref.startswith("#") for ref in _refs(schema.value)), schema.location
            assert schema.location.line is not None


def _load(name: str) -> Spec:
    return load_spec(SPECS / name)


def test_chat() -> None:
    spec = _load("chat.yaml")
    room = spec.route("/ws/chat/{room}")
    assert room is not None
    assert room.subprotocols == ("chat.v2", "chat.v1")
    assert room.auth is not None
    assert room.auth.query_param == "token"
    assert _accepts(room.path_params["room"], "lobby-1")
    assert not _accepts(room.path_params["room"], "Lobby!")
    assert _accepts(room.message("join").schema, {"type": "join", "room": "a", "nick": "ann"})
    assert not _accepts(room.message("join").schema, {"type": "leave"})
    assert _accepts(room.reply("ack").schema, {"type": "ack", "id": 1})
    assert room.reply("error").error
    lobby = spec.route("/ws/lobby")
    assert lobby is not None
    assert _accepts(lobby.message("any").schema, {"type": "typing"})
    assert lobby.settings.max_messages == 5
    assert lobby.settings.check_enabled("undocumented_reply") is False


def test_telemetry() -> None:
    (route,) = _load("telemetry.yaml").routes
    assert route.path == "/ws/telemetry/{device_id:int}"
    blob = route.message("calibration")
    assert (blob.kind, blob.min_size, blob.max_size) == ("bytes", 8, 512)
    assert route.reply("sample").kind == "bytes"
    command = route.message("command").schema
    assert _accepts(command, {"cmd": "subscribe", "sensors": ["temp-01"], "rate_hz": 10})
    assert not _accepts(command, {"cmd": "subscribe", "sensors": [], "rate_hz": 10})
    assert route.auth is not None
    assert (route.auth.header, route.auth.scheme) == ("Authorization", "Bearer")
    assert route.settings.check_enabled("reply_expected") is False


def test_graphql_transport_ws() -> None:
    (route,) = _load("graphql-transport-ws.yaml").routes
    assert route.subprotocols == ("graphql-transport-ws",)
    # The protocol's codes: 4408 is the init timeout (not 4499); 4500 is a server error.
    assert route.close_codes == (1000, 1001, 4400, 4401, 4403, 4406, 4408, 4409, 4429)
    assert route.invalid.must_reject is True
    assert route.invalid.close_codes == (4400,)
    assert route.states == ("connecting", "ready")
    assert route.opening == ("connection_init",)
    assert route.message("subscribe").wrong_state is not None
    subscribe = route.message("subscribe").schema
    good = {"type": "subscribe", "id": "1", "payload": {"query": "{ hello }"}}
    assert _accepts(subscribe, good)
    assert not _accepts(subscribe, {"type": "subscribe", "id": "1"})
    assert _accepts(route.reply("connection_ack").schema, {"type": "connection_ack"})
    assert route.reply("connection_ack").goto == "ready"


def test_graphql_ws_legacy() -> None:
    (route,) = _load("graphql-ws-legacy.yaml").routes
    assert route.subprotocols == ("graphql-ws",)
    assert route.opening == ("connection_init",)
    assert route.message("stop").ends == "start"
    start = route.message("start").schema
    assert _accepts(start, {"type": "start", "id": "1", "payload": {"query": "{ hello }"}})
    assert _accepts(route.reply("ka").schema, {"type": "ka"})
    assert _accepts(route.reply("error").schema, {"type": "error", "payload": {"message": "x"}})
    assert route.reply("error").error


def test_jsonrpc() -> None:
    (route,) = _load("jsonrpc.yaml").routes
    assert route.states == ("uninitialized", "ready")
    assert route.message("notify").no_reply
    add = route.message("add").schema
    assert _accepts(add, {"jsonrpc": "2.0", "method": "add", "params": [1, 2], "id": 1})
    assert not _accepts(add, {"jsonrpc": "2.0", "method": "add", "params": [1, 2]})
