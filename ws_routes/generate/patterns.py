"""Strings matching a JSON Schema ``pattern``, built by construction, length bounds included.

JSON Schema patterns are ECMA 262 regexes applied with *search* semantics. Python's ``re`` (what
``jsonschema`` uses) differs in ways that matter for generation: ``$`` also matches before a
final newline and ``\\d``/``\\w`` match non-ASCII digits and letters, which ECMA engines (and
``jsonschema-rs``) reject. So we generate from a translated pattern (``$`` -> ``\\Z``, ``re.ASCII``)
whose matches are a subset of both dialects' matches.

Most real-world patterns are "linear": a sequence of single-character classes, each repeated
(``^[A-Z]{3}-[0-9]{4,8}$``). For those we build the string piece by piece and meet
``minLength``/``maxLength`` exactly, without filtering. Anything else goes to
:func:`hypothesis.strategies.from_regex`, with a length filter only when the pattern's own width
does not already imply the bounds.
"""

from __future__ import annotations

import functools
import re
import re._constants as sre  # type: ignore[import-not-found]  # the regex AST, as Hypothesis reads it
import re._parser as sre_parse  # type: ignore[import-not-found]
from collections.abc import Sequence
from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ws_routes.generate.values import char_bytes

__all__ = [
    "PatternError",
    "pattern_error",
    "pattern_search",
    "pattern_strategy",
    "pattern_width",
    "translate",
]

# ECMA 262 line terminators: `.` matches none of them there, and Python's `.` only excludes "\n".
_LINE_TERMINATORS = "\n\r\u2028\u2029"
_ASCII_SPACE = " \t\n\r\f\v"
# ECMA 262 WhiteSpace and LineTerminator: what its \s matches.
_ECMA_SPACE = frozenset(
    "\t\n\v\f\r \u00a0\u1680\u2028\u2029\u202f\u205f\u3000\ufeff"
    + "".join(chr(c) for c in range(0x2000, 0x200B))
)
_UNBOUNDED = sre.MAXREPEAT


class PatternError(ValueError):
    """No string both matches the pattern and has a length within the bounds."""

    def __init__(self, low: int, high: int | None):
        self.low = low
        self.high = high
        super().__init__(f"matches have {low} to {'any number of' if high is None else high}")


@functools.lru_cache(maxsize=1024)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def pattern_search(pattern: str, text: str) -> bool:
    """Whether ``text`` matches ``pattern`` the way ``jsonschema`` checks it (``re.search``)."""
    return _compiled(pattern).search(text) is not None


def pattern_error(pattern: str) -> str | None:
    """Why ``pattern`` is not a usable regex, or None when it is."""
    try:
        _compiled(pattern)
        sre_parse.parse(translate(pattern), re.ASCII)
    except re.error as error:
        return str(error)
    return None


def translate(pattern: str) -> str:
    """Rewrite each unescaped ``$`` outside a character class as ``\\Z`` (ECMA's ``$``)."""
    out: list[str] = []
    i, n = 0, len(pattern)
    while i < n:
        char = pattern[i]
        if char == "\\":
            out.append(pattern[i : i + 2])
            i += 2
        elif char == "[":
            # Copy the class verbatim; in Python a "]" right after "[" or "[^" is a literal.
            j = i + 1
            if j < n and pattern[j] == "^":
                j += 1
            if j < n and pattern[j] == "]":
                j += 1
            while j < n and pattern[j] != "]":
                j += 2 if pattern[j] == "\\" else 1
            out.append(pattern[i : j + 1])
            i = j + 1
        else:
            out.append("\\Z" if char == "$" else char)
            i += 1
    return "".join(out)


def _parsed(pattern: str) -> sre_parse.SubPattern:
    return sre_parse.parse(translate(pattern), re.ASCII)


def _is_anchor(item: tuple[object, object], codes: tuple[object, ...]) -> bool:
    return item[0] is sre.AT and item[1] in codes


_BEGIN = (sre.AT_BEGINNING, sre.AT_BEGINNING_STRING)
_END = (sre.AT_END, sre.AT_END_STRING)


def pattern_width(pattern: str) -> tuple[int, int | None]:
    """The shortest and longest length of a string ``pattern`` can match (None: unbounded)."""
    parsed = _parsed(pattern)
    low, high = parsed.getwidth()
    data = list(parsed.data)
    anchored = bool(data) and _is_anchor(data[0], _BEGIN) and _is_anchor(data[-1], _END)
    if not anchored or high >= _UNBOUNDED:
        return low, None
    return low, high


@dataclass(frozen=True, slots=True)
class _Piece:
    """One single-character matcher repeated ``low`` to ``high`` times."""

    chars: SearchStrategy[str]
    low: int
    high: int | None
    max_bytes: int
    # A character the matcher accepts, to lengthen the piece without another draw.
    sample: str = "a"


def _class_strategy(items: Sequence[tuple[object, object]]) -> tuple[SearchStrategy[str], int]:
    """One character of a ``[...]`` class, and the most JSON bytes such a character can take."""
    negate = any(op is sre.NEGATE for op, _ in items)
    if negate:
        # Python reads [^\d\w\s] with Unicode categories (jsonschema), ECMA with ASCII ones but a
        # wider \s: accept only characters both dialects accept.
        regex = re.compile(_class_text(items))
        spaces = any(value is sre.CATEGORY_SPACE for op, value in items if op is sre.CATEGORY)

        def accepted(char: str) -> bool:
            return regex.fullmatch(char) is not None and not (spaces and char in _ECMA_SPACE)

        return _ANY_UTF8.filter(accepted), 6
    parts: list[SearchStrategy[str]] = []
    literals: list[str] = []
    worst = 1
    for op, value in items:
        if op is sre.LITERAL:
            assert isinstance(value, int)
            literals.append(chr(value))
            worst = max(worst, char_bytes(chr(value)))
        elif op is sre.RANGE:
            assert isinstance(value, tuple)
            low, high = value
            parts.append(st.characters(min_codepoint=low, max_codepoint=high, codec="utf-8"))
            # Code points below 0x20 are escaped as \\uXXXX (6 bytes); '"' and '\\' as 2.
            worst = max(worst, 6 if low < 0x20 else 4 if high >= 0x10000 else char_bytes(chr(high)))
            if low <= ord('"') <= high or low <= ord("\\") <= high:
                worst = max(worst, 2)
        elif op is sre.CATEGORY:
            strategy, size = _CATEGORIES[value]
            parts.append(strategy)
            worst = max(worst, size)
        else:
            raise _NotLinear
    if literals:
        parts.insert(0, st.sampled_from(literals))
    return st.one_of(parts), worst


def _class_text(items: Sequence[tuple[object, object]]) -> str:
    """Rebuild ``[...]`` source from parsed class items (only for negated classes)."""
    text: list[str] = []
    for op, value in items:
        if op is sre.NEGATE:
            text.insert(0, "^")
        elif op is sre.LITERAL:
            assert isinstance(value, int)
            text.append(f"\\U{value:08x}")
        elif op is sre.RANGE:
            assert isinstance(value, tuple)
            text.append(f"\\U{value[0]:08x}-\\U{value[1]:08x}")
        elif op is sre.CATEGORY:
            text.append(_CATEGORY_TEXT[value])
        else:
            raise _NotLinear
    return "[" + "".join(text) + "]"


_WORD = st.one_of(
    st.characters(min_codepoint=ord("a"), max_codepoint=ord("z")),
    st.characters(min_codepoint=ord("A"), max_codepoint=ord("Z")),
    st.characters(min_codepoint=ord("0"), max_codepoint=ord("9")),
    st.just("_"),
)
_ANY_UTF8 = st.characters(codec="utf-8")
_CATEGORIES: dict[object, tuple[SearchStrategy[str], int]] = {
    sre.CATEGORY_DIGIT: (st.characters(min_codepoint=ord("0"), max_codepoint=ord("9")), 1),
    sre.CATEGORY_WORD: (_WORD, 1),
    sre.CATEGORY_SPACE: (st.sampled_from(_ASCII_SPACE), 6),
    # Negated categories: not a digit/word/space character in Unicode (as Python reads them)
    # nor in ECMA 262 (whose \s also holds U+FEFF, which Python's does not).
    sre.CATEGORY_NOT_DIGIT: (_ANY_UTF8.filter(lambda c: re.fullmatch(r"\d", c) is None), 6),
    sre.CATEGORY_NOT_WORD: (_ANY_UTF8.filter(lambda c: re.fullmatch(r"\w", c) is None), 6),
    sre.CATEGORY_NOT_SPACE: (
        _ANY_UTF8.filter(lambda c: not c.isspace() and c not in _ECMA_SPACE),
        6,
    ),
}
_CATEGORY_TEXT = {
    sre.CATEGORY_DIGIT: r"\d",
    sre.CATEGORY_NOT_DIGIT: r"\D",
    sre.CATEGORY_SPACE: r"\s",
    sre.CATEGORY_NOT_SPACE: r"\S",
    sre.CATEGORY_WORD: r"\w",
    sre.CATEGORY_NOT_WORD: r"\W",
}


class _NotLinear(Exception):
    """The pattern is not a sequence of repeated single characters."""


def _char(op: object, value: object) -> tuple[SearchStrategy[str], int]:
    if op is sre.LITERAL:
        assert isinstance(value, int)
        return st.just(chr(value)), char_bytes(chr(value))
    if op is sre.NOT_LITERAL:
        assert isinstance(value, int)
        return _ANY_UTF8.filter(lambda c: c != chr(value)), 6
    if op is sre.ANY:
        return st.characters(codec="utf-8", exclude_characters=_LINE_TERMINATORS), 4
    if op is sre.IN:
        assert isinstance(value, list)
        return _class_strategy(value)
    raise _NotLinear


def _linear_pieces(pattern: str) -> list[_Piece] | None:
    """The pattern as pieces (unanchored ends become "any text"), or None if it is not linear."""
    parsed = _parsed(pattern)
    if parsed.state.flags & (re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE):
        return None
    data = list(parsed.data)
    anchored_start = bool(data) and _is_anchor(data[0], _BEGIN)
    anchored_end = bool(data) and _is_anchor(data[-1], _END)
    body = data[1 if anchored_start else 0 : len(data) - 1 if anchored_end else len(data)]
    padding = _Piece(_ANY_UTF8, 0, None, 6, "a")
    pieces = [] if anchored_start else [padding]
    try:
        for op, value in body:
            if op in (sre.MAX_REPEAT, sre.MIN_REPEAT, sre.POSSESSIVE_REPEAT):
                assert isinstance(value, tuple)
                low, high, sub = value
                inner = list(sub.data)
                if len(inner) != 1:
                    return None
                chars, size = _char(*inner[0])
                top = None if high >= _UNBOUNDED else high
                pieces.append(_Piece(chars, low, top, size, _sample(*inner[0])))
            else:
                chars, size = _char(op, value)
                pieces.append(_Piece(chars, 1, 1, size, _sample(op, value)))
    except _NotLinear:
        return None
    if not anchored_end:
        pieces.append(padding)
    return pieces


def pattern_max_char_bytes(pattern: str) -> int:
    """The most JSON bytes one character of a match can take (6 when unknown)."""
    pieces = _linear_pieces(pattern)
    if pieces is None:
        return 6
    return max((p.max_bytes for p in pieces), default=1)


def pattern_strategy(
    pattern: str, min_length: int, max_length: int | None, *, edges: bool
) -> SearchStrategy[str]:
    """Strings matching ``pattern`` (search semantics) with a code point count in the bounds.

    Raises:
        PatternError: no match of the pattern has a length within the bounds.
    """
    low, high = pattern_width(pattern)
    if (max_length is not None and low > max_length) or (high is not None and high < min_length):
        raise PatternError(low, high)
    pieces = _linear_pieces(pattern)
    if pieces is not None:
        return _linear_strategy(pieces, min_length, max_length, edges=edges)
    original = _compiled(pattern)
    base = st.from_regex(re.compile(translate(pattern), re.ASCII), fullmatch=False)
    implied = low >= min_length and (
        max_length is None or (high is not None and high <= max_length)
    )

    def ok(text: str) -> bool:
        # The translated pattern matches a subset of the original's matches, except across \b
        # when non-ASCII letters surround it: check the pattern as jsonschema will.
        if original.search(text) is None:
            return False
        return implied or (
            min_length <= len(text) and (max_length is None or len(text) <= max_length)
        )

    return base.filter(ok)


def _linear_strategy(
    pieces: list[_Piece], min_length: int, max_length: int | None, *, edges: bool
) -> SearchStrategy[str]:
    fixed = sum(p.low for p in pieces)
    highs = [p.high for p in pieces]
    widest = None if None in highs else sum(h for h in highs if h is not None)
    low = max(min_length, fixed)
    high = (
        max_length if widest is None else widest if max_length is None else min(max_length, widest)
    )
    if high is not None and low > high:
        raise PatternError(fixed, widest)
    parts: list[SearchStrategy[list[str]]] = []
    for piece in pieces:
        cap = piece.high
        if high is not None:
            room = high - (fixed - piece.low)
            cap = room if cap is None else min(cap, room)
        parts.append(st.lists(piece.chars, min_size=piece.low, max_size=cap))
    targets: list[int] = sorted({low, high} if high is not None else {low})
    target: SearchStrategy[int | None] = st.none()
    if edges:
        target = st.one_of(st.none(), st.sampled_from(targets))
    assemble = functools.partial(_assemble, pieces, low, high)
    return st.tuples(target, st.tuples(*parts)).map(lambda drawn: assemble(*drawn))


def _assemble(
    pieces: list[_Piece],
    low: int,
    high: int | None,
    target: int | None,
    drawn: tuple[list[str], ...],
) -> str:
    """Lengthen or shorten the drawn pieces so that the total length is in bounds (or target).

    A piece grows by repeating its last character (or the matcher's sample character), and
    shrinks from its end, never below its own least count: deterministic, so shrinking works.
    """
    texts = [list(chars) for chars in drawn]
    total = sum(len(t) for t in texts)
    want = max(total, low) if target is None else target
    if high is not None:
        want = min(want, high)
    for text, piece in zip(texts, pieces, strict=True):
        if total < want:
            room = want - total if piece.high is None else min(want - total, piece.high - len(text))
            if room > 0:
                text.extend((text[-1] if text else piece.sample) * room)
                total += room
    for text, piece in zip(reversed(texts), reversed(pieces), strict=True):
        if total > want:
            cut = min(total - want, len(text) - piece.low)
            if cut > 0:
                del text[len(text) - cut :]
                total -= cut
    return "".join("".join(t) for t in texts)


# Characters likely to satisfy a negated class, tried in order.
_CANDIDATES = "a0A_-. xZ9\u00e9\u4e00"
_CATEGORY_SAMPLES: dict[object, str] = {
    sre.CATEGORY_DIGIT: "0",
    sre.CATEGORY_WORD: "a",
    sre.CATEGORY_SPACE: " ",
    sre.CATEGORY_NOT_DIGIT: "a",
    sre.CATEGORY_NOT_WORD: " ",
    sre.CATEGORY_NOT_SPACE: "a",
}


def _sample(op: object, value: object) -> str:
    """One character the single-character matcher ``(op, value)`` accepts."""
    if op is sre.LITERAL:
        assert isinstance(value, int)
        return chr(value)
    if op is sre.NOT_LITERAL:
        return "b" if value == ord("a") else "a"
    if op is sre.IN:
        assert isinstance(value, list)
        if not any(item_op is sre.NEGATE for item_op, _ in value):
            first_op, first = value[0]
            if first_op is sre.LITERAL:
                assert isinstance(first, int)
                return chr(first)
            if first_op is sre.RANGE:
                assert isinstance(first, tuple)
                return chr(first[0])
            return _CATEGORY_SAMPLES[first]
        regex = re.compile(_class_text(value), re.ASCII)
        candidates: list[str] = [*_CANDIDATES, *map(chr, range(0x20, 0x3000))]
        for char in candidates:
            if regex.fullmatch(char):
                return str(char)
    return "a"  # ANY
