"""``$ref`` and ``$defs`` in the JSON Schemas :mod:`ws_routes.app.typeschema` builds.

The builder writes every class as a definition, referenced as ``#/$defs/<Name>``, and adopts
pydantic's and msgspec's definitions beside its own; these functions work on that document:
renaming refs, looking through them (is a union tagged?), and inlining what is used once.
Refs of any other form (``http://...``, ``#/properties/...``) are left alone: none are built.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

__all__ = ["inline_single_use", "rename_refs", "resolve", "tag_property"]


def inline_single_use(root: dict[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    """``root`` with the definitions used once (and not recursive) inlined; the rest under ``$defs``.

    A spec reads better with a model written where it is used; only what is shared or
    recursive needs a name.
    """
    defs = dict(defs)
    while True:
        counts = _ref_counts([root, *defs.values()])
        once = [n for n in defs if counts.get(n, 0) <= 1 and not _reaches(defs, defs[n], n, set())]
        if not once:
            break
        name = once[0]
        body = defs.pop(name)
        root = _substitute(root, name, body)
        defs = {k: _substitute(v, name, body) for k, v in defs.items()}
    return {**root, "$defs": defs} if defs else root


def tag_property(members: list[dict[str, Any]], defs: Mapping[str, Any]) -> str | None:
    """A required property that is a different constant in every member: a tagged union."""
    objects = [resolve(m, defs) for m in members]
    if len(objects) < 2 or any(o.get("type") != "object" for o in objects):
        return None
    common: set[str] = set.intersection(*(set(o.get("required", ())) for o in objects))
    for name in sorted(common):
        tags = [_constant(o.get("properties", {}).get(name)) for o in objects]
        if any(t is _NO_CONSTANT for t in tags):
            continue
        if len({json.dumps(t, sort_keys=True) for t in tags}) == len(tags):
            return name
    return None


_NO_CONSTANT = object()


def _constant(schema: Any) -> Any:
    if not isinstance(schema, Mapping):
        return _NO_CONSTANT
    if "const" in schema:
        return schema["const"]
    enum_values = schema.get("enum")
    if isinstance(enum_values, list) and len(enum_values) == 1:
        return enum_values[0]
    return _NO_CONSTANT


def resolve(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    """What a bare ``{"$ref": ...}`` (or a chain of them) stands for; a dangling or cyclic one as is."""
    seen: set[str] = set()
    while set(schema) == {"$ref"} and isinstance(schema["$ref"], str):
        name = schema["$ref"].removeprefix("#/$defs/")
        if name in seen or name not in defs:
            break
        seen.add(name)
        schema = defs[name]
    return schema


def _walk_refs(value: Any) -> Iterator[str]:
    if isinstance(value, Mapping):
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            yield ref.removeprefix("#/$defs/")
        for item in value.values():
            yield from _walk_refs(item)
    elif isinstance(value, list):
        for item in value:
            yield from _walk_refs(item)


def _ref_counts(values: list[Any]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for value in values:
        for name in _walk_refs(value):
            counts[name] = counts.get(name, 0) + 1
    return counts


def _reaches(defs: Mapping[str, Any], value: Any, target: str, seen: set[str]) -> bool:
    for name in _walk_refs(value):
        if name == target:
            return True
        if name not in seen and name in defs:
            seen.add(name)
            if _reaches(defs, defs[name], target, seen):
                return True
    return False


def _substitute(value: Any, name: str, body: Any) -> Any:
    """Replace ``{"$ref": "#/$defs/name", ...}`` by the definition (siblings kept beside it)."""
    if isinstance(value, Mapping):
        if value.get("$ref") == f"#/$defs/{name}":
            siblings = {k: _substitute(v, name, body) for k, v in value.items() if k != "$ref"}
            if not siblings:
                return body
            if set(siblings) & set(body):
                return {**siblings, "allOf": [*siblings.get("allOf", []), body]}
            return {**body, **siblings}
        return {k: _substitute(v, name, body) for k, v in value.items()}
    if isinstance(value, list):
        return [_substitute(v, name, body) for v in value]
    return value


def rename_refs(value: Any, renames: Mapping[str, str]) -> Any:
    if not renames:
        return value
    if isinstance(value, Mapping):
        out = {k: rename_refs(v, renames) for k, v in value.items()}
        ref = value.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/"):
            name = ref.removeprefix("#/$defs/")
            out["$ref"] = f"#/$defs/{renames.get(name, name)}"
        return out
    if isinstance(value, list):
        return [rename_refs(v, renames) for v in value]
    return value
