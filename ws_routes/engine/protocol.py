"""Where one connection is in its route's protocol: the state, and the values replies handed out.

A route that declares ``states``, an ``opening``, ``capture`` or ``use`` (docs/spec.md, "Protocol
state") follows a protocol: conversations draw only messages whose ``when`` holds in the state
reached so far (:mod:`ws_routes.engine.conversation`), and :func:`ws_routes.engine.play.
run_conversation` moves a :class:`ProtocolState` along as it sends and receives. Fixed
conversations (probes, replays) are followed too, so a replay fills in the values *its* server
handed out, not the ones recorded from another run.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ws_routes.driver.transcript import Frame
from ws_routes.errors import pointer_tokens
from ws_routes.spec.model import MessageSpec, ReplySpec, RouteSpec, WrongState

__all__ = ["STATE_MUTATIONS", "ProtocolState", "follows_protocol", "wrong_state_of"]

# Step.mutation of a valid message sent where the protocol does not allow it: in a state outside
# its `when`, or after skipping (part of) the opening.
STATE_MUTATIONS = ("wrong_state", "skipped_opening")


def follows_protocol(spec: RouteSpec) -> bool:
    """Whether ``spec`` declares anything a connection's state has to be followed for."""
    return bool(
        spec.states
        or spec.opening
        or any(m.use or m.goto for m in spec.messages)
        or any(r.capture or r.goto for r in spec.replies)
    )


def wrong_state_of(spec: RouteSpec, message: str) -> WrongState | None:
    """The declared reactions to ``message`` in a wrong state (None: undeclared, or no such)."""
    found = next((m for m in spec.messages if m.name == message), None)
    return found.wrong_state if found is not None else None


def _get(value: Any, tokens: Sequence[str]) -> tuple[bool, Any]:
    for token in tokens:
        if isinstance(value, dict) and token in value:
            value = value[token]
        elif isinstance(value, list) and token.isdigit() and int(token) < len(value):
            value = value[int(token)]
        else:
            return False, None
    return True, value


def _set(value: Any, tokens: Sequence[str], new: Any) -> Any:
    """``value`` with ``new`` at ``tokens``: missing object members are created, and a path
    through a scalar leaves ``value`` as it was."""
    if not tokens:
        return new
    head, rest = tokens[0], tokens[1:]
    if isinstance(value, dict):
        value[head] = _set(value.get(head, {}), rest, new)
    elif isinstance(value, list) and head.isdigit() and int(head) < len(value):
        value[int(head)] = _set(value[int(head)], rest, new)
    elif isinstance(value, list) and head == "-":
        value.append(_set({}, rest, new))
    return value


@dataclass(slots=True)
class ProtocolState:
    """The protocol state of one connection, moved by what is sent and received.

    ``state`` is None on a route without ``states``; ``captured`` holds the latest value of each
    ``capture`` name; ``seen`` counts the transcript frames already read.
    """

    spec: RouteSpec
    state: str | None = None
    captured: dict[str, Any] = field(default_factory=dict)
    seen: int = 0
    _messages: dict[str, MessageSpec] = field(default_factory=dict, repr=False)
    _replies: dict[str, ReplySpec] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.state = self.spec.states[0] if self.spec.states else None
        self._messages = {m.name: m for m in self.spec.messages}
        self._replies = {r.name: r for r in self.spec.replies}

    def allows(self, message: MessageSpec) -> bool:
        """``message`` may be sent now: the current state is in its ``when``."""
        return not message.when or self.state in message.when

    def sendable(self, message: MessageSpec) -> bool:
        """Allowed now, and every value it uses has been captured."""
        return self.allows(message) and all(v in self.captured for v in message.use.values())

    def fill(self, message: str, payload: Any) -> Any:
        """``payload`` with the captured values ``message`` uses filled in (a copy if any)."""
        spec = self._messages.get(message)
        uses = [(p, v) for p, v in spec.use.items() if v in self.captured] if spec else []
        if not uses:
            return payload
        # A copy: drawn values may be shared (a schema's const is one object for every draw).
        payload = copy.deepcopy(payload)
        for pointer, name in uses:
            payload = _set(payload, pointer_tokens(pointer), copy.deepcopy(self.captured[name]))
        return payload

    def sent(self, message: str, *, valid: bool) -> str | None:
        """Note that ``message`` was sent; the new state when its ``goto`` moved it.

        Only a valid message sent where it is allowed moves the state: a server refuses the rest.
        """
        spec = self._messages.get(message)
        if valid and spec is not None and spec.goto is not None and spec.goto != self.state:
            self.state = spec.goto
            return spec.goto
        return None

    def expect(self, message: str) -> None:
        """Move as if ``message`` was sent and succeeded (for fixed probes: the state a prefix
        leads to), when its success replies agree on where they lead. Error replies are left
        out: an `initialize` answered by `initialized` or `error` leads where `initialized` does."""
        self.sent(message, valid=True)
        spec = self._messages.get(message)
        names = [r for r in spec.reply if r in self._replies] if spec else []
        gotos = {self._replies[r].goto for r in names if not self._replies[r].error}
        if len(gotos) == 1 and None not in gotos:
            self.state = gotos.pop()

    def observe(self, frames: Sequence[Frame]) -> list[str]:
        """Read the frames not seen yet: replies capture values and move the state.

        Returns the states entered, in order, for the transcript's notes.
        """
        entered: list[str] = []
        for frame in frames[self.seen :]:
            reply = self._replies.get(frame.name or "") if frame.direction == "recv" else None
            if reply is None:
                continue
            for name, pointer in reply.capture.items():
                found, value = _get(frame.data, pointer_tokens(pointer))
                if found:
                    self.captured[name] = value
            if reply.goto is not None and reply.goto != self.state:
                self.state = reply.goto
                entered.append(reply.goto)
        self.seen = len(frames)
        return entered
