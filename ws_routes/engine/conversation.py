"""Conversations: what they are, and what Hypothesis draws for a route.

A conversation is a handshake (path parameters, query, headers, subprotocols), a list of steps
(a message, and whether to wait for the server to go quiet before the next one, so bursts of
back-to-back messages happen as real clients send them) and a closing code. Running one through a
transport is :mod:`ws_routes.engine.play`; judging the transcript is the checks' business.

On a route that follows a protocol (:func:`ws_routes.engine.protocol.follows_protocol`) the
steps are not drawn up front: the conversation carries a :class:`DrawnSteps` that draws each step
while it runs, after the replies to the previous one came in, from the messages the protocol
state reached so far allows. What it sent is the conversation :meth:`Conversation.recorded`
returns, which reports print and replays run.
"""

from __future__ import annotations

import json
import urllib.parse
from dataclasses import dataclass, field, replace
from typing import Any

from hypothesis import strategies as st

from ws_routes.app.discovery import render_path
from ws_routes.compile.credentials import Credential
from ws_routes.compile.route import CompiledRoute
from ws_routes.engine.protocol import follows_protocol
from ws_routes.engine.steps import DrawnSteps, Step, drawn_steps, fixed_steps
from ws_routes.spec.model import Kind

__all__ = [
    "Client",
    "Conversation",
    "DrawnSteps",
    "Step",
    "apply_credential",
    "conversations",
    "encode_payload",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class Client:
    """A client after the first of a multi-client conversation: where it connects, and before
    which step (``joins``; a step it takes earlier connects it then)."""

    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    joins: int = 0

    @property
    def query_string(self) -> str:
        return urllib.parse.urlencode(self.query)


@dataclass(frozen=True, slots=True, kw_only=True)
class Conversation:
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    subprotocols: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    # None: the client drops the connection without a close frame (a network failure).
    close_code: int | None = 1000
    # Set: the steps are drawn while the conversation runs (``steps`` is then empty).
    source: DrawnSteps | None = field(default=None, compare=False, repr=False)
    # The other clients of a multi-client conversation (this one's fields are client 1's).
    clients: tuple[Client, ...] = ()

    @property
    def query_string(self) -> str:
        return urllib.parse.urlencode(self.query)

    @property
    def max_steps(self) -> int:
        """The most messages it sends."""
        return len(self.steps) if self.source is None else self.source.limit

    def recorded(self) -> Conversation:
        """The conversation as it was sent: a drawn one's steps become fixed ones."""
        if self.source is None:
            return self
        return replace(self, steps=tuple(self.source.sent), source=None)

    @property
    def url(self) -> str:
        return self.path + (f"?{self.query_string}" if self.query else "")


def encode_payload(kind: Kind, payload: Any) -> str | bytes:
    """The wire form of a payload: JSON as compact text, as browsers' JSON.stringify sends it.

    A lone surrogate in a JSON string is written as a ``\\ud800`` escape, as JSON.stringify does:
    raw, it could not travel in a text frame (which must be valid UTF-8).
    """
    if kind == "json":
        text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
        if not text.isascii():
            try:
                text.encode("utf-8")
            except UnicodeEncodeError:
                text = json.dumps(payload, ensure_ascii=True, separators=(",", ":"))
        return text
    if kind == "bytes":
        return bytes(payload)
    return payload if isinstance(payload, str) else str(payload)


def conversations(
    route: CompiledRoute, *, credential: Credential | None = None, negative: bool = True
) -> st.SearchStrategy[Conversation]:
    """Conversations for ``route``: its declared subprotocols offered, credentials applied.

    ``negative`` False keeps every message valid, whatever the route's ``invalid`` says.
    """
    settings = route.spec.settings
    follow = follows_protocol(route.spec)
    negative = (
        negative
        and route.spec.invalid.enabled
        and settings.check_enabled("invalid_input")
        # A protocol's states give negative steps of their own: messages in the wrong state.
        and (any(m.mutants is not None for m in route.messages) or bool(route.spec.states))
    )
    many = route.spec.clients.max
    steps: st.SearchStrategy[Any] = (
        drawn_steps(route, settings.max_messages, negative)
        if follow
        else fixed_steps(route.messages, settings.max_messages, negative=negative, clients=many)
    )
    # Half the other clients are there from the start (0, where shrinking goes), the others join
    # before a later step; 1 in 4 has path parameters of its own (another room), the rest client 1's.
    late = max(settings.max_messages - 1, 0)
    joins = st.integers(0, 2 * late + 1).map(lambda v: max(0, v - late - 1))
    own_room = st.integers(0, 3).map(lambda v: v == 3)
    own_path = route.spec.clients.path_params == "drawn" and bool(route.spec.path_params)

    @st.composite
    def other(draw: st.DrawFn) -> tuple[Any, int]:
        """Another client: its own path parameters (None: client 1's), the step it joins at."""
        own = draw(route.path_params) if own_path and draw(own_room) else None
        return own, draw(joins)

    others = st.lists(other(), max_size=many - 1)
    close_codes: list[int | None] = list(settings.test_close_codes or (1000,))
    if settings.check_enabled("disconnect"):
        close_codes.append(None)  # last, so shrinking prefers a clean close
    template = route.spec.path

    @st.composite
    def build(draw: st.DrawFn) -> Conversation:
        values = draw(route.path_params)
        query = draw(route.query)
        headers = draw(route.headers)
        drawn_steps = draw(steps)
        close_code = draw(st.sampled_from(close_codes))
        first = draw(route.first_message) if route.first_message is not None else None
        source = drawn_steps if isinstance(drawn_steps, DrawnSteps) else None
        query, headers, drawn_steps = apply_credential(
            credential, query, headers, [] if source else drawn_steps, first
        )
        if source is not None:
            source.prepend(drawn_steps)
        clients: list[Client] = []
        if many > 1:
            # A list, drawn after client 1's draws: shrinking deletes a client with its draws,
            # moves its joining to the start and gives it client 1's path (no "own path").
            for own, at in draw(others):
                path = render_path(template, values if own is None else own)
                clients.append(
                    Client(path=path, query=tuple(query), headers=tuple(headers), joins=at)
                )
            # A step of a client the conversation does not open is client 1's.
            drawn_steps = [
                s if s.client <= len(clients) else replace(s, client=0) for s in drawn_steps
            ]
        return Conversation(
            path=render_path(template, values),
            query=tuple(query),
            headers=tuple(headers),
            subprotocols=route.spec.subprotocols,
            steps=() if source else tuple(drawn_steps),
            close_code=close_code,
            source=source,
            clients=tuple(clients),
        )

    return build()


def apply_credential(
    credential: Credential | None,
    query: list[tuple[str, str]],
    headers: list[tuple[str, str]],
    steps: list[Step],
    first_message: Any = None,
) -> tuple[list[tuple[str, str]], list[tuple[str, str]], list[Step]]:
    """Put ``credential`` where the route expects it: query, header, cookie or a first message.

    Here rather than with the running: it shapes what a conversation is before it is run, for
    the drawn conversations and for the probes' fixed ones alike.
    """
    if credential is None:
        return query, headers, steps
    pair = (credential.name, credential.value)
    if credential.place == "query":
        query = [(k, v) for k, v in query if k != credential.name] + [pair]
    elif credential.place == "header":
        headers = [(k, v) for k, v in headers if k != credential.name] + [pair]
    elif credential.place == "cookie":
        headers = [*headers, ("cookie", f"{credential.name}={credential.value}")]
    else:
        # auth.first_message: a message drawn from its schema, with the credential as "token".
        payload = dict(first_message) if isinstance(first_message, dict) else {}
        payload[credential.name] = credential.value
        steps = [Step("auth", "json", payload), *steps]
    return query, headers, steps
