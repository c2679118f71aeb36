"""Judging a probe: the standard checks, relaxed or tightened by what the probe's group allows.

A refusal is the right answer to a missing credential or an unknown subprotocol, so it is not a
``handshake`` failure there; an odd path value may be refused but must not crash the server; a
connection that had to be refused (no valid credential, a foreign ``Origin``) and was served
anyway is a security failure. A server that crashes is always a ``no_server_error`` failure.
"""

from __future__ import annotations

from ws_routes.compile.route import CompiledRoute
from ws_routes.driver.transcript import Failure, Frame, Transcript
from ws_routes.driver.transport import Accepted
from ws_routes.engine.checks import evaluate
from ws_routes.engine.lints import lint_warnings
from ws_routes.engine.probe_base import UNKNOWN_SUBPROTOCOL, Probe, ProbeOutcome
from ws_routes.spec.model import SERVER_ERROR_CLOSE_CODES

__all__ = ["judge"]


def judge(route: CompiledRoute, probe: Probe, transcript: Transcript) -> ProbeOutcome:
    """The failures (most severe first) and warnings of one probe's transcript."""
    failures = evaluate(route, probe.conversation, transcript)
    if probe.expect == "may_refuse":
        failures = [f for f in failures if not _refusal_allowed(f, transcript)]
        failures += _unsupported_selected(route, transcript)
    elif probe.expect in ("survive", "refuse"):
        failures = [f for f in failures if _is_crash(f)]
        if probe.expect == "refuse":
            failures = _served(route, probe, transcript) + failures
    return ProbeOutcome(probe, transcript, failures, lint_warnings(route, transcript))


def _is_crash(failure: Failure) -> bool:
    if failure.check in ("no_server_error", "no_hang", "close_before_return"):
        return True
    return failure.check == "close_code" and failure.error_type == "protocol_violation"


def _server_closed(t: Transcript) -> bool:
    close = t.server_close()
    return close is not None and close.code not in SERVER_ERROR_CLOSE_CODES


def _refusal_allowed(failure: Failure, t: Transcript) -> bool:
    """Without a subprotocol it supports, a server may refuse, or accept and pick none."""
    if failure.check == "handshake":
        return True
    if failure.check == "subprotocol_negotiation":
        return isinstance(t.handshake, Accepted) and t.handshake.subprotocol is None
    if failure.check == "close_code":
        return failure.error_type == "contract_violation"
    return failure.check == "reply_expected" and _server_closed(t)


def _unsupported_selected(route: CompiledRoute, t: Transcript) -> list[Failure]:
    if not route.spec.settings.check_enabled("subprotocol_negotiation"):
        return []
    hs = t.handshake
    if not isinstance(hs, Accepted) or hs.subprotocol != UNKNOWN_SUBPROTOCOL:
        return []
    declared = list(route.spec.subprotocols)
    return [
        Failure(
            check="subprotocol_negotiation",
            error_type="protocol_violation",
            message=(
                f"server selected {UNKNOWN_SUBPROTOCOL!r}, a subprotocol no server supports "
                "(it echoes the client's offer instead of choosing one it speaks)"
            ),
            expected=f"one of {declared}, no subprotocol, or a refusal"
            if declared
            else "no subprotocol, or a refusal",
            actual=repr(hs.subprotocol),
        )
    ]


def _served(route: CompiledRoute, probe: Probe, t: Transcript) -> list[Failure]:
    """A security failure when the server answered a client it had to refuse."""
    check = "auth_enforced" if probe.group == "auth" else "origin"
    if not isinstance(t.handshake, Accepted) or not route.spec.settings.check_enabled(check):
        return []
    frame = _first_served(route, probe, t)
    if frame is None:
        return []
    auth = route.spec.auth
    codes = list(auth.reject_close_codes) if auth is not None else []
    actual = f"accepted, then replied {frame.render(limit=200)}"
    sent = next((f for f in t.sent if f.index == frame.index), None)
    if check == "auth_enforced":
        return [
            Failure(
                check=check,
                error_type="security",
                message="SECURITY: authentication not enforced: the server accepted and served "
                f"a client with {probe.detail}",
                expected=f"a refusal: HTTP 401/403, or a close with one of {codes} "
                "(auth.reject_close_codes), before any reply",
                actual=actual,
                index=frame.index,
                frame=sent,
                security=True,
            )
        ]
    return [
        Failure(
            check=check,
            error_type="security",
            message=f"SECURITY: cross-site WebSocket hijacking: a connection with {probe.detail} "
            "was accepted and served (browsers send cookies along; check the Origin header)",
            expected="the handshake refused (HTTP 403) for an Origin the app does not trust, "
            "or a close before any reply",
            actual=actual,
            index=frame.index,
            frame=sent,
            security=True,
        )
    ]


def _first_served(route: CompiledRoute, probe: Probe, t: Transcript) -> Frame | None:
    """The first received frame that is real service: not an error reply."""
    frames = t.received
    auth = route.spec.auth
    steps = probe.conversation.steps
    if (
        probe.group == "auth"
        and auth is not None
        and auth.first_message is not None
        and len(steps) > 1
    ):
        # A server may greet before authenticating; what it answers the message sent after the
        # rejected auth message is what shows whether it let the client in.
        frames = [f for f in frames if f.index is not None and f.index >= 1]
    if not route.replies:
        return frames[0] if frames else None
    errors = {r.spec.name for r in route.replies if r.spec.error}
    for frame in frames:
        if frame.name is not None and frame.name not in errors:
            return frame
    return None
