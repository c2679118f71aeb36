"""Operations: correlated requests from their send to their final reply, for player and checks.

A message with ``correlation`` that expects replies starts an *operation* when it is sent; it is
*active* until its reply (or its stream's end) arrives or the client sends a message that
``ends`` it with the same id. :class:`Ledger` follows a conversation frame by frame and says what
each received frame is to the operations: the answer of one, an item or the end of a stream, a
second answer, or a frame whose id no operation had. The player feeds it as frames arrive (to
know what it still waits for, and which ids are active when it sends a ``unique`` message); the
checks feed it the finished transcript, so both read a conversation the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from ws_routes.compile.replies import ReplyValidator, parse_json
from ws_routes.compile.route import CompiledRoute
from ws_routes.compile.ties import DUPLICATE_ID, MISSING, id_key, pointer_get, pointer_set
from ws_routes.driver.transcript import Frame
from ws_routes.spec.model import StreamSpec

__all__ = ["Ledger", "Match", "Operation"]

# What a received frame is to the operations (see Ledger.received):
# answer/item/end: the awaited reply of an active operation, a stream's item, its end;
# wrong: carries an active operation's id but is none of the reply types it expects;
# extra: the id of an operation that already got its final reply (an end after an end too);
# late: a stream item after that stream ended; cancelled: the id of an operation the client
# ended; orphan: an id no operation had; uncorrelated: no id, and it answers nothing pending.
Verdict = Literal[
    "answer", "item", "end", "wrong", "extra", "late", "cancelled", "orphan", "uncorrelated"
]


@dataclass(slots=True, eq=False)
class Operation:
    index: int  # the request's message index
    message: str
    value: Any
    expects: tuple[str, ...]  # its single reply's types (a stream's are in ``stream``)
    stream: StreamSpec | None
    # Sent as a mutant: any answer, or none, is acceptable.
    negative: bool
    replies: list[int] = field(default_factory=list)  # received-frame numbers that answered it
    ended_by: int | None = None  # the received-frame number of its final reply
    cancelled_at: int | None = None  # the message index of the client's `ends` message
    stopped: bool = False  # the client sent its `ends` message, before or after the server's end
    missed: bool = False  # already recorded as missing by the player

    @property
    def active(self) -> bool:
        return self.ended_by is None and self.cancelled_at is None

    @property
    def awaited(self) -> tuple[str, ...]:
        return self.expects if self.stream is None else (*self.stream.items, *self.stream.end)

    def describe(self) -> str:
        return f"message #{self.index} `{self.message}` (id {_show(self.value)})"


@dataclass(frozen=True, slots=True)
class Match:
    verdict: Verdict
    operation: Operation | None = None
    number: int = 0  # the frame's number among received frames (0-based)
    value: Any = MISSING  # the correlation value it carries
    name: str | None = None  # the reply type it is, as the operation expected it


def _show(value: Any) -> str:
    return "none" if value is MISSING else _short(value)


def _short(value: Any) -> str:
    text = repr(value) if not isinstance(value, str) else f'"{value}"'
    return text if len(text) <= 60 else text[:60] + "…"


class Ledger:
    """The operations of one conversation, fed its frames in order."""

    def __init__(self, route: CompiledRoute) -> None:
        self.route = route
        self.ties = route.ties
        self.operations: list[Operation] = []
        self._received = 0
        # The client just ended a running operation (`ends`): the collect waits for the next
        # frame or the app's idleness, so a server that keeps streaming shows it.
        self.stopping = False

    # -- sending ---------------------------------------------------------------------------------

    def is_active(self, value: Any) -> bool:
        key = id_key(value)
        return any(op.active and id_key(op.value) == key for op in self.operations)

    def running(self) -> frozenset[str]:
        """The message types with a valid operation the client has not ended: a request not
        answered yet, a stream the client has not stopped (whether the server ended it or not).

        The next step is drawn from this, and a draw must not depend on timing: Hypothesis
        replays a conversation's choices and stops the run (FlakyStrategyDefinition) when one
        draws differently, and when a stream's last frame comes, before or after the next step,
        is timing. So a stream counts as running until the client stops it.
        """
        return frozenset(
            op.message
            for op in self.operations
            if not op.stopped and not op.negative and (op.stream is not None or op.ended_by is None)
        )

    def prepare(self, message: str, payload: Any, mutation: str | None, aim: bool = False) -> Any:
        """The payload to send for a step: a ``unique`` message whose id is active gets a fresh
        one (:data:`MISSING`: no fresh id fits its schema, so the step cannot be sent validly); a
        ``duplicate_id`` step gets an active id on purpose; an ``aim`` step (a message that
        ``ends`` an operation) gets the id of the newest active operation it ends."""
        ties = self.ties.messages.get(message)
        if aim and mutation is None and ties is not None:
            return self._aimed(ties.spec.ends, ties.spec.correlation, ties.validator, payload)
        if ties is None or not ties.spec.unique or ties.spec.correlation is None:
            return payload
        pointer = ties.spec.correlation
        value = pointer_get(payload, pointer)
        if value is MISSING:
            return payload
        if mutation == DUPLICATE_ID:
            if self.is_active(value):
                return payload
            for op in reversed(self.operations):  # the newest active id that keeps it valid
                if op.active:
                    rewritten = pointer_set(payload, pointer, op.value)
                    if ties.validator.is_valid(rewritten):
                        return rewritten
            return payload
        if mutation is not None or not self.is_active(value):
            return payload
        return ties.fresh(payload, self.is_active)

    def _aimed(
        self, ends: str | None, pointer: str | None, validator: ReplyValidator, payload: Any
    ) -> Any:
        if ends is None or pointer is None or pointer_get(payload, pointer) is MISSING:
            return payload
        for op in reversed(self.operations):
            if op.active and op.message == ends and not op.negative:
                rewritten = pointer_set(payload, pointer, op.value)
                # Only where the schema allows that id: the step must stay valid.
                return rewritten if validator.is_valid(rewritten) else payload
        return payload

    def sent(self, index: int, message: str, payload: Any, mutation: str | None) -> tuple[str, ...]:
        """Record a sent message; return the replies it expects in order, uncorrelated (empty
        when it starts an operation, which the ledger follows itself)."""
        ties = self.ties.messages.get(message)
        if ties is None:
            return ()
        spec = ties.spec
        if mutation is not None and isinstance(payload, str | bytes) and spec.kind == "json":
            payload = parse_json(payload)  # a JSON message sent as bytes, or cut: its id if any
        value = MISSING if spec.correlation is None else pointer_get(payload, spec.correlation)
        if spec.ends is not None and value is not MISSING and mutation is None:
            key = id_key(value)
            for op in self.operations:
                if op.message == spec.ends and not op.stopped and id_key(op.value) == key:
                    op.stopped = True
                    if op.active:
                        op.cancelled_at = index
                        self.stopping = True
        expects = ties.expected(payload) if spec.stream is None else ()
        # An operation: a correlated message something must answer. A payload whose case says
        # no_reply, or that matches no case of a message with no `reply` of its own, is owed
        # nothing (and its id is not taken).
        if value is MISSING or not (expects or spec.stream is not None):
            return expects if mutation is None else ()
        self.operations.append(
            Operation(
                index=index,
                message=message,
                value=value,
                expects=expects,
                stream=spec.stream,
                negative=mutation is not None,
            )
        )
        return ()

    # -- receiving -------------------------------------------------------------------------------

    def _value(self, frame: Frame) -> Any:
        value = self.ties.reply_value(frame.name, frame.data)
        if value is MISSING and frame.kind == "json" and frame.name not in self.ties.reply_pointers:
            # Labelled with a type that has no id (or none at all), it may still be a reply type
            # that has one: classification picks one type among those a frame fits.
            for name, pointer in self.ties.reply_pointers.items():
                if self._fits(frame, (name,)):
                    return pointer_get(frame.data, pointer)
        return value

    def _fits(self, frame: Frame, names: tuple[str, ...]) -> bool:
        kind = frame.kind or "text"
        return bool(names) and self.route.satisfies(frame.name, kind, frame.data, names)

    def _named(self, frame: Frame, names: tuple[str, ...]) -> str | None:
        if frame.name in names:
            return frame.name
        return next((n for n in names if self._fits(frame, (n,))), frame.name)

    def received(self, frame: Frame) -> Match:
        """What ``frame`` (received) is to the operations; updates them."""
        number = self._received
        self._received += 1
        self.stopping = False
        value = self._value(frame)
        if value is MISSING:
            # No id: the oldest pending operation it is a reply type of (replies without a
            # correlation pointer are matched in order, as without correlation at all).
            for op in self.operations:
                if op.active and op.stream is None and self._fits(frame, op.expects):
                    return self._answer(op, frame, number, value)
            return Match("uncorrelated", None, number, value)
        key = id_key(value)
        mine = [op for op in self.operations if id_key(op.value) == key]
        active = [op for op in mine if op.active]
        for op in active:
            if not op.negative and self._fits(frame, op.awaited):
                return self._answer(op, frame, number, value)
        for op in active:
            if op.negative:
                return self._answer(op, frame, number, value)
        if active:
            op = active[0]
            if op.stream is None:
                op.ended_by = number  # answered, with the wrong type: not missing as well
            op.replies.append(number)
            return Match("wrong", op, number, value)
        if not mine:
            return Match("orphan", None, number, value)
        # The newest operation with this id: an id reused after its first operation ended, then
        # stopped by the client, gets the frames the server had in flight for the second.
        op = mine[-1]
        op.replies.append(number)
        if op.ended_by is None:
            return Match("cancelled", op, number, value)
        late = op.stream is not None and not self._fits(frame, op.stream.end)
        return Match("late" if late else "extra", op, number, value)

    def _answer(self, op: Operation, frame: Frame, number: int, value: Any) -> Match:
        op.replies.append(number)
        if op.stream is None:
            op.ended_by = number
            return Match("answer", op, number, value, self._named(frame, op.expects))
        if frame.name in op.stream.items or not self._fits(frame, op.stream.end):
            return Match("item", op, number, value, self._named(frame, op.stream.items))
        op.ended_by = number
        return Match("end", op, number, value, self._named(frame, op.stream.end))

    # -- waiting ---------------------------------------------------------------------------------

    def awaited(self) -> set[str]:
        """Reply types the active operations wait for: what a frame is classified as first."""
        return {name for op in self.operations if op.active for name in op.awaited}

    def waiting(self, *, final: bool = True) -> bool:
        """Whether a reply or a stream's end is still due (and not given up on already).

        Before the conversation's last collect (``final`` False) a stream that has started (an
        item came) is not waited for: the conversation goes on while it runs, so that what the
        client sends next (a ``complete`` that ends it, a second subscribe) meets a live stream.
        Right after the client ended one, the next frame is waited for (see ``stopping``).
        """
        return self.stopping or any(
            op.active
            and not op.missed
            and not op.negative
            and (op.stream is None or (bool(op.stream.end) and (final or not op.replies)))
            for op in self.operations
        )

    def missed(self, *, final: bool) -> list[tuple[int, tuple[str, ...]]]:
        """After a collect: (message index, reply types) of each request still unanswered and,
        when ``final`` (the conversation's last collect, which ended with the app idle: its end
        can no longer come), each stream that did not end; each once."""
        out = []
        for op in self.operations:
            if not op.active or op.missed or op.negative or (op.stream is not None and not final):
                continue
            op.missed = True
            out.append((op.index, op.expects if op.stream is None else op.stream.end))
        return out
