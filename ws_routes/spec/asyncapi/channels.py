"""Reading channels and operations of both AsyncAPI versions into one shape, :class:`Channel`.

Direction is where the versions differ most. Both describe the *application* (here: the server):

* 2.x ``publish`` is what others publish to the application, so what a WebSocket client sends
  (our ``messages``); ``subscribe`` is what the application sends (our ``replies``).
* 3.x ``action: receive`` is what the application receives (``messages``), ``action: send``
  what it sends (``replies``). A ``receive`` operation's ``reply`` lists the replies that may
  answer each of its messages.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ws_routes.errors import SpecError, did_you_mean
from ws_routes.spec.asyncapi.documents import Address, Documents
from ws_routes.spec.asyncapi.messages import Direction, Message, read_message

__all__ = ["Channel", "Server", "entries", "read_channels", "read_servers"]

_URL_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*://")
_VARIABLE = re.compile(r"\{([^{}]+)\}")
_WEBSOCKET = frozenset({"ws", "wss"})
# 2.x names operations from the application's side: others publish to it what clients send.
_V2_OPERATIONS: tuple[tuple[str, Direction], ...] = (
    ("publish", "messages"),
    ("subscribe", "replies"),
)


@dataclass(frozen=True, slots=True, eq=False)  # compared by identity: one object per server
class Server:
    name: str
    at: Address
    protocol: str
    prefix: str  # the URL path (2.x) or pathname (3.x) that channel addresses are below
    security: tuple[tuple[Any, Address], ...]
    host: str = ""  # host[:port], variables substituted: where a live run finds the server

    @property
    def websocket(self) -> bool:
        return self.protocol in _WEBSOCKET


@dataclass(slots=True)
class Channel:
    """One channel with its messages in both directions, as either version describes it."""

    label: str
    node: Mapping[str, Any]
    at: Address
    identity: frozenset[Address]
    address: str | None
    servers: list[Server] | None  # None: not bound, so on every server
    # Where route-level extensions may be written: the channel first, then its operations.
    sources: list[tuple[Any, Address]]
    messages: list[Message] = field(default_factory=list)
    replies: list[Message] = field(default_factory=list)
    # Security requirements of the operations on this channel (before the servers' own).
    security: list[tuple[Any, Address]] = field(default_factory=list)


def entries(docs: Documents, node: Any, at: Address, what: str) -> Iterator[tuple[str, Any]]:
    """The items of a mapping that should be one; anything else is reported."""
    if node is None:
        return
    if not isinstance(node, Mapping):
        docs.report(f"expected a mapping of {what}, got {type(node).__name__}", at)
        return
    yield from node.items()


def _listed(docs: Documents, node: Any, at: Address) -> list[tuple[Any, Address]]:
    if node is None:
        return []
    if not isinstance(node, list):
        docs.report(f"expected a list, got {type(node).__name__}", at)
        return []
    return [(item, at.child(i)) for i, item in enumerate(node)]


def _substitute(text: str, variables: Any) -> str:
    """Server variables in a URL path take their default (or first allowed) value."""

    def value(match: re.Match[str]) -> str:
        spec = variables.get(match.group(1)) if isinstance(variables, Mapping) else None
        if isinstance(spec, Mapping):
            if "default" in spec:
                return str(spec["default"])
            if isinstance(spec.get("enum"), list) and spec["enum"]:
                return str(spec["enum"][0])
        return match.group(0)

    return _VARIABLE.sub(value, text)


def read_servers(docs: Documents, version: int) -> dict[Address, Server]:
    """Every server, by every address that names it (its entry, and what that refers to)."""
    root_at = Address(docs.main)
    found: dict[Address, Server] = {}
    for name, raw in entries(docs, docs.root.get("servers"), root_at.child("servers"), "servers"):
        try:
            node, at, chain = docs.deref(raw, root_at.child("servers", name))
        except SpecError as exc:
            docs.errors.append(exc)
            continue
        if not isinstance(node, Mapping):
            docs.report(f"expected a server (a mapping), got {type(node).__name__}", at)
            continue
        protocol = node.get("protocol")
        if not isinstance(protocol, str):
            docs.report(
                f"expected a protocol such as 'wss', got {protocol!r}", at.child("protocol")
            )
            continue
        if version == 2:
            url = _URL_SCHEME.sub("", str(node.get("url", "")))
            path = url[url.find("/") :] if "/" in url else ""
            host = url.split("/", 1)[0]
        else:
            path = str(node.get("pathname") or "")
            host = str(node.get("host") or "")
        path = _substitute(path.split("?")[0], node.get("variables"))
        host = _substitute(host, node.get("variables"))
        security = tuple(_listed(docs, node.get("security"), at.child("security")))
        server = Server(name, at, protocol.lower(), path, security, host)
        found.update(dict.fromkeys(chain, server))
    return found


def _bound(
    docs: Documents,
    servers: dict[Address, Server],
    node: Mapping[str, Any],
    at: Address,
    version: int,
) -> list[Server] | None:
    bound: list[Server] = []
    names = {s.name: s for s in servers.values()}
    for item, item_at in _listed(docs, node.get("servers"), at.child("servers")):
        if version == 2:
            if isinstance(item, str) and item in names:
                bound.append(names[item])
            else:
                hint = (
                    did_you_mean(str(item), names)
                    or f"the servers are {', '.join(map(repr, names))}"
                )
                docs.report(f"unknown server {item!r}", item_at, hint)
            continue
        try:
            _, _, chain = docs.deref(item, item_at)
        except SpecError as exc:
            docs.errors.append(exc)
            continue
        matches = [servers[a] for a in chain if a in servers]
        if matches:
            bound.append(matches[0])
        else:
            docs.report("expected a $ref to one of the document's servers", item_at)
    return bound or None


@dataclass(slots=True)
class _Reader:
    docs: Documents
    version: int
    servers: dict[Address, Server]
    default_content_type: str | None
    dialect: str
    notes: list[str]

    def message(
        self, raw: Any, at: Address, direction: Direction, key: str | None = None
    ) -> Message | None:
        return read_message(
            self.docs,
            raw,
            at,
            direction=direction,
            default_content_type=self.default_content_type,
            version=self.version,
            key=key,
            dialect=self.dialect,
            notes=self.notes,
        )

    def channel(self, label: str, raw: Any, at: Address) -> Channel | None:
        try:
            node, where, chain = self.docs.deref(raw, at)
        except SpecError as exc:
            self.docs.errors.append(exc)
            return None
        if not isinstance(node, Mapping):
            self.docs.report(f"expected a channel (a mapping), got {type(node).__name__}", where)
            return None
        address: Any = label if self.version == 2 else node.get("address")
        if address is not None and not isinstance(address, str):
            self.docs.report(f"expected an address string, got {address!r}", where.child("address"))
            return None
        bound = _bound(self.docs, self.servers, node, where, self.version)
        return Channel(label, node, where, frozenset(chain), address, bound, [(node, where)])

    def v2(self) -> list[Channel]:
        at = Address(self.docs.main).child("channels")
        found: list[Channel] = []
        for label, raw in entries(self.docs, self.docs.root.get("channels"), at, "channels"):
            channel = self.channel(label, raw, at.child(label))
            if channel is None:
                continue
            for key, direction in _V2_OPERATIONS:
                operation = channel.node.get(key)
                op_at = channel.at.child(key)
                if operation is None:
                    continue
                if not isinstance(operation, Mapping):
                    self.docs.report(
                        f"expected an operation (a mapping), got {type(operation).__name__}", op_at
                    )
                    continue
                channel.sources.append((operation, op_at))
                if key == "publish":
                    channel.security += _listed(
                        self.docs, operation.get("security"), op_at.child("security")
                    )
                group = channel.messages if direction == "messages" else channel.replies
                for raw_message, message_at in self._one_of(
                    operation.get("message"), op_at.child("message")
                ):
                    message = self.message(raw_message, message_at, direction)
                    if message is not None:
                        group.append(message)
            found.append(channel)
        return found

    def _one_of(self, raw: Any, at: Address) -> list[tuple[Any, Address]]:
        """2.x ``message: {oneOf: [...]}`` (possibly behind a $ref) is several messages."""
        if raw is None:
            return []
        try:
            node, where, _ = self.docs.deref(raw, at)
        except SpecError as exc:
            self.docs.errors.append(exc)
            return []
        if isinstance(node, Mapping) and "oneOf" in node:
            return _listed(self.docs, node["oneOf"], where.child("oneOf"))
        return [(raw, at)]

    def v3(self) -> list[Channel]:
        root_at = Address(self.docs.main)
        channels: list[Channel] = []
        for label, raw in entries(
            self.docs, self.docs.root.get("channels"), root_at.child("channels"), "channels"
        ):
            channel = self.channel(label, raw, root_at.child("channels", label))
            if channel is not None:
                channels.append(channel)
        catalogs = {id(c): _Catalog(self, c) for c in channels}
        ops_at = root_at.child("operations")
        for op_id, raw in entries(
            self.docs, self.docs.root.get("operations"), ops_at, "operations"
        ):
            try:
                op, op_at, _ = self.docs.deref(raw, ops_at.child(op_id))
            except SpecError as exc:
                self.docs.errors.append(exc)
                continue
            if not isinstance(op, Mapping):
                self.docs.report(
                    f"expected an operation (a mapping), got {type(op).__name__}", op_at
                )
                continue
            action = op.get("action")
            if action not in ("send", "receive"):
                hint = did_you_mean(str(action), ["send", "receive"])
                self.docs.report(
                    f"expected action 'send' or 'receive', got {action!r}",
                    op_at.child("action"),
                    hint,
                )
                continue
            channel = self._channel_of(channels, op.get("channel"), op_at.child("channel"))
            if channel is None:
                continue
            channel.sources.append((op, op_at))
            catalog = catalogs[id(channel)]
            direction: Direction = "messages" if action == "receive" else "replies"
            if action == "receive":
                channel.security += _listed(self.docs, op.get("security"), op_at.child("security"))
            members = catalog.pick(op.get("messages"), op_at.child("messages"), direction)
            reply_members = self._reply(channels, catalog, channel, op, op_at, direction)
            if action == "receive":
                for member in members:
                    member.links += [
                        r.identity for r in reply_members if r.identity not in member.links
                    ]
        for channel in channels:
            catalogs[id(channel)].finish()
        return channels

    def _channel_of(self, channels: list[Channel], ref: Any, at: Address) -> Channel | None:
        if ref is None:
            self.docs.report("missing 'channel': an operation must name its channel", at)
            return None
        try:
            _, _, chain = self.docs.deref(ref, at)
        except SpecError as exc:
            self.docs.errors.append(exc)
            return None
        for channel in channels:
            if channel.identity & set(chain[1:]):
                return channel
        self.docs.report("expected a $ref to one of the document's channels", at)
        return None

    def _reply(
        self,
        channels: list[Channel],
        catalog: _Catalog,
        channel: Channel,
        op: Mapping[str, Any],
        op_at: Address,
        direction: Direction,
    ) -> list[Message]:
        raw = op.get("reply")
        if raw is None:
            return []
        try:
            reply, reply_at, _ = self.docs.deref(raw, op_at.child("reply"))
        except SpecError as exc:
            self.docs.errors.append(exc)
            return []
        if not isinstance(reply, Mapping):
            self.docs.report(f"expected a reply (a mapping), got {type(reply).__name__}", reply_at)
            return []
        if "address" in reply:
            location = self.docs.locate(reply_at.child("address"))
            self.notes.append(
                f"{location}: reply address not used: a WebSocket reply comes on the same connection"
            )
        if "channel" in reply:
            other = self._channel_of(channels, reply["channel"], reply_at.child("channel"))
            if other is not channel:
                if other is not None:
                    location = self.docs.locate(reply_at)
                    self.notes.append(
                        f"{location}: reply on another channel: not linked (a WebSocket reply comes on the same connection)"
                    )
                return []
        if "messages" not in reply:
            return []
        opposite: Direction = "replies" if direction == "messages" else "messages"
        return catalog.pick(reply["messages"], reply_at.child("messages"), opposite)


class _Catalog:
    """A 3.x channel's ``messages`` map; operations pick entries from it, in either direction."""

    def __init__(self, reader: _Reader, channel: Channel) -> None:
        self.reader = reader
        self.channel = channel
        self.entries: list[tuple[str, Any, Address, frozenset[Address]]] = []
        self.picked: dict[tuple[Direction, str], Message] = {}
        self.extra: dict[Direction, list[Message]] = {"messages": [], "replies": []}
        messages_at = channel.at.child("messages")
        for key, raw in entries(reader.docs, channel.node.get("messages"), messages_at, "messages"):
            try:
                _, _, chain = reader.docs.deref(raw, messages_at.child(key))
            except SpecError as exc:
                reader.docs.errors.append(exc)
                continue
            self.entries.append((key, raw, messages_at.child(key), frozenset(chain)))

    def pick(self, refs: Any, at: Address, direction: Direction) -> list[Message]:
        if refs is None:  # no list: every message of the channel
            return [m for key, *_ in self.entries if (m := self._entry(key, direction)) is not None]
        picked: list[Message] = []
        for ref, ref_at in _listed(self.reader.docs, refs, at):
            try:
                _, _, chain = self.reader.docs.deref(ref, ref_at)
            except SpecError as exc:
                self.reader.docs.errors.append(exc)
                continue
            keys = [key for key, _, _, identity in self.entries if identity & set(chain[1:])]
            for key in keys[:1]:
                if (message := self._entry(key, direction)) is not None:
                    picked.append(message)
            if not keys:
                extra = self.reader.message(ref, ref_at, direction)
                if extra is not None:
                    known = [m for m in self.extra[direction] if m.identity & extra.identity]
                    if not known:
                        self.extra[direction].append(extra)
                    picked.append(known[0] if known else extra)
        return picked

    def _entry(self, key: str, direction: Direction) -> Message | None:
        if (direction, key) not in self.picked:
            for name, raw, at, _ in self.entries:
                if name == key:
                    message = self.reader.message(raw, at, direction, key)
                    if message is None:
                        return None
                    self.picked[(direction, key)] = message
        return self.picked.get((direction, key))

    def finish(self) -> None:
        """Fill the channel in the catalog's order; say which messages no operation uses."""
        for direction in ("messages", "replies"):
            group = self.channel.messages if direction == "messages" else self.channel.replies
            group += [
                self.picked[(direction, k)]
                for k, *_ in self.entries
                if (direction, k) in self.picked
            ]
            group += self.extra[direction]
        for key, _, at, _ in self.entries:
            if ("messages", key) not in self.picked and ("replies", key) not in self.picked:
                location = self.reader.docs.locate(at)
                self.reader.notes.append(f"{location}: no operation sends or receives it: left out")


def read_channels(
    docs: Documents,
    version: int,
    servers: dict[Address, Server],
    default_content_type: str | None,
    dialect: str,
    notes: list[str],
) -> list[Channel]:
    """Every channel of the document with its messages, in document order."""
    reader = _Reader(docs, version, servers, default_content_type, dialect, notes)
    return reader.v2() if version == 2 else reader.v3()
