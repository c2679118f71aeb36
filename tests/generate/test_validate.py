"""Our own validator of canonical nodes agrees with jsonschema (ws_routes.generate.validate)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
from hypothesis import HealthCheck, given, note, reject, settings
from hypothesis import strategies as st

from tests.schema_strategies import gen_schemas
from ws_routes.errors import SchemaCompileError
from ws_routes.generate import from_schema
from ws_routes.generate.awkward import json_strategy
from ws_routes.generate.canonical import Canonicaliser
from ws_routes.generate.validate import is_valid


def _without_formats(schema: Any) -> bool:
    return '"format"' not in json.dumps(schema)


@settings(
    max_examples=80,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)
@given(schema=gen_schemas().filter(_without_formats), data=st.data())
def test_is_valid_agrees_with_jsonschema(schema: Any, data: st.DataObject) -> None:
    note(json.dumps(schema))
    try:
        canonicaliser = Canonicaliser(schema)
        root = canonicaliser.canon(schema)
        valid_values = from_schema(schema)
    except SchemaCompileError:
        reject()
    checker = jsonschema.validators.validator_for(schema)(schema)
    for value in (data.draw(json_strategy(max_size=200)), data.draw(valid_values)):
        expected = checker.is_valid(value)
        for strict in (True, False):
            assert is_valid(root, value, canonicaliser.resolve, strict=strict) is expected, value


def test_strict_reads_formats_and_lenient_ignores_them() -> None:
    schema = {"type": "string", "format": "email"}
    canonicaliser = Canonicaliser(schema)
    root = canonicaliser.canon(schema)
    assert not is_valid(root, "no at sign", canonicaliser.resolve, strict=True)
    assert is_valid(root, "no at sign", canonicaliser.resolve, strict=False)
    assert is_valid(root, "a@example.com", canonicaliser.resolve, strict=True)
