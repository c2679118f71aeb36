"""refs: file $refs bundled into self-contained schemas, and located errors when they break."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator  # type: ignore[import-untyped]

from ws_routes.errors import Location
from ws_routes.spec.files import MAX_FILE_BYTES
from ws_routes.spec.refs import MAX_REF_CHAIN, Bundled, RefResolver


def _display(path: Path) -> str:
    return path.name if path.parent.name != "nested" else f"nested/{path.name}"


def _write(path: Path, value: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(value if isinstance(value, str) else json.dumps(value, indent=2))


def _inline(pointer: str) -> Location:
    # Stands in for the spec's positions: every inline pointer sits on line 7.
    return Location(file="spec.yaml", line=7, column=3, pointer="/schema" + pointer)


def _bundle(tmp_path: Path, schema: Any, resolver: RefResolver | None = None) -> Bundled:
    resolver = resolver or RefResolver(_display)
    return resolver.bundle(schema, base_file=tmp_path / "spec.yaml", locate=_inline)


def _errors(bundled: Bundled) -> list[str]:
    return [str(e) for e in bundled.errors]


CHAT = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "$id": "https://example.com/chat.json",
    "oneOf": [{"$ref": "#/$defs/join"}, {"$ref": "#/$defs/leave"}],
    "$defs": {
        "room": {"type": "string", "pattern": "^[a-z]+$"},
        "join": {
            "type": "object",
            "properties": {"type": {"const": "join"}, "room": {"$ref": "#/$defs/room"}},
            "required": ["type", "room"],
        },
        "leave": {"type": "object", "properties": {"type": {"const": "leave"}}},
    },
}


def _valid(schema: Any, instance: Any) -> bool:
    # No registry: a reference that is not local would fail to resolve, so this also proves
    # that the bundle is self-contained.
    return bool(Draft202012Validator(schema).is_valid(instance))


def test_whole_file_is_copied_under_defs_and_its_local_refs_follow(tmp_path: Path) -> None:
    _write(tmp_path / "schemas" / "chat.json", CHAT)
    bundled = _bundle(tmp_path, {"$ref": "schemas/chat.json"})
    assert bundled.errors == []
    schema = bundled.schema
    assert schema["$ref"] == "#/$defs/__file__chat.json"
    copy = schema["$defs"]["__file__chat.json"]
    assert "$id" not in copy
    assert "$schema" not in copy  # no longer a resource root
    assert copy["oneOf"][0] == {"$ref": "#/$defs/__file__chat.json/$defs/join"}
    assert copy["$defs"]["join"]["properties"]["room"] == {
        "$ref": "#/$defs/__file__chat.json/$defs/room"
    }
    assert _valid(schema, {"type": "join", "room": "lobby"})
    assert not _valid(schema, {"type": "join", "room": "Lobby!"})


def test_fragment_points_into_the_copy(tmp_path: Path) -> None:
    _write(tmp_path / "chat.json", CHAT)
    schema = _bundle(tmp_path, {"$ref": "chat.json#/$defs/join"}).schema
    assert schema["$ref"] == "#/$defs/__file__chat.json/$defs/join"
    assert _valid(schema, {"type": "join", "room": "a"})
    assert not _valid(schema, {"type": "leave"})


def test_yaml_files_are_accepted(tmp_path: Path) -> None:
    _write(tmp_path / "room.yaml", "type: string\nenum: [no, de]\n")
    schema = _bundle(tmp_path, {"$ref": "room.yaml"}).schema
    assert schema["$defs"]["__file__room.yaml"] == {"type": "string", "enum": ["no", "de"]}
    assert _valid(schema, "no")


def test_inline_local_refs_stay_local(tmp_path: Path) -> None:
    inline = {"$defs": {"a": {"type": "integer"}}, "items": {"$ref": "#/$defs/a"}}
    bundled = _bundle(tmp_path, inline)
    assert bundled.schema == inline
    assert bundled.errors == []


def test_chain_across_folders_resolves_relative_to_the_referencing_file(tmp_path: Path) -> None:
    _write(tmp_path / "a.json", {"$ref": "nested/b.yaml#/$defs/b"})
    _write(tmp_path / "nested" / "b.yaml", "$defs:\n  b: {$ref: '../c.json'}\n")
    _write(tmp_path / "c.json", {"type": "boolean"})
    schema = _bundle(tmp_path, {"properties": {"x": {"$ref": "a.json"}}}).schema
    defs = schema["$defs"]
    assert schema["properties"]["x"] == {"$ref": "#/$defs/__file__a.json"}
    assert defs["__file__a.json"] == {"$ref": "#/$defs/__file__b.yaml/$defs/b"}
    assert defs["__file__b.yaml"] == {"$defs": {"b": {"$ref": "#/$defs/__file__c.json"}}}
    assert _valid(schema, {"x": True})
    assert not _valid(schema, {"x": 1})


def test_cycles_are_bundled_once(tmp_path: Path) -> None:
    _write(
        tmp_path / "tree.json",
        {
            "type": "object",
            "properties": {
                "children": {"type": "array", "items": {"$ref": "tree.json"}},
                "other": {"$ref": "other.json"},
            },
        },
    )
    _write(tmp_path / "other.json", {"anyOf": [{"type": "null"}, {"$ref": "tree.json"}]})
    schema = _bundle(tmp_path, {"$ref": "tree.json"}).schema
    assert sorted(schema["$defs"]) == ["__file__other.json", "__file__tree.json"]
    tree = schema["$defs"]["__file__tree.json"]
    assert tree["properties"]["children"]["items"] == {"$ref": "#/$defs/__file__tree.json"}
    assert _valid(schema, {"children": [{"children": []}], "other": {"other": None}})
    assert not _valid(schema, {"children": [{"children": 1}]})


def test_same_file_name_in_two_folders_gets_two_keys(tmp_path: Path) -> None:
    _write(tmp_path / "x.json", {"type": "string"})
    _write(tmp_path / "nested" / "x.json", {"type": "integer"})
    schema = _bundle(
        tmp_path, {"prefixItems": [{"$ref": "x.json"}, {"$ref": "nested/x.json"}]}
    ).schema
    assert schema["prefixItems"] == [
        {"$ref": "#/$defs/__file__x.json"},
        {"$ref": "#/$defs/__file__x.json_2"},
    ]
    assert _valid(schema, ["a", 1])
    assert not _valid(schema, [1, "a"])


def test_generated_keys_do_not_shadow_the_users_defs(tmp_path: Path) -> None:
    _write(tmp_path / "x.json", {"type": "string"})
    schema = _bundle(
        tmp_path, {"$defs": {"__file__x.json": {"type": "null"}}, "$ref": "x.json"}
    ).schema
    assert schema["$ref"] == "#/$defs/__file__x.json_2"
    assert schema["$defs"]["__file__x.json"] == {"type": "null"}


def test_percent_encoded_paths_and_special_file_names(tmp_path: Path) -> None:
    _write(tmp_path / "my schema.json", {"type": "string"})
    schema = _bundle(tmp_path, {"$ref": "my%20schema.json"}).schema
    assert schema["$ref"] == "#/$defs/__file__my_schema.json"


def test_data_and_property_names_are_not_references(tmp_path: Path) -> None:
    inline = {
        "properties": {"$ref": {"type": "string"}},
        "const": {"$ref": "nope.json"},
        "examples": [{"$ref": "nope.json"}],
    }
    bundled = _bundle(tmp_path, inline)
    assert bundled.errors == []
    assert bundled.schema == inline


def test_refs_under_unknown_keywords_are_followed(tmp_path: Path) -> None:
    # OpenAPI-like files keep schemas under keywords JSON Schema does not know.
    _write(
        tmp_path / "api.yaml",
        "components:\n"
        "  schemas:\n"
        "    A: {$ref: '#/components/schemas/B'}\n"
        "    B: {type: integer}\n",
    )
    schema = _bundle(tmp_path, {"$ref": "api.yaml#/components/schemas/A"}).schema
    assert _valid(schema, 3)
    assert not _valid(schema, "3")


def test_anchors_become_pointers(tmp_path: Path) -> None:
    _write(
        tmp_path / "a.json",
        {"$defs": {"room": {"$anchor": "room", "type": "string"}}, "$ref": "#room"},
    )
    schema = _bundle(tmp_path, {"$ref": "a.json#room"}).schema
    assert schema["$ref"] == "#/$defs/__file__a.json/$defs/room"
    assert schema["$defs"]["__file__a.json"]["$ref"] == "#/$defs/__file__a.json/$defs/room"
    assert _valid(schema, "x")
    assert not _valid(schema, 1)


def test_each_file_is_read_once_per_resolver(tmp_path: Path) -> None:
    _write(tmp_path / "x.json", {"type": "string"})
    resolver = RefResolver(_display)
    first = _bundle(tmp_path, {"$ref": "x.json"}, resolver)
    (tmp_path / "x.json").unlink()
    second = _bundle(tmp_path, {"$ref": "x.json"}, resolver)
    assert first.schema == second.schema
    assert second.errors == []


def test_missing_file_suggests_the_closest_name(tmp_path: Path) -> None:
    _write(tmp_path / "schemas" / "chat.json", CHAT)
    bundled = _bundle(tmp_path, {"items": {"$ref": "schemas/chta.json"}})
    assert _errors(bundled) == [
        "spec.yaml:7:3: schema.items.$ref: no such file 'schemas/chta.json' "
        "(did you mean 'schemas/chat.json'?)"
    ]
    # The reference is left as written: the bundle is not used when there are errors.
    assert bundled.schema == {"items": {"$ref": "schemas/chta.json"}}


def test_missing_file_without_a_close_name_says_where_it_looked(tmp_path: Path) -> None:
    bundled = _bundle(tmp_path, {"$ref": "nowhere/x.json"})
    assert _errors(bundled) == [
        f"spec.yaml:7:3: schema.$ref: no such file 'nowhere/x.json' "
        f"(looked for {tmp_path.resolve() / 'nowhere' / 'x.json'})"
    ]


@pytest.mark.parametrize(
    "ref",
    ["https://example.com/chat.json", "http://json-schema.org/draft-07/schema#", "urn:example:x"],
)
def test_remote_refs_are_refused(tmp_path: Path, ref: str) -> None:
    assert _errors(_bundle(tmp_path, {"$ref": ref})) == [
        f"spec.yaml:7:3: schema.$ref: remote $ref {ref.partition('#')[0]!r} is not the $id of"
        " any local file (ws_routes never downloads schemas: save the schema in a file next to"
        " the spec, with that $id, or refer to it by a relative path)"
    ]


def test_bad_json_is_located_in_its_own_file(tmp_path: Path) -> None:
    text = '{\n  "type": "string",\n}\n'
    _write(tmp_path / "bad.json", text)
    # Python's own words and position for the error (3.13 reworded this one and moved it).
    with pytest.raises(json.JSONDecodeError) as parsed:
        json.loads(text)
    where = f"{parsed.value.lineno}:{parsed.value.colno}"
    assert _errors(_bundle(tmp_path, {"$ref": "bad.json"})) == [
        f"bad.json:{where}: (top level): invalid JSON: {parsed.value.msg} "
        "(referenced at spec.yaml:7:3)"
    ]


def test_bad_yaml_is_located_in_its_own_file(tmp_path: Path) -> None:
    _write(tmp_path / "bad.yaml", "type: string\n  oops: [\n")
    errors = _bundle(tmp_path, {"$ref": "bad.yaml"}).errors
    assert len(errors) == 1
    assert (errors[0].location.file, errors[0].location.line) == ("bad.yaml", 2)
    assert errors[0].message.startswith("invalid YAML: ")


def test_unresolvable_pointer_suggests_the_closest_key(tmp_path: Path) -> None:
    _write(tmp_path / "chat.json", CHAT)
    assert _errors(_bundle(tmp_path, {"$ref": "chat.json#/$defs/jion"})) == [
        "spec.yaml:7:3: schema.$ref: $ref 'chat.json#/$defs/jion' does not resolve: "
        "no 'jion' in 'chat.json' (did you mean 'join'?)"
    ]


def test_unknown_anchor(tmp_path: Path) -> None:
    _write(tmp_path / "a.json", {"$defs": {"room": {"$anchor": "room"}}})
    assert _errors(_bundle(tmp_path, {"$ref": "a.json#rom"})) == [
        "spec.yaml:7:3: schema.$ref: $ref 'a.json#rom': no $anchor 'rom' in 'a.json' "
        "(did you mean 'room'?)"
    ]


def test_errors_in_a_referenced_file_are_located_in_that_file(tmp_path: Path) -> None:
    _write(tmp_path / "a.json", '{\n  "items": {\n    "$ref": "missing.json"\n  }\n}\n')
    _write(tmp_path / "b.json", '{\n  "$ref": "#/$defs/nope"\n}\n')
    assert _errors(_bundle(tmp_path, {"$ref": "a.json"})) == [
        "a.json:3:5: items.$ref: no such file 'missing.json' "
        f"(looked for {tmp_path.resolve() / 'missing.json'})"
    ]
    assert _errors(_bundle(tmp_path, {"$ref": "b.json"})) == [
        "b.json:2:3: $ref: $ref '#/$defs/nope' does not resolve: no '$defs' in 'b.json' "
        "(did you mean '$ref'?)"
    ]


def test_bundle_locates_pointers_in_the_file_a_copy_came_from(tmp_path: Path) -> None:
    _write(tmp_path / "chat.json", '{\n  "$defs": {\n    "room": {"type": "strin"}\n  }\n}\n')
    bundled = _bundle(tmp_path, {"$ref": "chat.json"})
    inside = bundled.locate("/$defs/__file__chat.json/$defs/room/type", _inline)
    assert str(inside) == "chat.json:3:14: $defs.room.type"
    assert str(bundled.locate("/$ref", _inline)) == "spec.yaml:7:3: schema.$ref"


# -- $id URLs, hostile targets, chains ------------------------------------------------------------


def test_a_ref_by_id_url_finds_the_local_file_that_declares_it(tmp_path: Path) -> None:
    _write(tmp_path / "schemas" / "chat.json", CHAT)
    bundled = _bundle(tmp_path, {"$ref": "https://example.com/chat.json#/$defs/join"})
    assert bundled.errors == []
    assert bundled.schema["$ref"] == "#/$defs/__file__chat.json/$defs/join"
    assert _valid(bundled.schema, {"type": "join", "room": "lobby"})


def test_a_relative_ref_inside_a_file_with_an_id_resolves_against_that_id(tmp_path: Path) -> None:
    _write(tmp_path / "a.json", {"$id": "https://example.com/s/a.json", "$ref": "b.json"})
    _write(
        tmp_path / "elsewhere" / "bee.json",
        {"$id": "https://example.com/s/b.json", "type": "integer"},
    )
    bundled = _bundle(tmp_path, {"$ref": "a.json"})
    assert bundled.errors == []
    assert _valid(bundled.schema, 3)
    assert not _valid(bundled.schema, "3")


def test_a_file_uri_is_a_path(tmp_path: Path) -> None:
    _write(tmp_path / "int.json", {"type": "integer"})
    bundled = _bundle(tmp_path, {"$ref": (tmp_path / "int.json").as_uri()})
    assert bundled.errors == []
    assert _valid(bundled.schema, 1)


@pytest.mark.parametrize("name", ["notes.txt", "passwd", "secrets.env"])
def test_a_target_that_is_not_json_or_yaml_is_never_read(tmp_path: Path, name: str) -> None:
    (tmp_path / name).write_text("root:x:0:0:TOPSECRET\n")
    (error,) = _errors(_bundle(tmp_path, {"$ref": name}))
    assert f"the $ref target '{name}' is not a JSON or YAML file" in error
    assert "TOPSECRET" not in error
    assert "referenced at spec.yaml:7:3" in error


def test_fifos_devices_and_folders_are_refused_without_blocking(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo.json")
    (tmp_path / "zero.json").symlink_to("/dev/zero")
    (tmp_path / "folder.json").mkdir()
    errors = _errors(
        _bundle(
            tmp_path,
            {"anyOf": [{"$ref": "fifo.json"}, {"$ref": "zero.json"}, {"$ref": "folder.json"}]},
        )
    )
    assert "the $ref target 'fifo.json' is not a regular file" in errors[0]
    assert "the $ref target 'zero' is not a JSON or YAML file" in errors[1]  # resolved first
    assert "the $ref target 'folder.json' is a folder" in errors[2]


def test_a_target_over_the_size_cap_is_refused(tmp_path: Path) -> None:
    (tmp_path / "big.json").write_text(" " * (MAX_FILE_BYTES + 1) + "{}")
    (error,) = _errors(_bundle(tmp_path, {"$ref": "big.json"}))
    assert "the $ref target 'big.json' is larger than 8 MiB" in error


def test_a_target_that_is_not_a_schema_is_named_not_quoted(tmp_path: Path) -> None:
    _write(tmp_path / "data.json", {"secret": ["TOPSECRET"]})
    (error,) = _errors(_bundle(tmp_path, {"$ref": "data.json#/secret"}))
    assert error == (
        "spec.yaml:7:3: schema.$ref: $ref 'data.json#/secret' points at a list in"
        " 'data.json#/secret', not a JSON Schema (a schema is a mapping, or true or false)"
    )


def test_json_targets_reject_nan_and_deep_nesting(tmp_path: Path) -> None:
    (tmp_path / "nan.json").write_text('{"minimum": NaN}')
    (tmp_path / "deep.json").write_text("[" * 5000 + "]" * 5000)
    (tmp_path / "deep2.json").write_text("[" * 150 + "]" * 150)
    errors = _errors(
        _bundle(tmp_path, {"anyOf": [{"$ref": f} for f in ("nan.json", "deep.json", "deep2.json")]})
    )
    assert errors[0].startswith("nan.json: (top level): invalid JSON: NaN is not JSON")
    assert errors[1].startswith("deep.json: ")
    assert "nested more than 100 lists or mappings deep (flatten it" in errors[1]
    assert errors[2].startswith("deep2.json: 0.0.0.0.0....(")
    assert "nested more than 100 lists or mappings deep" in errors[2]


def test_a_chain_of_files_longer_than_the_limit_is_a_located_error(tmp_path: Path) -> None:
    for i in range(500):
        _write(tmp_path / f"r{i}.json", {"$ref": f"r{i + 1}.json"})
    _write(tmp_path / "r500.json", {"type": "integer"})
    (error,) = _errors(_bundle(tmp_path, {"$ref": "r0.json"}))
    assert error.startswith(f"r{MAX_REF_CHAIN - 1}.json:2:3: $ref: $ref 'r{MAX_REF_CHAIN}.json'")
    assert f"is the end of a chain of more than {MAX_REF_CHAIN} files" in error
    short = _bundle(tmp_path, {"$ref": f"r{500 - MAX_REF_CHAIN + 1}.json"})
    assert short.errors == []
    assert _valid(short.schema, 5)
