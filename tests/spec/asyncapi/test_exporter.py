"""AsyncAPI export, and the round trip: import(export(spec)) is the spec again."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from ws_routes.spec.asyncapi import export_asyncapi, import_asyncapi
from ws_routes.spec.asyncapi.emit import dump_yaml
from ws_routes.spec.loader import load_spec, load_spec_text
from ws_routes.spec.model import (
    AuthSpec,
    InvalidSpec,
    MessageSpec,
    ReplySpec,
    RouteSpec,
    Settings,
    Spec,
)

ROOT = Path(__file__).resolve().parents[3]
DATA = ROOT / "tests" / "data" / "asyncapi"
EVERY_FIELD = DATA / "every-field.ws-routes.yaml"
SPECS = [*sorted((ROOT / "specs").glob("*.yaml")), EVERY_FIELD]
DOCUMENTS = [
    DATA / "tickerx-2.6.yaml",
    DATA / "tickerx-3.0.yaml",
    DATA / "pulse-notifications-3.0.json",
    DATA / "quotes-rpc-3.0.yaml",
]


def round_trip(spec: Spec, folder: Path, suffix: str = ".yaml") -> Spec:
    document = export_asyncapi(spec, include_secrets=True)  # the token round-trips too
    path = folder / f"exported{suffix}"
    path.write_text(json.dumps(document) if suffix == ".json" else dump_yaml(document), "utf-8")
    return load_spec_text(import_asyncapi(path))


def all_refs(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "$ref" and isinstance(item, str):
                yield item
            elif key not in ("const", "enum", "default", "examples"):
                yield from all_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from all_refs(item)


def resolve(document: Any, ref: str) -> Any:
    node = document
    for token in ref.removeprefix("#/").split("/"):
        key = token.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_import_of_export_is_the_same_spec(path: Path, tmp_path: Path) -> None:
    spec = load_spec(path)
    assert round_trip(spec, tmp_path) == dataclasses.replace(spec, source=None)


def test_the_round_trip_through_json(tmp_path: Path) -> None:
    spec = load_spec(EVERY_FIELD)
    assert round_trip(spec, tmp_path, ".json") == dataclasses.replace(spec, source=None)


def unset(value: Any, default: Any) -> list[str]:
    """The compared fields of a dataclass that still have their default value."""
    return [
        f.name
        for f in dataclasses.fields(value)
        if f.compare and getattr(value, f.name) == getattr(default, f.name)
    ]


def test_the_every_field_spec_sets_every_field() -> None:
    # The round trip proves something only where a value differs from its default.
    spec = load_spec(EVERY_FIELD)
    route = spec.routes[0]
    assert unset(spec, Spec()) == ["version"]  # only 1 exists
    assert unset(spec.settings, Settings()) == ["enabled"]  # false would switch testing off
    assert unset(route, RouteSpec(path="/")) == ["declared"]
    assert unset(route.invalid, InvalidSpec()) == []
    auths = [r.auth for r in spec.routes if r.auth is not None]
    assert set.intersection(*(set(unset(a, AuthSpec())) for a in auths)) == set()
    message_default = MessageSpec(name="", kind="json")
    unset_messages = [set(unset(m, message_default)) for m in route.messages]
    assert set.intersection(*unset_messages) == set()
    reply_default = ReplySpec(name="", kind="json")
    unset_replies = [set(unset(r, reply_default)) for r in route.replies]
    assert set.intersection(*unset_replies) == set()


@pytest.mark.parametrize("path", DOCUMENTS, ids=lambda p: p.name)
def test_imported_documents_survive_export_and_import(path: Path, tmp_path: Path) -> None:
    spec = load_spec_text(import_asyncapi(path))
    assert round_trip(spec, tmp_path) == spec


def test_export_shape() -> None:
    spec = load_spec(ROOT / "specs" / "chat.yaml")
    document = export_asyncapi(spec)
    assert document["asyncapi"] == "3.0.0"
    assert document["servers"] == {
        "local": {"host": "localhost", "protocol": "ws", "description": "The app under test."}
    }
    assert [c["address"] for c in document["channels"].values()] == ["/ws/chat/{room}", "/ws/lobby"]
    chat = document["channels"]["ws.chat.room"]
    assert set(chat["parameters"]) == {"room"}
    assert chat["bindings"]["ws"]["query"]["properties"]["lang"] == {"enum": ["en", "de", "fr"]}
    assert chat["x-ws-routes-subprotocols"] == ["chat.v2", "chat.v1"]
    assert chat["x-ws-routes-close-codes"] == [1000, 1001, 4400, 4403, 4409]
    assert chat["x-ws-routes-auth"]["query_param"] == "token"
    actions = {name: op["action"] for name, op in document["operations"].items()}
    assert actions == {
        "ws.chat.room.receive.join": "receive",
        "ws.chat.room.receive.message": "receive",
        "ws.chat.room.receive": "receive",
        "ws.chat.room.send": "send",
        "ws.lobby.receive": "receive",
        "ws.lobby.receive.ping": "receive",
        "ws.lobby.send": "send",
    }
    join = document["operations"]["ws.chat.room.receive.join"]
    assert join["messages"] == [
        {"$ref": "#/channels/ws.chat.room/messages/join"},
        {"$ref": "#/channels/ws.chat.room/messages/leave"},
    ]
    assert join["reply"]["messages"] == [
        {"$ref": f"#/channels/ws.chat.room/messages/{name}"}
        for name in ("ack", "presence", "error")
    ]
    error = document["components"]["messages"]["ws.chat.room.error"]
    assert error["x-ws-routes-error"] is True
    assert error["contentType"] == "application/json"
    assert document["components"]["securitySchemes"] == {
        "ws.chat.room.auth": {"type": "httpApiKey", "in": "query", "name": "token"}
    }


@pytest.mark.parametrize("path", SPECS, ids=lambda p: p.name)
def test_every_ref_of_an_export_resolves_inside_the_document(path: Path) -> None:
    document = export_asyncapi(load_spec(path))
    found = list(all_refs(document))
    assert found
    for ref in found:
        assert ref.startswith("#/"), ref
        resolve(document, ref)  # raises KeyError when it points nowhere


def test_what_asyncapi_cannot_spell_travels_in_extensions() -> None:
    document = export_asyncapi(load_spec(EVERY_FIELD))
    channel = document["channels"]["ws.items.item_id.slug"]
    assert channel["address"] == "/ws/items/{item_id}/{slug}"
    assert channel["x-ws-routes-path"] == "/ws/items/{item_id:int}/{slug}"
    assert channel["x-ws-routes-invalid"] == {
        "enabled": False,
        "close_codes": [1003, 4400],
        "must_reject": True,
    }
    assert channel["x-ws-routes-checks"] == {"undocumented_reply": False, "origin": True}
    assert channel["x-ws-routes-settings"]["origin"] is None
    # a reply named like a message gets its own key; its name stays
    assert channel["messages"]["ping.reply"] == {
        "$ref": "#/components/messages/ws.items.item_id.slug.ping.reply"
    }
    ping_reply = document["components"]["messages"]["ws.items.item_id.slug.ping.reply"]
    assert ping_reply["name"] == "ping"
    assert ping_reply["payload"] == {}  # `schema: true`, as an object schema
    assert ping_reply["x-ws-routes-schema"] is True
    thumbnail = document["components"]["messages"]["ws.items.item_id.slug.thumbnail"]
    assert thumbnail["payload"] == {
        "type": "string",
        "format": "binary",
        "minLength": 16,
        "maxLength": 1024,
    }
    chatter = document["components"]["messages"]["ws.items.item_id.slug.chatter"]
    assert (chatter["x-ws-routes-min-size"], chatter["x-ws-routes-max-size"]) == (1, 40)
    assert document["x-ws-routes-settings"]["checks"] == {"origin": False, "reply_expected": False}
    assert document["x-ws-routes-app"] == "shop_app:app"


def test_exported_schemas_point_into_their_place_in_the_document() -> None:
    document = export_asyncapi(load_spec(EVERY_FIELD))
    query = document["channels"]["ws.items.item_id.slug"]["bindings"]["ws"]["query"]
    assert query["properties"]["currency"]["$ref"] == (
        "#/channels/ws.items.item_id.slug/bindings/ws/query/$defs/currency"
    )
    login = document["channels"]["ws.login"]["x-ws-routes-auth"]["first_message"]
    assert login["properties"]["token"]["$ref"] == (
        "#/channels/ws.login/x-ws-routes-auth/first_message/$defs/token"
    )


def test_the_spec_token_is_left_out_unless_asked() -> None:
    spec = load_spec(EVERY_FIELD)
    tokens = [r.auth.token for r in spec.routes if r.auth is not None and r.auth.token]
    assert tokens
    published = json.dumps(export_asyncapi(spec))
    assert not any(token in published for token in tokens)
    assert all(token in json.dumps(export_asyncapi(spec, include_secrets=True)) for token in tokens)
