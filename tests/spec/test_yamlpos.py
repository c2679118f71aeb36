"""yamlpos: YAML 1.2 core scalars, positions for every JSON pointer, located YAML errors."""

from __future__ import annotations

import math

import pytest

from ws_routes.errors import SpecError, SpecErrors
from ws_routes.spec.yamlpos import MAX_NESTING, PositionMap, parse_yaml, too_deep

SPEC = """\
version: 1
settings:
  max_messages: 5
routes:
  "/ws/chat":
    messages:
      ping: {kind: text, schema: {const: ping}}
    close_codes:
      - 1000
      - 4400
"""


def test_data_is_plain_json_values() -> None:
    data, _ = parse_yaml(SPEC, filename="s.yaml")
    assert data == {
        "version": 1,
        "settings": {"max_messages": 5},
        "routes": {
            "/ws/chat": {
                "messages": {"ping": {"kind": "text", "schema": {"const": "ping"}}},
                "close_codes": [1000, 4400],
            }
        },
    }


def test_keys_and_values_have_one_based_positions() -> None:
    _, positions = parse_yaml(SPEC, filename="s.yaml")
    assert positions.key("/settings/max_messages") == (3, 3)
    assert positions.value("/settings/max_messages") == (3, 17)
    assert positions.key("/routes/~1ws~1chat") == (5, 3)
    assert positions.key("/routes/~1ws~1chat/messages/ping/kind") == (7, 14)
    assert positions.value("/routes/~1ws~1chat/messages/ping/schema/const") == (7, 42)
    # Sequence items: the key position is the item itself.
    assert positions.key("/routes/~1ws~1chat/close_codes/1") == (10, 9)
    assert positions.key("") == (1, 1)


def test_unknown_pointers_fall_back_to_the_nearest_known_ancestor() -> None:
    _, positions = parse_yaml(SPEC, filename="s.yaml")
    assert positions.key("/settings/nothing/deeper") == (2, 1)
    assert PositionMap().key("/a") is None


def test_locate_builds_a_location_at_another_key() -> None:
    _, positions = parse_yaml(SPEC, filename="s.yaml")
    location = positions.locate("s.yaml", "/settings", at="/settings/max_messages")
    assert (location.line, location.column, location.pointer) == (3, 3, "/settings")
    assert str(location) == "s.yaml:3:3: settings"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no", "no"),  # YAML 1.1 would say False: the Norway problem
        ("on", "on"),
        ("yes", "yes"),
        ("y", "y"),
        ("true", True),
        ("False", False),
        ("~", None),
        ("null", None),
        ("", None),
        ("012", 12),  # not octal
        ("0o17", 15),
        ("0x1f", 31),
        ("-7", -7),
        ("1e3", 1000.0),
        ("1.5", 1.5),
        ("-.inf", -math.inf),
        ("1:30", "1:30"),  # not sexagesimal
        ("2024-01-01", "2024-01-01"),  # dates stay text
        ("'012'", "012"),
        ("!!str 5", "5"),
    ],
)
def test_scalars_follow_the_yaml_1_2_core_schema(text: str, expected: object) -> None:
    data, _ = parse_yaml(f"v: {text}\n", filename="s.yaml")
    assert data == {"v": expected}


def test_nan_is_a_float() -> None:
    data, _ = parse_yaml("v: .nan\n", filename="s.yaml")
    assert math.isnan(data["v"])


def test_keys_are_always_their_text() -> None:
    data, _ = parse_yaml("on: 1\n1000: 2\ntrue: 3\n", filename="s.yaml")
    assert data == {"on": 1, "1000": 2, "true": 3}


def test_duplicate_key_is_located_with_the_first_definition() -> None:
    text = "settings:\n  max_messages: 1\n  max_messages: 2\n"
    with pytest.raises(SpecError) as info:
        parse_yaml(text, filename="s.yaml")
    assert str(info.value) == (
        "s.yaml:3:3: settings: duplicate key 'max_messages' "
        "(first defined at line 2; keep one of them)"
    )


def test_every_duplicate_key_is_reported() -> None:
    text = "a: 1\na: 2\nb:\n  c: 1\n  c: 2\n"
    with pytest.raises(SpecErrors) as info:
        parse_yaml(text, filename="s.yaml")
    assert [str(e) for e in info.value.errors] == [
        "s.yaml:2:1: (top level): duplicate key 'a' (first defined at line 1; keep one of them)",
        "s.yaml:5:3: b: duplicate key 'c' (first defined at line 4; keep one of them)",
    ]


def test_syntax_error_is_located_at_the_yaml_mark() -> None:
    text = "settings:\n  max_messages: 5\n enabled: true\n"
    with pytest.raises(SpecError) as info:
        parse_yaml(text, filename="s.yaml")
    error = info.value
    assert (error.location.line, error.location.column) == (3, 2)
    assert error.message == "invalid YAML: did not find expected key"
    assert error.hint == "while parsing a block mapping that starts at line 1"


def test_unclosed_flow_sequence() -> None:
    with pytest.raises(SpecError) as info:
        parse_yaml("routes: [\n", filename="s.yaml")
    assert str(info.value).startswith("s.yaml:2:1: (top level): invalid YAML: ")


def test_several_documents_are_an_error() -> None:
    with pytest.raises(SpecError, match="expected a single document"):
        parse_yaml("a: 1\n---\nb: 2\n", filename="s.yaml")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("v: !!binary aGVsbG8=\n", "s.yaml:1:4: v: unsupported YAML tag '!!binary'"),
        ("v: !!set {a, b}\n", "s.yaml:1:4: v: unsupported YAML tag '!!set'"),
        ("v: !custom 1\n", "s.yaml:1:4: v: unsupported YAML tag '!custom'"),
        ("v: !!int x\n", "s.yaml:1:4: v: 'x' is not a valid int"),
        ("? [a, b]\n: 1\n", "s.yaml:1:3: (top level): mapping keys must be plain strings"),
        ("v: &a [*a]\n", "s.yaml:1:4: v.0: recursive YAML alias: a value may not contain itself"),
    ],
)
def test_values_without_a_json_equivalent_are_located_errors(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_yaml(text, filename="s.yaml")
    assert str(info.value).startswith(message)


def test_merge_keys_merge_and_own_keys_win() -> None:
    text = (
        "base: &base {kind: json, weight: 2}\n"
        "chat:\n"
        "  <<: *base\n"
        "  weight: 3\n"
        "both: {<<: [{a: 1}, {a: 2, b: 3}]}\n"
    )
    data, positions = parse_yaml(text, filename="s.yaml")
    assert data["chat"] == {"kind": "json", "weight": 3}
    assert data["both"] == {"a": 1, "b": 3}  # earlier merge sources win
    assert positions.key("/chat/weight") == (4, 3)
    assert positions.key("/chat/kind") == (1, 14)  # where the anchor wrote it


def test_aliases_copy_values() -> None:
    data, _ = parse_yaml("a: &x [1, 2]\nb: *x\n", filename="s.yaml")
    assert data == {"a": [1, 2], "b": [1, 2]}


def test_empty_document_is_none() -> None:
    assert parse_yaml("# nothing\n", filename="s.yaml")[0] is None


def test_json_is_read_too() -> None:
    data, positions = parse_yaml('{\n  "a": [1, {"b": null}]\n}\n', filename="s.json")
    assert data == {"a": [1, {"b": None}]}
    assert positions.key("/a/1/b") == (2, 13)


def test_nesting_deeper_than_the_limit_is_located_not_a_recursion_error() -> None:
    text = "a:\n  b: " + "[" * MAX_NESTING + "]" * MAX_NESTING + "\n"
    with pytest.raises(SpecError) as info:
        parse_yaml(text, filename="s.yaml")
    assert info.value.location.line == 2
    assert info.value.message == f"nested more than {MAX_NESTING} lists or mappings deep"
    depth = MAX_NESTING - 2  # the two mappings above count too
    data, _ = parse_yaml("a:\n  b: " + "[" * depth + "]" * depth + "\n", filename="s.yaml")
    assert too_deep(data) is None


def test_chained_merge_keys_are_bounded() -> None:
    lines = ["a0: &a0 {x: 1}"]
    lines += [f"a{i}: &a{i} {{<<: *a{i - 1}}}" for i in range(1, 300)]
    with pytest.raises(SpecError, match="'<<' merge keys chained more than 100 deep"):
        parse_yaml("\n".join(lines) + "\n", filename="s.yaml")


def test_too_deep_names_the_path_to_the_first_value_too_deep() -> None:
    assert too_deep({"a": [[{}]]}, limit=2) == ["a", "0"]
    assert too_deep({"a": [[{}]]}, limit=3) == ["a", "0", "0"]
    assert too_deep({"a": [[{}]]}, limit=4) is None
    deep: list[object] = []
    for _ in range(100_000):  # far deeper than any recursive walk could go
        deep = [deep]
    found = too_deep(deep)
    assert found is not None
    assert len(found) == MAX_NESTING


def test_an_integer_too_long_for_python_is_located_and_quoted_briefly() -> None:
    with pytest.raises(SpecError) as info:
        parse_yaml("a:\n  b: 1" + "0" * 5000 + "\n", filename="s.yaml")
    assert info.value.location.line == 2
    assert (
        info.value.message
        == "'1000000000000000000000000000000000000000'... (5001 characters) is not a valid int"
    )
