from __future__ import annotations

import importlib.util
import json
import sys
import textwrap
from pathlib import Path
from types import ModuleType
from typing import Annotated, Any

import pydantic
import pytest
from fastapi import FastAPI, Query, WebSocket
from hypothesis import given, settings
from hypothesis import strategies as st
from litestar import Litestar, websocket, websocket_listener
from litestar.connection import WebSocket as LitestarWebSocket
from starlette.applications import Starlette
from starlette.endpoints import WebSocketEndpoint
from starlette.routing import WebSocketRoute

from tests.conftest import RunRoutes
from tests.typed_listeners import Ack, Join, either, join, shout, sink
from ws_routes.app.discovery import inspect_app
from ws_routes.app.typeschema import json_schema_for
from ws_routes.compile.route import compile_route
from ws_routes.errors import SpecError
from ws_routes.spec.loader import load_spec_text
from ws_routes.spec.yamlpos import parse_yaml
from ws_routes.tools.scaffold import (
    SCHEMA_FILE,
    SCHEMA_NAME,
    ScaffoldError,
    init_spec,
    merge_spec,
    render_yaml,
    routes_to_add,
    scaffold,
)

# -- apps ----------------------------------------------------------------------------------------


@websocket("/ws/raw")
async def raw(socket: LitestarWebSocket[Any, Any, Any]) -> None:
    await socket.accept()
    await socket.close()


LITESTAR_APP = Litestar([join, either, shout, sink, raw])

FASTAPI_APP = FastAPI()


@FASTAPI_APP.websocket("/ws/items/{item_id}")
async def items(
    websocket: WebSocket, item_id: int, token: str, page: Annotated[int | None, Query(ge=0)] = None
) -> None:
    await websocket.accept()


class JsonEndpoint(WebSocketEndpoint):
    encoding = "json"


async def plain(websocket: Any) -> None:
    await websocket.accept()


STARLETTE_APP = Starlette(
    routes=[WebSocketRoute("/ws/plain/{name}", plain), WebSocketRoute("/ws/endpoint", JsonEndpoint)]
)


def spec_of(app: Any, ref: str = "mod:app") -> dict[str, Any]:
    data, _ = parse_yaml(init_spec(app, ref), filename="<init>")
    return data  # type: ignore[no-any-return]


# -- init ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "app", [LITESTAR_APP, FASTAPI_APP, STARLETTE_APP], ids=["litestar", "fastapi", "starlette"]
)
def test_init_output_loads_and_compiles(app: Any, tmp_path: Path) -> None:
    text = init_spec(app, "mod:app")
    spec = load_spec_text(text, filename="ws-routes.yaml", base_dir=tmp_path)
    assert spec.app == "mod:app"
    assert [r.path for r in spec.routes] == [r.path for r in inspect_app(app).routes or ()]
    for route in spec.routes:
        compile_route(route)


def test_typed_listener_messages_and_replies_come_from_the_annotations() -> None:
    route = spec_of(LITESTAR_APP)["routes"]["/ws/join/{room:int}"]
    assert route["messages"] == {
        "join": {"kind": "json", "schema": json_schema_for(Join), "reply": ["ack"]}
    }
    assert route["replies"] == {
        "ack": {"kind": "json", "schema": json_schema_for(Ack, mode="serialization")}
    }
    assert route["query"] == {
        "type": "object",
        "properties": {"token": {"type": "string"}, "max": {"type": "integer", "minimum": 1}},
        "required": ["token"],
    }


def comments(text: str) -> str:
    """The comment lines of ``text`` as one line of prose."""
    return " ".join(line.strip().removeprefix("# ") for line in text.splitlines())


def test_untyped_handlers_get_permissive_messages_and_guidance() -> None:
    text = comments(init_spec(LITESTAR_APP, "mod:app"))
    raw_block = text[text.index('"/ws/raw"') : text.index('"/ws/shout"')]
    assert "Model.model_json_schema()" in raw_block
    assert "$ref" in raw_block
    assert "replies:   ack: {kind: json" in raw_block
    route = spec_of(LITESTAR_APP)["routes"]["/ws/raw"]
    assert route["messages"] == {
        "text": {"kind": "text"},
        "json": {"kind": "json"},
        "bytes": {"kind": "bytes"},
    }


def test_signature_parameters_are_written_and_typed_path_params_not_commented() -> None:
    route = spec_of(FASTAPI_APP)["routes"]["/ws/items/{item_id}"]
    assert route["path_params"] == {"item_id": {"type": "integer"}}
    assert route["query"]["required"] == ["token"]
    assert "# path_params:" not in init_spec(FASTAPI_APP, "mod:app")


class Impossible(pydantic.BaseModel):
    code: str = pydantic.Field(min_length=5, max_length=2)


@websocket_listener("/ws/impossible")
async def impossible(data: Impossible) -> None:
    return None


def test_a_schema_ws_routes_cannot_generate_from_is_left_out_with_the_reason() -> None:
    text = init_spec(Litestar([impossible]), "mod:app")
    assert "cannot generate from the schema" in comments(text)
    assert "minLength" in comments(text)
    route = load_spec_text(text).routes[0]
    assert route.messages[0].schema is None
    compile_route(route)


def test_starlette_endpoint_encoding_is_the_message_kind() -> None:
    draft = scaffold(STARLETTE_APP, "mod:app")
    assert [(d.path, d.typed) for d in draft.routes] == [
        ("/ws/endpoint", True),
        ("/ws/plain/{name}", False),
    ]
    routes = spec_of(STARLETTE_APP)["routes"]
    assert routes["/ws/endpoint"]["messages"] == {"json": {"kind": "json"}}
    assert "# path_params:" in draft.routes[1].text  # converter-typed params: a commented example


def test_counts_typed_routes() -> None:
    draft = scaffold(LITESTAR_APP, "mod:app")
    assert len(draft.routes) == 5
    assert draft.typed == 4


def test_schema_comment_names_the_schema_beside_the_spec() -> None:
    # Relative to the spec, whatever machine wrote it: the file is meant to be committed.
    first = init_spec(STARLETTE_APP, "m:app").splitlines()[0]
    assert first == f"# yaml-language-server: $schema=./{SCHEMA_NAME}"
    assert json.loads(SCHEMA_FILE.read_text("utf-8"))["$schema"].startswith("https://json-schema")


def test_an_app_without_routing_table_gets_a_skeleton() -> None:
    async def bare(scope: Any, receive: Any, send: Any) -> None:
        pass

    text = init_spec(bare, "mod:bare")
    assert "no routing table" in text
    assert load_spec_text(text).routes == ()


@settings(max_examples=150, database=None, deadline=None)
@given(
    st.recursive(
        st.none()
        | st.booleans()
        | st.integers()
        | st.floats(allow_nan=False, allow_infinity=False)
        | st.text(),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=12,
    )
)
def test_render_yaml_reads_back_as_the_same_value(value: Any) -> None:
    text = "\n".join(render_yaml({"v": value})) + "\n"
    data, _ = parse_yaml(text, filename="<t>")
    assert json.dumps(data, sort_keys=True) == json.dumps({"v": value}, sort_keys=True)


# -- merge ---------------------------------------------------------------------------------------

NEW = init_spec(STARLETTE_APP, "mod:app")
EDITED_ROUTE = """\
  # my endpoint, hand-tuned
  "/ws/endpoint":
    messages:
      hello: {kind: json, schema: {const: hi}}   # only this
"""


def test_merge_keeps_edited_routes_byte_for_byte_and_appends_new_ones() -> None:
    existing = f"version: 1\napp: mod:app\nroutes:\n{EDITED_ROUTE}\nsettings:\n  max_messages: 3\n"
    merged = merge_spec(existing, NEW)
    assert merged.startswith(f"version: 1\napp: mod:app\nroutes:\n{EDITED_ROUTE}")
    assert merged.endswith("\nsettings:\n  max_messages: 3\n")
    assert merged.replace(existing[:-30], "", 1).count('"/ws/plain/{name}":') == 1
    spec = load_spec_text(merged)
    assert [r.path for r in spec.routes] == ["/ws/endpoint", "/ws/plain/{name}"]
    assert spec.routes[0].messages[0].name == "hello"
    assert spec.settings.max_messages == 3
    assert merge_spec(merged, NEW) == merged  # nothing left to add


def test_merge_keeps_comments_under_the_last_route_with_it() -> None:
    existing = 'routes:\n  "/ws/endpoint":\n    messages: {m: {kind: text}}\n    # replies: later\n# trailing\n'
    merged = merge_spec(existing, NEW)
    assert merged.startswith(
        'routes:\n  "/ws/endpoint":\n    messages: {m: {kind: text}}\n    # replies: later\n\n'
    )
    assert merged.endswith("# trailing\n")


def test_merge_follows_the_existing_indentation() -> None:
    existing = 'routes:\n    "/ws/endpoint": {messages: {m: {kind: text}}}\n'
    merged = merge_spec(existing, NEW)
    assert merged.startswith(existing)
    assert '\n    "/ws/plain/{name}":\n' in merged
    assert [r.path for r in load_spec_text(merged).routes] == ["/ws/endpoint", "/ws/plain/{name}"]


def test_merge_matches_routes_without_converters() -> None:
    existing = 'routes:\n  "/ws/plain/{name:str}": {messages: {m: {kind: text}}}\n'
    assert routes_to_add(existing, NEW) == ["/ws/endpoint"]


@pytest.mark.parametrize(
    "existing",
    [
        "# just a comment\n",
        "version: 1\n# routes later\n",
        "version: 1\nroutes: {}\nsettings: {max_messages: 2}\n",
        "version: 1\nroutes:\nsettings: {max_messages: 2}\n",
        "version: 1",
    ],
    ids=["comments-only", "no-routes-key", "empty-flow", "empty-value", "no-final-newline"],
)
def test_merge_into_specs_without_routes(existing: str) -> None:
    merged = merge_spec(existing, NEW)
    kept = [line for line in existing.splitlines() if "routes" not in line]
    assert all(line in merged.splitlines() for line in kept)
    assert [r.path for r in load_spec_text(merged).routes] == ["/ws/endpoint", "/ws/plain/{name}"]


def test_merge_refuses_flow_style_routes_with_a_location() -> None:
    existing = 'version: 1\nroutes: {"/ws/endpoint": {messages: {m: {kind: text}}}}\n'
    with pytest.raises(ScaffoldError, match=r"ws-routes.yaml:2: routes is written in flow style"):
        merge_spec(existing, NEW)


def test_merge_reports_invalid_yaml_at_its_line() -> None:
    with pytest.raises(SpecError, match=r"ws-routes.yaml:3:1: .*invalid YAML"):
        merge_spec("routes:\n  - [\n", NEW)


# -- end to end: init, then the plugin -----------------------------------------------------------


def _import(path: Path, name: str, monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, name, module)
    spec.loader.exec_module(module)
    return module


LITESTAR_TYPED = """
from dataclasses import dataclass
from typing import Literal

import msgspec
from litestar import Litestar, websocket_listener
from litestar.dto import DataclassDTO, MsgspecDTO


class Join(msgspec.Struct):
    type: Literal["join"]
    room: int


@dataclass
class Move:
    type: Literal["move"]
    x: int
    y: int


@dataclass
class Ack:
    ok: bool
    room: int


@websocket_listener("/ws/join", dto=MsgspecDTO[Join])
async def join(data: Join) -> Ack:
    return Ack(ok=True, room=data.room)


@websocket_listener("/ws/move/{game:int}", dto=DataclassDTO[Move])
async def move(data: Move) -> dict[str, int]:
    return {"sum": data.x + data.y}


app = Litestar([join, move], logging_config=None)
"""


def test_init_spec_of_typed_litestar_listeners_passes_the_plugin(
    run_routes: RunRoutes, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Litestar closes with 4500 when data fails its DTO; messages drawn from the same type
    pass it, so a correct handler shows no server error."""
    pytester.makepyfile(app=LITESTAR_TYPED)
    module = _import(pytester.path / "app.py", "scaffold_litestar_e2e", monkeypatch)
    text = init_spec(module.app, "app:app")
    assert "reply: [ack]" in text
    result = run_routes(None, "--routes-max-examples", "20", spec=text)
    result.assert_outcomes(passed=2)
    assert "Failures: 1" not in result.stdout.str()


FASTAPI_VALIDATING = """
from fastapi import FastAPI, WebSocket
from pydantic import BaseModel, Field, ValidationError

app = FastAPI()


class Order(BaseModel):
    item: str = Field(min_length=1)
    qty: int = Field(ge=1)


@app.websocket("/ws/orders")
async def orders(websocket: WebSocket, token: str) -> None:
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        try:
            order = Order.model_validate_json(message.get("text") or message.get("bytes") or b"")
        except ValidationError as exc:
            await websocket.send_json({"error": exc.errors()[0]["msg"]})
            continue
        await websocket.send_json({"ok": True, "qty": order.qty})


@app.websocket("/ws/echo")
async def echo(websocket: WebSocket) -> None:
    await websocket.accept()
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await websocket.send_text(message["text"])
        else:
            await websocket.send_bytes(message["bytes"])
"""

# What the comment init writes tells the user to do: the model's schema as a $ref'd file, and the
# replies declared, the error one marked.
ORDERS_EDITED = """\
version: 1
app: app:app
routes:
  "/ws/orders":
    query: {type: object, properties: {token: {type: string}}, required: [token]}
    messages:
      order: {kind: json, schema: {$ref: "order.json"}, reply: [ok, error]}
    replies:
      ok: {kind: json, schema: {type: object, required: [ok, qty]}}
      error: {kind: json, schema: {type: object, required: [error]}, error: true}
"""


def test_init_then_edit_for_a_validating_fastapi_handler_passes_the_plugin(
    run_routes: RunRoutes, pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytester.makepyfile(app=FASTAPI_VALIDATING)
    module = _import(pytester.path / "app.py", "scaffold_fastapi_e2e", monkeypatch)
    generated = init_spec(module.app, "app:app")
    orders = spec_of(module.app)["routes"]["/ws/orders"]
    assert orders["query"]["required"] == ["token"]  # or every handshake would be refused
    (pytester.path / "order.json").write_text(json.dumps(module.Order.model_json_schema()))
    merged = merge_spec(ORDERS_EDITED, generated)
    assert merged.startswith(ORDERS_EDITED)
    assert '"/ws/echo":' in merged
    result = run_routes(None, "--routes-max-examples", "20", spec=textwrap.dedent(merged))
    result.assert_outcomes(passed=2)
