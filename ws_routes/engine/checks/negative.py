"""Negative cases: invalid input must be refused (``invalid_input``), and any failure that
follows a mutant is reported as a finding about that mutant."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from ws_routes.driver.transcript import Failure
from ws_routes.engine.checks.common import IDLE_AFTER, Context, burst_end
from ws_routes.engine.protocol import STATE_MUTATIONS, wrong_state_of

if TYPE_CHECKING:
    from ws_routes.engine.conversation import Step

__all__ = ["as_negative", "check_invalid_input"]


def check_invalid_input(ctx: Context) -> Iterator[Failure]:
    """With ``invalid.must_reject``: every invalid message is answered by a documented error
    reply or a close with an allowed code, never by silence. A message sent in the wrong state
    whose type declares ``wrong_state`` must get one of those reactions, ``must_reject`` or not
    (unless it follows other messages in a burst, whose reaction it could be).

    Neither is judged in a burst the client aborted after: its replies were never waited for
    (the connection dropped a fraction of a millisecond after the send), so its silence says
    nothing about the server.
    """
    route, t = ctx.route, ctx.transcript
    spec = route.spec
    errors = {r.spec.name for r in route.replies if r.spec.error}
    codes = set(spec.invalid.close_codes) | set(spec.close_codes or ())
    steps = ctx.conversation.steps
    for frame in t.sent:
        i = frame.index
        if i is None or i >= len(steps) or not steps[i].mutation:
            continue
        step = steps[i]
        wrong = wrong_state_of(spec, step.message) if step.mutation in STATE_MUTATIONS else None
        # A burst the client aborted after was never collected (the player collects the last
        # burst unless it aborts): no answer to it was waited for.
        if not steps[burst_end(steps, i)].wait and t.aborted:
            continue
        # After the first message of a burst, the server's answer may be to an earlier one.
        if (
            wrong is not None
            and (wrong.close_codes or wrong.replies)
            and (not i or steps[i - 1].wait)
        ):
            allowed, replies, label = set(wrong.close_codes), set(wrong.replies), "a reply"
        elif spec.invalid.must_reject and step.invalid:
            allowed, replies, label = codes, errors, "an error reply"
        else:
            continue
        # In a burst, what the server answers is collected after the burst's last message.
        last = burst_end(steps, i)
        answered = any(
            f.index is not None
            and i <= f.index <= last
            and (
                (f.direction == "recv" and f.name in replies)
                or (f.direction == "server_close" and f.code in allowed)
            )
            for f in t.frames
        )
        if not answered:
            what = (
                f"invalid message {i} ({step.mutation}) was not rejected"
                if step.mutation not in STATE_MUTATIONS
                else f"message {i} ({step.message}), sent in a state its 'when' excludes "
                f"({step.mutation}), was not refused"
            )
            idle = last in t.decided_idle  # decided at once: no timeout was waited for
            within = "" if idle else f" within {spec.settings.message_timeout} s"
            yield Failure(
                check="invalid_input",
                error_type="negative_case",
                message=what,
                expected=(f"{label} ({', '.join(sorted(replies))}) or " if replies else "a ")
                + f"close with one of {sorted(allowed)}{within}",
                actual="; ".join(
                    [f.render() for f in t.frames if f.index == i and f is not frame] or ["silence"]
                )
                + (f"; {IDLE_AFTER}" if idle else ""),
                index=i,
                frame=frame,
            )
            return


def as_negative(failure: Failure, steps: tuple[Step, ...]) -> Failure:
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
