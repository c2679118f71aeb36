"""Compile a :class:`RouteSpec` into strategies and fast reply validators.

Schema problems found here (ones the generator cannot satisfy, import paths that do not resolve)
become :class:`SpecError`s located where the user wrote the schema, at load time, never mid-run.
"""

from __future__ import annotations

import importlib
import json
import re
import string
import warnings
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import strategies as st

from ws_routes import generate
from ws_routes.compile.cases import case_strategies
from ws_routes.compile.registry import strategy_for
from ws_routes.compile.replies import (
    NOT_JSON,
    ReplyValidator,
    parse_json,
    reply_validator,
    strict_json,
)
from ws_routes.compile.ties import Ties, compile_ties
from ws_routes.errors import (
    Location,
    SchemaCompileError,
    SpecError,
    WsRoutesWarning,
    pointer_join,
)
from ws_routes.generate.formats import unknown_format_note
from ws_routes.generate.sizes import MAX_MIN_COUNT
from ws_routes.mutate import Mutant, mutants
from ws_routes.spec.model import KINDS, Kind, MessageSpec, ReplySpec, RouteSpec, Schema

__all__ = [
    "CompiledMessage",
    "CompiledReply",
    "CompiledRoute",
    "compile_route",
    "converters_of",
    "resolve_strategy",
    "strict_json",
]

_PARAM_RE = re.compile(r"{([^}:]+)(?::([^}]+))?}")

# Headers a WebSocket client sets itself; generating them would break the handshake, not test it.
_RESERVED_HEADERS = frozenset(
    {
        "host",
        "upgrade",
        "connection",
        "sec-websocket-key",
        "sec-websocket-version",
        "sec-websocket-protocol",
        "sec-websocket-extensions",
        "content-length",
        "transfer-encoding",
    }
)


def converters_of(template: str) -> dict[str, str]:
    """``/ws/{room}/{id:int}`` -> ``{"room": "str", "id": "int"}``."""
    return {m.group(1): (m.group(2) or "str") for m in _PARAM_RE.finditer(template)}


@dataclass(frozen=True, slots=True, kw_only=True)
class CompiledMessage:
    spec: MessageSpec
    strategy: st.SearchStrategy[Any]
    source: str  # "schema", "strategy <path>", "registered <pattern>", "default": for reports
    # Negative messages derived from the spec (None: the route's `invalid` section is off).
    mutants: st.SearchStrategy[Mutant] | None = None


@dataclass(frozen=True, slots=True, kw_only=True)
class CompiledReply:
    spec: ReplySpec
    validator: ReplyValidator

    def is_valid(self, value: Any) -> bool:
        """Whether ``value`` matches; never raises and never hangs (see :mod:`ws_routes.compile.replies`)."""
        return not _size_errors(self.spec, value) and self.validator.is_valid(value)

    def errors(self, value: Any) -> list[str]:
        """At most five short reasons ``value`` does not match (reports only)."""
        return (_size_errors(self.spec, value) + self.validator.errors(value))[:5]


@dataclass(frozen=True, slots=True, kw_only=True)
class CompiledRoute:
    spec: RouteSpec
    messages: tuple[CompiledMessage, ...]
    replies: tuple[CompiledReply, ...]
    path_params: st.SearchStrategy[dict[str, str]]
    query: st.SearchStrategy[list[tuple[str, str]]]
    headers: st.SearchStrategy[list[tuple[str, str]]]
    converters: Mapping[str, str] = field(default_factory=dict)
    # The authenticating first message (auth.first_message), without its token.
    first_message: st.SearchStrategy[Any] | None = None
    # Kinds with a strategy registered for this route: anything of that kind may be valid.
    registered_kinds: frozenset[Kind] = frozenset()

    # The route's correlation keys (ws_routes.compile.ties); empty when it declares none.
    ties: Ties = field(default_factory=Ties)

    def classify(
        self, kind: Kind, data: str | bytes, prefer: Collection[str] = ()
    ) -> tuple[str | None, Kind, Any]:
        """Match a received frame against the declared replies.

        Returns (reply name or None, the kind it was read as, the value it was checked as):
        text frames are read as JSON when the route declares JSON replies and they parse. The
        first declared reply it matches names it, unless it also matches one of the same kind
        in ``prefer`` (what is expected now): a frame that fits two types is the expected one.
        """
        name, read, value = self._first_match(kind, data)
        if name is not None and prefer and name not in prefer:
            for reply in self.replies:
                if reply.spec.name in prefer and reply.spec.kind == read and reply.is_valid(value):
                    return reply.spec.name, read, value
        return name, read, value

    def _first_match(self, kind: Kind, data: str | bytes) -> tuple[str | None, Kind, Any]:
        replies = self.replies
        if kind == "bytes":
            for reply in replies:
                if reply.spec.kind == "bytes" and reply.is_valid(data):
                    return reply.spec.name, "bytes", data
            return None, "bytes", data
        # Parsed once, up front: a frame is checked against every reply on the hot path.
        json_replies = any(r.spec.kind == "json" for r in replies)
        parsed: Any = parse_json(data) if json_replies else NOT_JSON
        for reply in replies:
            if reply.spec.kind == "text":
                if reply.is_valid(data):
                    return reply.spec.name, "text", data
            elif reply.spec.kind == "json" and parsed is not NOT_JSON and reply.is_valid(parsed):
                return reply.spec.name, "json", parsed
        if parsed is not NOT_JSON:
            return None, "json", parsed
        return None, "text", data

    def satisfies(self, name: str | None, kind: Kind, value: Any, names: Collection[str]) -> bool:
        """Whether a received frame (as :meth:`classify` read it) is one of the reply types
        ``names``: its own type, or any other it also matches."""
        if name in names:
            return True
        return any(
            r.spec.name in names and r.spec.kind == kind and r.is_valid(value)
            for r in self.replies
        )


def _size_errors(reply: ReplySpec, value: Any) -> list[str]:
    """Why a bytes reply breaks its min_size/max_size ([] when it does not)."""
    if reply.kind != "bytes" or not isinstance(value, bytes | bytearray):
        return []
    size = len(value)
    if reply.min_size is not None and size < reply.min_size:
        return [f"{size} bytes, fewer than min_size {reply.min_size}"]
    if reply.max_size is not None and size > reply.max_size:
        return [f"{size} bytes, more than max_size {reply.max_size}"]
    return []


def _inside(schema: Schema, pointer: str) -> Location:
    """Where ``pointer`` (inside ``schema``) was written: the schema's line, the full pointer."""
    loc = schema.location
    return Location(
        file=loc.file, line=loc.line, column=loc.column, pointer=pointer_join(loc.pointer) + pointer
    )


def _located(err: SchemaCompileError, schema: Schema) -> SpecError:
    return SpecError(
        f"cannot generate values: {err.message}", location=_inside(schema, err.pointer)
    )


# format name -> where each "format" keyword naming it was written, for one route.
_UnknownFormats = dict[str, list[Location]]


def _from_schema(
    schema: Schema, *, max_size: int | None, unknown: _UnknownFormats | None = None
) -> st.SearchStrategy[Any]:
    def seen(name: str, pointer: str) -> None:
        if unknown is not None:
            unknown.setdefault(name, []).append(_inside(schema, pointer))

    try:
        return generate.from_schema(schema.value, max_size=max_size, on_unknown_format=seen)
    except SchemaCompileError as err:
        raise _located(err, schema) from None
    except RecursionError:
        # The spec's nesting limits keep every bundled schema well inside Python's stack; this
        # stays a located error rather than our traceback if some combination still is not.
        raise SpecError(
            "cannot generate values: the schema nests too deeply to compile",
            location=schema.location,
            hint="flatten it, or move deep parts under $defs",
        ) from None


def _warn_unknown_formats(unknown: _UnknownFormats) -> None:
    """One warning per format, at the first schema that names it."""
    for name, places in unknown.items():
        first = places[0]
        more = len({str(p) for p in places} - {str(first)})
        also = f" (and {more} more place{'s' * (more > 1)} in this route)" if more else ""
        warnings.warn_explicit(
            WsRoutesWarning(f"{first}: {unknown_format_note(name)}{also}"),
            category=None,
            filename=first.file or "<spec>",
            lineno=first.line or 0,
        )


def resolve_strategy(import_path: str, *, location: Location) -> st.SearchStrategy[Any]:
    """Import ``module:attribute`` and return the strategy it names (or a factory's result)."""
    module_name, sep, attr_path = import_path.partition(":")
    if not sep or not module_name or not attr_path:
        raise SpecError(
            f"expected an import path 'module:attribute', got {import_path!r}", location=location
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise SpecError(
            f"cannot import module {module_name!r} for strategy {import_path!r}: {exc}",
            location=location,
            hint="is the module on sys.path? Paths resolve from the pytest rootdir",
        ) from None
    for part in attr_path.split("."):
        if not hasattr(obj, part):
            from ws_routes.errors import did_you_mean

            names = [n for n in dir(obj) if not n.startswith("_")]
            raise SpecError(
                f"{obj.__name__ if hasattr(obj, '__name__') else obj!r} has no attribute {part!r}",
                location=location,
                hint=did_you_mean(part, names),
            )
        obj = getattr(obj, part)
    if not isinstance(obj, st.SearchStrategy) and callable(obj):
        obj = obj()
    if not isinstance(obj, st.SearchStrategy):
        raise SpecError(
            f"{import_path!r} must be a Hypothesis strategy (or a function returning one), "
            f"got {type(obj).__name__}",
            location=location,
        )
    return obj


def _default_message_strategy(message: MessageSpec, max_size: int) -> st.SearchStrategy[Any]:
    cap = min(max_size, message.max_size) if message.max_size is not None else max_size
    low = message.min_size or 0
    limit = min(cap, MAX_MIN_COUNT)
    if low > limit and message.kind in ("bytes", "text"):
        # Hypothesis refuses a minimum over its 8 KiB choice buffer (at draw time, as ours).
        loc = message.location
        why = (
            f"the most ws_routes can generate is {MAX_MIN_COUNT}"
            if limit == MAX_MIN_COUNT
            else f"max_message_size or max_size allows {cap}"
        )
        raise SpecError(
            f"min_size {low} is too large: {why}",
            location=Location(
                file=loc.file,
                line=loc.line,
                column=loc.column,
                pointer=pointer_join(loc.pointer, "min_size"),
            ),
        )
    if message.kind == "bytes":
        return generate.awkward_bytes(min_size=low, max_size=cap)
    if message.kind == "text":
        # Characters take up to 4 bytes in UTF-8; cap by characters so frames stay under the limit.
        return generate.awkward_text(min_size=low, max_size=max(low, cap // 4))
    # Shaped like a JSON protocol's messages (objects with a type field, mostly): handlers
    # that dispatch on msg["type"] get past their first line.
    return generate.json_messages(max_size=cap)


def _compile_message(
    route: RouteSpec, message: MessageSpec, unknown: _UnknownFormats
) -> CompiledMessage:
    max_size = route.settings.max_message_size
    registered = strategy_for(route.path, message.kind)
    if registered is not None:
        return CompiledMessage(
            spec=message, strategy=registered.strategy, source=f"registered {registered.pattern!r}"
        )
    if message.strategy is not None:
        strategy = resolve_strategy(message.strategy, location=message.location)
        return CompiledMessage(
            spec=message, strategy=strategy, source=f"strategy {message.strategy}"
        )
    if message.schema is not None:
        strategy = _from_schema(message.schema, max_size=max_size, unknown=unknown)
        steered = case_strategies(message, max_size)
        if steered:
            strategy = st.one_of(strategy, *steered)
        if message.kind == "text":
            # A text message's schema describes the string itself.
            strategy = strategy.map(lambda v: v if isinstance(v, str) else json.dumps(v))
        return CompiledMessage(spec=message, strategy=strategy, source="schema")
    return CompiledMessage(
        spec=message, strategy=_default_message_strategy(message, max_size), source="default"
    )


_SAFE_PARAM_CHARS = st.characters(
    # Excluding surrogates (Cs) is what makes text UTF-8-encodable; codec="utf-8" says the same
    # but costs Hypothesis a two-second table build on first use.
    exclude_categories=("Cs", "Cc"),
    exclude_characters="/?#%",
)


def _converter_strategy(converter: str) -> st.SearchStrategy[str]:
    """Path parameter values the router will match, so positive conversations reach the handler."""
    if converter == "int":
        return st.one_of(st.sampled_from(["0", "1"]), st.integers(0, 2**63).map(str))
    if converter == "float":
        return st.one_of(
            st.integers(0, 10**9).map(str),
            st.tuples(st.integers(0, 10**6), st.integers(0, 999)).map(lambda t: f"{t[0]}.{t[1]}"),
        )
    if converter == "uuid":
        return st.uuids().map(str)
    if converter == "path":
        segment = st.text(_SAFE_PARAM_CHARS, min_size=1, max_size=12)
        return st.lists(segment, min_size=1, max_size=4).map("/".join)
    if converter in ("decimal",):
        return st.integers(0, 10**6).map(str)
    if converter == "date":
        return st.dates().map(lambda d: d.isoformat())
    # str and anything unknown: any non-empty text without a slash.
    return st.one_of(
        st.text(string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=16),
        st.text(_SAFE_PARAM_CHARS, min_size=1, max_size=32),
    )


def _json_to_param(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if value is None:
        return ""
    return (
        json.dumps(value, separators=(",", ":")) if isinstance(value, dict | list) else str(value)
    )


def _object_to_pairs(value: Any) -> list[tuple[str, str]]:
    if not isinstance(value, dict):
        return []
    pairs: list[tuple[str, str]] = []
    for key, item in value.items():
        if isinstance(item, list):
            pairs.extend((key, _json_to_param(v)) for v in item)
        else:
            pairs.append((key, _json_to_param(item)))
    return pairs


def _pairs_strategy(
    schema: Schema | None, *, headers: bool, unknown: _UnknownFormats
) -> st.SearchStrategy[list[tuple[str, str]]]:
    if schema is None:
        return st.just([])
    strategy = _from_schema(schema, max_size=8192, unknown=unknown).map(_object_to_pairs)
    if headers:
        # Header values must be latin-1 without control characters to be sendable at all.
        strategy = strategy.map(
            lambda pairs: [
                (
                    k.lower(),
                    v.encode("latin-1", "ignore")
                    .decode("latin-1")
                    .replace("\r", "")
                    .replace("\n", ""),
                )
                for k, v in pairs
                if k.lower() not in _RESERVED_HEADERS
                and k
                and all(c.isalnum() or c in "-_" for c in k)
            ]
        )
    return strategy


def _path_params_strategy(
    route: RouteSpec, converters: Mapping[str, str], unknown: _UnknownFormats
) -> st.SearchStrategy[dict[str, str]]:
    parts: dict[str, st.SearchStrategy[str]] = {}
    for name, converter in converters.items():
        schema = route.path_params.get(name)
        if schema is not None:
            parts[name] = _from_schema(schema, max_size=1024, unknown=unknown).map(_json_to_param)
        else:
            parts[name] = _converter_strategy(converter)
    return st.fixed_dictionaries(parts) if parts else st.just({})


def compile_route(
    route: RouteSpec, *, converters: Mapping[str, str] | None = None
) -> CompiledRoute:
    """Build the strategies and validators for one route.

    Args:
        route: the route's spec (declared, or :func:`ws_routes.spec.model.default_route`).
        converters: parameter name -> converter type as the app declares them; taken from the
            route's template when not given.

    Raises:
        SpecError: a schema we cannot generate from, or a strategy import path that does not
            resolve, located where the spec wrote it.

    Warns:
        WsRoutesWarning: once per ``format`` the generator does not know (its strings are
            generated by type), located at the first schema that names it.
    """
    converters = dict(converters) if converters is not None else converters_of(route.path)
    unknown: _UnknownFormats = {}
    messages = [_compile_message(route, m, unknown) for m in route.messages]
    declared_kinds = {m.kind for m in route.messages}
    registered_kinds = frozenset(k for k in KINDS if strategy_for(route.path, k) is not None)
    # A registration for a kind the route does not declare adds that kind: the user asked for it.
    for kind in ("json", "text", "bytes"):
        registered = strategy_for(route.path, kind)  # type: ignore[arg-type]
        if registered is not None and kind not in declared_kinds:
            spec = MessageSpec(name=kind, kind=kind)  # type: ignore[arg-type]
            messages.append(
                CompiledMessage(
                    spec=spec,
                    strategy=registered.strategy,
                    source=f"registered {registered.pattern!r}",
                )
            )
    if route.invalid.enabled:
        # After every message is known: whether a mutant is invalid depends on all of them.
        # A text frame must be valid UTF-8, so no client can put a lone surrogate in one; JSON can
        # carry one as a "\ud800" escape (encode_payload writes it so).
        messages = [
            replace(
                m,
                mutants=mutants(
                    route,
                    m,
                    registered=registered_kinds,
                    lone_surrogates=m.spec.kind != "text",
                ),
            )
            for m in messages
        ]
    replies = tuple(
        CompiledReply(spec=r, validator=reply_validator(r.schema)) for r in route.replies
    )
    first_message = None
    if route.auth is not None and route.auth.first_message is not None:
        first_message = _from_schema(
            route.auth.first_message, max_size=route.settings.max_message_size, unknown=unknown
        )
    compiled = CompiledRoute(
        spec=route,
        messages=tuple(messages),
        replies=replies,
        path_params=_path_params_strategy(route, converters, unknown),
        query=_pairs_strategy(route.query, headers=False, unknown=unknown),
        headers=_pairs_strategy(route.headers, headers=True, unknown=unknown),
        converters=converters,
        first_message=first_message,
        registered_kinds=registered_kinds,
        ties=compile_ties(route),
    )
    # Only once the whole route compiled: a route that fails to compile reports that instead.
    _warn_unknown_formats(unknown)
    return compiled
