"""Checks of replies tied to requests: ``correlation`` (a reply answers a pending request with
its id, and only once), ``no_reply`` (nothing answers a message that must get no reply), ``echo``
(a reply repeats the message's values) and ``stream`` (nothing of a stream after it ended).

All four read the conversation through one :class:`~ws_routes.engine.operations.Ledger`, as the
player did while it ran, and report the first failure of each, naming both frames. Once a mutant
was sent, what carries an unknown id (or answers a message that must get none) is tolerated: a
server may answer bad input with an error that has no id (JSON-RPC's ``"id": null``), possibly
late, and a finding there would be about the mutant anyway.
"""

from __future__ import annotations

from collections.abc import Iterator

from ws_routes.compile.replies import NOT_JSON, parse_json
from ws_routes.compile.ties import MISSING, id_key, pointer_get
from ws_routes.driver.transcript import Failure, Frame
from ws_routes.engine.checks.common import Context, burst_end, last_sent
from ws_routes.engine.operations import Ledger, Match, Operation

__all__ = ["TIE_CHECKS", "check_ties"]

# Reported in this order, each at most once per conversation.
TIE_CHECKS = ("correlation", "no_reply", "echo", "stream")


def _reply(number: int, frame: Frame) -> str:
    return f"reply #{number} `{frame.name or 'undocumented'}`"


def _value(value: object) -> str:
    return "no id" if value is MISSING else f"id {_short(value)}"


def _short(value: object) -> str:
    text = f'"{value}"' if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:60] + "…"


class _Judge:
    """One pass over a transcript: the first failure of each check, by check name."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.route = ctx.route
        self.steps = ctx.conversation.steps
        self.ledger = Ledger(ctx.route)
        self.found: dict[str, Failure] = {}
        self.sends: dict[int, Frame] = {}
        self.received: list[Frame] = []
        # Uncorrelated expectations, matched in order within their burst: (index, reply types).
        self.fifo: list[tuple[int, tuple[str, ...]]] = []
        self.silent: list[Frame] = []  # sent messages that must get no reply
        self.errors = {r.spec.name for r in ctx.route.replies if r.spec.error}

    def fail(
        self, check: str, message: str, expected: str, actual: str, frame: Frame, at: Frame | None
    ) -> None:
        if check in self.found or not self.route.spec.settings.check_enabled(check):
            return
        self.found[check] = Failure(
            check=check,
            error_type="contract_violation",
            message=message,
            expected=expected,
            actual=actual,
            index=frame.index,
            frame=at or last_sent(self.ctx.transcript, frame.index),
        )

    def window(self, index: int, frame: Frame) -> bool:
        """Whether ``frame`` (received) came in the collect after message ``index``'s burst."""
        return frame.index is not None and index <= frame.index <= burst_end(self.steps, index)

    def after_mutant(self, frame: Frame) -> bool:
        # Not only in the mutant's own burst: a server may answer bad input late, from a task.
        return any(
            f.mutation is not None and frame.index is not None and i <= frame.index
            for i, f in self.sends.items()
        )

    def run(self) -> Iterator[Failure]:
        for frame in self.ctx.transcript.frames:
            if frame.direction == "send" and frame.index is not None:
                self.sent(frame)
            elif frame.direction == "recv":
                self.received.append(frame)
                self.judge(self.ledger.received(frame), frame)
        return (self.found[c] for c in TIE_CHECKS if c in self.found)

    def sent(self, frame: Frame) -> None:
        self.sends[frame.index or 0] = frame
        names = self.ledger.sent(frame.index or 0, frame.name or "", frame.data, frame.mutation)
        if names:
            self.fifo.append((frame.index or 0, names))
        ties = self.route.ties.messages.get(frame.name or "")
        if ties is not None and frame.mutation is None and ties.silent(frame.data):
            self.silent.append(frame)

    def judge(self, match: Match, frame: Frame) -> None:
        op = match.operation
        if match.verdict in ("answer", "item", "end") and op is not None:
            if not op.negative:  # a tolerated mutant may be answered any way
                self.echo(self.sends.get(op.index), frame, match.number)
        elif match.verdict == "uncorrelated":
            self.uncorrelated(frame, match.number)
        elif match.verdict == "late" and op is not None:
            assert op.ended_by is not None
            end = self.received[op.ended_by]
            self.stream(
                f"{_reply(match.number, frame)} has {_value(match.value)}, but the stream of "
                f"{op.describe()} ended with {_reply(op.ended_by, end)}",
                frame,
                op,
                end,
            )
        elif match.verdict == "cancelled" and op is not None and op.cancelled_at is not None:
            ends = self.sends.get(op.cancelled_at)
            # What the server sent before it saw the `ends` message is in flight: only what comes
            # after a whole collect, or once the app had read it and paused, counts.
            seen = self.ctx.transcript.seen_ends.get(op.cancelled_at)
            late = seen is not None and match.number >= seen
            if late or (
                frame.index is not None and frame.index > burst_end(self.steps, op.cancelled_at)
            ):
                self.stream(
                    f"{_reply(match.number, frame)} has {_value(match.value)}, but message "
                    f"#{op.cancelled_at} `{ends.name if ends else '?'}` ended the stream of "
                    f"{op.describe()} and the server had time to see it",
                    frame,
                    op,
                    ends,
                )
        elif not self.after_mutant(frame):
            self.unexpected(match, frame)

    def unexpected(self, match: Match, frame: Frame) -> None:
        op, number = match.operation, match.number
        if match.verdict == "orphan":
            if self.unasked(frame, number, match):
                return
            self.fail(
                "correlation",
                f"{_reply(number, frame)} has {_value(match.value)}, but no request with that id "
                f"is waiting (pending: {self.pending()})",
                "a reply with the id of a request still waiting for its reply",
                frame.render(),
                frame,
                None,
            )
        elif match.verdict == "extra" and op is not None and op.ended_by is not None:
            first = self.received[op.ended_by]
            self.fail(
                "correlation",
                f"{_reply(number, frame)} has {_value(match.value)}, but {op.describe()} already "
                f"got its {'end' if op.stream else 'reply'}, {_reply(op.ended_by, first)} "
                f"(pending: {self.pending()})",
                f"exactly one {'end of the stream' if op.stream else 'reply'} per request",
                f"#{op.ended_by}: {first.render()}\n#{number}: {frame.render()}",
                frame,
                self.sends.get(op.index),
            )
        elif match.verdict == "wrong" and op is not None:
            types = " or ".join(f"`{n}`" for n in op.awaited)
            self.fail(
                "correlation",
                f"{_reply(number, frame)} has {_value(match.value)}, the id of {op.describe()}, "
                f"which expects {types}",
                f"a reply of type {types}",
                frame.render(),
                frame,
                self.sends.get(op.index),
            )

    def pending(self) -> str:
        """The ids of the requests still waiting, as failure messages list them."""
        ids = [_short(o.value) for o in self.ledger.operations if o.active and not o.negative]
        return ", ".join(ids) or "none"

    def uncorrelated(self, frame: Frame, number: int) -> None:
        """A reply without an id: the oldest in-order expectation of its burst it satisfies, or
        (when it is a reply type that answers messages) an answer to a message that must get
        none."""
        self.fifo = [
            (i, n)
            for i, n in self.fifo
            if frame.index is None or frame.index <= burst_end(self.steps, i)
        ]
        for position, (index, names) in enumerate(self.fifo):
            if self.window(index, frame) and self.route.satisfies(
                frame.name, frame.kind or "text", frame.data, names
            ):
                del self.fifo[position]
                self.echo(self.sends.get(index), frame, number)
                return
        answers = frame.name is None or frame.name in self.route.ties.answers
        if answers and not self.after_mutant(frame):
            self.unasked(frame, number, None)

    def unasked(self, frame: Frame, number: int, match: Match | None) -> bool:
        """Blame ``frame`` on a message that must get no reply, if one is in its window (with the
        same id, when both carry one)."""
        for sent in self.silent:
            if not self.window(sent.index or 0, frame):
                continue
            ties = self.route.ties.messages[sent.name or ""]
            mine = (
                MISSING
                if ties.spec.correlation is None
                else pointer_get(sent.data, ties.spec.correlation)
            )
            if match is not None and mine is not MISSING and id_key(mine) != id_key(match.value):
                continue
            self.fail(
                "no_reply",
                f"message #{sent.index} `{sent.name}` must get no reply, but "
                f"{_reply(number, frame)} answered it",
                "no reply at all (the message, or the case it matches, is declared no_reply)",
                frame.render(),
                frame,
                sent,
            )
            return True
        return False

    def echo(self, sent: Frame | None, frame: Frame, number: int) -> None:
        ties = self.route.ties.messages.get(sent.name or "") if sent is not None else None
        if sent is None or ties is None or not ties.spec.echo:
            return
        if frame.name in self.errors:
            return  # an error reply reports a problem; it need not repeat the input
        for reply_pointer, message_pointer in ties.spec.echo.items():
            want = pointer_get(sent.data, message_pointer)
            if want is MISSING:
                continue
            if sent.kind == "text" and frame.kind == "json" and isinstance(want, str):
                parsed = parse_json(want)  # a text frame that parsed as JSON was kept parsed
                want = want if parsed is NOT_JSON else parsed
            got = pointer_get(frame.data, reply_pointer)
            if got is MISSING or id_key(got) != id_key(want):
                shown = "nothing" if got is MISSING else _short(got)
                self.fail(
                    "echo",
                    f"{_reply(number, frame)} has {reply_pointer or '(the whole reply)'} = "
                    f"{shown}, but message #{sent.index} `{sent.name}` sent "
                    f"{message_pointer or '(the whole message)'} = {_short(want)}",
                    f"the reply's {reply_pointer or 'value'} equal to the message's "
                    f"{message_pointer or 'value'}",
                    f"{sent.render()}\n{frame.render()}",
                    frame,
                    sent,
                )
                return

    def stream(self, message: str, frame: Frame, op: Operation, other: Frame | None) -> None:
        shown = f"{other.render()}\n{frame.render()}" if other is not None else frame.render()
        self.fail(
            "stream",
            message,
            "nothing more of a stream once it ended",
            shown,
            frame,
            self.sends.get(op.index),
        )


def check_ties(ctx: Context) -> Iterator[Failure]:
    """correlation, no_reply, echo and stream, on routes whose spec uses their keys."""
    if not ctx.route.ties.used:
        return iter(())
    return _Judge(ctx).run()
