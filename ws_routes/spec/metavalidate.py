"""Validation against JSON Schemas with human, located errors.

Two jobs: checking a spec document against the shipped ``ws-routes.schema.json`` before any typed
object is built, and checking that every user-written JSON Schema is itself a valid schema. Both
turn jsonschema's errors into short sentences ("expected an integer, got 'ten'", "unknown key
'max_message'") with a did-you-mean hint where a close name exists.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
import warnings
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from importlib import resources
from typing import Any

from jsonschema import Draft202012Validator  # type: ignore[import-untyped]
from jsonschema.exceptions import ValidationError, best_match  # type: ignore[import-untyped]
from jsonschema.validators import validator_for  # type: ignore[import-untyped]

from ws_routes.errors import Location, SpecError, did_you_mean, pointer_join, pointer_tokens

jsonschema_rs: Any
try:
    jsonschema_rs = importlib.import_module("jsonschema_rs")
except ImportError:  # pragma: no cover - a declared dependency, but only an accelerator here
    jsonschema_rs = None

__all__ = ["Problem", "check_user_schema", "meta_schema", "meta_validate", "problems", "show"]

# (pointer of the offending value, pointer of the key to point the reader at) -> Location
Locator = Callable[[str, str], Location]

_TYPE_WORDS = {
    "object": "a mapping",
    "array": "a list",
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "null": "null",
}
_JSON_TYPES = ("array", "boolean", "integer", "null", "number", "object", "string")


@dataclass(frozen=True, slots=True)
class Problem:
    """One humanized validation error, before it is given a file location."""

    pointer: str
    message: str
    hint: str | None = None
    # Where to point the reader; defaults to ``pointer`` (an unknown key points at itself).
    at: str | None = None


def meta_schema() -> dict[str, Any]:
    """The shipped JSON Schema of the spec format (``ws_routes/data/ws-routes.schema.json``)."""
    return json.loads(json.dumps(_meta_schema()))  # type: ignore[no-any-return]


@functools.cache
def _meta_schema() -> dict[str, Any]:
    text = resources.files("ws_routes").joinpath("data", "ws-routes.schema.json").read_text("utf-8")
    return json.loads(text)  # type: ignore[no-any-return]


def _definition_schema(definition: str | None) -> dict[str, Any]:
    schema = _meta_schema()
    if definition is None:
        return schema
    return {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": definition}


@functools.cache
def _meta_validator(definition: str | None) -> Any:
    # Built once per process: constructing a validator (and its registry) is the expensive part.
    return Draft202012Validator(_definition_schema(definition))


@functools.cache
def _fast_meta_validator(definition: str | None) -> Any:
    """A jsonschema-rs validator of the format, or None; it only answers "valid?", but quickly."""
    if jsonschema_rs is None:
        return None
    try:
        return jsonschema_rs.Draft202012Validator(_definition_schema(definition))
    except Exception:  # pragma: no cover - an old jsonschema-rs: the slow path still works
        return None


def _fast_valid(validator: Any, instance: Any) -> bool:
    """True when the fast validator is sure ``instance`` is valid; never raises."""
    try:
        return validator is not None and bool(validator.is_valid(instance))
    except Exception:  # pragma: no cover - values jsonschema-rs cannot take (e.g. NaN)
        return False


def show(value: Any, limit: int = 60) -> str:
    """``repr`` of a value, shortened so that one error stays on one line."""
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _expected_types(types: str | list[str]) -> str:
    names = [types] if isinstance(types, str) else list(types)
    return " or ".join(_TYPE_WORDS.get(t, t) for t in names)


def _bounds(schema: Mapping[str, Any]) -> str:
    noun = _expected_types(schema.get("type", "number"))
    low, high = schema.get("minimum"), schema.get("maximum")
    if low is not None and high is not None:
        return f"{noun} from {low} to {high}"
    parts = []
    if low is not None:
        parts.append(f">= {low}")
    if "exclusiveMinimum" in schema:
        parts.append(f"> {schema['exclusiveMinimum']}")
    if high is not None:
        parts.append(f"<= {high}")
    if "exclusiveMaximum" in schema:
        parts.append(f"< {schema['exclusiveMaximum']}")
    return f"{noun} {' and '.join(parts)}"


def _unknown_keys(error: ValidationError, pointer: str) -> list[Problem]:
    instance: Any = error.instance
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    allowed = list(schema.get("properties", {}))
    patterns = list(schema.get("patternProperties", {}))
    return [
        Problem(
            pointer=pointer,
            message=f"unknown key {key!r}",
            hint=did_you_mean(key, allowed),
            at=pointer_join(pointer, key),
        )
        for key in instance
        if key not in allowed and not any(re.search(p, key) for p in patterns)
    ]


def _humanize(error: ValidationError) -> list[Problem]:
    pointer = pointer_join("", *error.absolute_path)
    keyword, instance = error.validator, error.instance
    value: Any = error.validator_value
    schema: Mapping[str, Any] = error.schema if isinstance(error.schema, Mapping) else {}
    expected = schema.get("x-expected")
    if error.context:
        # anyOf/oneOf report one error per branch; the most relevant branch says what to fix.
        return _humanize(best_match(error.context))
    if keyword == "additionalProperties" and isinstance(instance, dict):
        return _unknown_keys(error, pointer)
    message, hint = error.message, None
    if keyword == "required" and isinstance(instance, dict):
        missing = ", ".join(repr(k) for k in value if k not in instance)
        message = f"missing required key {missing}"
    elif keyword == "type":
        message = f"expected {expected or _expected_types(value)}, got {show(instance)}"
    elif keyword == "enum":
        message = f"{show(instance)} is not one of {', '.join(repr(v) for v in value)}"
        if isinstance(instance, str):
            hint = did_you_mean(instance, [str(v) for v in value])
    elif keyword == "const":
        message = f"expected {value!r}, got {show(instance)}"
    elif keyword in {"minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"}:
        message = f"expected {expected or _bounds(schema)}, got {show(instance)}"
    elif keyword == "minLength":
        wanted = "a non-empty string" if value == 1 else f"at least {value} characters"
        message = f"expected {wanted}, got {show(instance)}"
    elif keyword == "minItems":
        message = f"expected at least {value} item{'s' if value != 1 else ''}, got {show(instance)}"
    elif keyword == "uniqueItems" and isinstance(instance, list):
        seen: list[Any] = []
        for index, item in enumerate(instance):
            if item in seen:
                return [
                    Problem(
                        pointer=pointer_join(pointer, index),
                        message=f"duplicate item {show(item)}",
                        hint="list each value once",
                    )
                ]
            seen.append(item)
    elif keyword == "pattern":
        message = f"expected {expected or f'a string matching {value!r}'}, got {show(instance)}"
    return [Problem(pointer=pointer, message=message, hint=hint)]


def problems(errors: Iterable[ValidationError]) -> list[Problem]:
    """Humanize jsonschema errors, dropping exact repeats."""
    found: dict[tuple[str, str], Problem] = {}
    for error in errors:
        for problem in _humanize(error):
            found.setdefault((problem.at or problem.pointer, problem.message), problem)
    return list(found.values())


def meta_validate(data: Any, locate: Locator, *, definition: str | None = None) -> list[SpecError]:
    """Validate a spec document against the shipped schema.

    Args:
        data: The parsed document (mapping of the whole spec, or one part of it).
        locate: Maps ``(pointer, at)`` to a :class:`Location`; ``at`` is the key to point at.
        definition: A ``#/$defs/...`` reference to validate against a part of the format only
            (``"#/$defs/settings"`` for ``[tool.pytest-routes.websocket]``).

    Returns:
        Every error, humanized and located, in no particular order.
    """
    # Valid specs are the common case: jsonschema-rs confirms them ~100x faster than jsonschema,
    # whose detailed errors we only need when something is wrong.
    if _fast_valid(_fast_meta_validator(definition), data):
        return []
    validator = _meta_validator(definition)
    return [
        SpecError(p.message, location=locate(p.pointer, p.at or p.pointer), hint=p.hint)
        for p in problems(validator.iter_errors(data))
    ]


@functools.cache
def _schema_checker(dialect: str | None) -> Any:
    cls: Any = Draft202012Validator
    if dialect is not None:
        cls = validator_for({"$schema": dialect}, default=None)  # type: ignore[arg-type]
    # As in check_schema: with the format checker, so that a bad regex in "pattern" is an error.
    return None if cls is None else cls(cls.META_SCHEMA, format_checker=cls.FORMAT_CHECKER)


def _patterns_compile(schema: Any) -> bool:
    """Every "pattern" and "patternProperties" regex compiles (jsonschema-rs does not check)."""
    stack = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            regexes = list(node.get("patternProperties") or ())
            if isinstance(node.get("pattern"), str):
                regexes.append(node["pattern"])
            try:
                for regex in regexes:
                    re.compile(regex)
            except (re.error, TypeError):
                return False
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return True


def _fast_schema_valid(schema: Mapping[str, Any]) -> bool:
    if jsonschema_rs is None or not hasattr(jsonschema_rs, "meta"):
        return False
    try:
        valid = bool(jsonschema_rs.meta.is_valid(schema))
    except Exception:  # unknown $schema, values jsonschema-rs cannot take: ask jsonschema
        return False
    return valid and _patterns_compile(schema)


def check_user_schema(schema: Any) -> list[Problem]:
    """Check that a user-written JSON Schema is valid for its dialect (2020-12 by default).

    Returns:
        The problems, with pointers *inside* ``schema``; empty when it is valid.
    """
    if isinstance(schema, bool):
        return []
    if not isinstance(schema, Mapping):
        return [Problem(pointer="", message=f"expected a JSON Schema, got {show(schema)}")]
    dialect = schema.get("$schema")
    if dialect is not None and not isinstance(dialect, str):
        return [Problem(pointer="/$schema", message=f"expected a string, got {show(dialect)}")]
    with warnings.catch_warnings():
        # jsonschema warns (rather than fails) on an unknown $schema; we report it instead.
        warnings.simplefilter("ignore")
        checker = _schema_checker(dialect)
    if checker is None:
        known = [
            "https://json-schema.org/draft/2020-12/schema",
            "https://json-schema.org/draft/2019-09/schema",
            "http://json-schema.org/draft-07/schema#",
        ]
        return [
            Problem(
                pointer="/$schema",
                message=f"unknown JSON Schema dialect {dialect!r}",
                hint=did_you_mean(str(dialect), known) or "omit $schema for draft 2020-12",
            )
        ]
    if _fast_schema_valid(schema):
        return []
    found = problems(checker.iter_errors(schema))
    return [_type_hint(p, schema) for p in found]


def _type_hint(problem: Problem, schema: Mapping[str, Any]) -> Problem:
    """``type: strin`` fails the meta-schema's anyOf obscurely; say what the JSON types are."""
    if not problem.pointer.endswith("/type"):
        return problem
    value: Any = schema
    try:
        for token in pointer_tokens(problem.pointer):
            value = value[int(token)] if isinstance(value, list) else value[token]
    except (KeyError, IndexError, ValueError, TypeError):
        return problem
    pointer = problem.pointer
    if isinstance(value, list):
        wrong = [(i, v) for i, v in enumerate(value) if v not in _JSON_TYPES]
        if not wrong:
            return problem
        index, value = wrong[0]
        pointer = pointer_join(pointer, index)
    if not isinstance(value, str):
        return Problem(
            pointer=pointer,
            message=f"expected a JSON type name or a list of them, got {show(value)}",
        )
    return Problem(
        pointer=pointer,
        message=f"{value!r} is not a JSON type (one of {', '.join(_JSON_TYPES)})",
        hint=did_you_mean(value, _JSON_TYPES),
    )
