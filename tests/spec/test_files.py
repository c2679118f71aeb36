"""specfiles: spec and $ref files read safely, strict JSON, $id URLs to local files."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest

from ws_routes.errors import SpecError
from ws_routes.spec.files import (
    MAX_FILE_BYTES,
    LocalIds,
    declared_id,
    first_non_finite,
    parse_json,
    read_text_file,
)


def test_read_text_file_reads_regular_utf8_files(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("é: 1\n")
    assert read_text_file(tmp_path / "a.yaml", "a.yaml") == "é: 1\n"


def test_read_text_file_refuses_without_blocking_or_quoting(tmp_path: Path) -> None:
    os.mkfifo(tmp_path / "fifo")
    (tmp_path / "latin.json").write_bytes(b'{"x": "caf\xe9 TOPSECRET"}')
    (tmp_path / "big.json").write_bytes(b" " * (MAX_FILE_BYTES + 1))
    messages = {
        name: str(read_text_file(tmp_path / name, name))
        for name in ("fifo", "latin.json", "big.json", "missing.json")
    }
    assert messages == {
        "fifo": "fifo: (top level): the file 'fifo' is not a regular file (name a .json or .yaml file)",
        "latin.json": "latin.json: (top level): the file 'latin.json' is not UTF-8 text (byte 10"
        " cannot be decoded)",
        "big.json": "big.json: (top level): the file 'big.json' is larger than 8 MiB (split it, or"
        " name the part the spec needs)",
        "missing.json": "missing.json: (top level): no such file 'missing.json'",
    }
    nul = read_text_file(Path("a\0b"), "a\\0b", what="$ref target")
    assert isinstance(nul, SpecError)
    assert nul.message == "the $ref target path 'a\\\\0b' holds a NUL character"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": NaN}', "invalid JSON: NaN is not JSON"),
        ('{"a": -Infinity}', "invalid JSON: -Infinity is not JSON"),
        # Python < 3.13 gives up parsing first (RecursionError); the finding is the same.
        ("[" * 3000 + "]" * 3000, "nested more than 100 lists or mappings deep"),
        ("[" * 101 + "]" * 101, "nested more than 100 lists or mappings deep"),
        ('{"a": }', "invalid JSON: Expecting value"),
    ],
)
def test_parse_json_is_strict_and_bounded(text: str, message: str) -> None:
    with pytest.raises(SpecError) as info:
        parse_json(text, "x.json")
    assert info.value.message == message


def test_first_non_finite_finds_nan_anywhere() -> None:
    assert first_non_finite({"a": [1, {"b": float("nan")}]}) == ["a", "1", "b"]
    assert first_non_finite({"a": [1, 1e308]}) is None


def test_declared_id_follows_the_dialect() -> None:
    assert declared_id({"$id": "https://x/a.json#"}) == "https://x/a.json"
    assert declared_id({"$schema": "http://json-schema.org/draft-07/schema#", "$id": "urn:a"}) == (
        "urn:a"
    )
    assert declared_id({"$id": 5}) is None
    assert declared_id([1]) is None


def test_local_ids_search_near_files_and_never_fetch(tmp_path: Path) -> None:
    (tmp_path / "sub" / "deeper").mkdir(parents=True)
    (tmp_path / "sub" / "deeper" / "s.json").write_text(json.dumps({"$id": "https://x/s.json"}))
    loaded: list[Path] = []

    def load(path: Path) -> Any:
        loaded.append(path)
        return json.loads(path.read_text())

    ids = LocalIds(load)
    ids.add(tmp_path / "spec.yaml", None)
    assert ids.find("https://x/s.json#/$defs/a") == tmp_path / "sub" / "deeper" / "s.json"
    assert ids.find("https://json-schema.org/draft/2020-12/schema") is None
    assert ids.find("file:///etc/passwd") is None
    assert all(p.suffix == ".json" for p in loaded)
