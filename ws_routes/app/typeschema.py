"""JSON Schemas for Python types: what ``ws-routes init`` writes for a typed handler.

Covers what WebSocket handlers annotate their data with: pydantic v2 models, msgspec Structs,
dataclasses, TypedDicts, NamedTuples, enums, ``Literal``, unions, containers and scalars.
pydantic and msgspec are imported only when a type of theirs shows up, so neither is needed.

Each schema follows how the decoders read JSON (msgspec and pydantic, which Litestar and FastAPI
use): ``bytes`` are base64 strings, ``dict[int, X]`` has decimal keys, a NamedTuple is an array.
A message schema that admits a value the handler's decoder rejects would make ws_routes report
the decoder's refusal as a server error, so where the two could differ the schema is the
narrower one. Anything not understood makes the whole answer None, never a guess.
"""

from __future__ import annotations

import collections
import dataclasses
import datetime
import decimal
import enum
import json
import sys
import types
import typing
import uuid
from collections import abc
from collections.abc import Callable, Mapping
from typing import Any, Literal

from ws_routes.app.schemarefs import inline_single_use, rename_refs, tag_property

__all__ = ["Mode", "json_schema_for"]

Mode = Literal["validation", "serialization"]

# RFC 4648 base64 with padding, the way msgspec and pydantic (base64 mode) read bytes from JSON.
_BASE64 = r"^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$"
_INT_KEY = r"^-?(?:0|[1-9][0-9]*)$"
_SCALARS: dict[type, dict[str, Any]] = {
    bool: {"type": "boolean"},
    int: {"type": "integer"},
    float: {"type": "number"},
    str: {"type": "string"},
    bytes: {"type": "string", "contentEncoding": "base64", "pattern": _BASE64},
    bytearray: {"type": "string", "contentEncoding": "base64", "pattern": _BASE64},
    type(None): {"type": "null"},
    datetime.datetime: {"type": "string", "format": "date-time"},
    datetime.date: {"type": "string", "format": "date"},
    datetime.time: {"type": "string", "format": "time"},
    uuid.UUID: {"type": "string", "format": "uuid"},
    decimal.Decimal: {"type": "number"},
}
# typing.List[X], list[X] and collections.abc.Sequence[X] all have one of these as origin.
_LIST_ORIGINS: tuple[Any, ...] = (list, collections.deque, abc.Sequence, abc.MutableSequence)
_SET_ORIGINS: tuple[Any, ...] = (set, frozenset, abc.Set, abc.MutableSet)
_DICT_ORIGINS: tuple[Any, ...] = (dict, abc.Mapping, abc.MutableMapping)


class _Unknown(Exception):
    """A type we have no faithful schema for."""


def json_schema_for(annotation: Any, *, mode: Mode = "validation") -> dict[str, Any] | None:
    """The JSON Schema of the JSON values a Python type reads from (or writes to) a message.

    Args:
        annotation: A type: a model class, a dataclass, ``list[Item]``, ``Literal["a", "b"]``,
            ``Join | Leave``, ``Annotated[int, Meta(ge=0)]`` and so on.
        mode: ``"validation"`` for what a decoder accepts (messages), ``"serialization"`` for
            what an encoder produces (replies); they differ for pydantic models only.

    Returns:
        A self-contained schema (shared and recursive parts under ``$defs``, referenced as
        ``#/$defs/<Name>``), or None when some part of the type has no faithful schema
        (a string annotation, a callable, a class we do not know).
    """
    builder = _Builder(mode)
    try:
        root = builder.schema(annotation)
    except _Unknown:
        return None
    return builder.finish(root)


class _Builder:
    def __init__(self, mode: Mode) -> None:
        self.mode = mode
        self.defs: dict[str, Any] = {}
        self.named: dict[int, str] = {}  # id(class) -> def name, for recursion and sharing

    # -- the document ----------------------------------------------------------------------

    def finish(self, root: dict[str, Any]) -> dict[str, Any]:
        """The document: definitions used once inlined, the rest under ``$defs``."""
        return inline_single_use(root, self.defs)

    def define(self, cls: type, build: Callable[[], dict[str, Any]]) -> dict[str, Any]:
        """``{"$ref": ...}`` to ``cls``'s definition, building it once (recursion-safe)."""
        name = self.named.get(id(cls))
        if name is None:
            name = self._free_name(cls.__name__)
            self.named[id(cls)] = name
            self.defs[name] = {}  # reserved: a recursive field refers to it while building
            self.defs[name] = build()
        return {"$ref": f"#/$defs/{name}"}

    def _free_name(self, wanted: str) -> str:
        name, n = wanted, 2
        while name in self.defs:
            name, n = f"{wanted}{n}", n + 1
        return name

    def adopt(self, schema: dict[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
        """Take a foreign schema (pydantic, msgspec) whose refs point into its own ``defs``."""
        renames: dict[str, str] = {}
        new: list[str] = []
        for name, body in defs.items():
            if name in self.defs and self.defs[name] == body:
                continue  # the same model met again
            target = self._free_name(name)
            renames[name] = target
            self.defs[target] = {}  # reserved until refs are renamed below
            new.append(name)
        for name in new:
            self.defs[renames[name]] = rename_refs(defs[name], renames)
        return rename_refs(schema, renames)  # type: ignore[no-any-return]

    # -- types -----------------------------------------------------------------------------

    def schema(self, tp: Any) -> dict[str, Any]:
        if tp is Any or tp is object or isinstance(tp, typing.TypeVar):
            return {}
        if tp is None:
            return {"type": "null"}
        if isinstance(tp, str | typing.ForwardRef):
            raise _Unknown(tp)
        supertype = getattr(tp, "__supertype__", None)  # typing.NewType
        if supertype is not None:
            return self.schema(supertype)
        origin = typing.get_origin(tp)
        if origin is not None:
            return self._generic(tp, origin, typing.get_args(tp))
        if isinstance(tp, types.UnionType):
            return self._union(typing.get_args(tp))
        if not isinstance(tp, type):
            raise _Unknown(tp)
        foreign = self._foreign(tp)
        if foreign is not None:
            return foreign
        if issubclass(tp, enum.Enum):
            return _enum([m.value for m in tp])
        if typing.is_typeddict(tp):
            return self.define(tp, lambda: self._typeddict(tp))
        if dataclasses.is_dataclass(tp):
            return self.define(tp, lambda: self._dataclass(tp))
        if issubclass(tp, tuple) and hasattr(tp, "_fields"):
            return self.define(tp, lambda: self._namedtuple(tp))
        for base, schema in _SCALARS.items():
            if tp is base or (issubclass(tp, base) and base not in (bool, type(None))):
                return dict(schema)
        bare = _bare_container(tp)
        if bare is not None:
            return bare
        raise _Unknown(tp)

    def _generic(self, tp: Any, origin: Any, args: tuple[Any, ...]) -> dict[str, Any]:
        if origin is typing.Annotated:
            return self._annotated(args[0], tp.__metadata__)
        if origin in (typing.Required, typing.NotRequired, typing.ClassVar, typing.Final):
            return self.schema(args[0])
        if origin is Literal:
            return _enum([a.value if isinstance(a, enum.Enum) else a for a in args])
        if origin is typing.Union or origin is types.UnionType:
            return self._union(args)
        if origin in _LIST_ORIGINS:
            return {"type": "array", "items": self.schema(args[0])} if args else {"type": "array"}
        if origin in _SET_ORIGINS:
            out: dict[str, Any] = {"type": "array", "uniqueItems": True}
            return {**out, "items": self.schema(args[0])} if args else out
        if origin is tuple:
            # tuple[()] has no args, like a bare typing.Tuple, but an alias of its own class.
            empty = not args and type(tp).__name__ != "_TupleType"
            return {"type": "array", "maxItems": 0} if empty else self._tuple(args)
        if origin in _DICT_ORIGINS:
            return self._dict(args)
        if isinstance(origin, type):
            # A parametrised model (pydantic ``Page[int]``, msgspec ``Box[int]``): theirs to say.
            foreign = self._foreign(tp)
            if foreign is not None:
                return foreign
        raise _Unknown(tp)

    def _union(self, args: tuple[Any, ...]) -> dict[str, Any]:
        members: list[dict[str, Any]] = []
        for arg in args:
            schema = self.schema(arg)
            if schema not in members:
                members.append(schema)
        if len(members) == 1:
            return members[0]
        if tag_property(members, self.defs) is not None:
            return {"oneOf": members}
        return {"anyOf": members}

    def _tuple(self, args: tuple[Any, ...]) -> dict[str, Any]:
        if not args:
            return {"type": "array"}
        if len(args) == 2 and args[1] is Ellipsis:
            return {"type": "array", "items": self.schema(args[0])}
        return {
            "type": "array",
            "prefixItems": [self.schema(a) for a in args],
            "items": False,
            "minItems": len(args),
        }

    def _dict(self, args: tuple[Any, ...]) -> dict[str, Any]:
        if not args:
            return {"type": "object"}
        key, value = args
        out: dict[str, Any] = {"type": "object"}
        values = self.schema(value)
        if values:
            out["additionalProperties"] = values
        key_schema = self._key(key)
        if key_schema:
            out["propertyNames"] = key_schema
        return out

    def _key(self, key: Any) -> dict[str, Any]:
        """JSON object keys are strings; what the decoder accepts as a key of type ``key``."""
        key = getattr(key, "__supertype__", key)
        if key in (str, Any):
            return {}
        if key is int:
            return {"pattern": _INT_KEY}
        if typing.get_origin(key) is Literal or (
            isinstance(key, type) and issubclass(key, enum.Enum)
        ):
            schema = self.schema(key)
            if all(isinstance(v, str) for v in schema.get("enum", [schema.get("const")])):
                return schema
        if isinstance(key, type) and issubclass(key, str):
            return {}
        raise _Unknown(key)

    def _annotated(self, inner: Any, metadata: tuple[Any, ...]) -> dict[str, Any]:
        if any(type(m).__module__.startswith("msgspec") for m in metadata):
            foreign = _msgspec_schema(self, typing.Annotated[(inner, *metadata)])  # type: ignore[valid-type]
            if foreign is not None:
                return foreign
        schema = self.schema(inner)
        for item in metadata:
            for constraint in getattr(item, "metadata", [item]):  # pydantic's FieldInfo holds many
                schema = _constrain(schema, constraint)
        return schema

    def _fields(
        self, hints: Mapping[str, Any], names: list[str], required: list[str]
    ) -> dict[str, Any]:
        out: dict[str, Any] = {
            "type": "object",
            "properties": {name: self.schema(hints[name]) for name in names},
        }
        if required:
            out["required"] = required
        return out

    def _typeddict(self, tp: type) -> dict[str, Any]:
        hints = _hints(tp)
        required_keys = set(getattr(tp, "__required_keys__", hints))
        for key, hint in hints.items():
            # Under `from __future__ import annotations` Python 3.11 cannot see Required and
            # NotRequired in the strings it computes __required_keys__ from; the resolved hints can.
            if typing.get_origin(hint) is typing.Required:
                required_keys.add(key)
            elif typing.get_origin(hint) is typing.NotRequired:
                required_keys.discard(key)
        return self._fields(hints, list(hints), [k for k in hints if k in required_keys])

    def _dataclass(self, tp: type) -> dict[str, Any]:
        hints = _hints(tp)
        fields = [f for f in dataclasses.fields(tp) if f.init]
        required = [
            f.name
            for f in fields
            if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
        ]
        return self._fields(hints, [f.name for f in fields], required)

    def _namedtuple(self, tp: type) -> dict[str, Any]:
        hints = _hints(tp)
        names: tuple[str, ...] = tp._fields  # type: ignore[attr-defined]
        defaults: Mapping[str, Any] = getattr(tp, "_field_defaults", {})
        out: dict[str, Any] = {
            "type": "array",
            "prefixItems": [self.schema(hints.get(n, Any)) for n in names],
            "items": False,
            "minItems": len([n for n in names if n not in defaults]),
        }
        return out

    def _foreign(self, tp: Any) -> dict[str, Any] | None:
        """pydantic models and msgspec Structs describe themselves."""
        cls = typing.get_origin(tp) or tp
        if not isinstance(cls, type):
            return None
        pydantic = sys.modules.get("pydantic")
        if pydantic is not None and issubclass(cls, pydantic.BaseModel):
            return _pydantic_schema(self, tp)
        msgspec = sys.modules.get("msgspec")
        if msgspec is not None and issubclass(cls, msgspec.Struct):
            return _msgspec_schema(self, tp)
        return None


def _pydantic_schema(builder: _Builder, tp: Any) -> dict[str, Any]:
    try:
        if isinstance(tp, type):
            model: Any = tp
            schema = model.model_json_schema(mode=builder.mode, ref_template="#/$defs/{model}")
        else:
            from pydantic import TypeAdapter

            schema = TypeAdapter(tp).json_schema(mode=builder.mode, ref_template="#/$defs/{model}")
    except Exception as exc:  # pydantic raises for types it cannot describe
        raise _Unknown(tp) from exc
    defs = schema.pop("$defs", {})
    return builder.adopt(schema, defs)


def _msgspec_schema(builder: _Builder, tp: Any) -> dict[str, Any] | None:
    try:
        import msgspec
    except ImportError:  # pragma: no cover - only reached with msgspec types, so it is installed
        return None
    try:
        (schema,), defs = msgspec.json.schema_components((tp,), ref_template="#/$defs/{name}")
    except (TypeError, ValueError) as exc:
        raise _Unknown(tp) from exc
    return builder.adopt(schema, defs)


def _hints(tp: type) -> dict[str, Any]:
    try:
        return typing.get_type_hints(tp, include_extras=True)
    except Exception as exc:  # NameError of an unresolvable forward reference, and friends
        raise _Unknown(tp) from exc


def _bare_container(tp: type) -> dict[str, Any] | None:
    if issubclass(tp, dict):
        return {"type": "object"}
    if issubclass(tp, list | tuple):
        return {"type": "array"}
    if issubclass(tp, set | frozenset):
        return {"type": "array", "uniqueItems": True}
    return None


def _enum(values: list[Any]) -> dict[str, Any]:
    for value in values:
        try:
            json.dumps(value)
        except (TypeError, ValueError):
            raise _Unknown(value) from None
    return {"const": values[0]} if len(values) == 1 else {"enum": values}


# annotated_types / msgspec.Meta attribute -> (keyword by JSON type)
_BOUNDS = {"ge": "minimum", "gt": "exclusiveMinimum", "le": "maximum", "lt": "exclusiveMaximum"}
_LENGTHS = {
    "string": ("minLength", "maxLength"),
    "array": ("minItems", "maxItems"),
    "object": ("minProperties", "maxProperties"),
}


def _constrain(schema: dict[str, Any], item: Any) -> dict[str, Any]:
    """Apply one ``Annotated`` constraint (annotated_types: Ge, Len, MultipleOf, ...)."""
    out = dict(schema)
    for attr, keyword in _BOUNDS.items():
        value = getattr(item, attr, None)
        if isinstance(value, int | float) and not isinstance(value, bool):
            out[keyword] = value
    multiple = getattr(item, "multiple_of", None)
    if isinstance(multiple, int | float) and not isinstance(multiple, bool):
        out["multipleOf"] = multiple
    low, high = getattr(item, "min_length", None), getattr(item, "max_length", None)
    keywords = _LENGTHS.get(out.get("type", ""))
    if keywords is not None:
        if isinstance(low, int):
            out[keywords[0]] = low
        if isinstance(high, int):
            out[keywords[1]] = high
    pattern = getattr(item, "pattern", None)
    if isinstance(pattern, str) and out.get("type") == "string":
        out["pattern"] = pattern
    return out
