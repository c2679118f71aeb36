"""compile.cases: each of a message's cases drawn as often as the rest of its payloads."""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ws_routes.compile.cases import case_strategies, intersect
from ws_routes.compile.route import compile_route
from ws_routes.spec.model import MessageSpec, ReplyCase, RouteSpec, Schema

FIXED = settings(
    max_examples=100, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
ITEM = {
    "anyOf": [
        {"type": "object", "properties": {"id": {"type": "integer"}}, "required": ["id"]},
        {"type": "object", "properties": {"m": {"type": "string"}}, "required": ["m"]},
    ]
}
BATCH = Schema(value={"type": "array", "minItems": 1, "maxItems": 4, "items": ITEM})
SILENT = ReplyCase(match=Schema(value={"items": {"not": {"required": ["id"]}}}), no_reply=True)


def batch(*cases: ReplyCase) -> MessageSpec:
    return MessageSpec(name="batch", kind="json", schema=BATCH, reply=("r",), cases=cases)


def share_silent(strategy: st.SearchStrategy[Any]) -> float:
    silent: list[bool] = []

    @FIXED
    @given(strategy)
    def check(value: Any) -> None:
        assert BATCH.value["minItems"] <= len(value) <= BATCH.value["maxItems"]
        silent.append(all("id" not in item for item in value))

    check()
    return sum(silent) / len(silent)


def test_a_case_the_schema_rarely_reaches_is_drawn_often() -> None:
    plain = compile_route(RouteSpec(path="/ws", messages=(batch(),))).messages[0].strategy
    steered = compile_route(RouteSpec(path="/ws", messages=(batch(SILENT),))).messages[0].strategy
    assert share_silent(steered) > 0.3
    assert share_silent(steered) > 1.5 * share_silent(plain)  # measured: 0.43 and 0.24


def test_definitions_of_both_schemas_are_carried_to_the_root() -> None:
    schema = {"$defs": {"a": {"type": "integer"}}, "items": {"$ref": "#/$defs/a"}}
    match = {"$defs": {"b": {"minimum": 3}}, "items": {"$ref": "#/$defs/b"}}
    both = intersect(schema, match)
    assert both == {"allOf": [schema, match], "$defs": {"a": {"type": "integer"}, "b": {"minimum": 3}}}
    assert intersect(schema, {"$defs": {"a": {"type": "string"}}}) is None  # a clash: left out
    assert intersect({"$schema": "http://json-schema.org/draft-07/schema#"}, True) == {
        "allOf": [{"$schema": "http://json-schema.org/draft-07/schema#"}, True],
        "$schema": "http://json-schema.org/draft-07/schema#",
    }


def test_cases_the_generator_cannot_draw_are_left_to_the_schema() -> None:
    impossible = ReplyCase(match=Schema(value={"type": "string"}), reply=("r",))  # not an array
    assert case_strategies(batch(impossible), None) == []
    assert len(case_strategies(batch(impossible, SILENT), None)) == 1
    text = MessageSpec(name="t", kind="text", schema=Schema(value={}), cases=(SILENT,))
    assert case_strategies(text, None) == []
