"""Running a conversation of several clients on one app, each with its own transcript.

:func:`run_clients` is what :func:`ws_routes.engine.play.run_conversation` does for a
conversation with ``clients``: client 1 connects first, each other client before the step it
``joins`` at (or its own first step), and each step is taken by its client: a message sent, or a
leave (a close or a drop) while the others go on. After a step the sender's replies are
collected first (by then the app has sent what it broadcast), then every other client's, each
waiting for the replies its ``delivery`` says reach it (decided at once when the app is idle).
A reply that never came is noted in that client's ``missed_deliveries`` for the delivery check.

Client 1's transcript is the conversation's: it holds the others' (``others``) and every
client's frames in the order they happened (``timeline``), which reports print labelled.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ws_routes.compile.route import CompiledRoute
from ws_routes.driver.transcript import Frame, Transcript
from ws_routes.driver.transport import Accepted, Connection, Transport
from ws_routes.engine.conversation import Conversation, Step, encode_payload
from ws_routes.engine.play import _Clock, _collect, _finish, _record
from ws_routes.spec.model import RouteSpec

__all__ = ["delivered_to", "path_values", "run_clients"]


class _Log(list[Frame]):
    """A client's frames that also go, labelled, to the conversation's timeline."""

    def __init__(self, client: int, timeline: list[tuple[int, Frame]]) -> None:
        super().__init__()
        self.client, self.timeline = client, timeline

    def append(self, frame: Frame) -> None:
        super().append(frame)
        self.timeline.append((self.client, frame))


def path_values(template: str, path: str) -> dict[str, str]:
    """The path parameters' values in ``path`` (as sent) by the route's ``template``."""
    names: list[str] = []

    def group(match: re.Match[str]) -> str:
        names.append(match.group(1))
        return "(.+)" if match.group(2) == "path" else "([^/]+)"

    parts = re.split(r"(\{[^{}]+\})", template)
    pattern = "".join(
        re.sub(r"\{([^{}:]+)(?::([^{}]*))?\}", group, p) if p.startswith("{") else re.escape(p)
        for p in parts
    )
    found = re.fullmatch(pattern, path)
    return dict(zip(names, found.groups(), strict=True)) if found else {}


def delivered_to(
    spec: RouteSpec, message: str, sender: str, receiver: str | None
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """The replies of ``message`` that reach a client on path ``receiver`` when a client on path
    ``sender`` sends it (``receiver`` None: the sender itself), and those that must not."""
    try:
        names = spec.message(message).reply
    except KeyError:
        return (), ()
    reach: list[str] = []
    spared: list[str] = []
    for name in names:
        delivery = spec.reply(name).delivery if name in {r.name for r in spec.replies} else None
        to = delivery.to if delivery is not None else "sender"
        if receiver is None:
            (reach if to in ("sender", "all") else spared).append(name)
            continue
        if to == "sender":
            continue  # what the sender alone gets says nothing about the others
        same = delivery.same if delivery is not None else None
        values = path_values(spec.path, sender), path_values(spec.path, receiver)
        in_scope = same is None or values[0].get(same) == values[1].get(same)
        (reach if in_scope else spared).append(name)
    return tuple(reach), tuple(spared)


@dataclass(slots=True)
class _Client:
    number: int
    path: str
    query: str
    headers: tuple[tuple[str, str], ...]
    joins: int
    transcript: Transcript
    conn: Connection | None = None
    gone: bool = False  # left, refused or closed by the server
    expected: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)
    pending: bool = False  # sent since its last collect

    @property
    def open(self) -> bool:
        return self.conn is not None and not self.gone and self.conn.server_close is None


async def run_clients(
    transport: Transport, route: CompiledRoute, conversation: Conversation, transcript: Transcript
) -> Transcript:
    """Run the multi-client ``conversation``, filling ``transcript`` (client 1's) in place."""
    settings = route.spec.settings
    clock = _Clock()
    timeline = transcript.timeline
    first = _Log(0, timeline)
    first.extend(transcript.frames)
    transcript.frames = first
    transcript.path, transcript.query_string = conversation.path, conversation.query_string
    transcript.headers, transcript.subprotocols = conversation.headers, conversation.subprotocols
    clients = [
        _Client(
            0, conversation.path, conversation.query_string, conversation.headers, 0, transcript
        )
    ]
    for number, other in enumerate(conversation.clients, 1):
        t = Transcript(route=route.spec.path, path=other.path, client=number)
        t.frames = _Log(number, timeline)
        t.query_string, t.headers, t.subprotocols = (
            other.query_string,
            other.headers,
            conversation.subprotocols,
        )
        transcript.others.append(t)
        clients.append(
            _Client(number, other.path, other.query_string, other.headers, other.joins, t)
        )

    async def connect(client: _Client, index: int | None) -> None:
        t = client.transcript
        client.conn = await transport.connect(
            client.path,
            query_string=client.query.encode("ascii"),
            headers=client.headers,
            subprotocols=conversation.subprotocols,
            timeout=settings.connection_timeout,
        )
        t.handshake = handshake = client.conn.handshake
        if client.number:
            query = f"?{client.query}" if client.query else ""
            result = (
                "accepted"
                if isinstance(handshake, Accepted)
                else "unanswered"
                if handshake is None
                else f"refused (HTTP {handshake.status}, close {handshake.close_code})"
            )
            t.frames.append(
                Frame(direction="note", data=f"connect {client.path}{query}: {result}", index=index)
            )
        if not isinstance(handshake, Accepted):
            client.gone = True
            t.app_stopped = await client.conn.abort(timeout=min(settings.connection_timeout, 1.0))
            return
        await collect_all(index)  # its welcome, and what the others were told of it

    async def collect(client: _Client, index: int | None) -> None:
        note_error(client, index)  # raised while another client's step ran, or before a close
        if not client.open:
            return
        client.pending = False
        assert client.conn is not None
        t = client.transcript
        expected, client.expected = client.expected, []
        missing = await _collect(client.conn, route, t, index, expected, clock)
        if index is not None:
            # The sender's own replies are reply_expected's; what others miss is delivery's.
            mine = {i for i, _ in expected if steps[i].client == client.number}
            t.missed_replies.extend(m for m in missing if m[0] in mine)
            t.missed_deliveries.extend(m for m in missing if m[0] not in mine)
        note_error(client, index)

    async def collect_all(index: int | None, sender: _Client | None = None) -> None:
        # The sender first: once it is quiet the app has sent what it broadcast.
        for client in sorted(clients, key=lambda c: c is not sender):
            await collect(client, index)

    def note_error(client: _Client, index: int | None) -> None:
        t, conn = client.transcript, client.conn
        if conn is not None and conn.app_error is not None and t.app_error is None:
            t.app_error, t.app_error_index = conn.app_error, index
            # After the client left, it is how the app shut down: graceful_shutdown's question.
            t.app_error_phase = "shutdown" if client.gone else "conversation"

    async def leave(client: _Client, step: Step, index: int | None) -> None:
        assert client.conn is not None
        t = client.transcript
        if step.leave == "close" and client.pending:
            # A client that closes collects its last burst first, as a one-client conversation
            # does: only a drop leaves the app busy with what it was sent.
            await collect_all(index, client)
        if step.leave == "abort":
            # Dropped before its last burst was collected: what it sent may never be handled,
            # so nobody can be owed a delivery of it.
            for other in clients:
                other.expected = [e for e in other.expected if steps[e[0]].client != client.number]
            t.app_stopped = await client.conn.abort(timeout=settings.connection_timeout)
            t.frames.append(Frame(direction="abort", index=index, elapsed_ms=clock.ms()))
        else:
            code = 1000 if step.leave == "close" else conversation.close_code or 1000
            t.app_stopped = await client.conn.close(code, timeout=settings.connection_timeout)
            t.frames.append(
                Frame(direction="client_close", code=code, index=index, elapsed_ms=clock.ms())
            )
        client.gone = True
        if t.app_stopped:
            t.leaked_tasks, t.task_errors = await client.conn.finish_tasks()

    steps = conversation.steps
    await connect(clients[0], None)
    index: int | None = None
    for index, step in enumerate(steps):
        for client in clients:
            if client.conn is None and (client.joins <= index or client.number == step.client):
                await connect(client, index - 1 if index else None)
        actor = clients[step.client] if step.client < len(clients) else clients[0]
        if not actor.open:
            what = "left" if actor.gone else "been closed by the server"
            actor.transcript.frames.append(
                Frame(direction="note", data=f"has {what}: step {index} not taken", index=index)
            )
            continue
        assert actor.conn is not None
        if step.leave is not None:
            await leave(actor, step, index)
            await collect_all(index)  # what the others are told of it
            continue
        wire = encode_payload(step.kind, step.payload)
        if isinstance(wire, bytes):
            await actor.conn.send_bytes(wire)
        else:
            await actor.conn.send_text(wire)
        actor.transcript.messages_sent += 1
        actor.pending = True
        actor.transcript.frames.append(
            Frame(
                direction="send",
                kind=step.kind,
                data=step.payload,
                name=step.message,
                index=index,
                elapsed_ms=clock.ms(),
                mutation=step.mutation,
                family=step.family,
            )
        )
        if step.mutation is None:
            for client in clients:
                if client.open:
                    receiver = None if client is actor else client.path
                    reach, _ = delivered_to(route.spec, step.message, actor.path, receiver)
                    if reach:
                        client.expected.append((index, reach))
        if step.wait or index == len(steps) - 1:
            await collect_all(index, actor)
    for client in clients:  # a client that joins after the last step still joins, then leaves
        if client.conn is None:
            await connect(client, index)
    if index is None or (conversation.close_code is not None and any(c.pending for c in clients)):
        await collect_all(index)
    for client in clients:
        note_error(client, index)  # raised while the last steps ran, before any close of ours
        if client.conn is None or client.gone:
            if client.conn is not None:
                _finish(client.conn, client.transcript, index, clock)
            continue
        await _close(route, client, conversation, index, clock)
    transcript.messages_sent = sum(c.transcript.messages_sent for c in clients)
    return transcript


async def _close(
    route: CompiledRoute,
    client: _Client,
    conversation: Conversation,
    index: int | None,
    clock: _Clock,
) -> None:
    """End a client still connected at the end as the conversation closes (or drops) its own."""
    conn, t = client.conn, client.transcript
    timeout = route.spec.settings.connection_timeout
    assert conn is not None
    if conn.server_close is not None:
        # What the server sent before closing is still queued when no step collected it.
        events, _ = await conn.settle(timeout)
        _record(route, t, events, index, clock)
        t.app_stopped = await conn.close(1000, timeout=timeout)
    elif conversation.close_code is None:
        t.app_stopped = await conn.abort(timeout=timeout)
        t.frames.append(Frame(direction="abort", index=index, elapsed_ms=clock.ms()))
    else:
        t.app_stopped = await conn.close(conversation.close_code, timeout=timeout)
        t.frames.append(
            Frame(
                direction="client_close",
                code=conversation.close_code,
                index=index,
                elapsed_ms=clock.ms(),
            )
        )
    if t.app_stopped:
        t.leaked_tasks, t.task_errors = await conn.finish_tasks()
    _finish(conn, t, index, clock)
