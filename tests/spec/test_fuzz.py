"""A seeded spec fuzzer: mutants of the bundled specs load (and compile) or fail with a located error.

Every mutant of ``specs/*.yaml`` and ``examples/ws-routes.yaml`` (with copies of their
``schemas/``) must either load and compile every route, or raise a :class:`WsRoutesError` each of
whose messages names a file and a line; any other exception, or a mutant that takes longer than
:data:`DEADLINE` seconds, fails the test with the mutant's text. Mutations: keys deleted, renamed
and added; values replaced by other types and by extreme numbers (``.nan``, ``.inf``, 1e308,
``10**30``, ``-1``, 0, 1e9 as a count); YAML syntax broken; nesting 150 to 600 deep (YAML, and
JSON in a referenced file); ``$ref`` s to missing files, folders, FIFOs, non-JSON files, cycles,
remote URLs, NUL bytes and values that are not schemas; referenced schema files mutated the same way.

The mutants are fixed by the seed. CI runs :data:`DEFAULT_EXAMPLES`; run longer by hand with
``WS_ROUTES_FUZZ_EXAMPLES=5000 pytest -p no:xdist tests/spec/test_fuzz.py`` (and another seed with
``WS_ROUTES_FUZZ_SEED=7``).
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import signal
from collections.abc import Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest
import yaml

from ws_routes.compile.route import compile_route
from ws_routes.errors import SpecErrors, WsRoutesError
from ws_routes.spec.loader import load_spec

ROOT = Path(__file__).resolve().parents[2]
SPECS = [*sorted((ROOT / "specs").glob("*.yaml")), ROOT / "examples" / "ws-routes.yaml"]
DEFAULT_EXAMPLES = 150
EXAMPLES = int(os.environ.get("WS_ROUTES_FUZZ_EXAMPLES", DEFAULT_EXAMPLES))
SEED = int(os.environ.get("WS_ROUTES_FUZZ_SEED", "20261202"))
# Generous: a mutant takes milliseconds; this only turns a hang into a failure.
DEADLINE = 30
_LOCATED = re.compile(r"\S+:\d+")

_EXTREMES: list[Any] = [
    float("nan"),
    float("inf"),
    -float("inf"),
    1e308,
    -1e308,
    10**30,
    -1,
    0,
    1_000_000_000,
    0.5,
    True,
    None,
    "",
    "x" * 5000,
    "a\0b",
    "\ud800",
    {},
    [],
    [{}],
    {"": {}},
]
_REF_TARGETS = [
    "missing.json",
    "../schemas",
    "fifo.json",
    "notes.txt",
    "empty.yaml",
    "list.json",
    "cycle_a.json",
    "deep.json",
    "bad.json",
    "nan.json",
    "https://example.com/x.json",
    "urn:example:x",
    "a\0b.json",
    "../schemas/chat-client.json#/$defs/nope",
    "../schemas/chat-client.json#/$defs/room/pattern",
    "../schemas/chat-client.json#nope",
    "#/$defs/missing",
    "#",
]
_SYNTAX = [
    ":",
    "[",
    "]",
    "{",
    "}",
    "- ",
    "&a ",
    "*a",
    "!!binary ",
    "|",
    ">",
    "'",
    '"',
    "#",
    "\t",
    "%",
    "<<: ",
    "\n  ",
]


def _paths(data: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    yield path
    if isinstance(data, dict):
        for key, value in data.items():
            yield from _paths(value, (*path, key))
    elif isinstance(data, list):
        for index, value in enumerate(data):
            yield from _paths(value, (*path, index))


def _set(data: Any, path: tuple[Any, ...], value: Any) -> Any:
    if not path:
        return value
    node = data
    for token in path[:-1]:
        node = node[token]
    node[path[-1]] = value
    return data


def _get(data: Any, path: tuple[Any, ...]) -> Any:
    for token in path:
        data = data[token]
    return data


def _nested(rng: random.Random) -> Any:
    depth = rng.choice([150, 260, 600])
    value: Any = {"type": "integer"}
    for _ in range(depth):
        value = rng.choice([{"items": value}, [value], {"properties": {"a": value}}])
    return value


def _mutate_data(rng: random.Random, data: Any) -> Any:
    """One structural mutation of parsed data (a deep copy is taken first)."""
    data = json.loads(json.dumps(data))
    paths = list(_paths(data))
    path = rng.choice(paths)
    target = _get(data, path)
    action = rng.randrange(7)
    if action == 0 and path:  # delete
        parent = _get(data, path[:-1])
        del parent[path[-1]]
    elif action == 1 and isinstance(target, dict) and target:  # rename a key (a typo)
        key = rng.choice(list(target))
        target[key[:-1] + rng.choice("xs_") if key else "k"] = target.pop(key)
    elif action == 2 and isinstance(target, dict):  # add a key
        target[rng.choice(["extra", "kind", "schema", "$ref", "type", "settings"])] = rng.choice(
            _EXTREMES
        )
    elif action == 3:  # a $ref anywhere a schema may be
        data = _set(data, path, {"$ref": rng.choice(_REF_TARGETS)})
    elif action == 4:
        data = _set(data, path, _nested(rng))
    else:  # another type, or an extreme number
        data = _set(data, path, rng.choice(_EXTREMES))
    return data


def _dump(data: Any) -> str:
    # JSON is YAML (and survives nesting that PyYAML's recursive emitter does not); NaN and the
    # infinities become YAML's spellings.
    text = json.dumps(data)
    return re.sub(r"-Infinity\b", "-.inf", text).replace("Infinity", ".inf").replace("NaN", ".nan")


def _mutate_text(rng: random.Random, text: str) -> str:
    for _ in range(rng.randint(1, 3)):
        at = rng.randrange(len(text))
        if rng.random() < 0.5:
            text = text[:at] + rng.choice(_SYNTAX) + text[at:]
        else:
            text = text[:at] + text[at + rng.randint(1, 20) :]
    return text


@pytest.fixture(scope="module")
def project(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    shutil.copytree(ROOT / "schemas", root / "schemas")
    specs = root / "specs"
    specs.mkdir()
    os.mkfifo(specs / "fifo.json")
    (specs / "notes.txt").write_text("root:x:0:0:secret\n")
    (specs / "empty.yaml").write_text("")
    (specs / "list.json").write_text("[1, 2]")
    (specs / "cycle_a.json").write_text('{"$ref": "cycle_b.json"}')
    (specs / "cycle_b.json").write_text('{"items": {"$ref": "cycle_a.json"}}')
    (specs / "deep.json").write_text("[" * 5000 + "]" * 5000)
    (specs / "bad.json").write_text('{"type": ')
    (specs / "nan.json").write_text('{"minimum": NaN}')
    return root


class _Hang(Exception):
    pass


def _alarm(signum: int, frame: FrameType | None) -> None:
    raise _Hang


def _check(spec_file: Path, description: str) -> None:
    try:
        spec = load_spec(spec_file, rootdir=spec_file.parent)
        for route in spec.routes:
            compile_route(route)
    except WsRoutesError as exc:
        errors = exc.errors if isinstance(exc, SpecErrors) else (exc,)
        for error in errors:
            assert _LOCATED.search(str(error)), f"{description}: error without file:line: {error}"


def _mutants(project: Path) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(description, spec text, schema file name -> replacement text), fixed by the seed."""
    rng = random.Random(SEED)
    sources = {p: p.read_text() for p in SPECS}
    parsed = {p: yaml.safe_load(t) for p, t in sources.items()}
    schemas = sorted((project / "schemas").glob("*.json"))
    for number in range(EXAMPLES):
        spec = rng.choice(SPECS)
        kind = rng.randrange(4)
        files: dict[str, str] = {}
        if kind == 0:
            text = _mutate_text(rng, sources[spec])
        elif kind == 1:
            # A referenced schema mutated; the spec as shipped.
            schema = rng.choice(schemas)
            text = sources[spec]
            files[schema.name] = _dump(_mutate_data(rng, json.loads(schema.read_text())))
        else:
            text = _dump(_mutate_data(rng, parsed[spec]))
        yield f"mutant {number} of {spec.name} (seed {SEED})", text, files


def test_mutants_load_or_fail_with_a_located_error(project: Path) -> None:
    spec_file = project / "specs" / "mutant.yaml"
    previous = signal.signal(signal.SIGALRM, _alarm)
    originals = {p.name: p.read_text() for p in (project / "schemas").glob("*.json")}
    try:
        for description, text, files in _mutants(project):
            spec_file.write_text(text)
            for name, content in files.items():
                (project / "schemas" / name).write_text(content)
            signal.alarm(DEADLINE)
            try:
                _check(spec_file, description)
            except _Hang:
                pytest.fail(f"{description} hung for {DEADLINE} s:\n{text[:2000]}")
            except AssertionError:
                raise
            except Exception as exc:
                pytest.fail(f"{description} raised {exc!r}:\n{text[:2000]}\n{files}")
            finally:
                signal.alarm(0)
                for name in files:
                    (project / "schemas" / name).write_text(originals[name])
    finally:
        signal.signal(signal.SIGALRM, previous)


def test_the_bundled_specs_themselves_load_and_compile(project: Path) -> None:
    for spec in SPECS:
        target = project / "specs" / spec.name
        target.write_text(spec.read_text())
        _check(target, spec.name)
        assert load_spec(target, rootdir=target.parent).routes
