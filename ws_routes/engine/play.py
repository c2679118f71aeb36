"""Running a conversation through a transport, and recording what happened in a transcript.

:func:`run_conversation` connects, sends each step (settling after it unless the step is part of
a burst), waits for the replies the spec expects, closes or aborts as the conversation says and
returns the :class:`~ws_routes.driver.transcript.Transcript`. What a conversation is and how
Hypothesis draws one is :mod:`ws_routes.engine.conversation`; judging the transcript is the
checks' business.
"""

from __future__ import annotations

import time

from ws_routes.compile.route import CompiledRoute
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
from ws_routes.engine.conversation import Conversation, encode_payload
from ws_routes.spec.model import Kind

__all__ = ["run_conversation"]


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
        name, kind, value = route.classify(raw_kind, event.data)
        transcript.frames.append(
            Frame(
                direction="recv",
                kind=kind,
                data=value,
                name=name,
                index=index,
                elapsed_ms=clock.ms(),
            )
        )


def _unanswered(
    expected: list[tuple[int, tuple[str, ...]]], replies: list[str]
) -> list[tuple[int, tuple[str, ...]]]:
    """Match each expectation, in order, to a distinct reply of one of its names."""
    pool = list(replies)
    missing = []
    for index, names in expected:
        for i, name in enumerate(pool):
            if name in names:
                del pool[i]
                break
        else:
            missing.append((index, names))
    return missing


async def _collect(
    conn: Connection,
    route: CompiledRoute,
    transcript: Transcript,
    index: int | None,
    expected: list[tuple[int, tuple[str, ...]]],
    clock: _Clock,
) -> list[tuple[int, tuple[str, ...]]]:
    """Settle, then, while an expected reply is missing, wait until it comes, the app is idle
    (decided at once: noted in ``transcript.decided_idle``) or ``message_timeout`` passes."""
    timeout = route.spec.settings.message_timeout
    deadline = time.perf_counter() + timeout
    start = len(transcript.frames)
    events, idle = await conn.settle(timeout)
    _record(route, transcript, events, index, clock)

    def names() -> list[str]:
        return [f.name for f in transcript.frames[start:] if f.direction == "recv" and f.name]

    missing = _unanswered(expected, names())
    while missing and not idle and conn.server_close is None:
        event = await conn.wait_event(max(0.0, deadline - time.perf_counter()))
        if isinstance(event, Silence):
            idle = event is Silence.IDLE
            break
        _record(route, transcript, [event], index, clock)
        missing = _unanswered(expected, names())
    if missing and idle and index is not None:
        transcript.decided_idle.append(index)
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
    if not isinstance(conn.handshake, Accepted):
        # A refused or unanswered handshake still leaves an app task to end; an unanswered one
        # may be stuck, and the no_hang check reads whether it stopped when we gave up.
        transcript.app_stopped = await conn.abort(timeout=min(settings.connection_timeout, 1.0))
        _finish(conn, transcript, None, clock)
        return transcript

    replies_expected = {m.spec.name: m.spec.reply for m in route.messages}
    # With invalid.must_reject, an invalid message must be answered by an error reply (or a
    # close, which ends the waiting anyway): wait for one as for an expected reply.
    rejection = (
        tuple(r.spec.name for r in route.replies if r.spec.error)
        if route.spec.invalid.must_reject
        else ()
    )
    expected: list[tuple[int, tuple[str, ...]]] = []
    rejections: list[tuple[int, tuple[str, ...]]] = []
    last = len(conversation.steps) - 1
    aborting = conversation.close_code is None
    index: int | None = None
    for index, step in enumerate(conversation.steps):
        if conn.server_close is not None:
            # What the server sent before closing (data, the close frame) is still queued when
            # no step collected it: record it, or a server that closes at once looks silent.
            events, _ = await conn.settle(settings.message_timeout)
            _record(route, transcript, events, index - 1 if index else None, clock)
            transcript.frames.append(
                Frame(
                    direction="note",
                    data=f"server closed: {last - index + 1} message(s) not sent",
                    index=index,
                )
            )
            break
        wire = encode_payload(step.kind, step.payload)
        if isinstance(wire, bytes):
            await conn.send_bytes(wire)
        else:
            await conn.send_text(wire)
        transcript.messages_sent += 1
        transcript.frames.append(
            Frame(
                direction="send",
                kind=step.kind,
                data=step.payload,
                name=step.message,
                index=index,
                elapsed_ms=clock.ms(),
                mutation=step.mutation,
            )
        )
        if step.mutation is None:
            reply = replies_expected.get(step.message, ())
            if reply:
                expected.append((index, reply))
        elif step.invalid and rejection:
            rejections.append((index, rejection))
            expected.append(rejections[-1])
        # An abort right after a burst drops the connection while the app is still busy.
        if step.wait or (index == last and not aborting):
            missing = await _collect(conn, route, transcript, index, expected, clock)
            transcript.missed_replies.extend(m for m in missing if m not in rejections)
            expected = []
        if conn.app_error is not None and transcript.app_error is None:
            transcript.app_error, transcript.app_error_index = conn.app_error, index
            transcript.app_error_phase = "conversation"
    if not conversation.steps:
        events, _ = await conn.settle(settings.message_timeout)
        _record(route, transcript, events, None, clock)

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
        transcript.leaked_tasks, transcript.task_errors = await conn.finish_tasks()
    _finish(conn, transcript, index, clock)
    return transcript


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
    transcript.elapsed_ms = clock.ms()
