"""Read the keywords of one schema object, checking each value's JSON type.

Every problem is a :class:`~ws_routes.errors.SchemaCompileError` that names the keyword, shows
what was found, and points at it.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ws_routes.errors import SchemaCompileError, pointer_join
from ws_routes.generate.node import Number

__all__ = ["KeywordReader"]


class KeywordReader:
    """Reads and type-checks keyword values of one schema object, remembering their pointers."""

    def __init__(self, schema: Mapping[str, Any], pointer: str, validation: Collection[str]):
        self.schema = schema
        self.pointer = pointer
        self.src = {k: pointer_join(pointer, k) for k in schema if k in validation}

    def at(self, keyword: str) -> str:
        return pointer_join(self.pointer, keyword)

    def fail(self, keyword: str, message: str) -> Any:
        raise SchemaCompileError(message, pointer=self.at(keyword), keyword=keyword)

    def number(self, keyword: str) -> Number | None:
        value = self.schema.get(keyword)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            extra = (
                " (the draft-04 boolean form is not supported)" if isinstance(value, bool) else ""
            )
            self.fail(keyword, f"{keyword} must be a number, found {value!r}{extra}")
        return value  # type: ignore[no-any-return]

    def count(self, keyword: str) -> int | None:
        value = self.schema.get(keyword)
        if value is None:
            return None
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(keyword, f"{keyword} must be a non-negative integer, found {value!r}")
        return value  # type: ignore[no-any-return]

    def schema_list(self, keyword: str) -> list[Any]:
        if keyword not in self.schema:
            return []
        value = self.schema[keyword]
        if not isinstance(value, list) or not value:
            self.fail(keyword, f"{keyword} must be a non-empty array of schemas, found {value!r}")
        return value  # type: ignore[no-any-return]

    def mapping(self, keyword: str) -> Mapping[str, Any]:
        value = self.schema[keyword]
        if not isinstance(value, Mapping):
            self.fail(keyword, f"{keyword} must be an object, found {value!r}")
        return value  # type: ignore[no-any-return]

    def names(self, keyword: str) -> list[str]:
        value = self.schema[keyword]
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            self.fail(keyword, f"{keyword} must be an array of strings, found {value!r}")
        return value  # type: ignore[no-any-return]
