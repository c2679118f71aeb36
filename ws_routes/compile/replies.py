"""Reply validators: the fast yes/no for every received frame, and the reasons of a failure.

Both come from jsonschema-rs, so they agree and neither can hang: patterns are compiled with
Rust's ``regex`` crate (linear time) when they use nothing else, otherwise with fancy-regex and
its backtracking limit. Python's ``jsonschema``, which once gave the error text, backtracks in
``re`` while holding the GIL: ``^(a+)+$`` against 30 ``a`` and a ``!`` ran for minutes and
ignored SIGINT (issue 11). It remains only for schemas jsonschema-rs cannot compile at all.

jsonschema-rs refuses strings with lone surrogates (it converts them to UTF-8), which a JSON
reply can carry as ``\\ud800`` escapes; such values are checked with every surrogate swapped for
a distinct private-use character of plane 15, which keeps lengths, types and distinctness.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsonschema
import jsonschema_rs

from ws_routes.spec.model import Schema

__all__ = [
    "NOT_JSON",
    "ReplyValidator",
    "parse_json",
    "reply_validator",
    "strict_json",
    "without_surrogates",
]

# Reasons are previews: jsonschema-rs quotes the whole instance in some of its messages.
_REASON_CHARS = 300
_MAX_REASONS = 5
_SURROGATE = re.compile("[\ud800-\udfff]")
# Plane 15 private use: U+F0000 + (surrogate - U+D800), one character per surrogate.
_PLANE_15 = 0xF0000 - 0xD800


def _swap(match: re.Match[str]) -> str:
    return chr(ord(match.group()) + _PLANE_15)


def _text(value: str) -> str:
    return value if value.isascii() else _SURROGATE.sub(_swap, value)


def without_surrogates(value: Any) -> Any:
    """``value`` with every lone surrogate in its strings (keys too) swapped for a private-use
    character, so that it can be handed to jsonschema-rs."""
    if isinstance(value, str):
        return _text(value)
    if isinstance(value, dict):
        return {
            (_text(k) if isinstance(k, str) else k): without_surrogates(v) for k, v in value.items()
        }
    if isinstance(value, list):
        return [without_surrogates(v) for v in value]
    return value


def _cut(text: str) -> str:
    text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text if len(text) <= _REASON_CHARS else text[:_REASON_CHARS] + "…"


def _where(path: Any) -> str:
    return "/" + "/".join(map(str, path)) if path else "(root)"


@dataclass(frozen=True, slots=True)
class ReplyValidator:
    """``is_valid`` for the hot path and ``errors`` for reports, from one compiled validator."""

    _valid: Callable[[Any], bool]
    _errors: Callable[[Any], list[str]]

    def is_valid(self, value: Any) -> bool:
        try:
            return self._valid(value)
        except UnicodeEncodeError:
            return self._valid(without_surrogates(value))
        except (RecursionError, ValueError, OverflowError):
            # Deeper or larger than the validator can take: not a match of this reply, and the
            # errors say why.
            return False

    def errors(self, value: Any) -> list[str]:
        """At most five reasons ``value`` does not match, each a short preview."""
        try:
            return self._errors(value)
        except UnicodeEncodeError:
            return self._errors(without_surrogates(value))
        except (RecursionError, ValueError, OverflowError) as exc:
            return [_cut(f"at (root): cannot be validated: {type(exc).__name__}: {exc}")]


def _rs_errors(validator: Any) -> Callable[[Any], list[str]]:
    def errors(value: Any) -> list[str]:
        out = []
        for err in validator.iter_errors(value):
            out.append(_cut(f"at {_where(err.instance_path)}: {err.message}"))
            if len(out) == _MAX_REASONS:
                break
        return out

    return errors


def _py_errors(validator: Any) -> Callable[[Any], list[str]]:
    def errors(value: Any) -> list[str]:
        found = sorted(validator.iter_errors(value), key=lambda e: list(map(str, e.path)))
        return [_cut(f"at {_where(e.absolute_path)}: {e.message}") for e in found[:_MAX_REASONS]]

    return errors


def _compile_rs(value: dict[str, Any]) -> Any:
    try:
        # Linear time, but no lookaround or backreferences.
        return jsonschema_rs.validator_for(value, pattern_options=jsonschema_rs.RegexOptions())
    except Exception:  # a pattern the regex crate refuses: try fancy-regex
        pass
    # fancy-regex bounds its backtracking (a pattern over the limit does not match).
    return jsonschema_rs.validator_for(value)


def reply_validator(schema: Schema | None) -> ReplyValidator:
    """The validator of a reply's schema (None: anything of the reply's kind matches)."""
    if schema is None:
        return ReplyValidator(lambda _v: True, lambda _v: [])
    value = schema.value
    if isinstance(value, bool):
        constant: bool = value
        reasons = [] if constant else ["at (root): the schema is false: nothing matches"]
        return ReplyValidator(lambda _v: constant, lambda _v: list(reasons))
    try:
        rs = _compile_rs(dict(value))
    except Exception:
        # jsonschema-rs rejects a few exotic regexes Python accepts; correctness beats speed.
        py = jsonschema.validators.validator_for(value)(value)
        return ReplyValidator(py.is_valid, _py_errors(py))
    return ReplyValidator(rs.is_valid, _rs_errors(rs))


# -- reading a received text frame as JSON --------------------------------------------------------

NOT_JSON = object()


def _not_json(constant: str) -> Any:
    raise ValueError(f"{constant} is not JSON (RFC 8259); JSON.parse rejects it")


# Built once: json.loads with any keyword builds a decoder per call, twice the cost of a parse,
# and every received text frame is parsed here.
_STRICT = json.JSONDecoder(parse_constant=_not_json)


# Integers longer than Python's int-to-string limit (4300 digits) are JSON all the same; read
# them as JSON.parse does, as a double. Only on retry: a parse_int hook slows every parse.
def _int_or_double(digits: str) -> int | float:
    return int(digits) if len(digits) <= 4000 else float(digits)


_BIG_INTS = json.JSONDecoder(parse_constant=_not_json, parse_int=_int_or_double)


def strict_json(data: str | bytes) -> Any:
    """``json.loads`` without Python's NaN and Infinity extension, which browsers refuse.

    Raises ValueError for text that is not JSON, RecursionError for JSON nested deeper than
    Python's parser goes.
    """
    text = data.decode("utf-8") if isinstance(data, bytes) else data
    try:
        return _STRICT.decode(text)
    except ValueError as exc:
        if "integer string conversion" not in str(exc):
            raise
    return _BIG_INTS.decode(text)


def parse_json(data: str | bytes) -> Any:
    try:
        return strict_json(data)
    except (ValueError, RecursionError):
        return NOT_JSON
