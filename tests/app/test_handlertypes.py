from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, FastAPI, Query, WebSocket
from litestar import Litestar, websocket, websocket_listener
from litestar.connection import WebSocket as LitestarWebSocket
from litestar.dto import DTOConfig, MsgspecDTO
from litestar.handlers import WebsocketListener
from starlette.applications import Starlette
from starlette.endpoints import WebSocketEndpoint
from starlette.routing import WebSocketRoute

from tests.typed_listeners import Ack, Join, Leave, either, join, shout, sink
from ws_routes.app.discovery import DiscoveredRoute, inspect_app
from ws_routes.app.handlertypes import HandlerReader, HandlerShape, Part
from ws_routes.app.typeschema import json_schema_for


def shapes(app: Any) -> dict[str, HandlerShape]:
    reader = HandlerReader(app)
    routes: tuple[DiscoveredRoute, ...] = inspect_app(app).routes or ()
    return {route.path: reader.shape(route) for route in routes}


def notes(shape: HandlerShape) -> str:
    return " ".join(shape.notes)


# -- Litestar ------------------------------------------------------------------------------------


@websocket_listener("/ws/packed", receive_mode="binary", send_mode="binary")
async def packed(data: dict[str, int]) -> dict[str, int]:
    return data


class CamelDTO(MsgspecDTO[Join]):
    config = DTOConfig(rename_strategy="camel")


@websocket_listener("/ws/camel", dto=CamelDTO, return_dto=CamelDTO)
async def camel(data: Join) -> Join:
    return data


@websocket_listener("/ws/opaque")
async def opaque(data: complex) -> None:  # a type with no JSON Schema
    return None


@websocket("/ws/raw")
async def raw(socket: LitestarWebSocket[Any, Any, Any]) -> None:
    await socket.accept()


class Counter(WebsocketListener):
    path = "/ws/count"

    async def on_receive(self, data: list[int]) -> int:
        return sum(data)


LITESTAR = shapes(Litestar([join, either, shout, sink, packed, camel, opaque, raw, Counter]))


def test_listener_messages_and_replies_come_from_the_annotations() -> None:
    shape = LITESTAR["/ws/join/{room:int}"]
    assert shape.typed
    assert shape.messages == (
        Part(name="join", kind="json", schema=json_schema_for(Join), notes=("From `data: Join`.",)),
    )
    (ack,) = shape.replies
    assert (ack.name, ack.kind) == ("ack", "json")
    assert ack.schema == json_schema_for(Ack, mode="serialization")
    assert shape.notes == ()  # a DTO decodes the data: nothing to warn about


def test_listener_query_parameters_leave_out_headers_and_path_params() -> None:
    assert LITESTAR["/ws/join/{room:int}"].query == {
        "type": "object",
        "properties": {"token": {"type": "string"}, "max": {"type": "integer", "minimum": 1}},
        "required": ["token"],
    }
    assert LITESTAR["/ws/either"].query is None


def test_a_union_of_models_is_one_message_each() -> None:
    shape = LITESTAR["/ws/either"]
    assert [(m.name, m.schema) for m in shape.messages] == [
        ("join", json_schema_for(Join)),
        ("leave", json_schema_for(Leave)),
    ]
    (reply,) = shape.replies
    assert reply.name == "reply"
    assert reply.schema == {"type": "object", "additionalProperties": {"type": "integer"}}


def test_without_a_dto_litestar_passes_a_dict_and_the_shape_says_so() -> None:
    assert "Litestar passes the handler a plain dict" in notes(LITESTAR["/ws/either"])


def test_a_renaming_dto_drops_the_reply_schema_and_warns() -> None:
    shape = LITESTAR["/ws/camel"]
    assert "DTOConfig" in notes(shape)
    (reply,) = shape.replies
    assert reply.schema is None
    assert "shapes it" in reply.notes[-1]


def test_frame_kinds_follow_the_annotation_and_the_modes() -> None:
    assert [(m.name, m.kind) for m in LITESTAR["/ws/shout"].messages] == [("text", "text")]
    assert [(r.name, r.kind) for r in LITESTAR["/ws/shout"].replies] == [("text", "text")]
    assert [(m.name, m.kind) for m in LITESTAR["/ws/sink"].messages] == [("data", "bytes")]
    assert LITESTAR["/ws/sink"].replies == ()  # returns None: Litestar sends nothing
    packed_shape = LITESTAR["/ws/packed"]
    assert [m.kind for m in packed_shape.messages] == ["bytes"]
    assert [r.kind for r in packed_shape.replies] == ["bytes"]
    assert "JSON in a bytes frame" in notes(packed_shape)


def test_class_based_listener() -> None:
    shape = LITESTAR["/ws/count"]
    assert [(m.name, m.schema) for m in shape.messages] == [
        ("data", {"type": "array", "items": {"type": "integer"}})
    ]
    assert [(r.name, r.schema) for r in shape.replies] == [("reply", {"type": "integer"})]


def test_a_type_without_schema_is_any_json_with_a_note() -> None:
    (message,) = LITESTAR["/ws/opaque"].messages
    assert message.schema is None
    assert "no JSON Schema for complex" in message.notes[-1]


def test_plain_websocket_handler_is_untyped() -> None:
    assert LITESTAR["/ws/raw"] == HandlerShape()


def test_listeners_behind_middleware_are_found() -> None:
    class Wrapper:
        def __init__(self, app: Any) -> None:
            self.app = app

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            await self.app(scope, receive, send)

    assert shapes(Wrapper(Litestar([shout])))["/ws/shout"].typed


# -- Starlette and FastAPI -----------------------------------------------------------------------


class JsonEndpoint(WebSocketEndpoint):
    encoding = "json"


class AnyEndpoint(WebSocketEndpoint):
    pass


def test_endpoint_encoding_is_the_message_kind() -> None:
    found = shapes(
        Starlette(routes=[WebSocketRoute("/a", JsonEndpoint), WebSocketRoute("/b", AnyEndpoint)])
    )
    assert found["/a"].typed
    assert [(m.name, m.kind) for m in found["/a"].messages] == [("json", "json")]
    assert found["/b"] == HandlerShape()


def paging(page: Annotated[int | None, Query(ge=0)] = None) -> int | None:
    return page


FASTAPI = FastAPI()


@FASTAPI.websocket("/ws/items/{item_id}/{slug}")
async def items(
    websocket: WebSocket, item_id: int, slug: str, token: str, page: int | None = Depends(paging)
) -> None:
    await websocket.accept()


def test_fastapi_query_and_path_parameters_come_from_the_signature_and_depends() -> None:
    shape = shapes(FASTAPI)["/ws/items/{item_id}/{slug}"]
    assert not shape.typed
    assert shape.messages == ()
    assert shape.path_params == {
        "item_id": {"type": "integer"}
    }  # str needs nothing beyond the converter
    assert shape.query == {
        "type": "object",
        "properties": {"token": {"type": "string"}, "page": {"type": "integer", "minimum": 0}},
        "required": ["token"],
    }
