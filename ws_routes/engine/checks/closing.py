"""Checks of how a connection ends: the close code and reason (``close_code``), a handler that
returns without closing (``close_before_return``), and an app that outlives a client who closed
(``graceful_shutdown``) or vanished (``disconnect``)."""

from __future__ import annotations

from collections.abc import Iterator

from ws_routes.driver.transcript import Failure, Frame
from ws_routes.driver.transport import Rejected
from ws_routes.engine.checks.common import (
    Context,
    close_text,
    is_server_error_close,
    last_sent,
    state_close_codes,
    valid_close_code,
)
from ws_routes.spec.model import SERVER_ERROR_CLOSE_CODES

__all__ = [
    "MAX_CLOSE_REASON_BYTES",
    "check_close_before_return",
    "check_close_code",
    "check_disconnect",
    "check_graceful_shutdown",
    "is_benign_disconnect",
]


# Close reasons must fit a control frame: 125 bytes minus the 2-byte code (RFC 6455 5.5, 7.4).
MAX_CLOSE_REASON_BYTES = 123


def is_benign_disconnect(exc: BaseException) -> bool:
    """A framework's own "client went away" exception escaping after the client closed.

    Starlette, FastAPI and Litestar raise ``WebSocketDisconnect`` from ``receive_*`` by design;
    letting it end the handler loses nothing, so it is not reported as a shutdown failure.
    """
    return type(exc).__name__ == "WebSocketDisconnect"


def _utf8_size(text: str) -> int:
    """Bytes ``text`` takes in UTF-8, a lone surrogate counted as the 3 bytes it would take."""
    return len(text.encode("utf-8", "surrogatepass"))


def check_close_code(ctx: Context) -> Iterator[Failure]:
    t, spec = ctx.transcript, ctx.route.spec
    close = t.server_close()
    codes: list[tuple[int | None, str, Frame | None]] = []
    if close is not None and not close.dropped:  # no close frame: close_before_return's
        codes.append((close.code, close.reason, close))
    if isinstance(t.handshake, Rejected) and t.handshake.close_code is not None:
        codes.append((t.handshake.close_code, t.handshake.reason, None))
    for code, reason, frame in codes:
        index = frame.index if frame else None
        if code is None or is_server_error_close(code, reason):
            continue  # no_server_error's to report
        negative = any(f.mutation for f in t.sent if index is None or (f.index or 0) <= index)
        if code in SERVER_ERROR_CLOSE_CODES:
            # The framework refused the input on purpose (see is_server_error_close): right for
            # a mutant or on a route nobody described; a contract breach after valid messages.
            if frame is not None and spec.declared and not negative:
                yield Failure(
                    check="close_code",
                    error_type="contract_violation",
                    message="the framework refused a message the spec declares valid",
                    expected="messages valid by the spec's schemas to be accepted (is the schema "
                    "looser than the handler's types?)",
                    actual=close_text(code, reason),
                    index=index,
                    frame=last_sent(t, index),
                )
            continue
        if not valid_close_code(code):
            yield Failure(
                check="close_code",
                error_type="protocol_violation",
                message=f"server closed with code {code}, which no endpoint may send",
                expected="1000-1003, 1007-1014 or 3000-4999 (1004-1006 and 1015 are reserved)",
                actual=close_text(code, reason),
                index=index,
            )
        elif _utf8_size(reason) > MAX_CLOSE_REASON_BYTES:
            yield Failure(
                check="close_code",
                error_type="protocol_violation",
                message="close reason longer than 123 UTF-8 bytes (it cannot fit in a close frame)",
                expected="a reason of at most 123 bytes",
                actual=f"{_utf8_size(reason)} bytes",
                index=index,
            )
        elif frame is not None and spec.close_codes is not None and code != 1000:
            allowed = set(spec.close_codes)
            if negative:
                allowed |= set(spec.invalid.close_codes) | state_close_codes(ctx, index)
            if code not in allowed:
                yield Failure(
                    check="close_code",
                    error_type="contract_violation",
                    message=f"server closed with undeclared code {code}",
                    expected=f"one of {sorted(allowed | {1000})}",
                    actual=close_text(code, reason),
                    index=index,
                    frame=last_sent(t, index),
                )


def check_close_before_return(ctx: Context) -> Iterator[Failure]:
    """The handler returned while the connection was open, without closing it.

    In-process nothing visible happens; over a real server (uvicorn, hypercorn) the socket is
    dropped without a close frame, so browsers and clients report an abnormal closure (1006)
    and usually reconnect. A crash is no_server_error's (the server closes with 1011 then).
    """
    t = ctx.transcript
    close = t.server_close()
    if close is None or not close.dropped or t.app_error is not None or t.over_network:
        return  # over the network a drop may be a crash as well: no_server_error's finding
    yield Failure(
        check="close_before_return",
        error_type="protocol_violation",
        message="the handler returned without closing the connection",
        expected="the handler to close the connection (websocket.close) before it returns, "
        "or to keep serving until the client closes",
        actual="no close frame: over a real server the connection is dropped and the client "
        "sees an abnormal closure (1006)",
        index=close.index,
        frame=last_sent(t, close.index),
    )


def check_graceful_shutdown(ctx: Context) -> Iterator[Failure]:
    t = ctx.transcript
    error = t.app_error
    if error is None or t.app_error_phase != "shutdown" or is_benign_disconnect(error.exception):
        return
    if t.aborted:
        return  # the disconnect check's finding
    yield Failure(
        check="graceful_shutdown",
        error_type="server_error",
        message=f"the app raised {error.summary} after the client closed with {ctx.conversation.close_code}",
        expected="the handler to end cleanly when the client disconnects",
        actual=error.summary,
        cause=error,
        index=t.app_error_index,
    )


def check_disconnect(ctx: Context) -> Iterator[Failure]:
    """The app survives a client that vanishes: no exception, no task left holding the socket."""
    t = ctx.transcript
    error = t.app_error
    last = t.sent[-1].index if t.sent else None
    if (
        t.aborted
        and error is not None
        and t.app_error_phase == "shutdown"
        and not is_benign_disconnect(error.exception)
    ):
        yield Failure(
            check="disconnect",
            error_type="server_error",
            message=f"the app raised {error.summary} after the client dropped the connection",
            expected="the handler to end cleanly when the connection is lost without a close frame",
            actual=error.summary,
            cause=error,
            index=last,
        )
        return
    for task_error, client_gone in t.task_errors:
        if client_gone:
            how = "dropped" if t.aborted else "closed"
            yield Failure(
                check="disconnect",
                error_type="server_error",
                message=f"a task the app started raised {task_error.summary} after the client "
                f"{how} the connection, and nothing handled it",
                expected="tasks that use the socket to stop (or catch the disconnect) when the client leaves",
                actual=task_error.summary,
                cause=task_error,
                index=last,
            )
            return
    if t.leaked_tasks:
        yield Failure(
            check="disconnect",
            error_type="resource_leak",
            message=f"the handler returned, but {len(t.leaked_tasks)} task(s) it started still "
            "held the connection",
            expected="tasks started for a connection to be cancelled when it ends",
            actual="still running: " + "; ".join(t.leaked_tasks[:3]),
            index=last,
        )
