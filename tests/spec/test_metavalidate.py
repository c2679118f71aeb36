"""metavalidate: the shipped format schema, and jsonschema errors turned into sentences."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from ws_routes.errors import Location
from ws_routes.spec import metavalidate
from ws_routes.spec.metavalidate import Problem, check_user_schema, meta_schema, meta_validate
from ws_routes.spec.model import CHECK_NAMES, Settings

ROOT = Path(__file__).resolve().parents[2]
ROUTE_SETTINGS = [
    "max_messages",
    "connection_timeout",
    "message_timeout",
    "max_message_size",
    "test_close_codes",
    "validate_subprotocols",
    "max_examples",
    "origin",
]


def _locate(pointer: str, at: str) -> Location:
    return Location(file="s.yaml", pointer=pointer)


def _messages(data: Any, definition: str | None = None) -> list[str]:
    return sorted(str(e) for e in meta_validate(data, _locate, definition=definition))


def test_the_shipped_schema_and_its_public_copy_are_identical() -> None:
    shipped = (ROOT / "ws_routes" / "data" / "ws-routes.schema.json").read_bytes()
    assert (ROOT / "schemas" / "ws-routes.schema.json").read_bytes() == shipped
    assert meta_schema() == json.loads(shipped)


def test_the_shipped_schema_is_a_valid_draft_2020_12_schema() -> None:
    Draft202012Validator.check_schema(meta_schema())


def test_the_schema_knows_every_check_and_setting() -> None:
    defs = meta_schema()["$defs"]
    assert list(defs["checks"]["properties"]) == list(CHECK_NAMES)
    setting_fields = [f.name for f in dataclasses.fields(Settings)]
    assert list(defs["settings"]["properties"]) == setting_fields
    assert list(defs["routeSettings"]["properties"]) == ROUTE_SETTINGS


def test_meta_schema_returns_a_copy() -> None:
    meta_schema()["title"] = "changed"
    assert meta_schema()["title"] == "ws-routes spec"


def test_a_valid_document_has_no_errors() -> None:
    data = {
        "version": 1,
        "settings": {"max_messages": 3, "checks": {"origin": False}, "origin": None},
        "routes": {"/ws": {"messages": {"a": {"kind": "text"}}}},
    }
    assert meta_validate(data, _locate) == []


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (
            {"settings": {"max_message": 3}},
            "s.yaml: settings: unknown key 'max_message' (did you mean 'max_messages'?)",
        ),
        ({"setings": {}}, "s.yaml: (top level): unknown key 'setings' (did you mean 'settings'?)"),
        (
            {"settings": {"checks": {"reply_schma": True}}},
            "s.yaml: settings.checks: unknown key 'reply_schma' (did you mean 'reply_schema'?)",
        ),
        (
            {"routes": {"/ws": {"messages": {"m": {"kind": "jsn"}}}}},
            "s.yaml: routes./ws.messages.m.kind: 'jsn' is not one of 'json', 'text', 'bytes' "
            "(did you mean 'json'?)",
        ),
        (
            {"settings": {"max_messages": "ten"}},
            "s.yaml: settings.max_messages: expected an integer, got 'ten'",
        ),
        (
            {"settings": {"validate_subprotocols": "yes"}},
            "s.yaml: settings.validate_subprotocols: expected true or false, got 'yes'",
        ),
        ({"routes": []}, "s.yaml: routes: expected a mapping, got []"),
        (
            {"settings": {"include": "/ws/*"}},
            "s.yaml: settings.include: expected a list, got '/ws/*'",
        ),
        (
            {"settings": {"origin": 3}},
            "s.yaml: settings.origin: expected a string or null, got 3",
        ),
        (
            {"settings": {"connection_timeout": 0}},
            "s.yaml: settings.connection_timeout: expected a number of seconds greater than 0 and at most 86400 (one day), got 0",
        ),
        (
            {"settings": {"max_examples": 0}},
            "s.yaml: settings.max_examples: expected an integer >= 1, got 0",
        ),
        (
            {"settings": {"test_close_codes": [999]}},
            "s.yaml: settings.test_close_codes.0: expected a close code "
            "(an integer from 1000 to 4999), got 999",
        ),
        (
            {"settings": {"test_close_codes": [1000, 1000]}},
            "s.yaml: settings.test_close_codes.1: duplicate item 1000 (list each value once)",
        ),
        (
            {"routes": {"/ws": {"messages": {"m": {}}}}},
            "s.yaml: routes./ws.messages.m: missing required key 'kind'",
        ),
        (
            {"routes": {"/ws": {"messages": {"m": {"kind": "json", "strategy": "mod.func"}}}}},
            "s.yaml: routes./ws.messages.m.strategy: expected an import path "
            "'module:attribute', got 'mod.func'",
        ),
        (
            {"routes": {"/ws": {"query": "lang"}}},
            "s.yaml: routes./ws.query: expected a JSON Schema (a mapping, or true/false), "
            "got 'lang'",
        ),
        (
            {"routes": {"/ws": {"auth": {"header": ""}}}},
            "s.yaml: routes./ws.auth.header: expected a non-empty string, got ''",
        ),
        (
            {"routes": {"/ws": {"settings": {"include": ["/x"]}}}},
            "s.yaml: routes./ws.settings: unknown key 'include'",
        ),
    ],
)
def test_errors_read_like_sentences(data: Any, expected: str) -> None:
    assert _messages(data) == [expected]


def test_long_values_are_shortened() -> None:
    (message,) = _messages({"settings": {"max_messages": "x" * 100}})
    assert message.endswith("got '" + "x" * 56 + "...")


def test_unknown_keys_point_at_the_key_itself() -> None:
    seen: list[tuple[str, str]] = []

    def locate(pointer: str, at: str) -> Location:
        seen.append((pointer, at))
        return Location(pointer=pointer)

    meta_validate({"settings": {"max_message": 1}}, locate)
    assert seen == [("/settings", "/settings/max_message")]


def test_every_error_is_reported() -> None:
    data = {"version": "1", "settings": {"max_messages": 0, "enabled": 1}, "bogus": 1}
    assert _messages(data) == [
        "s.yaml: (top level): unknown key 'bogus'",
        "s.yaml: settings.enabled: expected true or false, got 1",
        "s.yaml: settings.max_messages: expected an integer >= 1, got 0",
        "s.yaml: version: expected an integer, got '1'",
    ]


def test_a_part_of_the_format_can_be_validated_alone() -> None:
    assert _messages({"max_messages": 5, "enabled": True}, "#/$defs/settings") == []
    assert _messages({"max_mesages": 5}, "#/$defs/settings") == [
        "s.yaml: (top level): unknown key 'max_mesages' (did you mean 'max_messages'?)"
    ]


def test_slow_path_alone_gives_the_same_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    fast = _messages({"settings": {"max_message": 3}}), check_user_schema({"type": "strin"})
    monkeypatch.setattr(metavalidate, "jsonschema_rs", None)
    metavalidate._fast_meta_validator.cache_clear()
    try:
        assert _messages({"settings": {"max_messages": 3}}) == []
        assert check_user_schema({"type": "string"}) == []
        slow = _messages({"settings": {"max_message": 3}}), check_user_schema({"type": "strin"})
    finally:
        metavalidate._fast_meta_validator.cache_clear()
    assert slow == fast


@pytest.mark.parametrize(
    "schema",
    [
        True,
        {},
        {"type": ["string", "null"], "pattern": "^a"},
        {"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}]},
        {"$defs": {"a": {"type": "integer"}}, "$ref": "#/$defs/a"},
    ],
)
def test_valid_user_schemas(schema: Any) -> None:
    assert check_user_schema(schema) == []


@pytest.mark.parametrize(
    ("schema", "expected"),
    [
        (
            {"type": "strin"},
            Problem(
                pointer="/type",
                message="'strin' is not a JSON type (one of array, boolean, integer, null, "
                "number, object, string)",
                hint="did you mean 'string'?",
            ),
        ),
        (
            {"properties": {"a": {"type": ["string", "nul"]}}},
            Problem(
                pointer="/properties/a/type/1",
                message="'nul' is not a JSON type (one of array, boolean, integer, null, "
                "number, object, string)",
                hint="did you mean 'null'?",
            ),
        ),
        (
            {"items": {"type": 3}},
            Problem(
                pointer="/items/type", message="expected a JSON type name or a list of them, got 3"
            ),
        ),
        ({"minimum": "3"}, Problem(pointer="/minimum", message="expected a number, got '3'")),
        ({"required": "a"}, Problem(pointer="/required", message="expected a list, got 'a'")),
        ({"pattern": "[a-"}, Problem(pointer="/pattern", message="'[a-' is not a 'regex'")),
        ("string", Problem(pointer="", message="expected a JSON Schema, got 'string'")),
        (
            {"$schema": "https://json-schema.org/draft/2020-12/schem"},
            Problem(
                pointer="/$schema",
                message="unknown JSON Schema dialect 'https://json-schema.org/draft/2020-12/schem'",
                hint="did you mean 'https://json-schema.org/draft/2020-12/schema'?",
            ),
        ),
        (
            {"$schema": 7},
            Problem(pointer="/$schema", message="expected a string, got 7"),
        ),
    ],
)
def test_invalid_user_schemas(schema: Any, expected: Problem) -> None:
    assert check_user_schema(schema) == [expected]
