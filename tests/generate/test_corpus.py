"""The message schema corpus in schemas/: every value is valid, and the edges are reached.

Each check draws a fixed number of values with a derandomized run, so these tests are
deterministic: "within N draws" means these N draws, on every machine.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs
import pytest

from tests.schema_strategies import examples, reaches, validator
from ws_routes.generate import from_schema
from ws_routes.generate.formats import format_ok
from ws_routes.generate.values import json_size

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
CORPUS = (
    "chat-client.json",
    "chat-server.json",
    "graphql-transport-ws-client.json",
    "graphql-transport-ws-server.json",
    "jsonrpc-request.json",
    "jsonrpc-response.json",
    "order.json",
    "telemetry-command.json",
)
DRAWS = 80


@cache
def load(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return schema


@cache
def drawn(name: str, max_size: int | None = None, count: int = DRAWS) -> list[Any]:
    return examples(from_schema(load(name), max_size=max_size), count)


def test_corpus_schemas_are_valid_json_schemas() -> None:
    for name in CORPUS:
        schema = load(name)
        assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
        jsonschema_rs.meta.validate(schema)


@pytest.mark.parametrize("max_size", [None, 2048])
@pytest.mark.parametrize("name", CORPUS)
def test_every_corpus_value_is_valid(name: str, max_size: int | None) -> None:
    schema = load(name)
    errors = validator(schema)
    # A second, independent validator with ECMA regexes and strict formats.
    rust = jsonschema_rs.validator_for(schema, validate_formats=True)
    count = {
        "order.json": 15,
        "telemetry-command.json": 40,
        "graphql-transport-ws-server.json": 50,
    }.get(name, DRAWS)
    for value in drawn(name, max_size, count):
        assert errors(value) == [], value
        assert rust.is_valid(value), value
        if max_size is not None:
            assert json_size(value) <= max_size


@cache
def strategy(name: str, definition: str | None = None) -> Any:
    """The compiled schema, or one of its ``$defs`` (to look at one branch at a time)."""
    schema = load(name)
    if definition is not None:
        schema = {"$defs": schema["$defs"], "$ref": f"#/$defs/{definition}"}
    return from_schema(schema)


def reached(
    name: str, condition: Callable[[Any], bool], within: int = 500, definition: str | None = None
) -> bool:
    """Whether ``condition`` holds for a value among the first ``within`` (derandomized).

    Hypothesis's engine favours ``oneOf`` branches with more structure (it mutates the values it
    has seen), so edges inside one branch are checked on that branch's definition.
    """
    return reaches(strategy(name, definition), condition, within)


def _message(kind: str, test: Callable[[dict[str, Any]], bool]) -> Callable[[Any], bool]:
    return lambda v: v["type"] == kind and test(v)


@pytest.mark.parametrize("kind", ["join", "message", "typing", "leave"])
def test_chat_client_reaches_every_branch(kind: str) -> None:
    assert reached("chat-client.json", lambda v: v["type"] == kind, 500)


@pytest.mark.parametrize(
    "condition",
    [
        _message("message", lambda v: len(v["text"]) == 1),  # minLength exactly
        _message("message", lambda v: len(v["text"]) == 500),  # maxLength exactly
        _message("message", lambda v: "\x00" in v["text"]),
        _message("message", lambda v: any(ord(c) > 0xFFFF for c in v["text"])),  # beyond the BMP
        _message("message", lambda v: any("\u0590" <= c <= "\u06ff" for c in v["text"])),  # RTL
        _message("message", lambda v: v.get("reply_to") == 1),  # minimum
        _message("message", lambda v: v.get("reply_to", 0) > 2**64),  # no maximum: past 64 bits
        _message("join", lambda v: len(v["nick"]) == 2),
        _message("join", lambda v: len(v["nick"]) == 24),
        _message("join", lambda v: len(v["room"]) == 64),
    ],
    ids=["text-1", "text-500", "nul", "astral", "rtl", "reply-min", "reply-huge", "nick-2",
         "nick-24", "room-64"],
)  # fmt: skip
def test_chat_client_reaches_edges(condition: Callable[[Any], bool]) -> None:
    kinds = ("message", "join")
    assert any(reached("chat-client.json", condition, definition=kind) for kind in kinds)


@pytest.mark.parametrize("status", ["online", "away", "busy", "offline"])
def test_chat_server_reaches_every_enum_value(status: str) -> None:
    condition = _message("presence", lambda v: v["status"] == status)
    assert reached("chat-server.json", condition, definition="presence")


@pytest.mark.parametrize("code", [1000, 4999])
def test_chat_server_reaches_both_code_bounds(code: int) -> None:
    assert reached("chat-server.json", lambda v: v["code"] == code, definition="error")


def test_chat_server_timestamps_are_rfc3339() -> None:
    for value in examples(strategy("chat-server.json", "message"), 100):
        assert format_ok("date-time", value["ts"])


@pytest.mark.parametrize(
    "condition",
    [
        _message("connection_init", lambda v: "payload" not in v),
        _message("connection_init", lambda v: v.get("payload", 0) is None),
        _message("connection_init", lambda v: v.get("payload") == {}),  # empty object
        _message("subscribe", lambda v: set(v["payload"]) == {"query"}),
        _message("subscribe", lambda v: len(v["payload"]) == 4),  # every optional field
        _message("ping", lambda v: True),
        _message("pong", lambda v: True),
        _message("complete", lambda v: len(v["id"]) == 64),
    ],
    ids=["no-payload", "null-payload", "empty-payload", "minimal-subscribe", "full-subscribe",
         "ping", "pong", "id-64"],
)  # fmt: skip
def test_graphql_client_reaches_edges(condition: Callable[[Any], bool]) -> None:
    name = "graphql-transport-ws-client.json"
    kinds = ("connection_init", "subscribe", "complete")
    assert reached(name, condition) or any(
        reached(name, condition, definition=kind) for kind in kinds
    )


@pytest.mark.parametrize("kind", ["connection_ack", "ping", "pong", "next", "error", "complete"])
def test_graphql_server_reaches_every_branch(kind: str) -> None:
    assert reached("graphql-transport-ws-server.json", lambda v: v["type"] == kind, 500)


@pytest.mark.parametrize(
    "condition",
    [
        lambda v: "id" in v,
        lambda v: "id" not in v,
        lambda v: v.get("params") == [],
        lambda v: v.get("params") == {},
        lambda v: isinstance(v.get("id"), str),
        lambda v: isinstance(v.get("id"), int),
        lambda v: "id" in v and v["id"] is None,
    ],
    ids=["request", "notification", "empty-array", "empty-object", "str-id", "int-id", "null-id"],
)
def test_jsonrpc_request_reaches_both_branches_and_params(condition: Callable[[Any], bool]) -> None:
    assert reached("jsonrpc-request.json", condition)


@pytest.mark.parametrize("member", ["result", "error"])
def test_jsonrpc_response_reaches_both_branches(member: str) -> None:
    assert reached("jsonrpc-response.json", lambda v: member in v, 500)


@pytest.mark.parametrize(
    ("definition", "condition"),
    [
        ("subscribe", lambda v: v["rate_hz"] == 1),
        ("subscribe", lambda v: v["rate_hz"] == 1000),
        ("subscribe", lambda v: len(v["sensors"]) == 1),
        ("subscribe", lambda v: len(v["sensors"]) == 64),  # maxItems, all unique
        ("subscribe", lambda v: v.get("encoding") == "cbor"),
        ("unsubscribe", lambda v: "sensors" not in v),
        ("set_filter", lambda v: v["filter"]["kind"] == "none"),
        ("set_filter", lambda v: v["filter"].get("cutoff_hz") == 500),
        ("set_filter", lambda v: 0 < v["filter"].get("cutoff_hz", 1) < 1e-300),
    ],
    ids=["rate-1", "rate-1000", "one-sensor", "64-sensors", "cbor", "unsubscribe-all",
         "filter-none", "cutoff-max", "cutoff-just-above-0"],
)  # fmt: skip
def test_telemetry_reaches_edges(definition: str, condition: Callable[[Any], bool]) -> None:
    assert reached("telemetry-command.json", condition, definition=definition)


@pytest.mark.parametrize("cmd", ["subscribe", "unsubscribe", "set_filter"])
def test_telemetry_reaches_every_command(cmd: str) -> None:
    assert reached("telemetry-command.json", lambda v: v["cmd"] == cmd, 500)


def _depth(item: dict[str, Any]) -> int:
    return 1 + max((_depth(b) for b in item.get("bundle", [])), default=0)


@pytest.mark.parametrize(
    "condition",
    [
        lambda v: len(v["items"]) == 1,
        # Bundles nest until the recursion bound: 3 re-entries of line_item, 4 levels of items.
        lambda v: max(_depth(item) for item in v["items"]) == 4,
    ],
    ids=["one-item", "deepest-bundles"],
)
def test_order_reaches_edges(condition: Callable[[Any], bool]) -> None:
    assert reached("order.json", condition, 100)


@pytest.mark.parametrize("amount", [0, 1_000_000])
def test_order_money_reaches_both_bounds(amount: int) -> None:
    assert reached("order.json", lambda v: v["amount"] == amount, definition="money")


def test_order_tags_reach_max_unique() -> None:
    condition = lambda v: len(v.get("tags", ())) == 10  # noqa: E731
    assert reached("order.json", condition, definition="product")
