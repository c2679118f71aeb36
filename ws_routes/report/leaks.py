"""What a failure report says when its case did not reproduce in a fresh app on its own
(:mod:`ws_routes.engine.leaks`): the earlier connections it needs, labelled, or plainly that none
were found. An ordinary bug, which does reproduce fresh, gets no line from here.
"""

from __future__ import annotations

from collections.abc import Sequence

from ws_routes.driver.transcript import Transcript
from ws_routes.engine.leaks import Leak
from ws_routes.report.render import render_handshake

__all__ = ["earlier_lines", "leak_lines"]

_FRESH = (
    "this case passes in a fresh app (a new process that imported the app anew, with a new "
    "lifespan): state left behind by earlier connections is needed"
)


def leak_lines(leak: Leak | None) -> list[str]:
    """The report's lines about ``leak`` ([] when there is none to tell)."""
    if leak is None:
        return []
    cost = f"{leak.replays} fresh replay(s), {leak.elapsed_s:.1f} s"
    searched = f"the {leak.searched} connection(s) this app was sent before it"
    if leak.forgotten:
        searched += f", of which the last {leak.searched - leak.forgotten} were kept"
    if leak.outcome == "error":
        return ["", f"Note: this case could not be replayed in a fresh app: {leak.detail}."]
    if leak.outcome == "found":
        count = len(leak.earlier)
        minimal = "minimal" if leak.minimal else "not minimal: the budget ran out first"
        lines = [
            "",
            f"State left behind: {_FRESH}. These {count} earlier connection(s), replayed "
            f"first, in order, in a fresh app, make it fail again ({minimal}; found among "
            f"{searched}; {cost}). They are part of the minimal case: the crash file, "
            "`ws-routes replay` and the snippet below replay them first.",
        ]
        for number, conversation in enumerate(leak.earlier, 1):
            lines.append(f"Connection {number} (earlier):")
            if number <= len(leak.transcripts):
                lines += [f"  {line}" for line in leak.transcripts[number - 1]]
            else:  # not rendered (too many to show): what was sent
                sent = ", ".join(f"{s.kind} {s.message}" for s in conversation.steps) or "nothing"
                lines.append(f"  ! connect {conversation.url}; sent: {sent}")
        lines.append(f"Connection {count + 1} (the failing case): the transcript above.")
        return lines
    why = (
        f"the search for the earlier connections it needs ran out of its budget ({cost})"
        if leak.outcome == "budget"
        else f"no sequence of {searched} made it fail in a fresh app ({cost})"
    )
    return [
        "",
        f"State left behind: {_FRESH}, but {why}: it is flaky or order-dependent (timing, "
        "threads, or state left by routes tested before this one). It did fail in this run.",
    ]


def earlier_lines(transcripts: Sequence[Transcript]) -> list[str]:
    """Replayed earlier connections, labelled, as a replay prints them before its case."""
    lines: list[str] = []
    for number, transcript in enumerate(transcripts, 1):
        lines.append(f"Connection {number} (earlier):")
        lines += [f"  {line}" for line in render_handshake(transcript).splitlines()]
        lines += [f"  {line}" for line in transcript.render()]
    if transcripts:
        lines.append(f"Connection {len(transcripts) + 1} (the failing case):")
    return lines
