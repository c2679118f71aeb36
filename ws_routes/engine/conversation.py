"""Conversations: what they are, and what Hypothesis draws for a route.

A conversation is a handshake (path parameters, query, headers, subprotocols), a list of steps
(a message, and whether to wait for the server to go quiet before the next one, so bursts of
back-to-back messages happen as real clients send them) and a closing code. Running one through a
transport is :mod:`ws_routes.engine.play`; judging the transcript is the checks' business.
"""

from __future__ import annotations

import json
import urllib.parse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from hypothesis import strategies as st

from ws_routes.app.discovery import render_path
from ws_routes.compile.credentials import Credential
from ws_routes.compile.route import CompiledMessage, CompiledRoute
from ws_routes.compile.ties import DUPLICATE_ID
from ws_routes.spec.model import Kind

__all__ = [
    "Conversation",
    "Step",
    "apply_credential",
    "conversations",
    "encode_payload",
]


@dataclass(frozen=True, slots=True)
class Step:
    """Send one message. ``wait`` False sends the next one straight away, without settling.

    A negative step sends a mutant of ``message`` (see :mod:`ws_routes.mutate`): ``mutation``
    says how it breaks the spec, ``invalid`` whether no message type of the route accepts it.
    """

    message: str
    kind: Kind
    payload: Any
    wait: bool = True
    mutation: str | None = None
    invalid: bool = False


@dataclass(frozen=True, slots=True, kw_only=True)
class Conversation:
    path: str
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    subprotocols: tuple[str, ...] = ()
    steps: tuple[Step, ...] = ()
    # None: the client drops the connection without a close frame (a network failure).
    close_code: int | None = 1000

    @property
    def query_string(self) -> str:
        return urllib.parse.urlencode(self.query)

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


# A step's control decisions (go on, wait, mutate, which message) come from one wide draw
# split into bit fields: Hypothesis pays about as much per draw as a short step costs to run,
# and inside a conversation it draws small bounded integers far from uniformly (the first
# options dominate), while up to 24 bits come uniformly. From the lowest bits up: go on (3 bits,
# 0 ends the conversation: 7 in 8 go on), wait (2 bits, 3 sends the next message at once: 1 in
# 4), mutate (2 bits, 3 sends a mutant in a negative conversation: 1 in 4), then the message.
# 0, the shrink target, is "wait, valid, first option, end here"; the low fields are aligned to
# bits so that the integer shrinker's masks and small subtractions change one field at a time.
_STEP = st.integers(0, 2**24 - 1)
# Per conversation, the same way: the lowest 2 bits make it negative when 3 (1 in 4; the
# negative probes already send every mutation family once, and mostly-valid conversations are
# what reach the states where a mutant hurts), the rest rotate the message pool.
_SHAPE = st.integers(0, 2**24 - 1)
# A mutant of a `unique` message reuses an active id (the player picks it) 1 time in 4 at most.
_DUPLICATE = st.integers(0, 3).map(lambda v: v == 3)


def _control(value: int, choices: int, mutating: bool) -> tuple[bool, bool, int, bool]:
    """Go on, wait, the index of the option picked, mutate: decoded from one ``_STEP`` draw."""
    go_on = value & 7 != 0
    wait = (value >> 3) & 3 != 3
    mutate = mutating and (value >> 5) & 3 == 3
    return go_on, wait, (value >> 7) % choices, mutate


def _weighted_pool(weights: Sequence[float], enabled: Sequence[int]) -> list[int]:
    # Hypothesis has no weighted choice; repeating an index in proportion to its weight is exact
    # enough, and the heaviest message type comes first, so it is what shrinking aims for.
    smallest = min(weights[i] for i in enabled)
    ordered = sorted(enabled, key=lambda i: -weights[i])
    return [i for i in ordered for _ in range(max(1, min(20, round(weights[i] / smallest))))]


def _plan(
    messages: Sequence[CompiledMessage], max_messages: int, *, negative: bool = False
) -> st.SearchStrategy[list[Step]]:
    """The steps of a conversation.

    Swarm testing (Groce et al., 2012): each conversation first draws which message types it
    uses, so some conversations hammer two or three types and reach the states that only
    sequences of those types reach. Shrinking turns the swarm back on for every type.
    """
    if not messages or max_messages <= 0:
        return st.just([])
    weights = [m.spec.weight for m in messages]
    everything = _weighted_pool(weights, range(len(messages)))

    repeat = object()  # what a step strategy yields for "the previous message again"
    # Step strategies are built once per option list and reused: building strategies while
    # drawing costs more than the draws themselves.
    step_strategies: dict[tuple[tuple[int, ...], bool, bool], st.SearchStrategy[Any]] = {}

    def step_strategy(
        options: tuple[int, ...], first: bool, mutating: bool
    ) -> st.SearchStrategy[Any]:
        key = (options, first, mutating)
        if key not in step_strategies:
            # The last choice sends the previous message again: servers often break on the
            # second identical command (double leave, double subscribe), which random draws
            # rarely produce.
            choices = len(options) + 1

            @st.composite
            def next_step(draw: st.DrawFn) -> tuple[bool, Any]:
                # Every step has the same shape (control, payload), the first too, so the
                # shrinker can delete any step without misreading the rest.
                go_on, wait, picked, mutate = _control(draw(_STEP), choices, mutating)
                if picked == len(options):
                    if not first:
                        return go_on, repeat
                    picked = 0  # nothing to repeat yet
                message = messages[options[picked]]
                spec = message.spec
                if mutate and message.mutants is not None:
                    if spec.unique and draw(_DUPLICATE):
                        payload = draw(message.strategy)
                        return go_on, Step(spec.name, spec.kind, payload, wait, DUPLICATE_ID)
                    mutant = draw(message.mutants)
                    return go_on, Step(
                        spec.name,
                        mutant.kind,
                        mutant.payload,
                        wait,
                        mutation=mutant.mutation,
                        invalid=mutant.invalid,
                    )
                return go_on, Step(spec.name, spec.kind, draw(message.strategy), wait)

            step_strategies[key] = next_step()
        return step_strategies[key]

    @st.composite
    def plan(draw: st.DrawFn) -> list[Step]:
        pool = everything
        if len(messages) > 1:
            enabled = [i for i in range(len(messages)) if not draw(st.booleans())]
            if enabled and len(enabled) < len(messages):
                pool = _weighted_pool(weights, enabled)
        shape = draw(_SHAPE)
        mutating = negative and shape & 3 == 3
        # Shrinking aims for the first option; a per-conversation rotation keeps the first
        # message of a conversation from being the same type in most conversations.
        offset = (shape >> 2) % len(pool)
        options = (*pool[offset:], *pool[:offset])
        steps: list[Step] = []
        # One step at a time, each in its own span that starts with its control draw (as
        # Hypothesis' stateful testing does): conversations run long, and the shrinker drops any
        # step by deleting its span. The first step ignores "go on": a conversation without
        # messages only repeats the handshake.
        while len(steps) < max_messages:
            go_on, step = draw(step_strategy(options, not steps, mutating))
            steps.append(steps[-1] if step is repeat else step)
            if not go_on:
                break
        return steps

    return plan()


def conversations(
    route: CompiledRoute, *, credential: Credential | None = None, negative: bool = True
) -> st.SearchStrategy[Conversation]:
    """Conversations for ``route``: its declared subprotocols offered, credentials applied.

    ``negative`` False keeps every message valid, whatever the route's ``invalid`` says.
    """
    settings = route.spec.settings
    negative = (
        negative
        and route.spec.invalid.enabled
        and settings.check_enabled("invalid_input")
        and any(m.mutants is not None for m in route.messages)
    )
    steps = _plan(route.messages, settings.max_messages, negative=negative)
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
        query, headers, drawn_steps = apply_credential(
            credential, query, headers, drawn_steps, first
        )
        return Conversation(
            path=render_path(template, values),
            query=tuple(query),
            headers=tuple(headers),
            subprotocols=route.spec.subprotocols,
            steps=tuple(drawn_steps),
            close_code=close_code,
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
