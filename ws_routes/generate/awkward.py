"""Text, bytes and JSON values biased towards the inputs that break message handlers.

Random text rarely contains NUL, right-to-left marks, combining characters or astral-plane
emoji, yet those are exactly what breaks length checks, terminals, databases and protocol
framing. These strategies mix such values in at a high rate while keeping Hypothesis's own
distribution (and its shrinking towards short, simple strings) as the main branch.
"""

from __future__ import annotations

import functools
import math
from typing import Any, TypeVar

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

__all__ = [
    "AWKWARD_CHARS",
    "any_json",
    "awkward_bytes",
    "awkward_text",
    "json_strategy",
    "named",
    "text_strategy",
]

T = TypeVar("T")

AWKWARD_CHARS = (
    "\x00",  # NUL: C strings end here
    "\t",
    "\n",
    "\x1b",  # ESC: terminal escape sequences
    '"',
    "\\",
    "\x7f",
    "\u00e9",  # é, two UTF-8 bytes
    "\u0301",  # combining acute accent
    "\u05d0",  # Hebrew alef (right to left)
    "\u0627",  # Arabic alef (right to left)
    "\u200b",  # zero width space
    "\u200d",  # zero width joiner
    "\u200f",  # right-to-left mark
    "\u202e",  # right-to-left override
    "\u2028",  # line separator: valid JSON, invalid JavaScript string literal before ES2019
    "\ufeff",  # byte order mark
    "\uffff",  # a noncharacter, still valid UTF-8
    "\U0001f600",  # emoji outside the BMP: two UTF-16 code units
    "\U0010ffff",  # the last code point
)
# Whole strings that are awkward as a unit; none contains a lone surrogate.
_AWKWARD_SEEDS = (
    "\x00",
    "\U0001f468\u200d\U0001f469\u200d\U0001f467",  # family emoji: a ZWJ sequence of 5 code points
    "\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd",  # Hebrew with points (combining marks)
    "\u0645\u0631\u062d\u0628\u0627",  # Arabic
    "e\u0301",  # "é" decomposed
    "\u202eabc",
    " ",
    "null",
    "0",
    '"',
    "\\u0000",
    "\U0001f600",
    "\u00e9",
)
_LONG = 4096

_CHARACTERS = st.one_of(st.characters(codec="utf-8"), st.sampled_from(AWKWARD_CHARS))


def _repeat(seed: str, length: int) -> str:
    return (seed * (length // len(seed) + 1))[:length] if length else ""


def named(strategy: SearchStrategy[T], name: str) -> SearchStrategy[T]:
    """``strategy`` behind a short repr: Hypothesis prints strategies in some messages, and
    ours are trees of thousands of characters."""

    def definition() -> SearchStrategy[T]:
        return strategy

    definition.__name__ = definition.__qualname__ = name
    return st.deferred(definition)


def awkward_text(*, min_size: int = 0, max_size: int | None = None) -> SearchStrategy[str]:
    """Text biased to edge cases, with a length in code points between the bounds.

    Mixes ordinary Hypothesis text with strings dense in awkward characters (NUL, controls,
    quotes, non-ASCII, right-to-left, combining marks, zero-width characters, non-BMP emoji),
    the empty string, the shortest and longest lengths allowed, and a very long string. Never
    produces lone surrogates, which are not valid UTF-8.

    Args:
        min_size: the fewest code points.
        max_size: the most code points; None for no limit.

    Returns:
        A strategy of ``str``.
    """
    return named(text_strategy(min_size, max_size), f"awkward_text({min_size=}, {max_size=})")


@functools.lru_cache(maxsize=256)
def text_strategy(min_size: int = 0, max_size: int | None = None) -> SearchStrategy[str]:
    """:func:`awkward_text` without the short repr, for use inside other strategies."""
    if max_size is not None and max_size < min_size:
        raise ValueError(f"max_size {max_size} is less than min_size {min_size}")
    plain = st.text(st.characters(codec="utf-8"), min_size=min_size, max_size=max_size)
    dense = st.text(_CHARACTERS, min_size=min_size, max_size=max_size)
    top = _LONG if max_size is None else max_size
    lengths = sorted({min_size, min(top, max(min_size, 1)), top, min(top, max(min_size, _LONG))})
    edges: list[str] = [
        _repeat(seed, max(min_size, min(len(seed), top))) for seed in _AWKWARD_SEEDS
    ]
    edges = [e for e in dict.fromkeys(edges) if min_size <= len(e) <= top]
    # Strings of exactly the boundary lengths, made of one awkward or ordinary character.
    sized = st.builds(_repeat, _CHARACTERS, st.sampled_from(lengths))
    parts = [plain, dense, sized]
    if edges:
        parts.append(st.sampled_from(edges))
    return st.one_of(parts)


_BYTE_SEEDS = (
    b"\x00",
    b"\xff",
    b"\xc3\x28",  # invalid UTF-8 continuation
    b"\xed\xa0\x80",  # an encoded surrogate: invalid UTF-8
    b"\xef\xbb\xbf",  # UTF-8 byte order mark
    b"\xf0\x9f\x98\x80",  # an emoji, valid UTF-8
    b"{}",
)


def awkward_bytes(*, min_size: int = 0, max_size: int | None = None) -> SearchStrategy[bytes]:
    """Bytes biased to edge cases: empty, NUL, 0xFF, invalid UTF-8, the boundary sizes.

    Args:
        min_size: the fewest bytes.
        max_size: the most bytes; None for no limit.

    Returns:
        A strategy of ``bytes``.
    """
    if max_size is not None and max_size < min_size:
        raise ValueError(f"max_size {max_size} is less than min_size {min_size}")
    top = _LONG if max_size is None else max_size
    lengths = sorted({min_size, top, min(top, max(min_size, _LONG))})
    sized = st.builds(
        lambda b, n: (b * (n // len(b) + 1))[:n],
        st.sampled_from(_BYTE_SEEDS),
        st.sampled_from(lengths),
    )
    strategy = st.one_of(st.binary(min_size=min_size, max_size=max_size), sized)
    return named(strategy, f"awkward_bytes({min_size=}, {max_size=})")


_SCALAR_EDGE_NUMBERS = (
    0,
    -1,
    2**31,
    2**53 + 1,
    2**63,
    2**64,
    -(2**63) - 1,
    0.5,
    -0.0,
    1e308,
    5e-324,
)


def any_json(*, max_size: int | None = None) -> SearchStrategy[Any]:
    """Arbitrary JSON values: null, booleans, numbers, awkward strings, nested arrays and objects.

    Args:
        max_size: the most bytes the value may take serialised with
            ``json.dumps(value, ensure_ascii=False)`` and encoded as UTF-8; None for no limit.

    Returns:
        A strategy of JSON-compatible Python values (``dict``, ``list``, ``str``, ``int``,
        ``float``, ``bool``, None). Floats are finite.
    """
    if max_size is not None and max_size < 1:
        raise ValueError(f"no JSON value fits in {max_size} bytes")
    return named(json_strategy(max_size), f"any_json({max_size=})")


def json_strategy(max_size: int | None = None) -> SearchStrategy[Any]:
    """:func:`any_json` without the short repr, for use inside other strategies."""
    return _json(max_size, 3)


@functools.lru_cache(maxsize=256)
def _json(budget: int | None, depth: int) -> SearchStrategy[Any]:
    """JSON values of at most ``budget`` bytes, nesting at most ``depth`` containers deep."""
    scalars: list[SearchStrategy[Any]] = []
    if budget is None or budget >= 5:
        scalars += [st.none(), st.booleans()]
    elif budget == 4:
        scalars += [st.none(), st.just(True)]
    if budget is None:
        scalars += [
            st.integers(),
            st.floats(allow_nan=False, allow_infinity=False),
            st.sampled_from(_SCALAR_EDGE_NUMBERS),
            text_strategy(max_size=64),
        ]
    else:
        digits = min(budget, 40)
        scalars.append(st.integers(-(10 ** (digits - 1) - 1), 10**digits - 1))
        if budget >= 24:  # the longest repr of a float
            scalars.append(st.floats(allow_nan=False, allow_infinity=False))
        if budget >= 2:
            # Six bytes per code point covers "\\u0000" escapes, the worst case.
            scalars.append(text_strategy(max_size=min(64, (budget - 2) // 6)))
    base = st.one_of(scalars)
    if depth == 0 or (budget is not None and budget < 8):
        return base
    if budget is None:
        child = _json(None, depth - 1)
        keys = text_strategy(max_size=16)
        return st.one_of(
            base,
            st.lists(child, max_size=6),
            st.dictionaries(keys, child, max_size=6),
        )
    # Split the budget evenly: n entries of at most `each` bytes, plus brackets and separators.
    count = max(1, min(6, (budget - 2) // 12))
    each = (budget - 2) // count - 2
    key_chars = max(0, min(16, (each - 4) // 2 // 6))
    child = _json(math.floor((each - 4) / 2) if key_chars else each, depth - 1)
    parts = [base, st.lists(_json(each, depth - 1), max_size=count)]
    if key_chars:
        parts.append(st.dictionaries(text_strategy(max_size=key_chars), child, max_size=count))
    return st.one_of(parts)
