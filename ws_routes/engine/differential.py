"""``--routes-server differential``: the same connection in-process and under a real server, and
where the two disagree, named as the server's behaviour.

In-process the driver knows what the app sent; over TCP the client sees what the server made of
it. Each minimal failing case and each probe is replayed on both (:func:`compare_cases`), and the
key facts a client can see are compared (:func:`key_facts`): the handshake's outcome, the kinds
of the frames received, the close code and reason, and what the app (or the server) raised. A
disagreement is a finding of its own (check ``differential``), with both sides' facts.
Frame contents are not compared: an app that stamps times or ids would disagree with itself.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ws_routes.compile.route import CompiledRoute
from ws_routes.driver.apps import running_app
from ws_routes.driver.loop import LoopBlocked, LoopThread
from ws_routes.driver.servers import ServerChoice, running_server
from ws_routes.driver.serverview import server_part
from ws_routes.driver.transcript import MAX_KEPT_BYTES, Failure, Transcript
from ws_routes.driver.transport import Accepted, Rejected, Transport
from ws_routes.engine.findings import ConversationFailed, failure_type
from ws_routes.engine.probe_base import Probe
from ws_routes.engine.result import RouteResult
from ws_routes.engine.saved import Saved, conversation_of, play_saved
from ws_routes.errors import WsRoutesError

__all__ = [
    "KeyFacts",
    "add_differences",
    "compare_cases",
    "differential_failure",
    "disagreements",
    "key_facts",
]


@dataclass(frozen=True, slots=True)
class KeyFacts:
    """What a client can tell of one connection, in words."""

    handshake: str
    frames: tuple[str, ...]
    close: str | None
    close_code: int | None
    close_reason: str
    error: str | None
    server_error: str | None

    def lines(self) -> str:
        parts = [f"handshake: {self.handshake}", f"frames received: {_frames(self.frames)}"]
        parts.append(f"close: {self.close or 'none'}")
        if self.error:
            parts.append(f"raised: {self.error}")
        if self.server_error:
            parts.append(f"server: {self.server_error}")
        return "; ".join(parts)


def _frames(kinds: tuple[str, ...]) -> str:
    if not kinds:
        return "none"
    return f"{len(kinds)} ({', '.join(kinds[:8])}{', …' if len(kinds) > 8 else ''})"


def _reason(reason: str) -> str:
    if len(reason) <= 40:
        return repr(reason)
    return f"{reason[:40]!r}… ({len(reason.encode('utf-8', 'surrogatepass'))} bytes)"


def key_facts(t: Transcript) -> KeyFacts:
    h = t.handshake
    if isinstance(h, Accepted):
        handshake = "accepted" + (f" (subprotocol {h.subprotocol})" if h.subprotocol else "")
    elif isinstance(h, Rejected):
        handshake = (
            f"a close {h.close_code} before accepting"
            if h.close_code is not None
            else f"HTTP {h.status}"
            if h.status
            else f"no valid HTTP answer ({h.reason})"
        )
    else:
        handshake = "no answer in time"
    close = t.server_close()
    close_text = None
    if close is not None:
        close_text = (
            "1006, no close frame (the connection dropped)"
            if close.dropped
            else f"{close.code}" + (f" {_reason(close.reason)}" if close.reason else "")
        )
    error = server_error = None
    if t.app_error is not None:
        server_error, app_raised = server_part(t.app_error)
        error = t.app_error.summary if app_raised else None
    return KeyFacts(
        handshake=handshake,
        frames=tuple(str(f.kind) for f in t.received),
        close=close_text,
        close_code=None if close is None else (1006 if close.dropped else close.code),
        close_reason="" if close is None else close.reason,
        error=error,
        server_error=server_error,
    )


def disagreements(server: str, here: KeyFacts, there: KeyFacts) -> list[str]:
    """Each way ``server`` (``there``) differs from in-process (``here``), in a sentence."""
    found: list[str] = []
    if here.handshake != there.handshake:
        found.append(
            f"{server} answers this handshake with {there.handshake}; in-process it was "
            f"{here.handshake}"
        )
        return found  # what follows a different handshake differs as a consequence
    if here.frames != there.frames:
        found.append(
            f"{server} delivers {_frames(there.frames)} frame(s); in-process {_frames(here.frames)}"
        )
    if here.close_code != there.close_code:
        found.append(
            f"{server} closes with {there.close or 'nothing'}; in-process it was "
            f"{here.close or 'no close'}"
        )
    elif here.close_reason != there.close_reason:
        a, b = len(here.close_reason.encode()), len(there.close_reason.encode())
        if here.close_reason.startswith(there.close_reason):
            found.append(f"{server} cuts the close reason to {b} bytes; in-process it was {a}")
        else:
            found.append(
                f"{server} sends the close reason {there.close_reason!r}; in-process it was "
                f"{here.close_reason!r}"
            )
    if there.server_error:
        # In-process, the driver refuses what a server refuses (AsgiProtocolError): only a
        # refusal of what went through in-process is a difference. The app's exception that
        # follows a refused send is that refusal's, not a second difference.
        if here.error is None:
            found.append(f"{there.server_error}; in-process that went through")
    elif (here.error is None) != (there.error is None):
        found.append(
            f"under {server} the app raised {there.error or 'nothing'}; in-process "
            f"{here.error or 'nothing'}"
        )
    return found


def differential_failure(
    server: str, case: str, here: Transcript, there: Transcript
) -> Failure | None:
    """A ``differential`` finding when the two transcripts of ``case`` disagree, else None."""
    a, b = key_facts(here), key_facts(there)
    found = disagreements(server, a, b)
    if not found:
        return None
    return Failure(
        check="differential",
        error_type="portability",
        message=found[0],
        expected=f"{case} to behave under {server} as in-process",
        actual="; ".join(found),
        details=(("in-process", a.lines()), (server, b.lines())),
    )


def compare_cases(
    app: Any, route: CompiledRoute, choice: ServerChoice, cases: Sequence[tuple[str, Saved]]
) -> list[ConversationFailed]:
    """Replay each case in-process and under ``choice``; one finding per case that disagrees.

    Each side has its own loop thread and lifespan, started once for all the cases. A case that
    disagrees is played again on both sides, and kept only when it disagrees the same way: a
    reply that came late on a loaded machine is no server behaviour.
    """
    from ws_routes.driver.network import NetworkTransport

    timeout = route.spec.settings.connection_timeout
    found: list[ConversationFailed] = []
    with (
        running_app(app, timeout=timeout) as here,
        running_server(app, choice, timeout=timeout, max_size=MAX_KEPT_BYTES) as server,
    ):
        there = (
            LoopThread(),
            NetworkTransport(server.base_url, view=server, max_size=MAX_KEPT_BYTES),
        )
        try:
            for label, case in cases:
                first = _play_both(route, case, here, there)
                failure = first and differential_failure(choice.name, label, *first)
                if failure is None:
                    continue
                again = _play_both(route, case, here, there)
                if again is None or differential_failure(choice.name, label, *again) != failure:
                    continue  # not the same twice: timing, not the server
                assert first is not None
                error = failure_type("differential", failure.message)(
                    failure, first[1], conversation_of(case)
                )
                error.probe = case.name if isinstance(case, Probe) else None
                found.append(error)
        finally:
            there[0].close()
    return found


def _play_both(
    route: CompiledRoute,
    case: Saved,
    *sides: tuple[LoopThread, Transport],
) -> tuple[Transcript, Transcript] | None:
    """The case's transcript in-process and under the server; None when one side could not
    play it (a hang, a refusal of ours): nothing to compare then."""
    conversation = conversation_of(case)
    settings = route.spec.settings
    # Generous: a case that hangs on one side is that side's no_hang finding already.
    deadline = 2 * settings.connection_timeout + settings.message_timeout * (
        conversation.max_steps + 2
    )
    played: list[Transcript] = []
    for loop, transport in sides:
        transcript = Transcript(route=route.spec.path, path=conversation.path)
        try:
            loop.run(play_saved(transport, route, case, transcript), timeout=deadline)
        except (LoopBlocked, WsRoutesError):
            return None
        played.append(transcript)
    return played[0], played[1]


def add_differences(
    result: RouteResult, app: Any, route: CompiledRoute, choice: ServerChoice
) -> None:
    """Replay the route's findings and probes under ``choice``; add each disagreement to
    ``result`` as a finding (after the in-process ones, one per distinct disagreement)."""
    failures = [result.failure, *result.failure.also] if result.failure is not None else []
    cases: list[tuple[str, Saved]] = []
    for failed in failures:
        probe = result.probes.get(failed.probe) if failed.probe else None
        cases.append((f"the minimal case of {failed.failure.check}", probe or failed.conversation))
    probed = {failed.probe for failed in failures}
    cases += [(f"probe {name!r}", p) for name, p in result.probes.items() if name not in probed]
    found: list[ConversationFailed] = []
    for difference in compare_cases(app, route, choice, cases):
        if type(difference) not in {type(f) for f in found}:
            found.append(difference)
    result.stats.failures += len(found)
    if not found:
        return
    if result.failure is None:
        result.failure, result.skipped = found[0], None
        found = found[1:]
    result.failure.also.extend(found)
