"""Size estimates and budget splitting (ws_routes.generate.sizes)."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, note, reject, settings
from hypothesis import strategies as st

from tests.schema_strategies import gen_schemas
from ws_routes.errors import SchemaCompileError
from ws_routes.generate import from_schema
from ws_routes.generate.canonical import Canonicaliser
from ws_routes.generate.sizes import INF, allocate, entry_overhead, max_bytes, min_bytes
from ws_routes.generate.values import json_size


@given(
    budget=st.integers(0, 10_000),
    parts=st.lists(st.tuples(st.integers(0, 500), st.integers(0, 5000) | st.just(INF)), max_size=8),
)
def test_allocate_gives_each_part_its_need_within_the_budget(
    budget: int, parts: list[tuple[int, float]]
) -> None:
    needs = [n for n, _ in parts]
    wants = [max(n, w) for n, w in parts]
    given_ = allocate(budget, needs, wants)
    if sum(needs) > budget:
        assert given_ is None
        return
    assert given_ is not None
    assert sum(given_) <= budget
    for share, need, want in zip(given_, needs, wants, strict=True):
        assert need <= share <= want


def test_allocate_shares_in_proportion_to_what_parts_can_use() -> None:
    assert allocate(100, [0, 0], [10, 20]) == [10, 20]
    assert allocate(30, [0, 0], [INF, 30]) == [15, 15]
    assert allocate(1, [2], [2]) is None


def test_entry_overhead_counts_key_colon_and_comma() -> None:
    assert entry_overhead("é") == len(json.dumps({"é": 0}, ensure_ascii=False).encode()) - 3 + 2


@settings(
    max_examples=40, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow]
)
@given(schema=gen_schemas(), data=st.data())
def test_estimates_bound_every_generated_value(schema: Any, data: st.DataObject) -> None:
    note(json.dumps(schema))
    try:
        strategy = from_schema(schema)
    except SchemaCompileError:
        reject()
    canonicaliser = Canonicaliser(schema)
    root = canonicaliser.canon(schema)
    value = data.draw(strategy)
    size = json_size(value)
    assert min_bytes(root, canonicaliser.resolve) <= size <= max_bytes(root, canonicaliser.resolve)
    assert not math.isnan(min_bytes(root, canonicaliser.resolve))


def test_allocate_does_not_starve_a_small_part_beside_an_unbounded_one() -> None:
    # An enum ["no", "yes"] (4 or 5 bytes with quotes) beside free extra properties.
    assert allocate(8192, [4, 0], [5, INF]) == [5, 8187]


def test_an_enum_property_beside_extra_properties_gets_every_member() -> None:
    schema = {"type": "object", "properties": {"t": {"enum": ["no", "yes"]}}, "required": ["t"]}
    seen: set[str] = set()

    @settings(max_examples=60, database=None, deadline=None)
    @given(from_schema(schema, max_size=8192))
    def check(value: Any) -> None:
        seen.add(value["t"])

    check()
    assert seen == {"no", "yes"}


def test_huge_item_counts_are_multiplied_not_looped() -> None:
    # minItems/maxItems of 1e9 once looped a billion times (a spec that hung at load).
    node = Canonicaliser({"type": "array", "minItems": 10**9, "items": {"const": 1}}).canon(
        {"type": "array", "minItems": 10**9, "items": {"const": 1}}
    )
    assert min_bytes(node, lambda r, p: node) == 3 * 10**9
    wide = {
        "type": "array",
        "maxItems": 10**9,
        "prefixItems": [{"const": 1}],
        "items": {"const": 2},
    }
    assert max_bytes(Canonicaliser(wide).canon(wide), lambda r, p: node) == 2 + 3 * 10**9
    with pytest.raises(SchemaCompileError, match="max_size 65536 is too small"):
        from_schema({"type": "array", "minItems": 10**9}, max_size=65536)
