"""Running a conversation through a transport, and recording what happened in a transcript.

:func:`run_conversation` connects, sends each step (settling after it unless the step is part of
a burst), waits for the replies the spec expects, closes or aborts as the conversation says and
returns the :class:`~ws_routes.driver.transcript.Transcript`. What a conversation is and how
Hypothesis draws one is :mod:`ws_routes.engine.conversation`; judging the transcript is the
checks' business.
"""

from __future__ import annotations

import contextlib
import itertools
import time
from collections.abc import Collection
from dataclasses import replace

from ws_routes.compile.route import CompiledRoute
from ws_routes.compile.ties import MISSING
from ws_routes.driver.transcript import Frame, Transcript
from ws_routes.driver.transport import (
    Accepted,
    Connection,
    Event,
    ServerClose,
    Silence,
    TextFrame,
    Transport,
)
from ws_routes.engine.conversation import Conversation, Step, encode_payload
from ws_routes.engine.operations import Ledger
from ws_routes.engine.protocol import STATE_MUTATIONS, ProtocolState, follows_protocol
from ws_routes.spec.model import Kind

__all__ = ["as_sent", "run_conversation"]


class _Clock:
    __slots__ = ("start",)

    def __init__(self) -> None:
        self.start = time.perf_counter()

    def ms(self) -> float:
        return round((time.perf_counter() - self.start) * 1000, 3)


def _record(
    route: CompiledRoute,
    transcript: Transcript,
    events: list[Event],
    index: int | None,
    clock: _Clock,
    ledger: Ledger | None = None,
    prefer: Collection[str] = (),
) -> None:
    for event in events:
        if isinstance(event, ServerClose):
            transcript.frames.append(
                Frame(
                    direction="server_close",
                    code=event.code,
                    reason=event.reason,
                    dropped=event.dropped,
                    index=index,
                    elapsed_ms=clock.ms(),
                )
            )
            continue
        raw_kind: Kind = "text" if isinstance(event, TextFrame) else "bytes"
        if not transcript.room_for(len(event.data)):
            continue  # over the conversation's cap (Transcript.room_for): counted, not stored
        name, kind, value = route.classify(raw_kind, event.data, prefer)
        frame = Frame(
            direction="recv", kind=kind, data=value, name=name, index=index, elapsed_ms=clock.ms()
        )
        if ledger is not None:
            # Named as the operation it answers expected it, where it fits several types.
            frame = replace(frame, name=ledger.received(frame).name or name)
        transcript.frames.append(frame)


def _unanswered(
    route: CompiledRoute, expected: list[tuple[int, tuple[str, ...]]], replies: list[Frame]
) -> list[tuple[int, tuple[str, ...]]]:
    """Match each expectation, in order, to a distinct reply of one of its types (a reply is
    of every type it matches: two overlapping types must not make a right answer wrong)."""
    pool = list(replies)
    missing = []
    for index, names in expected:
        for i, f in enumerate(pool):
            if f.name in names or route.satisfies(f.name, f.kind or "text", f.data, names):
                del pool[i]
                break
        else:
            missing.append((index, names))
    return missing


def as_sent(conversation: Conversation, transcript: Transcript) -> Conversation:
    """``conversation`` with the payloads the transcript says were sent: an id rewritten at send
    time (``unique``) is what reports must print and replays send."""
    sent = {f.index: f.data for f in transcript.sent}
    steps = tuple(
        replace(s, payload=sent[i]) if i in sent and sent[i] is not s.payload else s
        for i, s in enumerate(conversation.steps)
    )
    if all(a is b for a, b in zip(steps, conversation.steps, strict=True)):
        return conversation
    return replace(conversation, steps=steps)


async def _collect(
    conn: Connection,
    route: CompiledRoute,
    transcript: Transcript,
    index: int | None,
    expected: list[tuple[int, tuple[str, ...]]],
    clock: _Clock,
    ledger: Ledger | None = None,
    final: bool = True,
) -> list[tuple[int, tuple[str, ...]]]:
    """Settle, then, while an expected reply (or a correlated request's reply, or a stream's
    end: a running stream's only in the ``final`` collect) is missing, wait until it comes, the
    app is idle (decided at once: noted in ``transcript.decided_idle``) or ``message_timeout``
    passes."""
    timeout = route.spec.settings.message_timeout
    deadline = time.perf_counter() + timeout
    start = len(transcript.frames)
    # What is expected names a frame that fits several reply types (only those can overlap).
    prefer: Collection[str] = ()
    if len(route.replies) > 1:
        prefer = {n for _, names in expected for n in names} | (
            ledger.awaited() if ledger else set()
        )
    events, idle = await conn.settle(timeout)
    _record(route, transcript, events, index, clock, ledger, prefer)
    if ledger is not None and ledger.stopping and index is not None:
        # Settled: the app read the message that ended an operation; what comes now is late.
        transcript.seen_ends[index] = sum(f.direction == "recv" for f in transcript.frames)

    def unanswered() -> list[tuple[int, tuple[str, ...]]]:
        replies = [f for f in transcript.frames[start:] if f.direction == "recv"]
        return _unanswered(route, expected, replies)

    missing = unanswered()

    def waiting() -> bool:
        return bool(missing) or (ledger is not None and ledger.waiting(final=final))

    while waiting() and not idle and conn.server_close is None:
        event = await conn.wait_event(max(0.0, deadline - time.perf_counter()))
        if isinstance(event, Silence):
            idle = event is Silence.IDLE
            break
        _record(route, transcript, [event], index, clock, ledger, prefer)
        missing = unanswered()
    if waiting() and idle and index is not None:
        transcript.decided_idle.append(index)
    if ledger is not None:
        ledger.stopping = False  # waited for once: idle or timed out, nothing more came
    return missing


async def run_conversation(
    transport: Transport,
    route: CompiledRoute,
    conversation: Conversation,
    *,
    transcript: Transcript | None = None,
) -> Transcript:
    """Run ``conversation`` against the app and return what happened.

    Pass ``transcript`` to have it filled in place: if a hard deadline abandons the run, the
    caller still holds everything observed up to that point.
    """
    settings = route.spec.settings
    clock = _Clock()
    if transcript is None:
        transcript = Transcript(route=route.spec.path, path=conversation.path)
    if conversation.clients:
        # Deferred: multiplay builds on this module's helpers (no import-time cycle).
        from ws_routes.engine.multiplay import run_clients

        return await run_clients(transport, route, conversation, transcript)
    transcript.path = conversation.path
    transcript.query_string = conversation.query_string
    transcript.headers = conversation.headers
    transcript.subprotocols = conversation.subprotocols
    conn = await transport.connect(
        conversation.path,
        query_string=conversation.query_string.encode("ascii"),
        headers=conversation.headers,
        subprotocols=conversation.subprotocols,
        timeout=settings.connection_timeout,
    )
    transcript.handshake = conn.handshake
    transcript.over_network = getattr(conn, "over_network", False)
    if not isinstance(conn.handshake, Accepted):
        # A refused or unanswered handshake still leaves an app task to end; an unanswered one
        # may be stuck, and the no_hang check reads whether it stopped when we gave up.
        transcript.app_stopped = await conn.abort(timeout=min(settings.connection_timeout, 1.0))
        _finish(conn, transcript, None, clock)
        return transcript

    replies_expected = {m.spec.name: m.spec.reply for m in route.messages}
    # Only for routes whose spec ties replies to requests: the others take the path of old.
    ledger = Ledger(route) if route.ties.used else None
    # With invalid.must_reject, an invalid message must be answered by an error reply (or a
    # close, which ends the waiting anyway): wait for one as for an expected reply.
    rejection = (
        tuple(r.spec.name for r in route.replies if r.spec.error)
        if route.spec.invalid.must_reject
        else ()
    )
    expected: list[tuple[int, tuple[str, ...]]] = []
    rejections: list[tuple[int, tuple[str, ...]]] = []
    source = conversation.source
    last = len(conversation.steps) - 1
    aborting = conversation.close_code is None
    # A protocol's state, followed for drawn and fixed steps alike: a replay fills in the values
    # its own server handed out.
    state = ProtocolState(route.spec) if source or follows_protocol(route.spec) else None
    index: int | None = None
    pending = False  # sent since the last collect

    async def collect(index: int, final: bool) -> None:
        nonlocal expected, pending
        missing = await _collect(conn, route, transcript, index, expected, clock, ledger, final)
        transcript.missed_replies.extend(m for m in missing if m not in rejections)
        if ledger is not None:
            transcript.missed_replies.extend(
                ledger.missed(final=final and not conn.background_tasks)
            )
        expected, pending = [], False

    for index in range(last + 1) if source is None else itertools.count():
        if source is not None and source.finished:
            index = index - 1 if index else None  # the last one sent
            break
        if conn.server_close is not None:
            # What the server sent before closing (data, the close frame) is still queued when
            # no step collected it: record it, or a server that closes at once looks silent.
            events, _ = await conn.settle(settings.message_timeout)
            _record(route, transcript, events, index - 1 if index else None, clock, ledger)
            left = "no more messages sent" if source else f"{last - index + 1} message(s) not sent"
            transcript.frames.append(
                Frame(direction="note", data=f"server closed: {left}", index=index)
            )
            break
        try:
            # What runs is what a drawn step may stop: fixed steps never ask.
            running = ledger.running() if ledger is not None and source is not None else frozenset()
            step = _next_step(conversation, index, state, transcript, running)
        except BaseException:
            # Hypothesis ends a run from inside a draw (StopTest, while shrinking): close the
            # connection before it unwinds, or the app's task is left pending on a shared loop.
            with contextlib.suppress(Exception):
                await conn.close(1000, timeout=settings.connection_timeout)
                await conn.finish_tasks()
            raise
        if step is None:  # the protocol allows nothing more here
            index = index - 1 if index else None
            break
        if source is not None and source.finished:
            last = index
        payload = step.payload
        if ledger is not None:
            payload = ledger.prepare(step.message, payload, step.mutation, step.aim)
            if payload is MISSING:  # a unique id that has no unused value left in its schema
                transcript.frames.append(
                    Frame(
                        direction="note", data=f"message {index} not sent: no id free", index=index
                    )
                )
                continue
        wire = encode_payload(step.kind, payload)
        if isinstance(wire, bytes):
            await conn.send_bytes(wire)
        else:
            await conn.send_text(wire)
        transcript.messages_sent += 1
        pending = True
        transcript.frames.append(
            Frame(
                direction="send",
                kind=step.kind,
                data=payload,
                name=step.message,
                index=index,
                elapsed_ms=clock.ms(),
                mutation=step.mutation,
                family=step.family,
            )
        )
        if state is not None:
            _note_state(transcript, index, state.sent(step.message, valid=step.mutation is None))
        if ledger is not None:  # a correlated request's reply is the ledger's to wait for
            reply = ledger.sent(index, step.message, payload, step.mutation)
        else:
            reply = replies_expected.get(step.message, ()) if step.mutation is None else ()
        if reply:
            expected.append((index, reply))
        elif step.mutation is not None and step.invalid and rejection:
            rejections.append((index, rejection))
            expected.append(rejections[-1])
        # An abort right after a burst drops the connection while the app is still busy.
        if step.wait or (index == last and not aborting):
            await collect(index, final=index == last)
        if conn.app_error is not None and transcript.app_error is None:
            transcript.app_error, transcript.app_error_index = conn.app_error, index
            transcript.app_error_phase = "conversation"
    if pending and not aborting and index is not None and conn.server_close is None:
        # A burst ended by the protocol allowing nothing more (or by a last step left unsent):
        # a conversation that closes collects its last burst, so that the checks may take
        # "not aborted" for "every burst was waited for" (only an abort leaves one uncollected).
        await collect(index, final=True)
    if index is None:
        events, _ = await conn.settle(settings.message_timeout)
        _record(route, transcript, events, None, clock, ledger)
    if state is not None:
        _note_state(transcript, index, *state.observe(transcript.frames))

    if conn.app_error is not None and transcript.app_error is None:
        transcript.app_error, transcript.app_error_index = conn.app_error, index
        transcript.app_error_phase = "conversation"
    if conn.server_close is None:
        if conversation.close_code is None:
            stopped = await conn.abort(timeout=settings.connection_timeout)
            transcript.frames.append(Frame(direction="abort", index=index, elapsed_ms=clock.ms()))
        else:
            stopped = await conn.close(conversation.close_code, timeout=settings.connection_timeout)
            transcript.frames.append(
                Frame(
                    direction="client_close",
                    code=conversation.close_code,
                    index=index,
                    elapsed_ms=clock.ms(),
                )
            )
        transcript.app_stopped = stopped
    else:
        # The server closed; the app must still end (a real server would drop the socket).
        transcript.app_stopped = await conn.close(1000, timeout=settings.connection_timeout)
    if transcript.app_stopped:
        # Bounded by message_timeout: a task still on a timer or I/O may crash after the close.
        transcript.leaked_tasks, transcript.task_errors = await conn.finish_tasks(
            settings.message_timeout
        )
    _finish(conn, transcript, index, clock)
    return transcript


def _next_step(
    conversation: Conversation,
    index: int,
    state: ProtocolState | None,
    transcript: Transcript,
    running: frozenset[str] = frozenset(),
) -> Step | None:
    """Step ``index``: drawn now from the state reached and the operations ``running`` (a drawn
    conversation), else the fixed one with the values it uses captured from this run's replies."""
    if state is not None:
        _note_state(transcript, index - 1, *state.observe(transcript.frames))
    if conversation.source is not None:
        assert state is not None
        return conversation.source.next(state, running)
    step = conversation.steps[index]
    if state is not None and (step.mutation is None or step.mutation in STATE_MUTATIONS):
        step = replace(step, payload=state.fill(step.message, step.payload))
    return step


def _note_state(transcript: Transcript, index: int | None, *entered: str | None) -> None:
    """A note for each state the connection entered, so a report shows where each step was."""
    for name in entered:
        if name is not None:
            transcript.frames.append(Frame(direction="note", data=f"state: {name}", index=index))


def _finish(conn: Connection, transcript: Transcript, index: int | None, clock: _Clock) -> None:
    if conn.app_error is not None and transcript.app_error is None:
        # Raised after everything we sent was handled: while shutting down (or in the handshake).
        transcript.app_error, transcript.app_error_index = conn.app_error, index
        accepted = isinstance(transcript.handshake, Accepted)
        transcript.app_error_phase = "shutdown" if accepted else "handshake"
    transcript.protocol_errors.extend(getattr(conn, "protocol_errors", ()))
    # What the transport itself did not keep (the in-process driver caps its queue the same way).
    transcript.dropped_frames += getattr(conn, "dropped_frames", 0)
    transcript.dropped_bytes += getattr(conn, "dropped_bytes", 0)
    transcript.portability.extend(getattr(conn, "portability", ()))
    for note in getattr(conn, "notes", ()):  # what a network transport could not send as asked
        transcript.frames.append(Frame(direction="note", data=note, index=index))
    transcript.elapsed_ms = clock.ms()
