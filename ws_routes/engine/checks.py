"""Checks: pure functions from (route, conversation, transcript) to failures.

Each check has a name (reports print it; ``settings.checks`` switches it off) and only reads the
transcript, so checks are cheap and can be tested without an app.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

from ws_routes.compile.route import strict_json
from ws_routes.driver.transcript import (
    MAX_KEPT_BYTES,
    MAX_KEPT_FRAMES,
    Failure,
    Frame,
    Transcript,
    printable,
    short_repr,
)
from ws_routes.driver.transport import Accepted, Rejected
from ws_routes.spec.model import ALWAYS_INVALID_CLOSE_CODES, SERVER_ERROR_CLOSE_CODES

if TYPE_CHECKING:
    from ws_routes.compile.route import CompiledRoute
    from ws_routes.engine.conversation import Conversation, Step

__all__ = [
    "CHECKS",
    "Context",
    "evaluate",
    "is_benign_disconnect",
    "is_server_error_close",
    "valid_close_code",
]

# Close reasons must fit a control frame: 125 bytes minus the 2-byte code (RFC 6455 5.5, 7.4).
MAX_CLOSE_REASON_BYTES = 123


@dataclass(frozen=True, slots=True)
class Context:
    route: CompiledRoute
    conversation: Conversation
    transcript: Transcript


def valid_close_code(code: int) -> bool:
    """Codes an endpoint may put in a close frame (RFC 6455 7.4.1-7.4.2, IANA registry)."""
    if code in ALWAYS_INVALID_CLOSE_CODES:
        return False
    return 1000 <= code <= 1014 or 3000 <= code <= 4999


# Litestar closes with 4000 + HTTP status: 4500 and this reason when a handler raised; with the
# exception's own detail when the framework refused the input on purpose (malformed JSON, data
# failing a typed listener's validation), which is a rejection, not a crash.
_GENERIC_ERROR_REASONS = frozenset({"", "Internal Server Error"})


def is_server_error_close(code: int | None, reason: str) -> bool:
    """A close that reports a crash: 1011 always, 4500 unless it carries a specific reason."""
    if code == 1011:
        return True
    return code in SERVER_ERROR_CLOSE_CODES and reason in _GENERIC_ERROR_REASONS


def is_benign_disconnect(exc: BaseException) -> bool:
    """A framework's own "client went away" exception escaping after the client closed.

    Starlette, FastAPI and Litestar raise ``WebSocketDisconnect`` from ``receive_*`` by design;
    letting it end the handler loses nothing, so it is not reported as a shutdown failure.
    """
    return type(exc).__name__ == "WebSocketDisconnect"


def _last_sent(t: Transcript, index: int | None) -> Frame | None:
    for frame in t.frames:
        if frame.direction == "send" and frame.index == index:
            return frame
    return None


def _close_text(code: int | None, reason: str) -> str:
    # The reason is the server's text: any length, lone surrogates included (a server echoing a
    # client's "\\ud800" escape), so it is previewed, never encoded as it is.
    shown = f" ({short_repr(reason)})" if reason else ""
    return f"connection closed with code {code}{shown}"


def _utf8_size(text: str) -> int:
    """Bytes ``text`` takes in UTF-8, a lone surrogate counted as the 3 bytes it would take."""
    return len(text.encode("utf-8", "surrogatepass"))


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
    return (
        _answers_invalid(steps, index)
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
            frame=_last_sent(t, t.app_error_index),
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
            actual=_close_text(close.code, close.reason),
            index=close.index,
            frame=_last_sent(t, close.index),
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
        yield Failure(
            check="no_hang",
            error_type="timeout",
            message=f"the app neither accepted nor refused within {settings.connection_timeout} s",
            expected="websocket.accept or websocket.close during the handshake",
            actual="no answer (the handler may be waiting for a message before calling accept())",
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


def _allowed_rejection_codes(ctx: Context) -> set[int]:
    spec = ctx.route.spec
    codes = set(spec.close_codes or ())
    if spec.auth is not None:
        codes |= set(spec.auth.reject_close_codes)
    return codes


def check_handshake(ctx: Context) -> Iterator[Failure]:
    """A declared route must accept, or refuse the way the spec allows: with a close code from
    ``close_codes`` or ``auth.reject_close_codes``, or (routes with ``auth``) an HTTP 401/403
    denial response, the usual answer to a client without credentials."""
    t, spec = ctx.transcript, ctx.route.spec
    if not isinstance(t.handshake, Rejected) or t.handshake.status >= 500 or not spec.declared:
        # Undeclared routes that refuse are reported by the item as "nothing could be tested".
        return
    rejected = t.handshake
    if rejected.close_code is not None and rejected.close_code in _allowed_rejection_codes(ctx):
        return
    if rejected.close_code is None and spec.auth is not None and rejected.status in (401, 403):
        return
    what = (
        f"refused with close code {rejected.close_code} before accepting (HTTP 403 on a real server)"
        if rejected.close_code is not None
        else f"refused with HTTP {rejected.status}"
    )
    hint = ""
    if rejected.close_code == 1000 and spec.declared:
        hint = " — a router closes with 1000 when no route matches: check the path and path_params"
    yield Failure(
        check="handshake",
        error_type="handshake_error",
        message=f"the route {what}{hint}",
        expected="the connection to be accepted (declare refusal codes in close_codes or auth.reject_close_codes)",
        actual=what,
    )


def check_subprotocol(ctx: Context) -> Iterator[Failure]:
    t, spec = ctx.transcript, ctx.route.spec
    if not isinstance(t.handshake, Accepted):
        return
    chosen, offered = t.handshake.subprotocol, t.subprotocols
    if chosen is not None and chosen not in offered:
        yield Failure(
            check="subprotocol_negotiation",
            error_type="protocol_violation",
            message=f"server selected subprotocol {short_repr(chosen, 80)}, which the client "
            "did not offer",
            expected=f"one of {list(offered)}" if offered else "no subprotocol (none was offered)",
            actual=short_repr(chosen),
        )
    elif chosen is None and offered and spec.settings.validate_subprotocols and spec.subprotocols:
        yield Failure(
            check="subprotocol_negotiation",
            error_type="protocol_violation",
            message="server accepted without selecting any of the offered subprotocols",
            expected=f"one of {list(offered)}",
            actual="no subprotocol selected",
        )


def _answers_invalid(steps: tuple[Step, ...], index: int | None) -> bool:
    """A frame collected at ``index`` answers a burst that holds an invalid message."""
    if index is None:
        return False
    return any(
        s.mutation is not None and s.invalid and _burst_end(steps, i) >= index
        for i, s in enumerate(steps[: index + 1])
    )


def check_replies(ctx: Context) -> Iterator[Failure]:
    """Every reply matches a declared one.

    What answers invalid input is held to the contract only where it is an error reply: a
    server may tolerate a bad message and answer it (echoing the too-long id it was sent), and
    without ``invalid.must_reject`` the spec does not say it must refuse it.
    """
    route, t, settings = ctx.route, ctx.transcript, ctx.route.spec.settings
    if not route.replies:
        return
    kinds = {r.spec.kind for r in route.replies}
    steps = ctx.conversation.steps

    def failure(check: str, message: str, expected: str, actual: str, frame: Frame) -> Failure:
        return Failure(
            check=check,
            error_type="contract_violation",
            message=message,
            expected=expected,
            actual=actual,
            index=frame.index,
            frame=_last_sent(t, frame.index),
        )

    for frame in t.received:
        if frame.name is not None:
            continue
        tolerated = _answers_invalid(steps, frame.index)
        if frame.kind == "text" and "json" in kinds and "text" not in kinds:
            if settings.check_enabled("undocumented_reply") and not tolerated:
                yield failure(
                    "undocumented_reply",
                    "a reply is not valid JSON, and only JSON replies are declared",
                    f"JSON, one of {[r.spec.name for r in route.replies]}",
                    frame.render() + "\n" + _json_error(frame.data),
                    frame,
                )
                return
            continue
        same_kind = [r for r in route.replies if r.spec.kind == frame.kind]
        if same_kind and settings.check_enabled("reply_schema"):
            # jsonschema's detailed errors are slow: computed once per reply type, failures only.
            reasons, closest = min(
                ((r.errors(frame.data), r) for r in same_kind), key=lambda pair: len(pair[0])
            )
            if tolerated and not closest.spec.error:
                continue
            if not reasons:  # the fast validator and jsonschema disagree on an edge case
                reasons = [
                    "(jsonschema finds no error here; jsonschema-rs, which checks replies, does)"
                ]
            yield failure(
                "reply_schema",
                f"a {frame.kind} reply matches none of the declared replies",
                f"one of {[r.spec.name for r in same_kind]} (closest: {closest.spec.name!r})",
                frame.render() + "\n" + "\n".join(reasons[:5]),
                frame,
            )
            return
        if not same_kind and settings.check_enabled("undocumented_reply") and not tolerated:
            yield failure(
                "undocumented_reply",
                f"the server sent a {frame.kind} frame, but no {frame.kind} reply is declared",
                f"replies of kind {sorted(kinds)}",
                frame.render(),
                frame,
            )
            return


def _json_error(data: object) -> str:
    try:
        strict_json(data if isinstance(data, (str, bytes)) else "")
    except ValueError as exc:
        return printable(str(exc))[:300]
    except RecursionError:
        return "nested deeper than Python's JSON parser goes"
    return "valid JSON"  # not reached: the frame was read as text because it did not parse


def _burst_end(steps: tuple[Step, ...], i: int) -> int:
    """The last message of the burst ``i`` is in: what the server answers comes after it."""
    return next((j for j in range(i, len(steps)) if steps[j].wait), max(i, len(steps) - 1))


def check_reply_expected(ctx: Context) -> Iterator[Failure]:
    t = ctx.transcript
    close = t.server_close()
    steps = ctx.conversation.steps
    unrecognised = {f.index for f in t.received if f.name is None}
    missed = [
        (index, names)
        for index, names in t.missed_replies
        # A server that closed in answer to this burst could not reply any more: whether the
        # close was right is close_code's question.
        if (
            close is None
            or close.index is None
            or not index <= close.index <= _burst_end(steps, index)
        )
        # A reply came but matched no declared one: reply_schema (or undocumented_reply) says so.
        and not any(index <= i <= _burst_end(steps, index) for i in unrecognised if i is not None)
    ]
    if missed:
        index, names = missed[0]
        timeout = ctx.route.spec.settings.message_timeout
        yield Failure(
            check="reply_expected",
            error_type="missing_reply",
            message=f"no {' or '.join(names)} reply to message {index}",
            expected=f"a reply of type {' or '.join(map(repr, names))} within {timeout} s",
            actual="the server went quiet without sending one",
            index=index,
            frame=_last_sent(t, index),
        )


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
                    actual=_close_text(code, reason),
                    index=index,
                    frame=_last_sent(t, index),
                )
            continue
        if not valid_close_code(code):
            yield Failure(
                check="close_code",
                error_type="protocol_violation",
                message=f"server closed with code {code}, which no endpoint may send",
                expected="1000-1003, 1007-1014 or 3000-4999 (1004-1006 and 1015 are reserved)",
                actual=_close_text(code, reason),
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
                allowed |= set(spec.invalid.close_codes)
            if code not in allowed:
                yield Failure(
                    check="close_code",
                    error_type="contract_violation",
                    message=f"server closed with undeclared code {code}",
                    expected=f"one of {sorted(allowed | {1000})}",
                    actual=_close_text(code, reason),
                    index=index,
                    frame=_last_sent(t, index),
                )


def check_close_before_return(ctx: Context) -> Iterator[Failure]:
    """The handler returned while the connection was open, without closing it.

    In-process nothing visible happens; over a real server (uvicorn, hypercorn) the socket is
    dropped without a close frame, so browsers and clients report an abnormal closure (1006)
    and usually reconnect. A crash is no_server_error's (the server closes with 1011 then).
    """
    t = ctx.transcript
    close = t.server_close()
    if close is None or not close.dropped or t.app_error is not None:
        return
    yield Failure(
        check="close_before_return",
        error_type="protocol_violation",
        message="the handler returned without closing the connection",
        expected="the handler to close the connection (websocket.close) before it returns, "
        "or to keep serving until the client closes",
        actual="no close frame: over a real server the connection is dropped and the client "
        "sees an abnormal closure (1006)",
        index=close.index,
        frame=_last_sent(t, close.index),
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


def check_invalid_input(ctx: Context) -> Iterator[Failure]:
    """With ``invalid.must_reject``: every invalid message is answered by a documented error
    reply or a close with an allowed code, never by silence."""
    route, t = ctx.route, ctx.transcript
    spec = route.spec
    if not spec.invalid.must_reject:
        return
    errors = {r.spec.name for r in route.replies if r.spec.error}
    codes = set(spec.invalid.close_codes) | set(spec.close_codes or ())
    steps = ctx.conversation.steps
    for frame in t.sent:
        i = frame.index
        if i is None or i >= len(steps) or not (steps[i].mutation and steps[i].invalid):
            continue
        # In a burst, what the server answers is collected after the burst's last message.
        last = _burst_end(steps, i)
        answered = any(
            f.index is not None
            and i <= f.index <= last
            and (
                (f.direction == "recv" and f.name in errors)
                or (f.direction == "server_close" and f.code in codes)
            )
            for f in t.frames
        )
        if not answered:
            yield Failure(
                check="invalid_input",
                error_type="negative_case",
                message=f"invalid message {i} ({steps[i].mutation}) was not rejected",
                expected=(f"an error reply ({', '.join(sorted(errors))}) or " if errors else "a ")
                + f"close with one of {sorted(codes)} within {spec.settings.message_timeout} s",
                actual="; ".join(f.render() for f in t.frames if f.index == i and f is not frame)
                or "silence",
                index=i,
                frame=frame,
            )
            return


def _as_negative(failure: Failure, steps: tuple[Step, ...]) -> Failure:
    """Name the mutant a failure follows: it is a finding about bad input (invalid_input)."""
    if failure.index is None or failure.check in ("no_hang", "invalid_input"):
        return failure
    mutants = [(i, s) for i, s in enumerate(steps[: failure.index + 1]) if s.mutation]
    if not mutants:
        return failure
    i, step = mutants[-1]
    where = "" if i == failure.index else f" (sent as message {i})"
    return replace(
        failure,
        check="invalid_input",
        error_type="negative_case",
        message=f"negative case, {step.mutation}{where}: {failure.message}",
        origin=f"{failure.check}|{failure.error_type}",
    )


def check_protocol(ctx: Context) -> Iterator[Failure]:
    for problem in ctx.transcript.protocol_errors[:1]:
        yield Failure(
            check="no_server_error",
            error_type="protocol_violation",
            message=f"the app broke the ASGI WebSocket protocol: {problem}",
            expected="messages a real server accepts",
            actual=problem,
        )


CHECKS: tuple[tuple[str, Callable[[Context], Iterator[Failure]]], ...] = (
    ("no_server_error", check_no_server_error),
    ("no_hang", check_no_hang),
    ("flood", check_flood),
    ("handshake", check_handshake),
    ("subprotocol_negotiation", check_subprotocol),
    ("reply_schema", check_replies),  # also yields undocumented_reply, switched separately
    ("reply_expected", check_reply_expected),
    ("close_code", check_close_code),
    ("close_before_return", check_close_before_return),
    ("graceful_shutdown", check_graceful_shutdown),
    ("invalid_input", check_invalid_input),
    ("disconnect", check_disconnect),
    ("no_server_error", check_protocol),
)


def evaluate(
    route: CompiledRoute, conversation: Conversation, transcript: Transcript
) -> list[Failure]:
    """Every failure in ``transcript``, most severe first; disabled checks are skipped."""
    settings = route.spec.settings
    ctx = Context(route, conversation, transcript)
    failures: list[Failure] = []
    for name, check in CHECKS:
        if name == "reply_schema":
            if not (
                settings.check_enabled("reply_schema")
                or settings.check_enabled("undocumented_reply")
            ):
                continue
        elif not settings.check_enabled(name):
            continue
        failures.extend(check(ctx))
    if any(step.mutation for step in conversation.steps):
        failures = [_as_negative(f, conversation.steps) for f in failures]
    return failures
