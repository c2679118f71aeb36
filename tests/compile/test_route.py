"""Compiling a route: reply classification, converters, path/query/header strategies, strategy
imports, and registered message strategies."""

from __future__ import annotations

import json
import sys
import types
from collections.abc import Iterator
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.routing import Match, WebSocketRoute

from ws_routes.app.discovery import render_path
from ws_routes.compile import registry as websocket
from ws_routes.compile.registry import register_message_strategy
from ws_routes.compile.route import CompiledRoute, compile_route, converters_of, resolve_strategy
from ws_routes.engine.conversation import encode_payload
from ws_routes.errors import Location, SpecError, WsRoutesWarning
from ws_routes.generate.formats import clear_registered_formats, register_format
from ws_routes.spec.model import InvalidSpec, MessageSpec, ReplySpec, RouteSpec, Schema, Settings

FIXED = settings(
    max_examples=60, derandomize=True, database=None, suppress_health_check=list(HealthCheck)
)
WHERE = Location(
    file="ws-routes.yaml", line=7, column=19, pointer="/routes/~1ws/messages/m/strategy"
)


def values_of(strategy: st.SearchStrategy[Any]) -> list[Any]:
    """A few values drawn from ``strategy``, deterministically."""
    out: list[Any] = []

    @settings(max_examples=5, derandomize=True, database=None)
    @given(strategy)
    def collect(value: Any) -> None:
        out.append(value)

    collect()
    return out


def compiled(**fields: Any) -> CompiledRoute:
    return compile_route(RouteSpec(**{"path": "/ws", **fields}))


@pytest.fixture
def formats() -> Iterator[None]:
    """Format registrations made in a test end with it."""
    clear_registered_formats()
    yield
    clear_registered_formats()


@pytest.fixture
def registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """An empty strategy registry for this test only (others' registrations stay untouched)."""
    monkeypatch.setattr(websocket, "_registry", [])


# -- converters_of ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("template", "converters"),
    [
        ("/ws", {}),
        ("/ws/{room}", {"room": "str"}),
        ("/ws/{room}/{id:int}/{rest:path}", {"room": "str", "id": "int", "rest": "path"}),
        ("/ws/{u:uuid}/{f:float}", {"u": "uuid", "f": "float"}),
    ],
)
def test_converters_of(template: str, converters: dict[str, str]) -> None:
    assert converters_of(template) == converters


# -- classify --------------------------------------------------------------------------------------

REPLIES = (
    ReplySpec(name="ack", kind="json", schema=Schema(value={"type": "object", "required": ["id"]})),
    ReplySpec(
        name="error", kind="json", schema=Schema(value={"type": "object", "required": ["error"]})
    ),
    ReplySpec(name="pong", kind="text", schema=Schema(value={"const": "pong"})),
    ReplySpec(name="blob", kind="bytes"),
)


@pytest.mark.parametrize(
    ("kind", "data", "result"),
    [
        ("text", '{"id": 1}', ("ack", "json", {"id": 1})),
        ("text", '{"error": "x"}', ("error", "json", {"error": "x"})),
        ("text", "pong", ("pong", "text", "pong")),
        ("text", '{"other": 1}', (None, "json", {"other": 1})),
        ("text", "not json", (None, "text", "not json")),
        ("bytes", b"\x00", ("blob", "bytes", b"\x00")),
    ],
)
def test_classify_matches_declared_replies(kind: Any, data: Any, result: tuple[Any, ...]) -> None:
    assert compiled(replies=REPLIES).classify(kind, data) == result


def test_classify_without_replies_keeps_text_as_text() -> None:
    assert compiled().classify("text", '{"a": 1}') == (None, "text", '{"a": 1}')
    assert compiled().classify("bytes", b"x") == (None, "bytes", b"x")


def test_classify_bytes_when_only_text_replies_are_declared() -> None:
    route = compiled(replies=(ReplySpec(name="pong", kind="text"),))
    assert route.classify("bytes", b"\x01") == (None, "bytes", b"\x01")


def test_reply_errors_explain_the_mismatch() -> None:
    ack = compiled(replies=REPLIES).replies[0]
    assert ack.errors({"id": 1}) == []
    assert ack.errors({"other": 1}) == ['at (root): "id" is a required property']
    assert not ack.is_valid({"other": 1})


def test_bytes_replies_are_held_to_their_sizes() -> None:
    route = compiled(
        replies=(
            ReplySpec(name="frame", kind="bytes", min_size=2, max_size=4),
            ReplySpec(name="json", kind="json"),
        )
    )
    frame = route.replies[0]
    assert route.classify("bytes", b"abc") == ("frame", "bytes", b"abc")
    assert route.classify("bytes", b"a") == (None, "bytes", b"a")
    assert route.classify("bytes", b"abcde") == (None, "bytes", b"abcde")
    assert frame.errors(b"a") == ["1 bytes, fewer than min_size 2"]
    assert frame.errors(b"abcde") == ["5 bytes, more than max_size 4"]
    assert frame.errors(b"abc") == []
    only_max = compiled(replies=(ReplySpec(name="f", kind="bytes", max_size=1),)).replies[0]
    assert only_max.is_valid(b"")
    assert not only_max.is_valid(b"ab")


DECIMAL = {"type": "object", "properties": {"amount": {"type": "string", "format": "decimal"}}}


@pytest.mark.parametrize("dialect", [None, "http://json-schema.org/draft-07/schema#"])
def test_replies_are_never_rejected_for_a_format_we_do_not_know(dialect: str | None) -> None:
    schema = {**DECIMAL, **({"$schema": dialect} if dialect else {})}
    route = compiled(replies=(ReplySpec(name="paid", kind="json", schema=Schema(value=schema)),))
    assert route.classify("text", '{"amount": "not a decimal"}')[0] == "paid"
    assert route.replies[0].errors({"amount": "not a decimal"}) == []


def test_unknown_formats_warn_once_per_format_at_the_schema() -> None:
    where = Location(
        file="ws-routes.yaml", line=9, column=17, pointer="/routes/~1ws/messages/pay/schema"
    )
    schema = Schema(value=DECIMAL, location=where)
    messages = (
        MessageSpec(name="pay", kind="json", schema=schema),
        MessageSpec(name="refund", kind="json", schema=Schema(value=DECIMAL, location=WHERE)),
    )
    with pytest.warns(WsRoutesWarning) as caught:
        route = compiled(
            messages=messages,
            query=Schema(value={"type": "object", "properties": {"at": {"format": "duration"}}}),
        )
    assert [(w.filename, w.lineno) for w in caught] == [("ws-routes.yaml", 9), ("<spec>", 0)]
    first, second = (str(w.message) for w in caught)
    assert first.startswith(
        "ws-routes.yaml:9:17: routes./ws.messages.pay.schema.properties.amount.format: format "
        "'decimal' is unknown to ws_routes: its strings are generated by type"
    )
    assert first.endswith("(and 1 more place in this route)")
    assert "format 'duration' is unknown" in second
    values = values_of(route.messages[0].strategy)
    assert all(isinstance(v.get("amount", ""), str) for v in values)


@pytest.mark.usefixtures("formats")
def test_a_registered_format_compiles_without_a_warning() -> None:
    register_format("decimal", st.just("1.50"))
    route = compiled(
        messages=(
            MessageSpec(
                name="pay", kind="json", schema=Schema(value={**DECIMAL, "required": ["amount"]})
            ),
        )
    )
    assert {v["amount"] for v in values_of(route.messages[0].strategy)} == {"1.50"}


# -- path parameters -------------------------------------------------------------------------------

TEMPLATE = "/ws/{room}/{n:int}/{x:float}/{u:uuid}/{rest:path}"


def test_path_param_values_are_matched_by_the_router() -> None:
    route = compile_route(RouteSpec(path=TEMPLATE))
    router_route = WebSocketRoute(TEMPLATE, lambda ws: None)

    @FIXED
    @given(route.path_params)
    def check(values: dict[str, str]) -> None:
        path = unquote(render_path(TEMPLATE, values))
        match, child = router_route.matches({"type": "websocket", "path": path})
        assert match is Match.FULL, path
        params = child["path_params"]
        assert params["room"] == values["room"]
        assert params["n"] == int(values["n"])
        assert params["x"] == float(values["x"])
        assert str(params["u"]) == values["u"]
        assert params["rest"] == values["rest"]

    check()


def test_path_param_schema_wins_over_the_converter() -> None:
    schema = Schema(value={"type": "string", "pattern": "^[a-z]{3}$"})
    route = compile_route(RouteSpec(path="/ws/{room}", path_params={"room": schema}))

    @FIXED
    @given(route.path_params)
    def check(values: dict[str, str]) -> None:
        assert len(values["room"]) == 3
        assert values["room"].isalpha()

    check()


def test_converters_given_by_discovery_override_the_template() -> None:
    route = compile_route(RouteSpec(path="/ws/{n}"), converters={"n": "int"})

    @FIXED
    @given(route.path_params)
    def check(values: dict[str, str]) -> None:
        assert values["n"].isdigit()

    check()


# -- query and headers -----------------------------------------------------------------------------


def test_query_schema_becomes_pairs_with_lists_repeated() -> None:
    schema = {
        "type": "object",
        "properties": {
            "tags": {"type": "array", "items": {"const": "a"}, "minItems": 2, "maxItems": 2},
            "on": {"const": True},
        },
        "required": ["tags", "on"],
        "additionalProperties": False,
    }
    route = compiled(query=Schema(value=schema))

    @FIXED
    @given(route.query)
    def check(pairs: list[tuple[str, str]]) -> None:
        assert sorted(pairs) == [("on", "true"), ("tags", "a"), ("tags", "a")]

    check()


def test_header_strategy_drops_reserved_headers_and_line_breaks() -> None:
    schema = {
        "type": "object",
        "properties": {
            "X-Trace": {"const": "a\r\nb"},
            "Host": {"const": "evil.example"},
            "Sec-WebSocket-Key": {"const": "k"},
        },
        "required": ["X-Trace", "Host", "Sec-WebSocket-Key"],
        "additionalProperties": False,
    }
    route = compiled(headers=Schema(value=schema))

    @FIXED
    @given(route.headers)
    def check(pairs: list[tuple[str, str]]) -> None:
        assert pairs == [("x-trace", "ab")]

    check()


# -- messages --------------------------------------------------------------------------------------


def test_text_message_schema_describes_the_string() -> None:
    route = compiled(
        messages=(
            MessageSpec(name="ping", kind="text", schema=Schema(value={"const": "ping"})),
            MessageSpec(
                name="num",
                kind="text",
                schema=Schema(value={"type": "integer", "minimum": 0, "maximum": 3}),
            ),
        )
    )
    ping, num = (m.strategy for m in route.messages)
    assert [m.source for m in route.messages] == ["schema", "schema"]

    @FIXED
    @given(ping, num)
    def check(p: Any, n: Any) -> None:
        assert p == "ping"
        assert n in {"0", "1", "2", "3"}

    check()


def test_default_messages_respect_size_bounds() -> None:
    route = compiled(
        messages=(
            MessageSpec(name="blob", kind="bytes", min_size=2, max_size=5),
            MessageSpec(name="say", kind="text", min_size=1, max_size=40),
        ),
        settings=Settings(max_message_size=1000),
    )
    blob, say = (m.strategy for m in route.messages)

    @FIXED
    @given(blob, say)
    def check(b: bytes, s: str) -> None:
        assert 2 <= len(b) <= 5
        assert len(s) >= 1
        assert len(s.encode()) <= 40

    check()


def test_unbounded_integer_schema_generates_sendable_messages() -> None:
    # Integers over 4300 digits cannot be turned into text by Python (int_max_str_digits):
    # neither json.dumps in the sender nor json.loads in the app would handle them.
    route = compiled(
        messages=(MessageSpec(name="n", kind="json", schema=Schema(value={"type": "integer"})),)
    )

    @FIXED
    @given(route.messages[0].strategy)
    def check(value: Any) -> None:
        assert json.loads(encode_payload("json", value)) == value

    check()


# -- resolve_strategy ------------------------------------------------------------------------------


@pytest.fixture
def strategies_module(monkeypatch: pytest.MonkeyPatch) -> types.ModuleType:
    module = types.ModuleType("ws_routes_test_strategies")
    module.commands = st.sampled_from(["a", "b"])  # type: ignore[attr-defined]
    module.make_commands = lambda: st.just("made")  # type: ignore[attr-defined]
    module.not_a_strategy = 42  # type: ignore[attr-defined]
    module.ns = types.SimpleNamespace(inner=st.just("inner"))  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, module.__name__, module)
    return module


def test_resolve_strategy_attribute_factory_and_nested(strategies_module: types.ModuleType) -> None:
    name = strategies_module.__name__
    assert resolve_strategy(f"{name}:commands", location=WHERE) is strategies_module.commands
    assert values_of(resolve_strategy(f"{name}:make_commands", location=WHERE)) == ["made"]
    assert values_of(resolve_strategy(f"{name}:ns.inner", location=WHERE)) == ["inner"]


@pytest.mark.parametrize(
    ("path", "message"),
    [
        ("no_colon", "expected an import path 'module:attribute', got 'no_colon'"),
        (":attr", "expected an import path 'module:attribute', got ':attr'"),
        ("ws_routes_no_such_module:x", "cannot import module 'ws_routes_no_such_module'"),
        (
            "ws_routes_test_strategies:comands",
            "has no attribute 'comands' (did you mean 'commands'?)",
        ),
        (
            "ws_routes_test_strategies:not_a_strategy",
            "must be a Hypothesis strategy (or a function returning one), got int",
        ),
    ],
)
def test_resolve_strategy_errors_are_located(
    strategies_module: types.ModuleType, path: str, message: str
) -> None:
    with pytest.raises(SpecError) as info:
        resolve_strategy(path, location=WHERE)
    text = str(info.value)
    assert text.startswith("ws-routes.yaml:7:19: routes./ws.messages.m.strategy: ")
    assert message in text


def test_message_strategy_import_path_is_used(strategies_module: types.ModuleType) -> None:
    route = compiled(
        messages=(
            MessageSpec(name="cmd", kind="text", strategy=f"{strategies_module.__name__}:commands"),
        )
    )
    assert route.messages[0].source == "strategy ws_routes_test_strategies:commands"
    assert route.messages[0].strategy is strategies_module.commands


def test_unsatisfiable_schema_is_a_located_spec_error() -> None:
    schema = Schema(value={"type": "integer", "minimum": 5, "maximum": 1}, location=WHERE)
    with pytest.raises(SpecError) as info:
        compiled(messages=(MessageSpec(name="m", kind="json", schema=schema),))
    assert str(info.value).startswith("ws-routes.yaml:7:19: ")


# -- registered strategies -------------------------------------------------------------------------


@pytest.mark.usefixtures("registry")
def test_registered_strategy_replaces_a_declared_kind_and_adds_missing_kinds() -> None:
    register_message_strategy("/ws/*", "json", st.just({"registered": True}))
    register_message_strategy("/ws/chat", "bytes", st.just(b"reg"))
    route = compile_route(
        RouteSpec(
            path="/ws/chat",
            messages=(MessageSpec(name="cmd", kind="json"), MessageSpec(name="say", kind="text")),
        )
    )
    by_name = {m.spec.name: m for m in route.messages}
    assert set(by_name) == {"cmd", "say", "bytes"}
    assert by_name["cmd"].source == "registered '/ws/*'"
    assert values_of(by_name["cmd"].strategy) == [{"registered": True}]
    assert by_name["say"].source == "default"
    assert values_of(by_name["bytes"].strategy) == [b"reg"]


@pytest.mark.usefixtures("registry")
def test_registration_does_not_leak_to_other_routes() -> None:
    register_message_strategy("/ws/chat", "json", st.just({}))
    route = compile_route(
        RouteSpec(path="/ws/other", messages=(MessageSpec(name="cmd", kind="json"),))
    )
    assert route.messages[0].source == "default"


# -- negative messages -----------------------------------------------------------------------------


def test_every_message_gets_mutants_unless_invalid_testing_is_off() -> None:
    join = Schema(value={"type": "object", "properties": {"type": {"const": "join"}}})
    messages = (
        MessageSpec(name="join", kind="json", schema=join),
        MessageSpec(name="blob", kind="bytes"),
    )
    on = compile_route(RouteSpec(path="/ws", messages=messages))
    for message in on.messages:
        assert message.mutants is not None
        mutant = values_of(message.mutants)[0]
        assert mutant.kind == ("bytes" if message.spec.kind == "json" else "text")
    off = compile_route(
        RouteSpec(path="/ws", messages=messages, invalid=InvalidSpec(enabled=False))
    )
    assert [m.mutants for m in off.messages] == [None, None]


def test_a_recursion_error_while_compiling_is_a_located_spec_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ws_routes import generate

    def overflow(*args: Any, **kwargs: Any) -> Any:
        raise RecursionError

    monkeypatch.setattr(generate, "from_schema", overflow)
    where = Location(file="s.yaml", line=7, column=9, pointer="/routes/~1ws/messages/m/schema")
    message = MessageSpec(name="m", kind="json", schema=Schema(value={}, location=where))
    with pytest.raises(SpecError) as info:
        compile_route(RouteSpec(path="/ws", messages=(message,)))
    assert str(info.value).startswith(
        "s.yaml:7:9: routes./ws.messages.m.schema: cannot generate values: the schema nests too"
        " deeply to compile"
    )


def test_a_text_min_size_hypothesis_cannot_draw_is_a_located_error() -> None:
    where = Location(file="s.yaml", line=5, column=7, pointer="/routes/~1ws/messages/m")
    message = MessageSpec(name="m", kind="text", min_size=5000, location=where)
    with pytest.raises(SpecError) as info:
        compile_route(RouteSpec(path="/ws", messages=(message,)))
    assert str(info.value) == (
        "s.yaml:5:7: routes./ws.messages.m.min_size: min_size 5000 is too large: the most"
        " ws_routes can generate is 4096"
    )
    small = Settings(max_message_size=100)
    message = MessageSpec(name="m", kind="bytes", min_size=200, location=where)
    with pytest.raises(SpecError, match="min_size 200 is too large: max_message_size or max_size"):
        compile_route(RouteSpec(path="/ws", messages=(message,), settings=small))
