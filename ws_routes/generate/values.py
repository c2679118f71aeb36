"""JSON value helpers: types, JSON Schema equality and serialised sizes.

JSON Schema equality differs from Python's: ``1 == 1.0`` holds, but ``true != 1`` and
``false != 0``, while Python treats ``True == 1``. Every comparison of generated values
(``enum``, ``const``, ``uniqueItems``) goes through :func:`json_key`.
"""

from __future__ import annotations

import json
from typing import Any

__all__ = ["char_bytes", "json_equal", "json_key", "json_size", "json_type", "string_bytes"]


def json_type(value: Any) -> str:
    """The JSON Schema type of a Python JSON value; integral floats count as ``integer``."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "integer" if value.is_integer() else "float"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list | tuple):
        return "array"
    if isinstance(value, dict):
        return "object"
    raise TypeError(f"not a JSON value: {value!r}")


def json_key(value: Any) -> Any:
    """A hashable key equal for exactly the values JSON Schema calls equal."""
    if isinstance(value, bool):
        return ("b", value)
    if isinstance(value, int | float):
        # Python already makes 1 == 1.0 and hash(1) == hash(1.0).
        return ("n", value)
    if isinstance(value, str):
        return ("s", value)
    if value is None:
        return ("z",)
    if isinstance(value, list | tuple):
        return ("a", tuple(json_key(v) for v in value))
    if isinstance(value, dict):
        return ("o", frozenset((k, json_key(v)) for k, v in value.items()))
    raise TypeError(f"not a JSON value: {value!r}")


def json_equal(a: Any, b: Any) -> bool:
    """Whether JSON Schema considers ``a`` and ``b`` equal."""
    return bool(json_key(a) == json_key(b))


def json_size(value: Any) -> int:
    """Bytes of ``json.dumps(value, ensure_ascii=False)`` encoded as UTF-8: a message's size."""
    text = json.dumps(value, ensure_ascii=False)
    try:
        return len(text.encode())
    except UnicodeEncodeError:
        # A lone surrogate (a schema may hold "\ud800") travels as a six-byte "\ud800" escape;
        # "surrogatepass" counts it as three.
        lone = sum(1 for c in text if "\ud800" <= c <= "\udfff")
        return len(text.encode("utf-8", "surrogatepass")) + 3 * lone


# json.dumps escapes these with two bytes (\" \\ \b \f \n \r \t); other C0 controls take six.
_SHORT_ESCAPES = frozenset('"\\\b\f\n\r\t')


def char_bytes(char: str) -> int:
    """Bytes one code point takes inside a JSON string written with ``ensure_ascii=False``."""
    if char in _SHORT_ESCAPES:
        return 2
    code = ord(char)
    if code < 0x20:
        return 6
    if code < 0x80:
        return 1
    if code < 0x800:
        return 2
    return 3 if code < 0x10000 else 4


def string_bytes(text: str) -> int:
    """Bytes of ``text`` serialised as a JSON string, quotes included."""
    return 2 + sum(char_bytes(c) for c in text)
