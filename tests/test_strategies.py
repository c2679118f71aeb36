"""ws_routes.strategies: the public strategies, for @given tests of the user's own."""

from __future__ import annotations

from pathlib import Path

import jsonschema
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.engine.runner_app import compiled
from ws_routes.engine.conversation import Conversation
from ws_routes.errors import SchemaCompileError, SpecError, WsRoutesError
from ws_routes.spec.loader import load_spec_text
from ws_routes.strategies import compiled_route, conversations, from_schema

ITEM = {
    "type": "object",
    "properties": {
        "id": {"type": "integer", "minimum": 1},
        "tags": {"type": "array", "items": {"enum": ["a", "b"]}, "uniqueItems": True},
        "name": {"type": "string", "pattern": "^[a-z]{2,5}$"},
    },
    "required": ["id", "name"],
    "additionalProperties": False,
}

SPEC = """\
version: 1
routes:
  "/ws/items/{id}":
    path_params:
      id: {type: integer, minimum: 1}
    messages:
      get: {kind: json, schema: {type: object, properties: {op: {const: get}}, required: [op]}}
"""


@settings(max_examples=30)
@given(from_schema(ITEM))
def test_from_schema_draws_valid_values(value: object) -> None:
    jsonschema.validate(value, ITEM)


@settings(max_examples=30)
@given(from_schema(ITEM, max_size=40))
def test_from_schema_keeps_to_max_size(value: object) -> None:
    import json

    assert len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()) <= 40


@pytest.mark.parametrize(
    ("schema", "pointer", "message"),
    [
        ({"$ref": "https://example.com/s.json"}, "/$ref", "remote $ref"),
        ({"type": "integer", "minimum": 5, "maximum": 1}, "/minimum", "greater than maximum"),
    ],
)
def test_from_schema_refuses_what_it_cannot_generate_when_built(
    schema: dict[str, object], pointer: str, message: str
) -> None:
    with pytest.raises(SchemaCompileError) as caught:
        from_schema(schema)  # at once, not at the first draw
    assert caught.value.pointer == pointer
    assert str(caught.value).startswith(f"{pointer}: ")
    assert message in str(caught.value)


def test_conversations_of_a_compiled_route() -> None:
    @settings(max_examples=20)
    @given(conversations(compiled("/ws/short")))
    def check(conversation: Conversation) -> None:
        assert conversation.path == "/ws/short"
        assert all(step.kind == "text" for step in conversation.steps)

    check()


def test_conversations_of_a_path_template_in_a_spec(tmp_path: Path) -> None:
    spec = load_spec_text(SPEC, filename="ws-routes.yaml", base_dir=tmp_path)

    @settings(max_examples=20)
    @given(conversations("/ws/items/{id}", spec=spec), st.data())
    def check(conversation: Conversation, data: st.DataObject) -> None:
        assert conversation.path.startswith("/ws/items/")
        assert int(conversation.path.rsplit("/", 1)[1]) >= 1
        for step in conversation.steps:
            if not step.mutation:
                assert step.payload["op"] == "get"

    check()


def test_a_route_the_spec_lacks_is_a_clear_error(tmp_path: Path) -> None:
    spec = load_spec_text(SPEC, filename="ws-routes.yaml", base_dir=tmp_path)
    with pytest.raises(
        WsRoutesError, match=r"'/ws/item/\{id\}' is in neither.*did you mean '/ws/items/\{id\}'"
    ):
        compiled_route(spec, "/ws/item/{id}")


def test_a_bad_spec_file_is_a_located_error(tmp_path: Path) -> None:
    (tmp_path / "ws-routes.yaml").write_text("version: 1\nroutes: {'/ws': {messages: 3}}\n")
    with pytest.raises(SpecError, match=r"ws-routes\.yaml:2"):
        conversations("/ws", spec=tmp_path / "ws-routes.yaml")
