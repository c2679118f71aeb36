"""Mutants: every family where it applies, honest `invalid` flags, frame kinds, sizes, shrinking."""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, find, given, settings
from hypothesis import strategies as st
from jsonschema import validators  # type: ignore[import-untyped]

from ws_routes.compile import registry as websocket
from ws_routes.compile.registry import register_message_strategy
from ws_routes.compile.route import CompiledMessage, compile_route
from ws_routes.mutate import MUTATION_FAMILIES, Mutant, mutants, sweep
from ws_routes.spec.loader import load_spec
from ws_routes.spec.model import (
    AuthSpec,
    InvalidSpec,
    MessageSpec,
    RouteSpec,
    Schema,
    Settings,
    default_route,
)

ROOT = Path(__file__).resolve().parents[2]
FIXED = settings(
    derandomize=True, database=None, deadline=None, suppress_health_check=list(HealthCheck)
)

# A chat message: a oneOf discriminated by a `type` const, nested objects, arrays, every bound.
POST = {
    "type": "object",
    "properties": {
        "type": {"const": "post"},
        "user": {
            "type": "object",
            "properties": {
                "id": {"type": "integer", "minimum": 1, "maximum": 10**6},
                "name": {"type": "string", "minLength": 1, "maxLength": 20},
            },
            "required": ["id", "name"],
            "additionalProperties": False,
        },
        "tags": {"type": "array", "items": {"enum": ["news", "fun"]}, "minItems": 1, "maxItems": 3},
        "score": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1},
        "body": {"type": "string"},
    },
    "required": ["type", "user", "tags", "score", "body"],
    "additionalProperties": False,
}
CHAT = {
    "oneOf": [
        {"$ref": "#/$defs/post"},
        {
            "type": "object",
            "properties": {"type": {"const": "ping"}},
            "required": ["type"],
            "additionalProperties": False,
        },
    ],
    "$defs": {"post": POST},
}
# A request without its id is a notification: deleting `id` leaves a valid message.
RPC = json.loads((ROOT / "schemas" / "jsonrpc-request.json").read_text())


def _route(path: str, *messages: MessageSpec, **fields: Any) -> RouteSpec:
    return RouteSpec(path=path, messages=messages, **fields)


def _json(name: str, schema: Any) -> MessageSpec:
    return MessageSpec(name=name, kind="json", schema=Schema(value=schema))


def _schema_file(name: str) -> MessageSpec:
    return _json(name, json.loads((ROOT / "schemas" / f"{name}.json").read_text()))


@functools.cache
def routes() -> dict[str, RouteSpec]:
    found = {
        "chat": _route("/chat", _json("chat", CHAT), settings=Settings(max_message_size=4096)),
        "rpc": _route("/rpc", _json("rpc", RPC)),
        "order": _route("/order", _schema_file("order"), settings=Settings(max_message_size=3000)),
        "mixed": _route(
            "/mixed",
            _json("chat", CHAT),
            MessageSpec(name="hello", kind="text", schema=Schema(value={"enum": ["hi", "yo"]})),
            MessageSpec(name="blob", kind="bytes", max_size=64),
            settings=Settings(max_message_size=2048),
        ),
        "default": default_route("/any", Settings(max_message_size=1024)),
    }
    for name in ("chat", "telemetry", "graphql-transport-ws"):
        for route in load_spec(ROOT / "specs" / f"{name}.yaml").routes:
            found[route.path] = route
    return found


CASES = [(route, message.name) for route, spec in routes().items() for message in spec.messages]


@functools.cache
def compiled(route: str, name: str) -> CompiledMessage:
    messages = compile_route(routes()[route]).messages
    return next(m for m in messages if m.spec.name == name)


def draws(strategy: st.SearchStrategy[Mutant] | None, n: int) -> list[Mutant]:
    """``n`` mutants, the same ones on every run."""
    assert strategy is not None
    out: list[Mutant] = []

    @settings(FIXED, max_examples=n)
    @given(strategy)
    def collect(mutant: Mutant) -> None:
        out.append(mutant)

    collect()
    return out


@functools.cache
def sample(route: str, name: str, n: int = 60) -> tuple[Mutant, ...]:
    """Mutants of one message of one of :func:`routes`, from values its strategy draws."""
    return tuple(draws(compiled(route, name).mutants, n))


def fixed(route: RouteSpec, name: str, value: Any, **kwargs: Any) -> st.SearchStrategy[Mutant]:
    """Mutants of message ``name`` that all start from ``value``: few choices, quick to search."""
    message = CompiledMessage(spec=route.message(name), strategy=st.just(value), source="test")
    strategy = mutants(route, message, **kwargs)
    assert strategy is not None
    return strategy


def wire(mutant: Mutant) -> str | bytes:
    if mutant.kind == "json":
        return json.dumps(mutant.payload, ensure_ascii=False, separators=(",", ":"))
    return mutant.payload  # type: ignore[no-any-return]


def reference_accepts(route: RouteSpec, mutant: Mutant) -> list[str]:
    """The message types that accept the frame, by the slow reference validator."""
    data = wire(mutant)
    if isinstance(data, bytes):
        return [
            m.name
            for m in route.messages
            if m.kind == "bytes"
            and (m.min_size or 0) <= len(data)
            and (m.max_size is None or len(data) <= m.max_size)
        ]
    try:
        parsed: Any = json.loads(data)
        is_json = True
    except ValueError:
        is_json = False
    accepted = []
    for message in route.messages:
        if message.kind == "bytes":
            continue
        if message.schema is None:
            accepted.append(message.name)
            continue
        validator = validators.validator_for(message.schema.value)(message.schema.value)
        if message.kind == "text" and validator.is_valid(data):
            accepted.append(message.name)
        if message.kind == "json" and is_json and validator.is_valid(parsed):
            accepted.append(message.name)
    return accepted


def encoded_size(mutant: Mutant) -> int:
    data = wire(mutant)
    return len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)


def strings_in(value: Any) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [*value] + [s for v in value.values() for s in strings_in(v)]
    if isinstance(value, list):
        return [s for v in value for s in strings_in(v)]
    return []


# -- properties over every message of every route ----------------------------------------------


@pytest.mark.parametrize(("route", "name"), CASES, ids=[f"{r}:{n}" for r, n in CASES])
def test_every_mutant_is_well_formed_and_honest(route: str, name: str) -> None:
    spec = routes()[route]
    kind = spec.message(name).kind
    for mutant in sample(route, name):
        assert mutant.family in MUTATION_FAMILIES
        assert mutant.kind in ("json", "text", "bytes")
        if mutant.kind == "json":
            json.dumps(mutant.payload)  # a JSON value
        else:
            assert isinstance(mutant.payload, str if mutant.kind == "text" else bytes)
        if mutant.invalid:
            assert reference_accepts(spec, mutant) == [], mutant
        if mutant.family == "wrong_frame_kind":
            assert mutant.kind == ("text" if kind == "bytes" else "bytes")
        elif mutant.family in ("not_json", "empty_frame") and kind != "bytes":
            assert mutant.kind == "text"
        elif mutant.family not in ("oversize",):
            assert mutant.kind == kind, mutant
        if mutant.family == "not_json":
            with pytest.raises(json.JSONDecodeError):
                json.loads(mutant.payload)
        if mutant.family == "oversize":
            assert encoded_size(mutant) == spec.settings.max_message_size + 1


EXPECTED = {
    ("chat", "chat"): set(MUTATION_FAMILIES),
    ("/ws/chat/{room}", "join"): set(MUTATION_FAMILIES),
    # Text frames are UTF-8 on the wire: compile_route asks for no lone surrogates in them.
    ("/ws/lobby", "ping"): {
        "wrong_frame_kind", "out_of_bounds", "nul", "non_bmp", "empty_frame", "oversize",
    },
    ("/ws/telemetry/{device_id:int}", "calibration"): {
        "wrong_frame_kind", "empty_frame", "oversize",
    },
    ("default", "json"): {
        "wrong_frame_kind", "not_json", "nul", "lone_surrogate", "non_bmp", "empty_frame",
        "oversize",
    },
    ("default", "text"): {"wrong_frame_kind", "nul", "non_bmp", "empty_frame", "oversize"},
}  # fmt: skip


@pytest.mark.parametrize(("route", "name"), list(EXPECTED), ids=[f"{r}:{n}" for r, n in EXPECTED])
def test_each_applicable_family_appears(route: str, name: str) -> None:
    assert {m.family for m in sample(route, name, 300)} == EXPECTED[route, name]


def test_unconstrained_routes_get_nothing_invalid() -> None:
    for name in ("text", "json", "bytes"):
        assert not any(m.invalid for m in sample("default", name))


def test_what_every_message_of_a_json_route_rejects_is_invalid() -> None:
    rejected = {
        "wrong_frame_kind", "not_json", "empty_frame", "wrong_type", "missing_required",
        "extra_field", "unknown_discriminator",
    }  # fmt: skip
    found = sample("/ws/chat/{room}", "message", 200)
    assert rejected <= {m.family for m in found}
    assert all(m.invalid for m in found if m.family in rejected)


def test_a_mutation_another_branch_accepts_moves_elsewhere() -> None:
    # Without its id a request is a notification, still valid: the deletion moves to the next
    # required field instead of being sent as an invalid message that is not one.
    request = {"jsonrpc": "2.0", "method": "sum", "id": 1}
    found = draws(fixed(routes()["rpc"], "rpc", request), 300)
    missing = {m.mutation: m.invalid for m in found if m.family == "missing_required"}
    assert missing == {
        "missing required field /jsonrpc": True,
        "missing required field /method": True,
    }


def test_text_to_a_route_with_a_text_message_is_judged_by_its_schema() -> None:
    mixed = draws(fixed(routes()["mixed"], "chat", POST_VALUE), 300)
    # Not JSON, and not "hi" or "yo": nothing takes it.
    assert any(m.family == "not_json" and m.invalid for m in mixed)
    # The route takes bytes (the blob message), up to 64 of them: the JSON of a post is longer.
    frames = [m for m in mixed if m.family == "wrong_frame_kind"]
    assert frames
    assert all(m.invalid == (len(m.payload) > 64) for m in frames)
    hello = {m.mutation: m for m in draws(fixed(routes()["mixed"], "hello", "hi"), 200)}
    assert hello["out of bounds at (root): 'hix' (not in the enum)"].invalid
    assert hello["bytes frame to a text message"].payload == b"hi"
    assert not hello["bytes frame to a text message"].invalid


def test_bytes_mutants_of_a_bytes_message() -> None:
    blobs = sample("/ws/telemetry/{device_id:int}", "calibration")
    assert {m.payload for m in blobs if m.family == "empty_frame"} == {b""}
    # calibration takes 8 to 512 bytes: an empty or oversized frame is invalid, others are not.
    frames = [m for m in blobs if m.kind == "bytes"]
    assert frames
    assert all(m.invalid == (not 8 <= len(m.payload) <= 512) for m in frames)
    assert any(m.invalid for m in frames)


# -- locations and values, from one known valid value ------------------------------------------

POST_VALUE = {
    "type": "post",
    "user": {"id": 5, "name": "ann"},
    "tags": ["news"],
    "score": 0.5,
    "body": "hello",
}


def mutants_of(value: Any, **kwargs: Any) -> st.SearchStrategy[Mutant]:
    return fixed(routes()["chat"], "chat", value, **kwargs)


@functools.cache
def by_mutation(n: int = 1000) -> dict[str, Mutant]:
    found: dict[str, Mutant] = {}

    @settings(FIXED, max_examples=n)
    @given(mutants_of(POST_VALUE))
    def collect(mutant: Mutant) -> None:
        found.setdefault(mutant.mutation, mutant)

    collect()
    return found


def smallest(condition: Any) -> Mutant:
    return find(mutants_of(POST_VALUE), condition, settings=settings(FIXED, max_examples=500))


def test_shrinks_to_a_simple_mutant() -> None:
    first = smallest(lambda m: True)
    assert (first.family, first.kind) == ("wrong_frame_kind", "bytes")
    assert json.loads(first.payload) == POST_VALUE
    wrong = smallest(lambda m: m.family == "wrong_type")
    assert wrong.mutation == "wrong type at (root): null instead of object"
    assert wrong.payload is None
    assert wrong.invalid
    assert smallest(lambda m: m.family == "missing_required").mutation == (
        "missing required field /type"
    )


@pytest.mark.parametrize(
    ("mutation", "path", "value"),
    [
        ("wrong type at /user/id: null instead of integer", ("user", "id"), None),
        ("wrong type at /user/id: number instead of integer", ("user", "id"), 0.5),
        ("wrong type at /tags/0: integer instead of string", ("tags", 0), 0),
        ("out of bounds at /user/id: 0 (minimum 1)", ("user", "id"), 0),
        ("out of bounds at /user/id: 1000001 (maximum 1000000)", ("user", "id"), 10**6 + 1),
        ("out of bounds at /score: 0 (exclusiveMinimum 0)", ("score",), 0),
        ("out of bounds at /score: 1 (exclusiveMaximum 1)", ("score",), 1),
        ("out of bounds at /user/name: 0 characters (minLength 1)", ("user", "name"), ""),
        ("out of bounds at /user/name: 21 characters (maxLength 20)", ("user", "name"), "ann" + "a" * 18),
        ("out of bounds at /tags: 0 items (minItems 1)", ("tags",), []),
        ("out of bounds at /tags: 4 items (maxItems 3)", ("tags",), ["news"] * 4),
        ("out of bounds at /tags/0: 'newsx' (not in the enum)", ("tags", 0), "newsx"),
        ("unknown discriminator /type = 'x-unknown'", ("type",), "x-unknown"),
        ("out of bounds at /type: 'postx' (not the const 'post')", ("type",), "postx"),
        ("extra field /x-unknown", ("x-unknown",), "x"),
        ("extra field /user/x-unknown", ("user", "x-unknown"), "x"),
    ],
)  # fmt: skip
def test_mutations_name_what_and_where(mutation: str, path: tuple[Any, ...], value: Any) -> None:
    mutant = by_mutation()[mutation]
    found = mutant.payload
    for key in path:
        found = found[key]
    assert found == value
    assert mutant.invalid
    assert mutant.kind == "json"


def test_missing_required_fields_at_every_depth() -> None:
    missing = {m for m in by_mutation() if m.startswith("missing required")}
    expected = ["/type", "/user", "/tags", "/score", "/body", "/user/id", "/user/name"]
    assert missing == {f"missing required field {p}" for p in expected}
    assert all(by_mutation()[m].invalid for m in missing)
    assert "name" not in by_mutation()["missing required field /user/name"].payload["user"]


def test_awkward_characters_go_into_free_strings_first() -> None:
    nul = smallest(lambda m: m.family == "nul")
    assert nul.mutation == "NUL inside the string at /body"
    assert nul.payload["body"] == "he\x00llo"
    assert not nul.invalid  # a NUL in free text is awkward, not wrong
    assert not by_mutation()["NUL inside the string at /user/name"].invalid
    assert by_mutation()["NUL inside the string at /tags/0"].invalid  # not in the enum
    emoji = smallest(lambda m: m.family == "non_bmp")
    assert emoji.payload["body"] == "he\U0001f600llo"
    assert not emoji.invalid
    assert by_mutation()["non-BMP character U+10FFFF inside the string at /body"]


def test_oversize_grows_a_free_string_or_pads() -> None:
    big = smallest(lambda m: m.family == "oversize")
    assert big.mutation == "oversize: 4097 bytes, the string at /body grown"
    assert encoded_size(big) == 4097
    assert not big.invalid
    padded = by_mutation()["oversize: 4097 bytes, JSON padded with spaces"]
    assert padded.kind == "text"
    assert json.loads(padded.payload) == POST_VALUE
    assert not padded.invalid


def test_not_json_variants() -> None:
    texts = {m.payload for m in by_mutation().values() if m.family == "not_json"}
    assert "{" in texts
    assert "hello" in texts
    assert (
        '{"type":"post","user":{"id":5,"name":"ann"},"tags":["news"],"score":0.5,"body":"hello",}'
        in texts
    )


@settings(FIXED, max_examples=100)
@given(mutants_of(POST_VALUE, lone_surrogates=False))
def test_no_lone_surrogates_when_told(mutant: Mutant) -> None:
    assert mutant.family != "lone_surrogate"
    texts = strings_in(mutant.payload) if mutant.kind != "bytes" else [mutant.payload.decode()]
    assert not any(0xD800 <= ord(c) <= 0xDFFF for text in texts for c in text)


def test_lone_surrogates_appear_by_default() -> None:
    mutant = smallest(lambda m: m.family == "lone_surrogate")
    assert mutant.payload["body"] == "he\ud800llo"
    assert not mutant.invalid


@pytest.mark.parametrize("name", ["default", "chat"])
def test_no_surrogates_from_drawn_values_when_told(name: str) -> None:
    route = routes()[name]
    for message in compile_route(route).messages:
        strategy = mutants(route, message, lone_surrogates=False)
        assert strategy is not None

        @settings(FIXED, max_examples=60)
        @given(strategy)
        def check(mutant: Mutant) -> None:
            if mutant.kind != "bytes":
                texts = strings_in(mutant.payload)
                assert not any(0xD800 <= ord(c) <= 0xDFFF for t in texts for c in t)

        check()


# -- what else a server could take a frame for --------------------------------------------------


def test_a_registered_strategy_makes_its_kind_accept_anything(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(websocket, "_registry", [])
    register_message_strategy("/reg", "text", st.just("anything"))
    route = _route("/reg", _json("chat", CHAT))
    message = next(m for m in compile_route(route).messages if m.spec.name == "chat")
    assert message.mutants is not None
    drawn = find(message.mutants, lambda m: m.kind == "text", settings=FIXED)
    assert not drawn.invalid


def test_both_validators_must_reject_before_a_value_is_invalid() -> None:
    # jsonschema-rs reads `$` as the end of the text; Python's re (and jsonschema) also match it
    # before a final newline. The untouched "a\\n" keeps the NUL mutant "maybe valid".
    schema = {
        "type": "object",
        "properties": {"k": {"type": "string", "pattern": "^a$"}, "body": {"type": "string"}},
    }
    route = _route("/re", _json("m", schema))
    found = draws(fixed(route, "m", {"k": "a\n", "body": "x"}), 100)
    nul = [m for m in found if m.mutation == "NUL inside the string at /body"]
    assert nul
    assert not any(m.invalid for m in nul)
    assert reference_accepts(route, nul[0]) == ["m"]


def test_the_authenticating_first_message_counts() -> None:
    anything = AuthSpec(first_message=Schema(value={"type": "object"}), token="t")
    route = _route("/auth", _json("chat", CHAT), auth=anything)
    found = draws(fixed(route, "chat", POST_VALUE), 200)
    extra = [m for m in found if m.family == "extra_field"]
    assert extra
    assert not any(m.invalid for m in extra)
    assert any(m.family == "not_json" and m.invalid for m in found)


def test_disabled_invalid_section_builds_no_mutants() -> None:
    route = _route("/off", _json("chat", CHAT), invalid=InvalidSpec(enabled=False))
    assert compile_route(route).messages[0].mutants is None


def test_sweep_covers_every_family_at_every_place_deterministically() -> None:
    route = routes()["rpc"]
    message = CompiledMessage(
        spec=route.message("rpc"), strategy=st.just(None), source="test"
    )
    value = {"jsonrpc": "2.0", "method": "sum", "id": 1}
    first = sweep(route, message, value)
    assert first == sweep(route, message, value)
    families = {m.family for m in first}
    assert families >= {"wrong_frame_kind", "not_json", "wrong_type", "empty_frame", "oversize"}
    wrong = [m.mutation for m in first if m.family == "wrong_type"]
    places = list(dict.fromkeys(m.split(":")[0] for m in wrong))
    assert len(places) > 1
    # One wrong type per place before a second anywhere.
    assert [m.split(":")[0] for m in wrong[: len(places)]] == places
    assert all(m.family in MUTATION_FAMILIES for m in first)


STRINGS = {"type": "object", "properties": {f"s{i}": {"type": "string"} for i in range(9)}}
STRING_NAMES = {"null", "boolean", "integer", "array", "object"}


def strings_route() -> RouteSpec:
    schema = {**STRINGS, "required": ["s0"]}
    return _route("/strings", _json("m", schema))


def test_the_sweep_sends_every_wrong_type_of_each_place_once() -> None:
    route = routes()["rpc"]
    message = CompiledMessage(spec=route.message("rpc"), strategy=st.just(None), source="test")
    found = sweep(route, message, {"jsonrpc": "2.0", "method": "sum", "id": 1})
    wrong = [m.mutation for m in found if m.family == "wrong_type"]
    assert len(wrong) == len(set(wrong))
    method = {m.split(": ")[1].split(" instead")[0] for m in wrong if " /method:" in m}
    assert method == STRING_NAMES


def test_the_sweep_bounds_wrong_types_to_the_first_places() -> None:
    # Nine string fields and the root: every wrong type at the first six places, not 50 probes.
    route = strings_route()
    message = CompiledMessage(spec=route.message("m"), strategy=st.just(None), source="test")
    value = {f"s{i}": "" for i in range(9)}
    wrong = [m.mutation for m in sweep(route, message, value) if m.family == "wrong_type"]
    places = list(dict.fromkeys(m.split(":")[0] for m in wrong))
    assert places == ["wrong type at (root)", *(f"wrong type at /s{i}" for i in range(5))]
    assert len(wrong) == 6 * 5  # the root: null, boolean, integer, string, array
    assert {m.split(": ")[1].split(" instead")[0] for m in wrong if "/s4:" in m} == STRING_NAMES


def test_wrong_types_of_a_string_field_vary_and_shrink_to_null() -> None:
    strategy = fixed(strings_route(), "m", {"s0": "x"})
    at_s0 = [m for m in draws(strategy, 300) if m.mutation.startswith("wrong type at /s0:")]
    assert {m.mutation.split(": ")[1].split(" instead")[0] for m in at_s0} == STRING_NAMES
    assert {json.dumps(m.payload["s0"]) for m in at_s0} == {"null", "false", "0", "[]", "{}"}
    # A bug that any wrong type at /s0 reaches is reported with the simplest one.
    smallest_at_s0 = find(
        strategy,
        lambda m: m.mutation.startswith("wrong type at /s0:"),
        settings=settings(FIXED, max_examples=500),
    )
    assert smallest_at_s0.payload == {"s0": None}
    # One that only a list reaches keeps the list.
    listed = find(
        strategy,
        lambda m: m.family == "wrong_type" and isinstance(m.payload, dict)
        and isinstance(m.payload.get("s0"), list),
        settings=settings(FIXED, max_examples=500),
    )
    assert listed.mutation == "wrong type at /s0: array instead of string"


# -- tags: what an unknown discriminator is ------------------------------------------------------


def _typed(name: str, **more: Any) -> dict[str, Any]:
    props = {"frob": {"const": name}, **more}
    return {"type": "object", "properties": props, "required": list(props)}


def _sweep_of(route: RouteSpec, name: str, value: Any) -> dict[str, Mutant]:
    message = CompiledMessage(spec=route.message(name), strategy=st.just(value), source="test")
    return {m.mutation: m for m in sweep(route, message, value)}


def test_a_constant_of_one_message_type_is_out_of_bounds_not_a_discriminator() -> None:
    # The user trial's false description: a single-value enum on an `id` was an "unknown
    # discriminator". `frob` is constant in two message types with different values: a tag.
    route = _route(
        "/typed",
        _json("sub", _typed("subscribe", id={"enum": ["x"]})),
        _json("ping", _typed("ping")),
    )
    found = _sweep_of(route, "sub", {"frob": "subscribe", "id": "x"})
    assert not [m for m in found if "discriminator /id" in m]
    wrong = found["out of bounds at /id: 'xx' (not the const 'x')"]
    assert wrong.invalid
    assert wrong.payload == {"frob": "subscribe", "id": "xx"}
    tag = found["unknown discriminator /frob = 'x-unknown'"]
    assert tag.invalid


def test_a_route_without_tags_has_no_unknown_discriminator() -> None:
    # Constant in one message type, under a name no protocol gives its tag: no such family.
    route = _route("/one", _json("sub", _typed("subscribe", id={"const": "x"})))
    found = _sweep_of(route, "sub", {"frob": "subscribe", "id": "x"})
    assert {m.family for m in found.values()} >= {"out_of_bounds"}
    assert "unknown_discriminator" not in {m.family for m in found.values()}
    # The same value in every message type tells none apart ("jsonrpc": "2.0").
    same = _route("/same", _json("a", _typed("v1")), _json("b", _typed("v1", n={"type": "null"})))
    families = {m.family for m in _sweep_of(same, "a", {"frob": "v1"}).values()}
    assert "unknown_discriminator" not in families


def test_a_conventional_tag_name_is_a_tag_in_a_single_message_route() -> None:
    ping = {"type": "object", "properties": {"type": {"const": "ping"}}}
    route = _route("/ping", _json("ping", ping))
    found = _sweep_of(route, "ping", {"type": "ping"})
    assert found["unknown discriminator /type = 'x-unknown'"].invalid
