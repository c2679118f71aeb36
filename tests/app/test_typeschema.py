from __future__ import annotations

import dataclasses
import datetime
import enum
import json
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import (
    Annotated,
    Any,
    Literal,
    NamedTuple,
    NotRequired,
    Optional,
    Required,
    TypedDict,
    Union,
)

import annotated_types
import jsonschema
import msgspec
import pydantic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ws_routes import generate
from ws_routes.app.typeschema import json_schema_for


def valid(schema: Mapping[str, Any], value: Any) -> bool:
    return jsonschema.Draft202012Validator(schema).is_valid(value)


# -- scalars, Literal, enums -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tp", "expected"),
    [
        (bool, {"type": "boolean"}),
        (int, {"type": "integer"}),
        (float, {"type": "number"}),
        (str, {"type": "string"}),
        (None, {"type": "null"}),
        (type(None), {"type": "null"}),
        (Any, {}),
        (object, {}),
        (datetime.datetime, {"type": "string", "format": "date-time"}),
        (datetime.date, {"type": "string", "format": "date"}),
        (uuid.UUID, {"type": "string", "format": "uuid"}),
    ],
)
def test_scalars(tp: Any, expected: dict[str, Any]) -> None:
    assert json_schema_for(tp) == expected


def test_bytes_are_base64_strings_as_decoders_read_them() -> None:
    schema = json_schema_for(bytes)
    assert schema is not None
    assert schema["type"] == "string"
    assert valid(schema, "aGVsbG8=")
    assert not valid(schema, "hello!")


def test_literal_one_value_is_const_several_are_enum() -> None:
    assert json_schema_for(Literal["join"]) == {"const": "join"}
    assert json_schema_for(Literal["a", 1, None]) == {"enum": ["a", 1, None]}


class Color(enum.Enum):
    RED = "red"
    BLUE = "blue"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


def test_enums_are_their_values() -> None:
    assert json_schema_for(Color) == {"enum": ["red", "blue"]}
    assert json_schema_for(Level) == {"enum": [1, 2]}
    assert json_schema_for(Literal[Color.RED]) == {"const": "red"}


# -- unions ----------------------------------------------------------------------------------------


def test_optional_and_unions_are_any_of() -> None:
    assert json_schema_for(int | None) == {"anyOf": [{"type": "integer"}, {"type": "null"}]}
    assert json_schema_for(Optional[str]) == {"anyOf": [{"type": "string"}, {"type": "null"}]}  # noqa: UP045
    assert json_schema_for(Union[int, str]) == {"anyOf": [{"type": "integer"}, {"type": "string"}]}  # noqa: UP007


@dataclasses.dataclass
class Join:
    type: Literal["join"]
    room: int


@dataclasses.dataclass
class Leave:
    type: Literal["leave"]
    room: int


@dataclasses.dataclass
class OtherJoin:
    type: Literal["join"]
    name: str


def test_a_union_of_models_tagged_by_a_literal_field_is_one_of() -> None:
    schema = json_schema_for(Join | Leave)
    assert schema is not None
    assert list(schema) == ["oneOf"]
    assert [m["properties"]["type"] for m in schema["oneOf"]] == [
        {"const": "join"},
        {"const": "leave"},
    ]


def test_a_union_whose_tags_collide_stays_any_of() -> None:
    schema = json_schema_for(Join | OtherJoin)
    assert schema is not None
    assert list(schema) == ["anyOf"]


class MJoin(msgspec.Struct, tag="join"):
    room: int


class MLeave(msgspec.Struct, tag="leave"):
    room: int


def test_msgspec_tagged_structs_are_one_of() -> None:
    schema = json_schema_for(MJoin | MLeave)
    assert schema is not None
    assert "oneOf" in schema
    assert valid(schema, {"type": "join", "room": 1})
    assert not valid(schema, {"type": "join"})


# -- containers ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tp", "expected"),
    [
        (list[int], {"type": "array", "items": {"type": "integer"}}),
        (Sequence[str], {"type": "array", "items": {"type": "string"}}),
        (set[int], {"type": "array", "uniqueItems": True, "items": {"type": "integer"}}),
        (tuple[int, ...], {"type": "array", "items": {"type": "integer"}}),
        (
            tuple[int, str],
            {
                "type": "array",
                "prefixItems": [{"type": "integer"}, {"type": "string"}],
                "items": False,
                "minItems": 2,
            },
        ),
        (tuple[()], {"type": "array", "maxItems": 0}),
        (dict[str, int], {"type": "object", "additionalProperties": {"type": "integer"}}),
        (dict[str, Any], {"type": "object"}),
        (list, {"type": "array"}),
        (dict, {"type": "object"}),
    ],
)
def test_containers(tp: Any, expected: dict[str, Any]) -> None:
    assert json_schema_for(tp) == expected


def test_int_keys_are_decimal_strings() -> None:
    schema = json_schema_for(dict[int, str])
    assert schema is not None
    assert valid(schema, {"12": "a", "-3": "b"})
    assert not valid(schema, {"x": "a"})


# -- classes ---------------------------------------------------------------------------------------


@dataclasses.dataclass
class Node:
    name: str
    children: list[Node] = dataclasses.field(default_factory=list)
    parent: Node | None = None
    cache: int = dataclasses.field(default=0, init=False)


def test_dataclass_required_fields_and_defaults() -> None:
    assert json_schema_for(Join) == {
        "type": "object",
        "properties": {"type": {"const": "join"}, "room": {"type": "integer"}},
        "required": ["type", "room"],
    }


def test_recursive_dataclass_keeps_its_definition_local() -> None:
    schema = json_schema_for(Node)
    assert schema is not None
    assert schema["$ref"] == "#/$defs/Node"
    node = schema["$defs"]["Node"]
    assert node["required"] == ["name"]  # defaults and default_factory make a field optional
    assert "cache" not in node["properties"]  # init=False: not read from input
    assert node["properties"]["children"] == {"type": "array", "items": {"$ref": "#/$defs/Node"}}
    assert valid(schema, {"name": "a", "children": [{"name": "b"}]})
    assert not valid(schema, {"name": "a", "children": [{}]})


class Movie(TypedDict, total=False):
    title: Required[str]
    year: int


class Show(TypedDict):
    title: str
    seasons: NotRequired[int]


def test_typeddict_required_keys() -> None:
    movie = json_schema_for(Movie)
    show = json_schema_for(Show)
    assert movie is not None
    assert show is not None
    assert movie["required"] == ["title"]
    assert set(movie["properties"]) == {"title", "year"}
    assert show["required"] == ["title"]
    assert show["properties"]["seasons"] == {"type": "integer"}


class Point(NamedTuple):
    x: int
    y: int = 0


def test_namedtuple_is_an_array() -> None:
    schema = json_schema_for(Point)
    assert schema == {
        "type": "array",
        "prefixItems": [{"type": "integer"}, {"type": "integer"}],
        "items": False,
        "minItems": 1,
    }


class Item(pydantic.BaseModel):
    sku: str = pydantic.Field(min_length=2)


class Order(pydantic.BaseModel):
    items: list[Item]
    note: str | None = None

    @pydantic.computed_field  # type: ignore[prop-decorator]
    @property
    def count(self) -> int:
        return len(self.items)


def test_pydantic_model_defs_hoisted_and_modes_differ() -> None:
    schema = json_schema_for(list[Order])
    assert schema is not None
    assert valid(schema, [{"items": [{"sku": "ab"}]}])
    assert not valid(schema, [{"items": [{"sku": "a"}]}])  # min_length kept
    assert "count" not in json.dumps(schema)
    out = json_schema_for(Order, mode="serialization")
    assert out is not None
    assert "count" in out["properties"]  # computed fields are sent, not read


class Renamed(msgspec.Struct, rename="camel"):
    user_name: str
    age: Annotated[int, msgspec.Meta(ge=0)]


def test_msgspec_struct_renames_and_constraints() -> None:
    schema = json_schema_for(Renamed)
    assert schema is not None
    assert schema["required"] == ["userName", "age"]
    assert schema["properties"]["age"] == {"type": "integer", "minimum": 0}


def test_two_models_with_one_name_get_distinct_definitions() -> None:
    first = pydantic.create_model("Same", a=(int, ...))
    second = pydantic.create_model("Same", b=(str, ...))
    outer = pydantic.create_model("Outer", x=(first, ...), y=(second, ...))
    holder = pydantic.create_model("Holder", left=(outer, ...), right=(second, ...))
    schema = json_schema_for(tuple[holder, first])  # type: ignore[valid-type]
    assert schema is not None
    good = [{"left": {"x": {"a": 1}, "y": {"b": "s"}}, "right": {"b": "t"}}, {"a": 2}]
    bad = [{"left": {"x": {"b": "s"}, "y": {"b": "s"}}, "right": {"b": "t"}}, {"a": 2}]
    assert valid(schema, good)
    assert not valid(schema, bad)


# -- Annotated -----------------------------------------------------------------------------------


def test_annotated_constraints() -> None:
    assert json_schema_for(Annotated[int, annotated_types.Ge(1), annotated_types.Lt(10)]) == {
        "type": "integer",
        "minimum": 1,
        "exclusiveMaximum": 10,
    }
    assert json_schema_for(Annotated[str, pydantic.Field(max_length=3)]) == {
        "type": "string",
        "maxLength": 3,
    }
    assert json_schema_for(Annotated[list[int], annotated_types.Len(1, 2)]) == {
        "type": "array",
        "items": {"type": "integer"},
        "minItems": 1,
        "maxItems": 2,
    }
    assert json_schema_for(Annotated[str, "documentation only"]) == {"type": "string"}


# -- unknown types -------------------------------------------------------------------------------


@dataclasses.dataclass
class Broken:
    when: Undefined  # type: ignore[name-defined]  # noqa: F821


@pytest.mark.parametrize(
    "tp",
    [complex, Callable[[int], int], "Join", list[complex], Broken, dict[tuple[int, int], str]],
    ids=["complex", "callable", "string", "nested", "unresolvable-forward-ref", "tuple-keys"],
)
def test_unknown_types_give_none(tp: Any) -> None:
    assert json_schema_for(tp) is None


# -- what decoders accept ------------------------------------------------------------------------


@dataclasses.dataclass
class Everything:
    tag: Literal["all"]
    count: int
    ratio: float
    flag: bool
    name: str
    blob: bytes
    color: Color
    level: Level
    when: datetime.datetime
    day: datetime.date
    ident: uuid.UUID
    tags: list[str]
    pair: tuple[int, str]
    scores: dict[int, float]
    point: Point
    movie: Movie
    child: MJoin | MLeave
    maybe: int | None = None
    bounded: Annotated[int, annotated_types.Interval(ge=0, le=9)] = 0


def _msgspec(tp: Any) -> Callable[[str], object]:
    return lambda text: msgspec.json.decode(text, type=tp)


def _pydantic(tp: Any) -> Callable[[str], object]:
    return pydantic.TypeAdapter(tp).validate_json


@pytest.mark.parametrize(
    ("tp", "decoder"),
    [
        (Everything, _msgspec),
        (Renamed, _msgspec),
        (MJoin | MLeave, _msgspec),
        (list[Order], _pydantic),
        (Join | Leave, _pydantic),
    ],
    ids=[
        "dataclass-of-everything",
        "msgspec-renamed",
        "msgspec-tagged",
        "pydantic",
        "pydantic-union",
    ],
)
def test_every_generated_value_decodes(
    tp: Any, decoder: Callable[[Any], Callable[[str], object]]
) -> None:
    """The point of the schemas: what ws_routes generates from them, the decoders accept."""
    schema = json_schema_for(tp)
    assert schema is not None
    jsonschema.Draft202012Validator.check_schema(schema)
    decode = decoder(tp)

    @settings(
        max_examples=40, database=None, deadline=None, suppress_health_check=list(HealthCheck)
    )
    @given(generate.from_schema(schema, max_size=2048))
    def decodes(value: Any) -> None:
        decode(json.dumps(value, ensure_ascii=False))

    decodes()


@given(st.sampled_from([Everything, Node, Movie, Order, MJoin | MLeave, Renamed]))
@settings(max_examples=10, database=None)
def test_schemas_are_valid_json_schemas(tp: Any) -> None:
    for mode in ("validation", "serialization"):
        schema = json_schema_for(tp, mode=mode)  # type: ignore[arg-type]
        assert schema is not None
        jsonschema.Draft202012Validator.check_schema(schema)
        generate.check_schema(schema)
