"""Integers and floats in bounds, multiples by construction (ws_routes.generate.numbers)."""

from __future__ import annotations

import math

import jsonschema
import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.schema_strategies import reaches
from ws_routes.generate.numbers import NoNumber, float_strategy, integer_strategy, is_multiple


@pytest.mark.parametrize(
    ("value", "step", "expected"),
    [(10, 5, True), (7, 5, False), (0.08, 0.01, True), (0.07, 0.01, False), (3, 0.5, True),
     (1.5, 1, False), (2**80, 0.5, True)],
)  # fmt: skip
def test_is_multiple_decides_as_jsonschema_does(value: float, step: float, expected: bool) -> None:
    assert is_multiple(value, step) is expected
    schema = {"multipleOf": step}
    assert jsonschema.Draft202012Validator(schema).is_valid(value) is expected


bounds = st.none() | st.integers(-(10**6), 10**6)


@settings(max_examples=150, deadline=None)
@given(
    low=bounds,
    high=bounds,
    exclusive=st.tuples(st.booleans(), st.booleans()),
    step=st.sampled_from([(), (3,), (0.5,), (0.01,), (2, 3)]),
    data=st.data(),
)
def test_integers_respect_every_keyword(
    low: int | None,
    high: int | None,
    exclusive: tuple[bool, bool],
    step: tuple[float, ...],
    data: st.DataObject,
) -> None:
    try:
        strategy = integer_strategy(low, exclusive[0], high, exclusive[1], step, edges=True)
    except NoNumber:
        assert low is not None
        assert high is not None
        assert high - low < 10
        return
    value = data.draw(strategy)
    assert isinstance(value, int)
    assert low is None or value > low or (value == low and not exclusive[0])
    assert high is None or value < high or (value == high and not exclusive[1])
    assert all(is_multiple(value, m) for m in step)


@settings(max_examples=150, deadline=None)
@given(
    low=st.none() | st.floats(-1e6, 1e6),
    width=st.floats(1, 1e6),
    exclusive=st.tuples(st.booleans(), st.booleans()),
    step=st.sampled_from([(), (0.01,), (0.25,), (2.5,), (3,)]),
    data=st.data(),
)
def test_floats_respect_every_keyword(
    low: float | None,
    width: float,
    exclusive: tuple[bool, bool],
    step: tuple[float, ...],
    data: st.DataObject,
) -> None:
    high = None if low is None else low + width
    try:
        strategy = float_strategy(
            low, exclusive[0], high, exclusive[1], step, integral=True, edges=True
        )
    except NoNumber:
        assert width <= max(step)  # only a range narrower than the step can miss every multiple
        return
    value = data.draw(strategy)
    assert math.isfinite(value)
    assert low is None or value > low or (value == low and not exclusive[0])
    assert high is None or value < high or (value == high and not exclusive[1])
    schema = {"type": "number", "multipleOf": step[0]} if step else {"type": "number"}
    assert jsonschema.Draft202012Validator(schema).is_valid(value)
    # jsonschema-rs checks multipleOf on the decimal value: 224.14000000000001 would fail.
    assert jsonschema_rs.validator_for(schema).is_valid(value)


def test_unbounded_integers_reach_past_64_bits() -> None:
    strategy = integer_strategy(0, False, None, False, (), edges=True)
    assert reaches(strategy, lambda v: v > 2**64, 100)


@pytest.mark.parametrize("target", [0, 1, 99, 100])
def test_integer_bounds_and_their_neighbours_are_reached(target: int) -> None:
    strategy = integer_strategy(0, False, 100, False, (), edges=True)
    assert reaches(strategy, lambda v: v == target, 100)


def test_exclusive_float_bounds_are_reached_just_inside() -> None:
    strategy = float_strategy(0, True, 1, True, (), integral=True, edges=True)
    assert reaches(strategy, lambda v: v == 5e-324, 200)
    assert reaches(strategy, lambda v: v == math.nextafter(1.0, 0), 200)


@given(float_strategy(0, False, 10, False, (), integral=False, edges=True))
def test_non_integral_floats(value: float) -> None:
    assert not value.is_integer()


@given(integer_strategy(None, False, None, False, (), edges=True, max_digits=3))
def test_max_digits_bounds_the_printed_integer(value: int) -> None:
    assert len(str(value)) <= 3


@given(float_strategy(None, False, None, False, (), integral=True, edges=True, max_chars=8))
def test_max_chars_bounds_the_printed_float(value: float) -> None:
    assert len(repr(value)) <= 8


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((1.2, False, 1.8, False, ()), "no integer lies between 1.2 and 1.8"),
        ((1, False, 4, False, (5,)), "no multiple of 5 lies between 1 and 4"),
    ],
)
def test_impossible_integers(args: tuple[object, ...], message: str) -> None:
    with pytest.raises(NoNumber, match=message):
        integer_strategy(*args, edges=True)  # type: ignore[arg-type]


def test_impossible_floats() -> None:
    with pytest.raises(NoNumber, match="is a multiple of 10"):
        float_strategy(1, False, 9, False, (10,), integral=True, edges=True)
    with pytest.raises(NoNumber, match="is an integer"):
        float_strategy(3, False, 3, False, (), integral=False, edges=True)
