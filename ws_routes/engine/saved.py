"""A saved failure replayed: a conversation judged by the checks, or a probe judged as a probe.

Crash files (:mod:`ws_routes.report.crashfiles`) keep either; the route runner replays them
before its searches, and ``ws-routes replay`` outside pytest, both through these two functions.
A failure that needs state earlier connections leave behind (:mod:`ws_routes.engine.leaks`) is
saved :class:`AfterEarlier`: its callers run those connections first, each on its own deadline.
"""

from __future__ import annotations

from dataclasses import dataclass

from ws_routes.compile.route import CompiledRoute
from ws_routes.driver.transcript import Failure, Transcript
from ws_routes.driver.transport import Transport
from ws_routes.engine.checks import evaluate
from ws_routes.engine.conversation import Conversation
from ws_routes.engine.judge import judge
from ws_routes.engine.play import run_conversation
from ws_routes.engine.probe_base import Probe

__all__ = [
    "AfterEarlier",
    "Saved",
    "conversation_of",
    "earlier_of",
    "judge_saved",
    "play_saved",
    "probe_of",
    "unpacked",
]


@dataclass(frozen=True, slots=True)
class AfterEarlier:
    """A saved failure that fails only after ``earlier`` connections ran, in order."""

    saved: Conversation | Probe
    earlier: tuple[Conversation, ...]


# A probe's failure is judged by what its group allows (a refusal may be right), so it is kept
# as the probe, not as its bare conversation.
Saved = Conversation | Probe | AfterEarlier


def probe_of(saved: Saved) -> Probe | None:
    """The probe ``saved`` is, if it is one."""
    inner = saved.saved if isinstance(saved, AfterEarlier) else saved
    return inner if isinstance(inner, Probe) else None


def conversation_of(saved: Saved) -> Conversation:
    inner = saved.saved if isinstance(saved, AfterEarlier) else saved
    return inner.conversation if isinstance(inner, Probe) else inner


def unpacked(saved: Saved) -> tuple[Conversation, str | None, tuple[Conversation, ...]]:
    """What to send, the name of the probe it is (None: a conversation), what to run first."""
    probe = probe_of(saved)
    return conversation_of(saved), probe.name if probe else None, earlier_of(saved)


def earlier_of(saved: Saved) -> tuple[Conversation, ...]:
    """The connections to run before ``saved``, in order (none for most)."""
    return saved.earlier if isinstance(saved, AfterEarlier) else ()


async def play_saved(
    transport: Transport, route: CompiledRoute, saved: Saved, transcript: Transcript
) -> None:
    """Run the saved conversation (or the probe's) once, recording into ``transcript`` (its
    earlier connections are the caller's to run first)."""
    await run_conversation(transport, route, conversation_of(saved), transcript=transcript)


def judge_saved(route: CompiledRoute, saved: Saved, transcript: Transcript) -> list[Failure]:
    """The failures of a replayed ``saved`` (most severe first): [] when it passes now."""
    probe = probe_of(saved)
    if probe is not None:
        return judge(route, probe, transcript).failures
    return evaluate(route, conversation_of(saved), transcript)
