"""The spec as typed, frozen data: what the loader builds and everything downstream reads.

Nothing here does I/O. Schemas are kept as plain JSON values that are *self-contained*: the loader
has already bundled every file ``$ref`` into local ``#/...`` references.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Literal

from ws_routes.errors import Location

__all__ = [
    "ALWAYS_INVALID_CLOSE_CODES",
    "CHECK_NAMES",
    "KINDS",
    "SERVER_ERROR_CLOSE_CODES",
    "AuthSpec",
    "Clients",
    "Delivery",
    "InvalidSpec",
    "Kind",
    "MessageSpec",
    "ReplyCase",
    "ReplySpec",
    "RouteSpec",
    "Schema",
    "Settings",
    "Spec",
    "WrongState",
    "StreamSpec",
    "default_route",
]

Kind = Literal["json", "text", "bytes"]
KINDS: tuple[Kind, ...] = ("json", "text", "bytes")

# Names users switch checks on and off by (settings.checks / routes.<path>.checks) and that
# reports print. Order is the order reports list them in.
CHECK_NAMES: tuple[str, ...] = (
    "no_server_error",
    "no_hang",
    "flood",
    "handshake",
    "subprotocol_negotiation",
    "reply_schema",
    "undocumented_reply",
    "correlation",
    "no_reply",
    "echo",
    "stream",
    "reply_expected",
    "delivery",
    "non_delivery",
    "close_code",
    "close_before_return",
    "graceful_shutdown",
    "invalid_input",
    "auth_enforced",
    "origin",
    "disconnect",
)

# 1011 is "internal error"; Litestar closes with 4500 when a handler raises.
SERVER_ERROR_CLOSE_CODES: frozenset[int] = frozenset({1011, 4500})
# RFC 6455 7.4.1: 1005, 1006 and 1015 must never be sent in a close frame; 1004 is reserved.
ALWAYS_INVALID_CLOSE_CODES: frozenset[int] = frozenset({1004, 1005, 1006, 1015})


@dataclass(frozen=True, slots=True, kw_only=True)
class Schema:
    """A self-contained JSON Schema and where the user wrote it."""

    value: Mapping[str, Any] | bool
    location: Location = field(default_factory=Location, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class Settings:
    """Run settings; the global ones are defaults that a route may override."""

    enabled: bool = True
    max_messages: int = 10
    connection_timeout: float = 30.0
    message_timeout: float = 10.0
    max_message_size: int = 65536
    test_close_codes: tuple[int, ...] = (1000, 1001)
    validate_subprotocols: bool = True
    include: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    # None: the Hypothesis profile's max_examples (100 unless --hypothesis-profile says otherwise).
    max_examples: int | None = None
    # Check name -> enabled. Missing names are enabled.
    checks: Mapping[str, bool] = field(default_factory=dict)
    # A foreign Origin the origin check offers; None disables the check.
    origin: str | None = None

    def check_enabled(self, name: str) -> bool:
        return self.checks.get(name, True)

    def merged(self, **overrides: Any) -> Settings:
        """A copy with ``overrides`` applied; ``checks`` merge key by key."""
        if "checks" in overrides:
            overrides["checks"] = {**self.checks, **overrides["checks"]}
        return replace(self, **overrides)


@dataclass(frozen=True, slots=True, kw_only=True)
class WrongState:
    """How the server may react to a message sent outside its ``when`` states (a negative case)."""

    close_codes: tuple[int, ...] = ()
    replies: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class StreamSpec:
    """A request answered by a stream: replies of ``items`` zero or more times, then one of ``end``."""

    items: tuple[str, ...] = ()
    end: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplyCase:
    """When a message matches ``match`` (a JSON Schema), it expects one of ``reply`` instead, or
    no reply at all (``no_reply``)."""

    match: Schema
    reply: tuple[str, ...] = ()
    no_reply: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageSpec:
    """A message type a client may send.

    Exactly one source of values applies: ``strategy`` (an import path to a Hypothesis strategy),
    else ``schema``, else the kind's default (any text / any JSON / any bytes within size bounds).

    Replies tied to requests (all off by default): ``correlation`` is a JSON pointer to the
    request's id, which ``unique`` keeps distinct among active operations; ``stream`` replaces
    ``reply`` for a request answered by a stream; ``no_reply`` says nothing may answer it;
    ``ends`` names the message whose active operation with the same id this one ends; ``echo``
    maps reply pointers to message pointers whose values must be equal; ``cases`` choose the
    expected replies by content (the first matching case wins, else ``reply``).
    """

    name: str
    kind: Kind
    schema: Schema | None = None
    strategy: str | None = None
    weight: float = 1.0
    reply: tuple[str, ...] = ()
    min_size: int | None = None
    max_size: int | None = None
    # Protocol state (docs/spec.md): the states it may be sent in (empty: all), the state sending
    # it moves to, how a wrong-state send may be refused, pointer -> captured value to fill in.
    when: tuple[str, ...] = ()
    goto: str | None = None
    wrong_state: WrongState | None = None
    use: Mapping[str, str] = field(default_factory=dict)
    correlation: str | None = None
    unique: bool = False
    stream: StreamSpec | None = None
    no_reply: bool = False
    ends: str | None = None
    echo: Mapping[str, str] = field(default_factory=dict)
    cases: tuple[ReplyCase, ...] = ()
    location: Location = field(default_factory=Location, compare=False)


@dataclass(frozen=True, slots=True)
class Delivery:
    """Who receives a reply type when one client's message causes it (docs/spec.md, "Several
    clients"): the ``sender`` only, the ``others`` or ``all`` of a conversation's clients, and
    with ``same`` only those whose value of that path parameter is the sender's (one room)."""

    to: Literal["sender", "others", "all"] = "sender"
    same: str | None = None


@dataclass(frozen=True, slots=True)
class Clients:
    """How many clients a conversation may open (up to ``max``), and whether each draws its own
    path parameters (``drawn``: sometimes the first client's, sometimes others) or uses the
    first client's (``same``)."""

    max: int = 1
    path_params: Literal["same", "drawn"] = "drawn"


@dataclass(frozen=True, slots=True, kw_only=True)
class ReplySpec:
    """A message type the server may send. ``error`` marks replies that report bad input.

    ``min_size`` and ``max_size`` bound a bytes reply's length in bytes (bytes take no schema).
    ``correlation`` is a JSON pointer to the id of the request a reply answers.
    """

    name: str
    kind: Kind
    schema: Schema | None = None
    error: bool = False
    min_size: int | None = None
    max_size: int | None = None
    # Protocol state: receiving it moves to this state; value name -> pointer to remember.
    goto: str | None = None
    capture: Mapping[str, str] = field(default_factory=dict)
    correlation: str | None = None
    # Several clients: None is "to the sender", as on a one-client route.
    delivery: Delivery | None = None
    location: Location = field(default_factory=Location, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class AuthSpec:
    """How credentials travel and how an unauthenticated client must be refused.

    Exactly one of ``query_param``, ``header``, ``cookie`` and ``first_message`` says where the
    credential goes. ``token`` is a secret: reports redact it.
    """

    required: bool = True
    query_param: str | None = None
    header: str | None = None
    cookie: str | None = None
    first_message: Schema | None = None
    # Prefix for header credentials, e.g. "Bearer" gives "Authorization: Bearer <token>".
    scheme: str | None = None
    token: str | None = field(default=None, repr=False)  # never in a repr (pytest -l locals)
    reject_close_codes: tuple[int, ...] = (1008, 4001, 4003)
    location: Location = field(default_factory=Location, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class InvalidSpec:
    """Negative testing: messages that break the schemas, and the allowed reactions to them."""

    enabled: bool = True
    close_codes: tuple[int, ...] = (1003, 1007, 1008, 1009)
    must_reject: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteSpec:
    """One WebSocket route as the spec (or the defaults) describe it.

    ``path`` is the template as the app declares it (``/ws/chat/{room_id:int}``).
    ``declared`` is False for routes that exist only because discovery found them.
    ``close_codes`` None means "not declared": any valid, non-error code is accepted.
    """

    path: str
    description: str | None = None
    path_params: Mapping[str, Schema] = field(default_factory=dict)
    query: Schema | None = None
    headers: Schema | None = None
    subprotocols: tuple[str, ...] = ()
    auth: AuthSpec | None = None
    messages: tuple[MessageSpec, ...] = ()
    replies: tuple[ReplySpec, ...] = ()
    close_codes: tuple[int, ...] | None = None
    invalid: InvalidSpec = field(default_factory=InvalidSpec)
    settings: Settings = field(default_factory=Settings)
    # pytest markers of the route's item (``-m "not slow"``), and the fixtures it requests.
    markers: tuple[str, ...] = ()
    fixtures: tuple[str, ...] = ()
    declared: bool = True
    # Protocol state: the first state is where connections start; the opening is sent first.
    states: tuple[str, ...] = ()
    opening: tuple[str, ...] = ()
    clients: Clients = field(default_factory=Clients)
    location: Location = field(default_factory=Location, compare=False)

    def message(self, name: str) -> MessageSpec:
        for m in self.messages:
            if m.name == name:
                return m
        raise KeyError(name)

    def reply(self, name: str) -> ReplySpec:
        for r in self.replies:
            if r.name == name:
                return r
        raise KeyError(name)


@dataclass(frozen=True, slots=True, kw_only=True)
class Spec:
    """A whole spec file: global settings and the declared routes, in file order."""

    version: int = 1
    app: str | None = None
    # ``server: {url: ...}``: a running server to test over the network (live mode).
    server_url: str | None = None
    settings: Settings = field(default_factory=Settings)
    routes: tuple[RouteSpec, ...] = ()
    # The file it came from (None for defaults); relative $refs and imports resolve from its folder.
    source: str | None = None

    def route(self, path: str) -> RouteSpec | None:
        for r in self.routes:
            if r.path == path:
                return r
        return None


def default_route(path: str, settings: Settings) -> RouteSpec:
    """The spec of a route nobody described: any text, any JSON object or value, any bytes."""
    return RouteSpec(
        path=path,
        messages=(
            MessageSpec(name="text", kind="text"),
            MessageSpec(name="json", kind="json"),
            MessageSpec(name="bytes", kind="bytes"),
        ),
        settings=settings,
        declared=False,
    )
