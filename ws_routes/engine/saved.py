"""A saved failure replayed: a conversation judged by the checks, or a probe judged as a probe.

Crash files (:mod:`ws_routes.report.crashfiles`) keep either; the route runner replays them
before its searches, and ``ws-routes replay`` outside pytest, both through these two functions.
"""

from __future__ import annotations

from ws_routes.compile.route import CompiledRoute
from ws_routes.driver.transcript import Failure, Transcript
from ws_routes.driver.transport import Transport
from ws_routes.engine.checks import evaluate
from ws_routes.engine.conversation import Conversation
from ws_routes.engine.judge import judge
from ws_routes.engine.play import run_conversation
from ws_routes.engine.probe_base import Probe

__all__ = ["Saved", "conversation_of", "judge_saved", "play_saved"]

# A probe's failure is judged by what its group allows (a refusal may be right), so it is kept
# as the probe, not as its bare conversation.
Saved = Conversation | Probe


def conversation_of(saved: Saved) -> Conversation:
    return saved.conversation if isinstance(saved, Probe) else saved


async def play_saved(
    transport: Transport, route: CompiledRoute, saved: Saved, transcript: Transcript
) -> None:
    """Run the saved conversation (or the probe's) once, recording into ``transcript``."""
    await run_conversation(transport, route, conversation_of(saved), transcript=transcript)


def judge_saved(route: CompiledRoute, saved: Saved, transcript: Transcript) -> list[Failure]:
    """The failures of a replayed ``saved`` (most severe first): [] when it passes now."""
    if isinstance(saved, Probe):
        return judge(route, saved, transcript).failures
    return evaluate(route, saved, transcript)
