"""Integers and floats within bounds and ``multipleOf``, built by construction.

``multipleOf`` with a float is checked by validators in floating point: ``jsonschema`` accepts
``v`` when ``v / m`` is exactly an integer, so ``0.07`` is *not* a multiple of ``0.01`` there
(``0.07 / 0.01 == 7.000000000000001``). We generate ``k * m`` and step to a neighbouring ``k``
until that quotient is exact, which also satisfies tolerance-based validators.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from fractions import Fraction
from typing import TypeVar, cast

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ws_routes.generate.boundaries import with_edges
from ws_routes.generate.node import Number

__all__ = ["NoNumber", "float_strategy", "integer_strategy", "is_multiple"]

# Integers at the edges of common machine types: apps often break just past them.
_BIG_EDGES = (
    2**31 - 1,
    2**31,
    2**32,
    2**53,
    2**53 + 1,
    2**63 - 1,
    2**63,
    2**64,
    2**64 + 1,
    10**20,
    2**100,
)
_FLOAT_EDGES = (
    0.0,
    -0.0,
    0.5,
    -0.5,
    1.5,
    0.1 + 0.2,
    1e-7,
    1e16,
    2.0**53 + 2,
    1.7976931348623157e308,
    5e-324,
    -1.7976931348623157e308,
)
T = TypeVar("T", int, float)

# Beyond 2**53 every float is an integer, so float multiples get coarse; keep k below that.
_MAX_K = 2**53
_SNAP_TRIES = 64


class NoNumber(ValueError):
    """No number satisfies the bounds and ``multipleOf`` together."""


def is_multiple(value: Number, step: Number) -> bool:
    """Whether ``value`` is a multiple of ``step`` exactly as ``jsonschema`` decides it."""
    if isinstance(step, float):
        try:
            quotient = value / step
            return int(quotient) == quotient
        except OverflowError:
            return (Fraction(value) / Fraction(step)).denominator == 1
    return value % step == 0


def _decimal_multiple(value: Number, step: Number) -> bool:
    """Whether ``value`` as printed is a multiple of ``step`` as written (decimal arithmetic).

    Validators working on the decimal text (jsonschema-rs) need this on top of
    :func:`is_multiple`: ``5e-324 / 2.5`` underflows to ``0.0``, which jsonschema accepts.
    """
    # An integer-valued float is exact in binary, and validators (jsonschema-rs included) take it
    # as that integer: -1.7976931348623157e308 prints as a multiple of 2.5 but is not one.
    exact = Fraction(value) if isinstance(value, float) and value.is_integer() else _decimal(value)
    return (exact / _decimal(step)).denominator == 1


def _decimal(step: Number) -> Fraction:
    # The step as the user wrote it (0.1 means 1/10, not the binary float nearest to it).
    return Fraction(repr(step)) if isinstance(step, float) else Fraction(step)


def _lcm(steps: Sequence[Number]) -> Fraction:
    result = _decimal(steps[0])
    for step in steps[1:]:
        other = _decimal(step)
        result = Fraction(
            math.lcm(result.numerator, other.numerator),
            math.gcd(result.denominator, other.denominator),
        )
    return result


def _decimal_places(step: Fraction) -> int:
    """Decimal places of a step written in decimal (its denominator is 2**a * 5**b)."""
    denominator, places = step.denominator, 0
    while denominator % 10 == 0 or denominator % 2 == 0 or denominator % 5 == 0:
        denominator //= 10 if denominator % 10 == 0 else 2 if denominator % 2 == 0 else 5
        places += 1
    return places


def _in_bounds(
    value: Number, low: Number | None, low_ex: bool, high: Number | None, high_ex: bool
) -> bool:
    if low is not None and (value < low or (low_ex and value == low)):
        return False
    return not (high is not None and (value > high or (high_ex and value == high)))


def _int_bounds(
    low: Number | None, low_ex: bool, high: Number | None, high_ex: bool
) -> tuple[int | None, int | None]:
    lo = (
        None
        if low is None
        else math.floor(low) + 1
        if low_ex and low == math.floor(low)
        else math.ceil(low)
    )
    hi = (
        None
        if high is None
        else math.ceil(high) - 1
        if high_ex and high == math.ceil(high)
        else math.floor(high)
    )
    return lo, hi


_MAX_DIGITS = 40


def integer_strategy(
    low: Number | None,
    low_ex: bool,
    high: Number | None,
    high_ex: bool,
    multiple_of: Sequence[Number],
    *,
    edges: bool,
    max_digits: int | None = None,
) -> SearchStrategy[int]:
    """Integers in the bounds that are multiples of every ``multiple_of``, at most ``max_digits``.

    Raises:
        NoNumber: no such integer exists.
    """
    lo, hi = _int_bounds(low, low_ex, high, high_ex)
    # Past 128 bits nothing new breaks, and past 4300 digits Python itself cannot print the
    # integer (sys.int_info.str_digits_check_threshold): cap how far an open end reaches.
    if lo is None:
        lo = -(10 ** (_MAX_DIGITS - 1) - 1)
    if hi is None:
        hi = 10**_MAX_DIGITS - 1
    if max_digits is not None and max_digits < _MAX_DIGITS:
        # A minus sign takes one of the characters.
        lo = (
            max(lo, -(10 ** (max_digits - 1) - 1))
            if lo is not None
            else -(10 ** (max_digits - 1) - 1)
        )
        hi = min(hi, 10**max_digits - 1) if hi is not None else 10**max_digits - 1
    if lo is not None and hi is not None and lo > hi:
        raise NoNumber(f"no integer lies between {low} and {high}")
    step_fraction = _lcm(multiple_of) if multiple_of else Fraction(1)
    # An integer multiple of p/q (lowest terms) is a multiple of p.
    step = step_fraction.numerator
    exact = all(not isinstance(m, float) or float(m).is_integer() for m in multiple_of)
    if not exact:
        # Validators divide by a float step in floating point: beyond 2**53 * step that loses
        # precision, and beyond ~1e308 jsonschema even crashes (OverflowError).
        reach = _MAX_K * step
        lo, hi = (
            max(lo, -reach) if lo is not None else -reach,
            min(hi, reach) if hi is not None else reach,
        )
        if lo > hi:
            raise NoNumber(
                f"no integer between {low} and {high} passes multipleOf {_show(multiple_of)}"
            )
    k_lo = None if lo is None else -((-lo) // step)
    k_hi = None if hi is None else hi // step
    if not exact:
        k_lo = max(k_lo, -_MAX_K) if k_lo is not None else -_MAX_K
        k_hi = min(k_hi, _MAX_K) if k_hi is not None else _MAX_K
    if k_lo is not None and k_hi is not None and k_lo > k_hi:
        raise NoNumber(f"no multiple of {_show(multiple_of)} lies between {low} and {high}")

    def ok(value: int) -> bool:
        return (
            (lo is None or value >= lo)
            and (hi is None or value <= hi)
            and all(is_multiple(value, m) for m in multiple_of)
        )

    base: SearchStrategy[int]
    if step == 1 and exact:
        base = st.integers(lo, hi)
    elif exact:
        base = st.integers(k_lo, k_hi).map(lambda k: k * step)
    else:
        assert k_lo is not None
        assert k_hi is not None
        snapped = _snapped(k_lo, k_hi, lambda j: j * step, ok)
        if snapped is None:
            raise NoNumber(
                f"no integer between {low} and {high} passes multipleOf {_show(multiple_of)}"
            )
        base = snapped
    if not edges:
        return base
    bounds: list[int] = []
    for bound in (lo, hi):
        if bound is not None:
            bounds += [bound, bound + step, bound - step]
    generic = [0, 1, -1, *_BIG_EDGES, *(-e for e in _BIG_EDGES)]
    return _with_number_edges(base, bounds, generic, ok)


def _with_number_edges(
    base: SearchStrategy[T], bounds: Sequence[T], generic: Sequence[T], ok: Callable[[T], bool]
) -> SearchStrategy[T]:
    """``base`` with the values at and just inside the bounds, and well-known awkward values.

    The bounds get their own branch so that they are not diluted by the generic edges.
    """
    edges = [sorted({c for c in group if ok(c)}, key=abs) for group in (bounds, generic)]
    return with_edges(base, [st.sampled_from(group) for group in edges if group])


def _snap(
    k: int, k_lo: int, k_hi: int, make: Callable[[int], T], ok: Callable[[T], bool]
) -> T | None:
    """The valid value nearest to the ``k``-th multiple, searching outward (None: none close)."""
    for distance in range(_SNAP_TRIES):
        for j in (k + distance, k - distance) if distance else (k,):
            if k_lo <= j <= k_hi:
                value = make(j)
                if ok(value):
                    return value
    return None


def _snapped(
    k_lo: int, k_hi: int, make: Callable[[int], T], ok: Callable[[T], bool]
) -> SearchStrategy[T] | None:
    """Valid multiples ``make(k)`` for k in the range, or None when none can be found."""
    start = max(k_lo, min(0, k_hi))
    if _snap(start, k_lo, k_hi, make, ok) is None and (
        _snap(start + _SNAP_TRIES, k_lo, k_hi, make, ok) is None
    ):
        return None
    drawn: SearchStrategy[T | None] = st.integers(k_lo, k_hi).map(
        lambda k: _snap(k, k_lo, k_hi, make, ok)
    )
    # Essentially never rejects: about one k in ten has no exact float multiple nearby, and
    # _snap searches 64 neighbours on either side.
    return cast(SearchStrategy[T], drawn.filter(lambda v: v is not None))


def _show(steps: Sequence[Number]) -> str:
    return " and ".join(repr(s) for s in steps)


def float_strategy(
    low: Number | None,
    low_ex: bool,
    high: Number | None,
    high_ex: bool,
    multiple_of: Sequence[Number],
    *,
    integral: bool,
    edges: bool,
    max_chars: int | None = None,
) -> SearchStrategy[float]:
    """Finite floats in the bounds (multiples of every ``multiple_of``).

    ``integral=False`` excludes integer-valued floats (``type: number`` with ``not: {type:
    integer}``). ``max_chars`` bounds ``repr(value)``.

    Raises:
        NoNumber: no such float exists.
    """

    def ok(value: float) -> bool:
        return (
            math.isfinite(value)
            and _in_bounds(value, low, low_ex, high, high_ex)
            and all(is_multiple(value, m) and _decimal_multiple(value, m) for m in multiple_of)
            and (integral or not value.is_integer())
            and (max_chars is None or len(repr(value)) <= max_chars)
        )

    base: SearchStrategy[float]
    if multiple_of:
        exact_step = _lcm(multiple_of)
        step = float(exact_step)
        places = _decimal_places(exact_step)
        k_lo = -_MAX_K if low is None else math.ceil(Fraction(low) / Fraction(step))
        k_hi = _MAX_K if high is None else math.floor(Fraction(high) / Fraction(step))
        if max_chars is not None:
            # Keep |k * step| short enough to print; the final check still guards.
            reach = 10 ** max(0, min(15, max_chars - 3)) / max(1.0, 1 / step)
            k_lo, k_hi = max(k_lo, -math.floor(reach)), min(k_hi, math.floor(reach))
        # round() gives the float nearest to the decimal k * step (224.14, not the product's
        # 224.14000000000001), which decimal-based validators such as jsonschema-rs require.
        found = None if k_lo > k_hi else _snapped(k_lo, k_hi, lambda j: round(j * step, places), ok)
        if found is None:
            raise NoNumber(
                f"no number between {low} and {high} is a multiple of {_show(multiple_of)}"
            )
        base = found
    elif max_chars is not None and max_chars < 24:
        base = _short_floats(low, low_ex, high, high_ex, max_chars, ok)
    else:
        if (
            low is not None
            and high is not None
            and (low > high or (low == high and (low_ex or high_ex)))
        ):
            raise NoNumber(f"no number lies between {low} and {high}")
        base = st.floats(
            min_value=low,
            max_value=high,
            exclude_min=low_ex and low is not None,
            exclude_max=high_ex and high is not None,
            allow_nan=False,
            allow_infinity=False,
        )
        if not integral:
            if low is not None and low == high and float(low).is_integer():
                raise NoNumber(f"the only number allowed, {low}, is an integer")
            base = base.filter(lambda v: not v.is_integer())
    if not edges:
        return base
    bounds: list[float] = []
    for bound, toward in ((low, math.inf), (high, -math.inf)):
        if bound is not None:
            near = float(bound)
            bounds += [near, math.nextafter(near, toward), math.nextafter(near, -toward)]
            if multiple_of:
                step = float(_lcm(multiple_of))
                bounds += [near + step * sign for sign in (1, -1)]
    return _with_number_edges(base, bounds, [float(e) for e in _FLOAT_EDGES], ok)


def _divide(value: int, *, scale: int) -> float:
    return value / scale


def _short_floats(
    low: Number | None,
    low_ex: bool,
    high: Number | None,
    high_ex: bool,
    max_chars: int,
    ok: Callable[[float], bool],
) -> SearchStrategy[float]:
    """Floats with few digits (``m / 10**d``) for tight size budgets."""
    digits = min(15, max_chars - 3)
    if digits < 1:
        raise NoNumber(f"a number needs at least 3 characters, the budget leaves {max_chars}")
    options = []
    for decimals in range(min(3, digits)):
        scale = 10**decimals
        lo, hi = _int_bounds(
            None if low is None else low * scale,
            low_ex,
            None if high is None else high * scale,
            high_ex,
        )
        lo = max(lo, -(10 ** (digits - 1) - 1)) if lo is not None else -(10 ** (digits - 1) - 1)
        hi = min(hi, 10**digits - 1) if hi is not None else 10**digits - 1
        if lo <= hi:
            options.append(st.integers(lo, hi).map(functools.partial(_divide, scale=scale)))
    if not options:
        raise NoNumber(f"no short number lies between {low} and {high}")
    # Guard only: m / 10**d within the digit budget prints within max_chars.
    return st.one_of(options).filter(ok)
