"""A loaded spec -> an AsyncAPI 3.0 document that imports back to the same spec.

One ``ws`` server on localhost; one channel per route, with its path parameters, its query and
headers as ``ws`` bindings, and its messages under ``components``. What the client sends is what
the described application (the server) *receives*; each group of messages with the same ``reply``
list (or stream) becomes one ``receive`` operation with that ``reply``, and all replies one
``send`` operation. ``correlation`` is each message's ``correlationId``; what AsyncAPI has no
words for travels in ``x-ws-routes-*`` extensions.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ws_routes.errors import pointer_join
from ws_routes.spec.asyncapi.protocol_keys import (
    answers,
    message_extensions,
    reply_extensions,
    route_extensions,
)
from ws_routes.spec.asyncapi.schemas import DRAFT_2020_12, POINTER_SAFE, relocate
from ws_routes.spec.model import (
    AuthSpec,
    InvalidSpec,
    MessageSpec,
    ReplySpec,
    RouteSpec,
    Settings,
    Spec,
)

__all__ = ["export_asyncapi"]

_PARAM = re.compile(r"\{([^{}:]+)(?::[^{}]*)?\}")
_CONTENT_TYPES = {
    "json": "application/json",
    "text": "text/plain",
    "bytes": "application/octet-stream",
}
_ROUTE_SETTINGS = (
    "max_messages",
    "connection_timeout",
    "message_timeout",
    "max_message_size",
    "test_close_codes",
    "validate_subprotocols",
    "max_examples",
    "origin",
)
_GLOBAL_SETTINGS = ("enabled", *_ROUTE_SETTINGS[:6], "include", "exclude", "max_examples", "origin")


def _key(text: str, taken: Mapping[str, Any] | set[str], suffix: str = "_") -> str:
    """A component key (``[A-Za-z0-9._-]``) for ``text`` that is not in ``taken`` yet."""
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "root"
    key, number = base, 1
    while key in taken:
        number += 1
        key = f"{base}{suffix}{number}"
    return key


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):
        return list(value)
    if isinstance(value, Mapping):
        return dict(value)
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def settings_diff(settings: Settings, base: Settings, keys: tuple[str, ...]) -> dict[str, Any]:
    """The settings (in the spec format) that make ``base`` into ``settings``."""
    out: dict[str, Any] = {}
    for key in keys:
        value = getattr(settings, key)
        if value != getattr(base, key):
            out[key] = (
                _plain(value) if key not in ("connection_timeout", "message_timeout") else value
            )
    return out


def checks_diff(settings: Settings, base: Settings) -> dict[str, bool]:
    return {k: v for k, v in settings.checks.items() if k not in base.checks or base.checks[k] != v}


class _Exporter:
    def __init__(self, spec: Spec, *, include_secrets: bool = False) -> None:
        self.include_secrets = include_secrets
        self.spec = spec
        self.channels: dict[str, Any] = {}
        self.operations: dict[str, Any] = {}
        self.messages: dict[str, Any] = {}
        self.schemas: dict[str, Any] = {}
        self.security: dict[str, Any] = {}

    def schema(self, value: Any, *tokens: str) -> Any:
        """A schema to write at ``tokens`` in the document.

        A spec's references point into the schema itself; in the document they must point to
        where the schema now lives, so they get that place as a prefix.
        """
        return relocate(value, quote(pointer_join("", *tokens), safe=POINTER_SAFE))

    def payload(self, value: Any, key: str) -> Any:
        """A message payload: a named schema in ``components.schemas``, as AsyncAPI tools expect."""
        name = _key(key, self.schemas)
        self.schemas[name] = self.schema(value, "components", "schemas", name)
        return {"$ref": f"#/components/schemas/{name}"}

    def message(self, item: MessageSpec | ReplySpec, key: str) -> dict[str, Any]:
        body: dict[str, Any] = {"name": item.name, "contentType": _CONTENT_TYPES[item.kind]}
        sizes = (item.min_size, item.max_size)
        schema = item.schema.value if item.schema is not None else None
        if item.kind == "bytes":
            body["payload"] = {"type": "string", "format": "binary"}
            for keyword, size in zip(("minLength", "maxLength"), sizes, strict=True):
                if size is not None:
                    body["payload"][keyword] = size
        elif isinstance(schema, bool):
            # AsyncAPI payloads are objects: the same meaning for its tools, the exact value for us.
            body["payload"] = {} if schema else {"not": {}}
            body["x-ws-routes-schema"] = schema
        elif schema is not None:
            body["payload"] = self.payload(schema, key)
        if isinstance(item, ReplySpec):
            if item.error:
                body["x-ws-routes-error"] = True
            return {**body, **reply_extensions(item)}
        if item.strategy is not None:
            body["x-ws-routes-strategy"] = item.strategy
        if item.weight != 1.0:
            body["x-ws-routes-weight"] = _plain(item.weight)
        if item.kind != "bytes":
            for name, size in zip(
                ("x-ws-routes-min-size", "x-ws-routes-max-size"), sizes, strict=True
            ):
                if size is not None:
                    body[name] = size

        def place(value: Any, tokens: tuple[str, ...]) -> Any:
            return self.schema(value, "components", "messages", key, *tokens)

        return {**body, **message_extensions(item, place)}

    def auth(self, auth: AuthSpec, cid: str) -> dict[str, Any]:
        out: dict[str, Any] = {} if auth.required else {"required": False}
        for key in ("query_param", "header", "cookie"):
            if getattr(auth, key) is not None:
                out[key] = getattr(auth, key)
        if auth.first_message is not None:
            at = ("channels", cid, "x-ws-routes-auth", "first_message")
            out["first_message"] = self.schema(auth.first_message.value, *at)
        if auth.scheme is not None:
            out["scheme"] = auth.scheme
        if auth.token is not None and self.include_secrets:  # a document meant to be published
            out["token"] = auth.token
        if auth.reject_close_codes != AuthSpec().reject_close_codes:
            out["reject_close_codes"] = list(auth.reject_close_codes)
        # The same, for AsyncAPI tools: a security scheme where one fits.
        scheme: dict[str, Any] | None = None
        if (
            auth.header
            and auth.header.lower() == "authorization"
            and (auth.scheme or "").lower() == "bearer"
        ):
            scheme = {"type": "http", "scheme": "bearer"}
        else:
            for place, key in (
                ("query", "query_param"),
                ("header", "header"),
                ("cookie", "cookie"),
            ):
                if getattr(auth, key) is not None and auth.scheme is None:
                    scheme = {"type": "httpApiKey", "in": place, "name": getattr(auth, key)}
        if scheme is not None:
            self.security[_key(f"{cid}.auth", self.security)] = scheme
        return out

    def channel_extensions(self, route: RouteSpec, cid: str) -> dict[str, Any]:
        out: dict[str, Any] = {}
        if route.subprotocols:
            out["x-ws-routes-subprotocols"] = list(route.subprotocols)
        out.update(route_extensions(route))
        if route.auth is not None:
            out["x-ws-routes-auth"] = self.auth(route.auth, cid)
        if route.close_codes is not None:
            out["x-ws-routes-close-codes"] = list(route.close_codes)
        if route.invalid != InvalidSpec():
            invalid = route.invalid
            out["x-ws-routes-invalid"] = {
                "enabled": invalid.enabled,
                "close_codes": list(invalid.close_codes),
                "must_reject": invalid.must_reject,
            }
        checks = checks_diff(route.settings, self.spec.settings)
        if checks:
            out["x-ws-routes-checks"] = checks
        settings = settings_diff(route.settings, self.spec.settings, _ROUTE_SETTINGS)
        if settings:
            out["x-ws-routes-settings"] = settings
        if route.markers:
            out["x-ws-routes-markers"] = list(route.markers)
        if route.fixtures:
            out["x-ws-routes-fixtures"] = list(route.fixtures)
        return out

    def route(self, route: RouteSpec) -> None:
        # /ws/chat/{room} -> ws.chat.room: a readable id that JSON pointers need not escape.
        cid = _key(_PARAM.sub(r"\1", route.path).strip("/").replace("/", "."), self.channels)
        address = _PARAM.sub(lambda m: "{" + m.group(1) + "}", route.path)
        channel: dict[str, Any] = {"address": address}
        if route.description is not None:
            channel["description"] = route.description
        names = list(dict.fromkeys(_PARAM.findall(route.path)))
        if names:
            channel["parameters"] = {name: self.parameter(route, name, cid) for name in names}
        refs: dict[tuple[str, str], dict[str, str]] = {}
        channel_messages: dict[str, Any] = {}
        for group, items in (("messages", route.messages), ("replies", route.replies)):
            for item in items:
                base = _key(item.name, set())
                if group == "replies" and base in channel_messages:
                    base = f"{base}.reply"  # a reply named like a message: graphql-ws' ping
                key = _key(base, channel_messages)
                component = _key(f"{cid}.{key}", self.messages)
                self.messages[component] = self.message(item, component)
                channel_messages[key] = {"$ref": f"#/components/messages/{component}"}
                refs[(group, item.name)] = {"$ref": f"#/channels/{cid}/messages/{key}"}
        if channel_messages:
            channel["messages"] = channel_messages
        bindings = {
            key: self.schema(schema.value, "channels", cid, "bindings", "ws", key)
            for key, schema in (("query", route.query), ("headers", route.headers))
            if schema is not None
        }
        if bindings:
            channel["bindings"] = {"ws": {**bindings, "bindingVersion": "0.1.0"}}
        if route.path != address:
            channel["x-ws-routes-path"] = route.path
        security_before = set(self.security)
        channel.update(self.channel_extensions(route, cid))
        self.channels[cid] = channel
        security = [
            {"$ref": f"#/components/securitySchemes/{k}"}
            for k in self.security
            if k not in security_before
        ]
        self.route_operations(route, cid, refs, security)

    def parameter(self, route: RouteSpec, name: str, cid: str) -> dict[str, Any]:
        schema = route.path_params.get(name)
        if schema is None:
            return {}
        value = schema.value
        parameter: dict[str, Any] = {}
        if isinstance(value, Mapping):
            enum = value.get("enum")
            if isinstance(enum, list) and all(isinstance(v, str) for v in enum):
                parameter["enum"] = enum
            if isinstance(value.get("description"), str):
                parameter["description"] = value["description"]
        at = ("channels", cid, "parameters", name, "x-ws-routes-schema")
        parameter["x-ws-routes-schema"] = self.schema(value, *at)
        return parameter

    def route_operations(
        self,
        route: RouteSpec,
        cid: str,
        refs: dict[tuple[str, str], dict[str, str]],
        security: list[dict[str, str]],
    ) -> None:
        channel_ref = {"$ref": f"#/channels/{cid}"}
        # A stream's items and ends answer it as a `reply` list would: a group of their own, so
        # that a plain message expecting the same replies keeps its own operation.
        groups: dict[tuple[bool, tuple[str, ...]], list[MessageSpec]] = {}
        for message in route.messages:
            groups.setdefault((message.stream is not None, answers(message)), []).append(message)
        for (_, replies), members in groups.items():
            suffix = f".{members[0].name}" if replies else ""
            op_id = _key(f"{cid}.receive{suffix}", self.operations)
            operation: dict[str, Any] = {
                "action": "receive",
                "channel": channel_ref,
                "messages": [refs[("messages", m.name)] for m in members],
            }
            if replies:
                operation["reply"] = {
                    "channel": channel_ref,
                    "messages": [refs[("replies", name)] for name in replies],
                }
            if security:
                operation["security"] = security
            self.operations[op_id] = operation
        if route.replies:
            operation = {
                "action": "send",
                "channel": channel_ref,
                "messages": [refs[("replies", r.name)] for r in route.replies],
            }
            if security:
                operation["security"] = security
            self.operations[_key(f"{cid}.send", self.operations)] = operation

    def document(self) -> dict[str, Any]:
        for route in self.spec.routes:
            self.route(route)
        source = Path(self.spec.source).name if self.spec.source else None
        title = self.spec.app or (Path(source).stem if source else "ws-routes spec")
        info: dict[str, Any] = {"title": f"{title} WebSocket API", "version": "1.0.0"}
        if source:
            info["description"] = f"Exported by ws-routes from {source}."
        # The schemas stay ws_routes' 2020-12 ones; AsyncAPI's own default would be draft-07.
        doc: dict[str, Any] = {
            "asyncapi": "3.0.0",
            "info": info,
            "x-ws-routes-schema-dialect": DRAFT_2020_12,
        }
        if self.spec.app is not None:
            doc["x-ws-routes-app"] = self.spec.app
        if self.spec.server_url is not None:  # live mode's server, as the spec says it
            doc["x-ws-routes-server"] = {"url": self.spec.server_url}
        settings = settings_diff(self.spec.settings, Settings(), _GLOBAL_SETTINGS)
        checks = checks_diff(self.spec.settings, Settings())
        if checks:
            settings["checks"] = checks
        if settings:
            doc["x-ws-routes-settings"] = settings
        doc["servers"] = {
            "local": {"host": "localhost", "protocol": "ws", "description": "The app under test."}
        }
        doc["channels"] = self.channels
        doc["operations"] = self.operations
        components = {
            key: value
            for key, value in (
                ("schemas", self.schemas),
                ("messages", self.messages),
                ("securitySchemes", self.security),
            )
            if value
        }
        if components:
            doc["components"] = components
        return doc


def export_asyncapi(spec: Spec, *, include_secrets: bool = False) -> dict[str, Any]:
    """An AsyncAPI 3.0.0 document describing ``spec``'s routes.

    Importing the document with :func:`~ws_routes.spec.asyncapi.import_asyncapi` gives back a spec
    equal to ``spec`` (apart from where things were written).

    Args:
        spec: A loaded spec.

    Returns:
        The document as plain JSON-like data, ready for ``json.dumps`` or a YAML dumper.
    """
    return _Exporter(spec, include_secrets=include_secrets).document()
