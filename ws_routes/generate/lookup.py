"""Find the schema a local ``$ref`` names inside a self-contained document.

Supported: ``#`` (the root), JSON pointers (``#/$defs/a%20b``, with ``~0``/``~1`` escapes) and
``$anchor`` names (``#name``). Anything else is remote, and remote references are the loader's
business: it bundles them before we see the schema.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any
from urllib.parse import unquote

from ws_routes.errors import SchemaCompileError, did_you_mean, pointer_join, pointer_tokens

__all__ = ["lookup_ref", "walk"]


def lookup_ref(root: Any, ref: Any, pointer: str) -> tuple[Any, str]:
    """The schema ``ref`` names and its pointer in ``root``; ``pointer`` is where it was written.

    Raises:
        SchemaCompileError: ``ref`` is not a string, is remote, or does not resolve (with the
            closest existing pointer as a hint).
    """
    where = pointer_join(pointer, "$ref")
    if not isinstance(ref, str):
        raise SchemaCompileError(
            f"$ref must be a string, found {ref!r}", pointer=where, keyword="$ref"
        )
    if not ref.startswith("#"):
        raise SchemaCompileError(
            f"remote $ref {ref!r} is not supported: copy the schema into a local file",
            pointer=where,
            keyword="$ref",
        )
    fragment = unquote(ref[1:])
    if fragment and not fragment.startswith("/"):
        for target_pointer, value in walk(root, ""):
            if isinstance(value, Mapping) and value.get("$anchor") == fragment:
                return value, target_pointer
    else:
        value = root
        for token in pointer_tokens(fragment):
            if isinstance(value, Mapping) and token in value:
                value = value[token]
            elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
                value = value[int(token)]
            else:
                break
        else:
            return value, fragment
    known = ["#" + p for p, v in walk(root, "") if isinstance(v, Mapping | bool)]
    hint = did_you_mean(ref, known)
    raise SchemaCompileError(
        f"$ref {ref!r} does not resolve" + (f" ({hint})" if hint else ""),
        pointer=where,
        keyword="$ref",
    )


def walk(value: Any, pointer: str) -> Iterator[tuple[str, Any]]:
    """Every value in a JSON document with its pointer, the document itself first."""
    yield pointer, value
    if isinstance(value, Mapping):
        for key, child in value.items():
            yield from walk(child, pointer_join(pointer, str(key)))
    elif isinstance(value, list):
        for index, child in enumerate(value):
            yield from walk(child, pointer_join(pointer, index))
