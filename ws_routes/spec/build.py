"""From a meta-validated spec document to :class:`~ws_routes.spec.model.Spec`: checks and building.

The shipped JSON Schema catches wrong keys and types; what it cannot express is checked here,
each problem located at the key it concerns: replies that do not exist, path parameters missing
from the path, ``strategy`` together with ``schema``, invalid user JSON Schemas, and so on. The
checks run on possibly invalid data (so that one pass reports everything) and therefore never
trust a type; building runs only once there is no error at all.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ws_routes.errors import Location, SpecError, did_you_mean, pointer_join
from ws_routes.spec.clients import check_clients, reply_delivery, route_clients
from ws_routes.spec.correlated import (
    case_schemas,
    check_correlation,
    message_fields,
    reply_fields,
)
from ws_routes.spec.metavalidate import Problem, check_user_schema
from ws_routes.spec.model import (
    ALWAYS_INVALID_CLOSE_CODES,
    AuthSpec,
    InvalidSpec,
    MessageSpec,
    ReplySpec,
    RouteSpec,
    Schema,
    Settings,
    Spec,
)
from ws_routes.spec.refs import Bundled, RefResolver
from ws_routes.spec.states import check_states, message_state, reply_state, route_state
from ws_routes.spec.urls import url_problem
from ws_routes.spec.yamlpos import PositionMap

__all__ = [
    "SpecContext",
    "build_spec",
    "check_close_codes",
    "check_numbers",
    "check_spec",
    "settings_overrides",
]

# {name} and {name:converter}, as Starlette, FastAPI and Litestar write path parameters.
_PATH_PARAM = re.compile(r"\{([^{}:]+)(?::[^{}]*)?\}")
_AUTH_WAYS = ("query_param", "header", "cookie", "first_message")
# Markers the spec cannot set: pytest's that need arguments, and -m's operators.
_NO_MARKERS = {
    "usefixtures": "name the fixtures under 'fixtures' instead",
    "parametrize": "it takes arguments, which a spec cannot give",
    "skipif": "it takes a condition, which a spec cannot give; use 'skip', or settings.enabled",
    "filterwarnings": "it takes arguments: use the ini option filterwarnings instead",
    **dict.fromkeys(("and", "or", "not"), "-m reads it as an operator, so it could not select"),
}
_FLOAT_SETTINGS = frozenset({"connection_timeout", "message_timeout"})
_TUPLE_SETTINGS = frozenset({"include", "exclude"})
# JSON Schema counts 10.0 as an integer; the dataclasses want real ints.
_INT_SETTINGS = frozenset({"max_messages", "max_message_size", "max_examples"})
# Validating a schema against its meta-schema costs about a millisecond; specs repeat schemas.
_CHECKED: dict[str, tuple[Problem, ...]] = {}


@dataclass(slots=True)
class SpecContext:
    """Where a spec document came from, and how to locate a pointer inside it.

    ``prefix`` is the pointer of the spec inside its file (``/tool/ws-routes`` in a pyproject);
    pointers handed to :meth:`locate` are relative to the spec.
    """

    file: str
    base_file: Path
    positions: PositionMap | None
    resolver: RefResolver
    prefix: str = ""
    bundles: dict[str, Bundled] = field(default_factory=dict)

    def locate(self, pointer: str, at: str | None = None) -> Location:
        """The location of ``pointer``, positioned at the key ``at`` (default: ``pointer``)."""
        full = self.prefix + pointer
        if self.positions is None:
            return Location(file=self.file, pointer=full)
        return self.positions.locate(self.file, full, at=self.prefix + (at or pointer))

    def error(self, message: str, pointer: str, hint: str | None = None) -> SpecError:
        return SpecError(message, location=self.locate(pointer), hint=hint)


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _ints(values: Any) -> tuple[int, ...]:
    return tuple(int(v) for v in values)


def _optional_int(value: Any) -> int | None:
    return None if value is None else int(value)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_close_codes(codes: Any, pointer: str, ctx: SpecContext) -> list[SpecError]:
    """Close codes RFC 6455 forbids in a close frame can never be sent or received."""
    if not isinstance(codes, list):
        return []
    return [
        ctx.error(
            f"close code {code} can never be sent in a close frame",
            pointer_join(pointer, index),
            hint="RFC 6455, section 7.4.1 reserves 1004, 1005, 1006 and 1015",
        )
        for index, code in enumerate(codes)
        if _is_int(code) and code in ALWAYS_INVALID_CLOSE_CODES
    ]


def check_numbers(data: Any, ctx: SpecContext) -> list[SpecError]:
    """NaN and the infinities (YAML's ``.nan``, ``.inf``) anywhere: JSON has no such numbers.

    A timeout of ``.nan`` compares false with every bound, so no range check would catch it.
    """
    errors: list[SpecError] = []
    stack: list[tuple[Any, str]] = [(data, "")]
    while stack:
        node, pointer = stack.pop()
        if isinstance(node, Mapping):
            stack.extend((v, pointer_join(pointer, k)) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend((v, pointer_join(pointer, i)) for i, v in enumerate(node))
        elif isinstance(node, float) and not math.isfinite(node):
            errors.append(
                ctx.error(
                    f"expected a finite number, got {node!r}",
                    pointer,
                    hint="JSON has no NaN or infinity; write a bound, or leave the key out",
                )
            )
    return errors


def _user_schemas(route: Mapping[str, Any], pointer: str) -> list[tuple[str, Any]]:
    """(pointer, schema) of every JSON Schema the user wrote in one route."""
    found = [(pointer_join(pointer, "query"), route.get("query"))]
    found.append((pointer_join(pointer, "headers"), route.get("headers")))
    auth = _mapping(route.get("auth"))
    found.append((pointer_join(pointer, "auth", "first_message"), auth.get("first_message")))
    for name, schema in _mapping(route.get("path_params")).items():
        found.append((pointer_join(pointer, "path_params", name), schema))
    for group in ("messages", "replies"):
        for name, item in _mapping(route.get(group)).items():
            found.append(
                (pointer_join(pointer, group, name, "schema"), _mapping(item).get("schema"))
            )
    for name, item in _mapping(route.get("messages")).items():
        found += case_schemas(_mapping(item), pointer_join(pointer, "messages", name))
    return [(p, s) for p, s in found if isinstance(s, (bool, Mapping))]


def _check_schema(pointer: str, schema: Any, ctx: SpecContext) -> list[SpecError]:
    """Bundle one user schema's file references, then check it is a valid JSON Schema."""
    inline: Callable[[str], Location] = lambda inner: ctx.locate(pointer + inner)  # noqa: E731
    bundled = ctx.resolver.bundle(schema, base_file=ctx.base_file, locate=inline)
    ctx.bundles[pointer] = bundled
    if bundled.errors:
        return bundled.errors
    key = json.dumps(bundled.schema, sort_keys=True, default=repr)
    if key not in _CHECKED:
        if len(_CHECKED) > 4096:
            _CHECKED.clear()
        _CHECKED[key] = tuple(check_user_schema(bundled.schema))
    return [
        SpecError(p.message, location=bundled.locate(p.pointer, inline), hint=p.hint)
        for p in _CHECKED[key]
    ]


def _check_message(
    raw: Any, pointer: str, replies: Mapping[str, Any], ctx: SpecContext
) -> list[SpecError]:
    message = _mapping(raw)
    errors: list[SpecError] = []
    reply = message.get("reply")
    for index, reply_name in enumerate(reply if isinstance(reply, list) else []):
        if isinstance(reply_name, str) and reply_name not in replies:
            hint = did_you_mean(reply_name, replies) or (
                "declare it under 'replies'" if replies else "this route declares no replies"
            )
            errors.append(
                ctx.error(
                    f"unknown reply {reply_name!r}", pointer_join(pointer, "reply", index), hint
                )
            )
    if "strategy" in message and "schema" in message:
        errors.append(
            ctx.error(
                "'strategy' and 'schema' exclude each other",
                pointer_join(pointer, "strategy"),
                hint="a strategy generates the values itself: remove one of them",
            )
        )
    for key in ("min_size", "max_size") if message.get("kind") == "json" else ():
        if key in message:
            errors.append(
                ctx.error(
                    f"{key} applies to text and bytes messages only",
                    pointer_join(pointer, key),
                    hint="bound JSON values in the schema instead",
                )
            )
    return errors + _size_order(message, pointer, ctx)


def _check_reply_sizes(
    reply: Mapping[str, Any], pointer: str, ctx: SpecContext
) -> list[SpecError]:
    """A reply's min_size/max_size: bytes replies only (the others have a schema for it)."""
    errors: list[SpecError] = []
    if reply.get("kind") in ("json", "text"):
        errors += [
            ctx.error(
                f"{key} applies to bytes replies only",
                pointer_join(pointer, key),
                hint=f"bound {reply['kind']} replies in their schema instead",
            )
            for key in ("min_size", "max_size")
            if key in reply
        ]
    return errors + _size_order(reply, pointer, ctx)


def _size_order(item: Mapping[str, Any], pointer: str, ctx: SpecContext) -> list[SpecError]:
    """min_size above max_size, on a message or a bytes reply."""
    low: Any = item.get("min_size")
    high: Any = item.get("max_size")
    if _is_int(low) and _is_int(high) and low > high:
        message = f"min_size {low} is greater than max_size {high}"
        return [ctx.error(message, pointer_join(pointer, "min_size"))]
    return []


def _check_route(path: str, raw: Any, pointer: str, ctx: SpecContext) -> list[SpecError]:
    route = _mapping(raw)
    errors: list[SpecError] = []
    if not path.startswith("/"):
        errors.append(
            ctx.error(
                f"route path {path!r} must start with '/'",
                pointer,
                hint=f"did you mean {'/' + path!r}?",
            )
        )
    params = _PATH_PARAM.findall(path)
    for name in _mapping(route.get("path_params")):
        if name not in params:
            hint = did_you_mean(name, params) or (
                f"the path has {', '.join(map(repr, params))}"
                if params
                else "the path has no parameters"
            )
            errors.append(
                ctx.error(
                    f"path parameter {name!r} is not in the route path {path!r}",
                    pointer_join(pointer, "path_params", name),
                    hint,
                )
            )
    replies = _mapping(route.get("replies"))
    for name, message in _mapping(route.get("messages")).items():
        errors += _check_message(message, pointer_join(pointer, "messages", name), replies, ctx)
    for name, reply in replies.items():
        errors += _check_reply_sizes(_mapping(reply), pointer_join(pointer, "replies", name), ctx)
    for group in ("messages", "replies"):
        for name, item in _mapping(route.get(group)).items():
            if _mapping(item).get("kind") == "bytes" and "schema" in _mapping(item):
                errors.append(
                    ctx.error(
                        f"a bytes {'reply' if group == 'replies' else 'message'} takes no schema",
                        pointer_join(pointer, group, name, "schema"),
                        hint="bound its length with min_size and max_size",
                    )
                )
    if isinstance(route.get("auth"), Mapping):
        auth = route["auth"]
        ways = [w for w in _AUTH_WAYS if w in auth]
        if len(ways) != 1:
            got = " and ".join(map(repr, ways)) or "none"
            errors.append(
                ctx.error(
                    f"auth needs exactly one of {', '.join(_AUTH_WAYS)}; got {got}",
                    pointer_join(pointer, "auth"),
                )
            )
        if "scheme" in auth and "header" not in auth:
            errors.append(
                ctx.error(
                    "'scheme' applies to header credentials only",
                    pointer_join(pointer, "auth", "scheme"),
                    hint="add 'header: Authorization' or remove 'scheme'",
                )
            )
    for *parents, key in (
        ["close_codes"],
        ["invalid", "close_codes"],
        ["settings", "test_close_codes"],
    ):
        codes = _mapping(route.get(parents[0])).get(key) if parents else route.get(key)
        errors += check_close_codes(codes, pointer_join(pointer, *parents, key), ctx)
    errors += check_correlation(route, pointer, ctx)
    markers = route.get("markers")
    for index, name in enumerate(markers if isinstance(markers, list) else []):
        if isinstance(name, str) and name in _NO_MARKERS:
            at = pointer_join(pointer, "markers", index)
            errors.append(ctx.error(f"marker {name!r} cannot be set here", at, _NO_MARKERS[name]))
    for schema_pointer, schema in _user_schemas(route, pointer):
        errors += _check_schema(schema_pointer, schema, ctx)
    errors += check_clients(route, path, pointer, ctx)
    return errors + check_states(route, pointer, ctx)


def check_spec(data: Any, ctx: SpecContext) -> list[SpecError]:
    """Every semantic error of a spec document (which may also have failed meta-validation)."""
    spec = _mapping(data)
    errors: list[SpecError] = []
    version = spec.get("version")
    if _is_int(version) and version != 1:
        errors.append(
            ctx.error(
                f"unsupported version {version}", "/version", hint="this ws_routes reads version 1"
            )
        )
    url = _mapping(spec.get("server")).get("url")
    if isinstance(url, str) and url and (problem := url_problem(url)) is not None:
        errors.append(ctx.error(problem, "/server/url"))
    settings = _mapping(spec.get("settings"))
    errors += check_close_codes(settings.get("test_close_codes"), "/settings/test_close_codes", ctx)
    for path, route in _mapping(spec.get("routes")).items():
        errors += _check_route(path, route, pointer_join("", "routes", path), ctx)
    return errors


def settings_overrides(raw: Mapping[str, Any]) -> dict[str, Any]:
    """Settings keyword arguments from a validated settings mapping (lists become tuples)."""
    out: dict[str, Any] = {}
    for key, value in raw.items():
        if key in _TUPLE_SETTINGS:
            value = tuple(value)
        elif key == "test_close_codes":
            value = _ints(value)
        elif key in _INT_SETTINGS:
            value = int(value)
        elif key in _FLOAT_SETTINGS:
            value = float(value)
        elif key == "checks":
            value = dict(value)
        out[key] = value
    return out


def _schema(pointer: str, ctx: SpecContext) -> Schema:
    return Schema(value=ctx.bundles[pointer].schema, location=ctx.locate(pointer))


def _optional_schema(
    route: Mapping[str, Any], key: str, pointer: str, ctx: SpecContext
) -> Schema | None:
    return _schema(pointer_join(pointer, key), ctx) if key in route else None


def _build_route(
    path: str, route: Mapping[str, Any], pointer: str, settings: Settings, ctx: SpecContext
) -> RouteSpec:
    overrides = settings_overrides(route.get("settings", {}))
    if "checks" in route:
        overrides["checks"] = dict(route["checks"])
    messages = []
    for name, raw in route.get("messages", {}).items():
        at = pointer_join(pointer, "messages", name)
        messages.append(
            MessageSpec(
                name=name,
                kind=raw["kind"],
                schema=_optional_schema(raw, "schema", at, ctx),
                strategy=raw.get("strategy"),
                weight=float(raw.get("weight", 1.0)),
                reply=tuple(raw.get("reply", ())),
                min_size=_optional_int(raw.get("min_size")),
                max_size=_optional_int(raw.get("max_size")),
                location=ctx.locate(at),
                **message_state(raw),
                **message_fields(raw, at, ctx),
            )
        )
    replies = []
    for name, raw in route.get("replies", {}).items():
        at = pointer_join(pointer, "replies", name)
        replies.append(
            ReplySpec(
                name=name,
                kind=raw["kind"],
                schema=_optional_schema(raw, "schema", at, ctx),
                error=raw.get("error", False),
                min_size=_optional_int(raw.get("min_size")),
                max_size=_optional_int(raw.get("max_size")),
                location=ctx.locate(at),
                **reply_state(raw),
                **reply_fields(raw),
                **reply_delivery(raw),
            )
        )
    auth = None
    if "auth" in route:
        raw, at = route["auth"], pointer_join(pointer, "auth")
        extra = (
            {"reject_close_codes": _ints(raw["reject_close_codes"])}
            if "reject_close_codes" in raw
            else {}
        )
        auth = AuthSpec(
            required=raw.get("required", True),
            query_param=raw.get("query_param"),
            header=raw.get("header"),
            cookie=raw.get("cookie"),
            first_message=_optional_schema(raw, "first_message", at, ctx),
            scheme=raw.get("scheme"),
            token=raw.get("token"),
            location=ctx.locate(at),
            **extra,
        )
    invalid_args: dict[str, Any] = dict(route.get("invalid", {}))
    if "close_codes" in invalid_args:
        invalid_args["close_codes"] = _ints(invalid_args["close_codes"])
    invalid = InvalidSpec(**invalid_args)
    return RouteSpec(
        path=path,
        description=route.get("description"),
        path_params={
            name: _schema(pointer_join(pointer, "path_params", name), ctx)
            for name in route.get("path_params", {})
        },
        query=_optional_schema(route, "query", pointer, ctx),
        headers=_optional_schema(route, "headers", pointer, ctx),
        subprotocols=tuple(route.get("subprotocols", ())),
        auth=auth,
        messages=tuple(messages),
        replies=tuple(replies),
        close_codes=_ints(route["close_codes"]) if "close_codes" in route else None,
        invalid=invalid,
        settings=settings.merged(**overrides),
        markers=tuple(route.get("markers", ())),
        fixtures=tuple(route.get("fixtures", ())),
        location=ctx.locate(pointer),
        **route_state(route),
        **route_clients(route),
    )


def build_spec(
    data: Mapping[str, Any],
    ctx: SpecContext,
    *,
    base: Settings,
    app: str | None,
    source: str | None,
) -> Spec:
    """Build the typed spec from a document that passed every check.

    Args:
        data: The spec document.
        ctx: The context :func:`check_spec` filled with bundled schemas.
        base: Settings from ``[tool.pytest-routes.websocket]`` over the defaults; the spec's own
            ``settings`` apply on top.
        app: The app from ``[tool.pytest-routes]``, used when the spec names none.
        source: The spec's file path.
    """
    settings = base.merged(**settings_overrides(data.get("settings", {})))
    routes = tuple(
        _build_route(path, route, pointer_join("", "routes", path), settings, ctx)
        for path, route in data.get("routes", {}).items()
    )
    return Spec(
        version=data.get("version", 1),
        app=data.get("app", app),
        server_url=data.get("server", {}).get("url"),
        settings=settings,
        routes=routes,
        source=source,
    )
