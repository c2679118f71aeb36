"""Examples per second of ``from_schema`` beside hand-written Hypothesis strategies.

Run: ``python benchmarks/bench_compiler.py [examples]`` (default 300). For three corpus schemas it
prints how long compiling takes, examples/s of our compiled strategy (with and without boundary
bias) and of a strategy written by hand for the same schema, and the ratio; then seconds per
10 examples for wide (many required properties) and deep schemas. The target is ours
within 2x of hand-written; nothing is asserted, timings vary by machine.

Each figure runs an ``@given`` test with ``max_examples`` examples, generation phase only, no
database, and divides the examples by the wall time, so it includes Hypothesis's own engine
overhead exactly as a test pays it.
"""

from __future__ import annotations

import json
import string
import sys
import time
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ws_routes.generate import from_schema

SCHEMAS = Path(__file__).resolve().parent.parent / "schemas"

# -- hand-written strategies, as someone fluent in Hypothesis would write them ----------------

_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(), inner, max_size=5),
    max_leaves=10,
)  # fmt: skip
_OBJECT = st.dictionaries(st.text(), _JSON, max_size=5)


def chat_client() -> SearchStrategy[dict[str, Any]]:
    """chat-client.json by hand."""
    room = st.from_regex(r"[a-z0-9][a-z0-9_-]{0,63}", fullmatch=True)
    nick = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{1,23}", fullmatch=True)
    return st.one_of(
        st.fixed_dictionaries({"type": st.just("join"), "room": room, "nick": nick}),
        st.fixed_dictionaries(
            {"type": st.just("message"), "text": st.text(min_size=1, max_size=500)},
            optional={"reply_to": st.integers(min_value=1)},
        ),
        st.fixed_dictionaries({"type": st.just("typing")}),
        st.fixed_dictionaries({"type": st.just("leave")}),
    )


def graphql_client() -> SearchStrategy[dict[str, Any]]:
    """graphql-transport-ws-client.json by hand."""
    payload = st.none() | _OBJECT
    op_id = st.text(min_size=1, max_size=64)
    subscribe = st.fixed_dictionaries(
        {"query": st.text(min_size=1, max_size=10000)},
        optional={
            "operationName": st.none() | st.text(max_size=100),
            "variables": payload,
            "extensions": payload,
        },
    )
    return st.one_of(
        *(
            st.fixed_dictionaries({"type": st.just(kind)}, optional={"payload": payload})
            for kind in ("connection_init", "ping", "pong")
        ),
        st.fixed_dictionaries({"type": st.just("subscribe"), "id": op_id, "payload": subscribe}),
        st.fixed_dictionaries({"type": st.just("complete"), "id": op_id}),
    )


def _money() -> SearchStrategy[dict[str, Any]]:
    # Cents as integers scaled down; keep the ones jsonschema accepts as multiples of 0.01.
    amount = st.integers(0, 100_000_000).map(lambda c: c * 0.01).filter(lambda a: a / 0.01 % 1 == 0)
    return st.fixed_dictionaries(
        {"amount": amount, "currency": st.sampled_from(["EUR", "USD", "GBP", "CHF", "JPY"])}
    )


def order() -> SearchStrategy[dict[str, Any]]:
    """order.json by hand, with bundles nested at most three levels deep."""
    uuid = st.uuids().map(str)
    stamp = st.datetimes(timezones=st.just(__import__("datetime").timezone.utc)).map(
        lambda d: d.isoformat()
    )
    label = st.text(string.ascii_lowercase, min_size=1, max_size=10)
    email = st.builds(lambda a, b: f"{a}@{b}.com", label, label)
    customer = st.fixed_dictionaries(
        {"id": uuid, "name": st.text(min_size=1, max_size=100), "email": email},
        optional={"phone": st.from_regex(r"\+[1-9][0-9]{6,14}", fullmatch=True),
                  "vip": st.booleans()},
    )  # fmt: skip
    address = st.fixed_dictionaries(
        {
            "name": st.text(min_size=1, max_size=100),
            "lines": st.lists(st.text(min_size=1, max_size=100), min_size=1, max_size=3),
            "city": st.text(min_size=1, max_size=80),
            "country": st.from_regex(r"[A-Z]{2}", fullmatch=True),
        },
        optional={"postal_code": st.from_regex(r"[A-Z0-9][A-Z0-9 -]{1,8}[A-Z0-9]", fullmatch=True)},
    )
    product = st.fixed_dictionaries(
        {
            "sku": st.from_regex(r"[A-Z]{3}-[0-9]{4,8}", fullmatch=True),
            "name": st.text(min_size=1, max_size=200),
            "unit_price": _money(),
        },
        optional={
            "tags": st.lists(st.from_regex(r"[a-z][a-z0-9-]{0,19}", fullmatch=True), max_size=10,
                             unique=True),
            "weight_kg": st.floats(0, 1000, exclude_min=True),
        },
    )  # fmt: skip

    def line_item(depth: int) -> SearchStrategy[dict[str, Any]]:
        optional: dict[str, SearchStrategy[Any]] = {"discount": _money()}
        if depth < 3:
            optional["bundle"] = st.lists(line_item(depth + 1), max_size=5)
        return st.fixed_dictionaries(
            {"product": product, "quantity": st.integers(1, 999)}, optional=optional
        )

    return st.fixed_dictionaries(
        {
            "id": uuid,
            "created_at": stamp,
            "status": st.sampled_from(
                ["pending", "paid", "shipped", "delivered", "cancelled", "refunded"]
            ),
            "customer": customer,
            "shipping_address": address,
            "items": st.lists(line_item(0), min_size=1, max_size=20),
            "total": _money(),
        },
        optional={
            "billing_address": address,
            "coupon": st.none() | st.from_regex(r"[A-Z0-9]{4,12}", fullmatch=True),
            "notes": st.text(max_size=1000),
        },
    )


HAND_WRITTEN = {
    "chat-client.json": chat_client,
    "graphql-transport-ws-client.json": graphql_client,
    "order.json": order,
}


def examples_per_second(strategy: SearchStrategy[Any], examples: int) -> float:
    """Run an @given test drawing ``examples`` values; return examples per second."""
    count = 0

    @settings(
        max_examples=examples,
        database=None,
        phases=[Phase.generate],
        deadline=None,
        suppress_health_check=list(HealthCheck),
    )
    @given(strategy)
    def run(value: Any) -> None:
        nonlocal count
        count += 1

    start = time.perf_counter()
    run()
    return count / (time.perf_counter() - start)


def main(examples: int = 300) -> None:
    """Print the comparison table."""
    print(f"{examples} examples per measurement")
    header = (
        f"{'schema':36} {'compile ms':>10} {'ours/s':>9} {'ours, no edges/s':>17} {'hand/s':>9}"
    )
    print(header + f" {'hand/ours':>10}")
    total_compile = 0.0
    for name, hand in HAND_WRITTEN.items():
        schema = json.loads((SCHEMAS / name).read_text())
        start = time.perf_counter()
        ours = from_schema(schema)
        plain = from_schema(schema, boundaries=False)
        compile_ms = (time.perf_counter() - start) * 1000 / 2
        total_compile += compile_ms
        ours_rate = examples_per_second(ours, examples)
        plain_rate = examples_per_second(plain, examples)
        hand_rate = examples_per_second(hand(), examples)
        print(
            f"{name:36} {compile_ms:10.1f} {ours_rate:9.0f} {plain_rate:17.0f} {hand_rate:9.0f}"
            f" {hand_rate / ours_rate:10.2f}"
        )
    print(f"compiling the three schemas took {total_compile:.1f} ms in all")
    scale()


def _wide(count: int) -> dict[str, Any]:
    names = [f"p{i}" for i in range(count)]
    leaf = {"type": "integer"}
    return {"type": "object", "properties": dict.fromkeys(names, leaf), "required": names}


def _deep(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "integer"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"a": schema}, "required": ["a"]}
    return schema


def scale(examples: int = 10) -> None:
    """Wide and deep schemas: seconds for compiling plus ``examples`` examples (near-linear)."""
    print(f"\nscale: compile + {examples} examples, max_size 65536")
    shapes = [(f"{n} required integers", _wide(n)) for n in (10, 100, 250, 500, 1000)]
    shapes += [(f"objects {d} deep", _deep(d)) for d in (10, 30, 60)]
    for label, schema in shapes:
        start = time.perf_counter()
        strategy = from_schema(schema, max_size=65536)
        rate = examples_per_second(strategy, examples)
        print(f"{label:36} {time.perf_counter() - start:8.2f} s  ({rate:.0f} examples/s)")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 300)
