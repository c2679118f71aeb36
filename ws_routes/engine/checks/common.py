"""What the checks share: the ``Context`` they read, and helpers over close codes and bursts.

Every family module imports this one and none imports another, so the package has no cycle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ws_routes.driver.transcript import Frame, Transcript, short_repr
from ws_routes.engine.protocol import wrong_state_of
from ws_routes.spec.model import ALWAYS_INVALID_CLOSE_CODES, SERVER_ERROR_CLOSE_CODES

if TYPE_CHECKING:
    from ws_routes.compile.route import CompiledRoute
    from ws_routes.engine.conversation import Conversation, Step

__all__ = [
    "IDLE",
    "IDLE_AFTER",
    "Context",
    "answers_invalid",
    "burst_end",
    "close_text",
    "is_server_error_close",
    "last_sent",
    "state_close_codes",
    "valid_close_code",
]


# What a check says when "no reply" was decided at once (transcript.decided_idle), not by the
# message_timeout: naming a timeout there would be wrong, none was waited out.
IDLE = "the app went idle without answering (nothing left to run but waits for input)"
IDLE_AFTER = "then the app went idle without rejecting it (nothing left to run but waits for input)"


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


def last_sent(t: Transcript, index: int | None) -> Frame | None:
    for frame in t.frames:
        if frame.direction == "send" and frame.index == index:
            return frame
    return None


def close_text(code: int | None, reason: str) -> str:
    # The reason is the server's text: any length, lone surrogates included (a server echoing a
    # client's "\\ud800" escape), so it is previewed, never encoded as it is.
    shown = f" ({short_repr(reason)})" if reason else ""
    return f"connection closed with code {code}{shown}"


def state_close_codes(ctx: Context, index: int | None) -> set[int]:
    """The ``wrong_state`` close codes of the negative messages sent up to ``index``: a server
    that checks the state before the content may refuse a mutant with them too."""
    spec = ctx.route.spec
    return {
        code
        for f in ctx.transcript.sent
        if f.mutation and f.name and (index is None or (f.index or 0) <= index)
        for code in getattr(wrong_state_of(spec, f.name), "close_codes", ())
    }


def burst_end(steps: tuple[Step, ...], i: int) -> int:
    """The last message of the burst ``i`` is in: what the server answers comes after it."""
    return next((j for j in range(i, len(steps)) if steps[j].wait), max(i, len(steps) - 1))


def answers_invalid(steps: tuple[Step, ...], index: int | None) -> bool:
    """A frame collected at ``index`` answers a burst that holds an invalid message."""
    if index is None:
        return False
    return any(
        s.mutation is not None and s.invalid and burst_end(steps, i) >= index
        for i, s in enumerate(steps[: index + 1])
    )
