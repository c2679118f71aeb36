"""Checks of what the server sends back: every reply declared (``reply_schema``,
``undocumented_reply``), and every expected reply sent (``reply_expected``)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ws_routes.compile.replies import strict_json
from ws_routes.compile.ties import MISSING, pointer_get
from ws_routes.driver.transcript import Failure, Frame, printable
from ws_routes.engine.checks.common import (
    IDLE,
    Context,
    answers_invalid,
    burst_end,
    last_sent,
)

__all__ = ["check_replies", "check_reply_expected"]


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
            frame=last_sent(t, frame.index),
        )

    for frame in t.received:
        if frame.name is not None:
            continue
        tolerated = answers_invalid(steps, frame.index)
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


def _streams(ctx: Context) -> dict[int, Any]:
    """Message index -> correlation value, for the sent messages that opened a stream."""
    if not ctx.route.ties.used:
        return {}
    ties, out = ctx.route.ties.messages, {}
    for frame in ctx.transcript.sent:
        spec = ties[frame.name].spec if frame.name is not None and frame.name in ties else None
        if spec is not None and spec.stream is not None and spec.correlation is not None:
            out[frame.index or 0] = pointer_get(frame.data, spec.correlation)
    return out


def _request_id(ctx: Context, index: int) -> str:
    """The " with id 7" of a correlated request's description ("" for the others)."""
    sent = last_sent(ctx.transcript, index)
    ties = ctx.route.ties.messages.get(sent.name or "") if sent is not None else None
    if sent is None or ties is None or ties.spec.correlation is None:
        return ""
    value = pointer_get(sent.data, ties.spec.correlation)
    return "" if value is MISSING else f" with id {value!r}"


def check_reply_expected(ctx: Context) -> Iterator[Failure]:
    t = ctx.transcript
    close = t.server_close()
    steps = ctx.conversation.steps
    unrecognised = {f.index for f in t.received if f.name is None}
    streams = _streams(ctx)

    def window_end(index: int) -> int:
        # A stream's end may come any time after its request; a reply within its burst's collect.
        return (t.frames[-1].index or index) if index in streams else burst_end(steps, index)

    missed = [
        (index, names)
        for index, names in t.missed_replies
        # A server that closed in answer to this burst could not reply any more: whether the
        # close was right is close_code's question.
        if (
            close is None
            or close.index is None
            or not index <= close.index <= window_end(index)
        )
        # A reply came but matched no declared one: reply_schema (or undocumented_reply) says so.
        and not any(index <= i <= burst_end(steps, index) for i in unrecognised if i is not None)
    ]
    if missed:
        index, names = missed[0]
        timeout = ctx.route.spec.settings.message_timeout
        either = " or ".join(names)
        # Decided at once when the app went idle: then no timeout was waited for.
        idle = burst_end(steps, index) in t.decided_idle
        if index in streams:
            message = (
                f"the stream of message {index}{_request_id(ctx, index)} never ended "
                f"(no {either})"
            )
            expected = f"the stream to end with {' or '.join(map(repr, names))}"
            actual = "the server went idle with the stream still open"
        else:
            message = f"no {either} reply{_request_id(ctx, index)} to message {index}"
            expected = f"a reply of type {' or '.join(map(repr, names))}" + (
                "" if idle else f" within {timeout} s"
            )
            actual = IDLE if idle else f"no reply within {timeout} s"
        yield Failure(
            check="reply_expected",
            error_type="missing_reply",
            message=message,
            expected=expected,
            actual=actual,
            index=index,
            frame=last_sent(t, index),
        )
