"""Checks that the app survives: no exception or internal-error close (``no_server_error``, also
for breaches of the ASGI protocol), no hang (``no_hang``), no flood of frames (``flood``)."""

from __future__ import annotations

from collections.abc import Iterator

from ws_routes.driver.transcript import MAX_KEPT_BYTES, MAX_KEPT_FRAMES, Failure
from ws_routes.driver.transport import Rejected
from ws_routes.engine.checks.common import (
    Context,
    answers_invalid,
    close_text,
    is_server_error_close,
    last_sent,
    state_close_codes,
)

__all__ = ["check_flood", "check_no_hang", "check_no_server_error", "check_protocol"]


def _refused_then_raised(ctx: Context) -> bool:
    """The app closed with an allowed code in answer to an invalid message, then raised.

    Starlette's ``WebSocketEndpoint`` refuses malformed input that way (close 1003, then
    ``RuntimeError``): the client got a clean refusal, and the server only logs the exception.
    """
    t, steps = ctx.transcript, ctx.conversation.steps
    close, index = t.server_close(), t.app_error_index
    if close is None or close.code is None or index is None or index >= len(steps):
        return False
    codes = set(ctx.route.spec.invalid.close_codes) | set(ctx.route.spec.close_codes or ())
    codes |= state_close_codes(ctx, index)
    return (
        answers_invalid(steps, index)
        and close.index == index
        and close.code in codes
        and not is_server_error_close(close.code, close.reason)
    )


def check_no_server_error(ctx: Context) -> Iterator[Failure]:
    t = ctx.transcript
    error = t.app_error
    # Errors raised while shutting down are graceful_shutdown's to report.
    if error is not None and t.app_error_phase != "shutdown" and not _refused_then_raised(ctx):
        yield Failure(
            check="no_server_error",
            error_type="server_error",
            message=f"the app raised {error.summary}",
            expected="the handler to handle every message without raising",
            actual=error.summary,
            cause=error,
            index=t.app_error_index,
            frame=last_sent(t, t.app_error_index),
        )
        return
    for task_error, client_gone in t.task_errors:
        if not client_gone:  # after the client left, it is the disconnect check's finding
            yield Failure(
                check="no_server_error",
                error_type="server_error",
                message=f"a task the app started raised {task_error.summary}, and nothing handled it",
                expected="the app's tasks to handle their errors (or the handler to await them)",
                actual=task_error.summary,
                cause=task_error,
                index=t.sent[-1].index if t.sent else None,
            )
            return
    close = t.server_close()
    if close is not None and is_server_error_close(close.code, close.reason):
        yield Failure(
            check="no_server_error",
            error_type="server_error",
            message="server closed the connection with an internal-error code",
            expected="connection to remain open, or a documented close code",
            actual=close_text(close.code, close.reason),
            index=close.index,
            frame=last_sent(t, close.index),
        )
    if t.over_network and close is not None and close.dropped:
        # A client cannot tell a handler that returned from a server that failed: both drop.
        yield Failure(
            check="no_server_error",
            error_type="server_error",
            message=close.reason or "the server dropped the connection without a close frame",
            expected="a close frame (a code and a reason) before the connection ends",
            actual="no close frame: the client sees an abnormal closure (1006)",
            index=close.index,
            frame=last_sent(t, close.index),
        )
    if isinstance(t.handshake, Rejected) and t.handshake.status == 0:
        yield Failure(
            check="no_server_error",
            error_type="server_error",
            message="the server gave no valid answer to the handshake",
            expected="an HTTP response: 101 Switching Protocols, or a refusal",
            actual=t.handshake.reason or "no HTTP response",
        )
    if isinstance(t.handshake, Rejected) and t.handshake.status >= 500:
        yield Failure(
            check="no_server_error",
            error_type="server_error",
            message=f"handshake failed with HTTP {t.handshake.status}",
            expected="the handshake to be accepted or refused on purpose (403 / a close code)",
            actual=f"HTTP {t.handshake.status}",
        )


def check_no_hang(ctx: Context) -> Iterator[Failure]:
    t, settings = ctx.transcript, ctx.route.spec.settings
    if t.handshake is None:
        who = "server" if t.over_network else "app"
        yield Failure(
            check="no_hang",
            error_type="timeout",
            message=f"the {who} neither accepted nor refused within {settings.connection_timeout} s",
            expected="websocket.accept or websocket.close during the handshake",
            actual="no answer (the handler may be waiting for a message before calling accept())",
        )
    elif not t.app_stopped and t.over_network:
        # "Stopped" is the closing handshake a client sees (or, from a server we started, what
        # its view says of the handler).
        yield Failure(
            check="no_hang",
            error_type="timeout",
            message=f"the server did not finish the closing handshake (or its handler did not "
            f"return) within {settings.connection_timeout} s",
            expected="the server to answer the client's close frame and end the connection",
            actual="still open when the client gave up (it then dropped the connection)",
            index=t.sent[-1].index if t.sent else None,
        )
    elif not t.app_stopped:
        yield Failure(
            check="no_hang",
            error_type="timeout",
            message=f"the app did not stop within {settings.connection_timeout} s after the connection closed",
            expected="the handler to return once the client has disconnected",
            actual="the handler was still running and was cancelled",
            index=t.sent[-1].index if t.sent else None,
        )


def check_flood(ctx: Context) -> Iterator[Failure]:
    """The server sent more in one conversation than a conversation keeps (see
    ``Transcript.room_for``): a flood. The first frames are kept, the rest only counted."""
    t = ctx.transcript
    if not t.dropped_frames:
        return
    frames = len(t.received) + t.dropped_frames
    size = t.kept_bytes + t.dropped_bytes
    yield Failure(
        check="flood",
        error_type="resource_exhaustion",
        message=f"the server sent {frames:,} frames ({size / 2**20:,.1f} MiB) in one "
        f"conversation of {t.messages_sent} message(s): clients buffer what they receive, "
        "so a flood like this exhausts their memory",
        expected=f"at most {MAX_KEPT_FRAMES:,} frames and {MAX_KEPT_BYTES // 2**20} MiB per "
        "conversation (replies in proportion to what the client sends)",
        actual=f"{t.dropped_frames:,} frame(s) ({t.dropped_bytes:,} bytes/chars) beyond that, "
        "counted but not kept",
        index=t.sent[-1].index if t.sent else None,
    )


def check_protocol(ctx: Context) -> Iterator[Failure]:
    network = ctx.transcript.over_network
    for problem in ctx.transcript.protocol_errors[:1]:
        yield Failure(
            check="no_server_error",
            error_type="protocol_violation",
            message=f"the server broke the WebSocket protocol: {problem}"
            if network
            else f"the app broke the ASGI WebSocket protocol: {problem}",
            expected="frames a client accepts (RFC 6455)"
            if network
            else "messages a real server accepts",
            actual=problem,
        )
