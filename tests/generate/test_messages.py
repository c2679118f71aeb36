"""Spec-less JSON messages (ws_routes.generate.messages): mostly objects with a type field."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from ws_routes.generate import json_messages
from ws_routes.generate.messages import TYPE_FIELDS
from ws_routes.generate.values import json_size


def _draws(strategy: st.SearchStrategy[Any], count: int = 300) -> list[Any]:
    seen: list[Any] = []

    @settings(
        max_examples=count,
        database=None,
        derandomize=True,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def collect(value: Any) -> None:
        seen.append(value)

    collect()
    return seen


def test_most_messages_are_objects_with_a_type_like_field() -> None:
    values = _draws(json_messages(max_size=65536))
    objects = [v for v in values if isinstance(v, dict)]
    typed = [v for v in objects if set(TYPE_FIELDS) & set(v)]
    print(f"objects {len(objects)}/{len(values)}, typed {len(typed)}, {{}} {values.count({})}")
    assert len(objects) > len(values) / 2
    assert len(typed) > len(values) / 3
    assert values.count({}) < len(values) / 20
    # Scalars and arrays still come now and then.
    assert any(isinstance(v, list) for v in values)
    assert any(not isinstance(v, (dict, list)) for v in values)


@pytest.mark.parametrize("max_size", [1, 5, 31, 32, 100, 1000])
@settings(max_examples=40, deadline=None, suppress_health_check=list(HealthCheck))
@given(data=st.data())
def test_messages_fit_the_budget_and_round_trip(max_size: int, data: st.DataObject) -> None:
    value = data.draw(json_messages(max_size=max_size))
    assert json_size(value) <= max_size
    assert json.loads(json.dumps(value)) == value


def test_no_budget_is_an_error() -> None:
    with pytest.raises(ValueError, match="no JSON value fits in 0 bytes"):
        json_messages(max_size=0)
