"""What a WebSocket handler's code says about its traffic, for ``ws-routes init``.

* Litestar ``websocket_listener`` (function or ``WebsocketListener`` class): the ``data``
  annotation gives the messages, the return annotation the replies, the listener's
  ``receive_mode``/``send_mode`` the frame kinds, the signature the query parameters.
* Starlette/FastAPI ``WebSocketEndpoint`` classes: ``encoding`` gives the frame kind.
* FastAPI endpoints: the query and path parameters of the signature and its ``Depends``
  (FastAPI refuses a handshake whose parameters do not validate). Their messages are parsed
  inside the handler, so they are not known.

Framework classes are looked up in ``sys.modules``, as discovery does, so nothing is imported
that the app did not import.
"""

from __future__ import annotations

import dataclasses
import inspect
import re
import sys
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ws_routes.app.discovery import DiscoveredRoute
from ws_routes.app.typeschema import json_schema_for
from ws_routes.spec.model import Kind

__all__ = ["HandlerReader", "HandlerShape", "Part"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Part:
    """One message or reply the handler's code describes.

    Attributes:
        name: The spec name (``join`` for a ``Join`` model).
        kind: The frame kind.
        schema: Its JSON Schema; None for any value of the kind.
        notes: Comments for the reader of the spec (where it came from, what to check).
    """

    name: str
    kind: Kind
    schema: Mapping[str, Any] | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class HandlerShape:
    """Everything known about one route's traffic from its handler.

    Attributes:
        messages: What the client may send; empty when the code does not say.
        replies: What the server sends.
        notes: Comments about the route as a whole.
        query: An object schema of the query parameters, or None.
        path_params: Schemas of path parameters the signature types beyond the converter.
        typed: The messages came from the code.
    """

    messages: tuple[Part, ...] = ()
    replies: tuple[Part, ...] = ()
    notes: tuple[str, ...] = ()
    query: Mapping[str, Any] | None = None
    path_params: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    typed: bool = False


class HandlerReader:
    """Reads the handlers of one app's discovered routes."""

    def __init__(self, app: Any) -> None:
        self._litestar = _litestar_handlers(app)

    def shape(self, route: DiscoveredRoute) -> HandlerShape:
        """What ``route``'s handler says; an empty shape when it says nothing."""
        if route.framework == "litestar":
            handler = self._litestar.get(id(route.handler))
            return _litestar_shape(route, handler) if handler is not None else HandlerShape()
        endpoint = _endpoint_shape(route)
        if endpoint is not None:
            return endpoint
        return _fastapi_shape(route) if route.framework == "fastapi" else HandlerShape()


# -- helpers ---------------------------------------------------------------------------------------


def _is(obj: object, module: str, name: str) -> bool:
    cls = getattr(sys.modules.get(module), name, None)
    return isinstance(cls, type) and isinstance(obj, cls)


def _subclass(obj: object, module: str, name: str) -> bool:
    cls = getattr(sys.modules.get(module), name, None)
    return isinstance(cls, type) and isinstance(obj, type) and issubclass(obj, cls)


def type_name(tp: Any) -> str:
    """``Join``, ``list[Join] | None``: how the handler's source probably spells it."""
    if isinstance(tp, type) and typing.get_origin(tp) is None:
        return tp.__name__
    return re.sub(r"\b(?:[A-Za-z_]\w*\.)+(?=[A-Za-z_])", "", repr(tp))


def _snake(name: str) -> str:
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z])", "_", name).lower()


def _is_model(tp: Any) -> bool:
    """A class a decoder must build (attribute access on a plain dict fails)."""
    return isinstance(tp, type) and (
        dataclasses.is_dataclass(tp)
        or _subclass(tp, "msgspec", "Struct")
        or _subclass(tp, "pydantic", "BaseModel")
        or (issubclass(tp, tuple) and hasattr(tp, "_fields"))
    )


def _members(tp: Any) -> list[Any]:
    """The members of a union of classes (one message each), else ``[tp]``."""
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) > 1 and all(isinstance(a, type) for a in args):
            return args
    return [tp]


_GENERIC_NAMES = frozenset({"str", "dict", "list", "tuple", "any", "int", "float", "bool", ""})


def _json_parts(tp: Any, *, reply: bool, default: str, note: str) -> tuple[Part, ...]:
    members = _members(tp)
    parts: list[Part] = []
    for member in members:
        name = _snake(member.__name__) if isinstance(member, type) else default
        name = default if name in _GENERIC_NAMES else name
        while name in [p.name for p in parts]:
            name += "_"
        schema = json_schema_for(member, mode="serialization" if reply else "validation")
        notes = [note]
        if schema is None:
            notes.append(f"ws_routes has no JSON Schema for {type_name(member)}: write one here.")
        parts.append(Part(name=name, kind="json", schema=schema or None, notes=tuple(notes)))
    return tuple(parts)


def _call(handler: Any, method: str) -> Any:
    try:
        return getattr(handler, method)()
    except Exception:  # a handler outside an app, or a DTO that cannot be built
        return None


# -- Litestar ------------------------------------------------------------------------------------


def _litestar_handlers(app: object) -> dict[int, Any]:
    """Litestar route handlers by ``id`` of the user's function, unwrapped as discovery does."""
    found: dict[int, Any] = {}
    seen: set[int] = set()
    while app is not None and id(app) not in seen and len(seen) < 64:
        seen.add(id(app))
        if _is(app, "litestar.app", "Litestar"):
            for route in getattr(app, "routes", ()):
                handler = getattr(route, "route_handler", None)
                fn = getattr(handler, "fn", None)
                fn = getattr(fn, "_fn", fn)
                found[id(getattr(fn, "func", fn))] = handler
            break
        try:  # through middleware, without running properties
            app = inspect.getattr_static(app, "app")
        except AttributeError:
            break
    return found


def _default_dto_config(dto: Any) -> bool:
    config = getattr(dto, "config", None)
    return config is None or config == type(config)()


def _litestar_shape(route: DiscoveredRoute, handler: Any) -> HandlerShape:
    query = _litestar_query(route, handler)
    data = getattr(handler, "parsed_data_field", None)
    if data is None or not hasattr(handler, "resolve_receive_handler"):
        return HandlerShape(query=query)  # a plain @websocket handler
    # Litestar has no public accessor for the listener's modes.
    receive_mode = getattr(handler, "_receive_mode", "text")
    described = f"`data: {type_name(data.raw)}`"
    note = f"From {described}."
    notes: list[str] = []
    messages: tuple[Part, ...]
    if receive_mode == "binary":
        messages = (Part(name="data", kind="bytes", notes=(note,)),)
        if data.annotation is not bytes:
            notes.append(
                f'The listener reads {described} from binary frames (receive_mode="binary"); a '
                "spec cannot say 'JSON in a bytes frame', so ws_routes sends any bytes: give the "
                "message a `strategy:` that draws encoded values."
            )
    elif data.annotation in (str, bytes):
        # Litestar hands text frames to `data: str`, and their UTF-8 bytes to `data: bytes`.
        messages = (Part(name="text", kind="text", notes=(note,)),)
    else:
        messages = _json_parts(data.raw, reply=False, default="data", note=note)
        dto = _call(handler, "resolve_data_dto")
        if dto is not None and not _default_dto_config(dto):
            notes.append(
                f"{type_name(dto)} has its own DTOConfig (renamed or excluded fields): check that "
                "the message schemas match what it accepts."
            )
        elif dto is None and any(_is_model(m) for m in _members(data.raw)):
            notes.append(
                f"No DTO or serialization plugin decodes {described}: Litestar passes the handler "
                "a plain dict, so attribute access fails. Add e.g. dto=MsgspecDTO[...] to the "
                "listener."
            )
    return HandlerShape(
        messages=messages,
        replies=_litestar_replies(handler),
        notes=tuple(notes),
        query=query,
        typed=True,
    )


def _litestar_replies(handler: Any) -> tuple[Part, ...]:
    returned = getattr(handler, "parsed_return_field", None)
    raw = getattr(returned, "raw", Any)
    if raw is None or raw is type(None):
        return ()  # Litestar sends nothing for a listener returning None
    if type(raw).__name__ == "_EmptyEnum":  # no return annotation
        raw = Any
    note = f"From the return annotation `{type_name(raw)}`."
    if getattr(handler, "_send_mode", "text") == "binary":
        return (Part(name="data", kind="bytes", notes=(note,)),)
    if getattr(returned, "annotation", raw) in (str, bytes):
        return (Part(name="text", kind="text", notes=(note,)),)
    parts = _json_parts(raw, reply=True, default="reply", note=note)
    dto = _call(handler, "resolve_return_dto")
    if dto is not None and not _default_dto_config(dto):
        shaped = f"{type_name(dto)} shapes it: describe what it sends."
        parts = tuple(dataclasses.replace(p, schema=None, notes=(*p.notes, shaped)) for p in parts)
    return parts


_LITESTAR_RESERVED = frozenset(
    {"socket", "data", "state", "scope", "headers", "cookies", "query", "request", "body"}
)


def _litestar_query(route: DiscoveredRoute, handler: Any) -> Mapping[str, Any] | None:
    signature = getattr(handler, "parsed_fn_signature", None)
    if signature is None:
        return None
    dependencies = _call(handler, "resolve_dependencies") or ()
    skip = _LITESTAR_RESERVED | set(route.params) | set(dependencies)
    params: list[tuple[str, Any, bool]] = []
    for name, param in signature.parameters.items():
        kwarg = getattr(param, "kwarg_definition", None)
        # Parameter(...) and QueryParameter(...) say "query"; headers, cookies, Dependency() not.
        kind = getattr(getattr(kwarg, "param_type", None), "value", None)
        if name in skip or (kwarg is not None and kind != "query"):
            continue
        required = type(param.default).__name__ == "_EmptyEnum" and not param.is_optional
        params.append((getattr(kwarg, "name", None) or name, param.raw, required))
    return _query_schema(params)


# -- Starlette and FastAPI -----------------------------------------------------------------------


def _endpoint_shape(route: DiscoveredRoute) -> HandlerShape | None:
    if not _subclass(route.handler, "starlette.endpoints", "WebSocketEndpoint"):
        return None
    encoding = getattr(route.handler, "encoding", None)
    if encoding not in ("text", "bytes", "json"):
        return None
    part = Part(name=encoding, kind=encoding, notes=(f'From encoding = "{encoding}".',))
    return HandlerShape(messages=(part,), typed=True)


_ANNOTATED: Any = typing.Annotated  # subscripted at run time with runtime values


def _fastapi_shape(route: DiscoveredRoute) -> HandlerShape:
    """Query and path parameters, as FastAPI reads them from the signature and its Depends."""
    if not callable(route.handler) or inspect.isclass(route.handler):
        return HandlerShape()
    try:
        from fastapi.dependencies.utils import get_dependant

        dependant = get_dependant(path=route.path, call=route.handler)
    except Exception:  # FastAPI's internals moved, or a signature it refuses
        return HandlerShape()
    query: list[tuple[str, Any, bool]] = []
    path_params: dict[str, Mapping[str, Any]] = {}
    stack = [dependant]
    while stack:
        current = stack.pop()
        for param in getattr(current, "query_params", ()):
            query.append((param.alias, _field_type(param), param.field_info.is_required()))
        for param in getattr(current, "path_params", ()):
            schema = json_schema_for(_field_type(param))
            if schema and schema != {"type": "string"} and param.alias in route.params:
                path_params[param.alias] = schema
        stack.extend(getattr(current, "dependencies", ()))
    return HandlerShape(query=_query_schema(query), path_params=path_params)


def _field_type(param: Any) -> Any:
    # Annotated keeps Query(ge=...) bounds: typeschema reads them from the FieldInfo's metadata.
    return _ANNOTATED[param.field_info.annotation, param.field_info]


def _query_schema(params: list[tuple[str, Any, bool]]) -> dict[str, Any] | None:
    """An object schema of query parameters; None values are left out (they cannot be sent)."""
    if not params:
        return None
    properties: dict[str, Any] = {}
    for name, annotation, _ in params:
        schema = json_schema_for(_without_none(annotation))
        properties[name] = schema if schema is not None else {"type": "string"}
    out: dict[str, Any] = {"type": "object", "properties": properties}
    required = [name for name, _, needed in params if needed]
    if required:
        out["required"] = required
    return out


def _without_none(tp: Any) -> Any:
    if typing.get_origin(tp) is typing.Annotated:
        inner = _without_none(typing.get_args(tp)[0])
        return _ANNOTATED[(inner, *tp.__metadata__)]
    if typing.get_origin(tp) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        if len(args) == 1:
            return args[0]
        if args:
            return typing.Union[tuple(args)]  # noqa: UP007 - built from a runtime tuple
    return tp
