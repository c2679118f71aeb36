"""Checks of the opening handshake: accepted or refused as declared (``handshake``), and the
subprotocol the server picked (``subprotocol_negotiation``)."""

from __future__ import annotations

from collections.abc import Iterator

from ws_routes.driver.transcript import Failure, short_repr
from ws_routes.driver.transport import Accepted, Rejected
from ws_routes.engine.checks.common import Context

__all__ = ["check_handshake", "check_subprotocol"]


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
    if not isinstance(t.handshake, Rejected) or not spec.declared:
        # Undeclared routes that refuse are reported by the item as "nothing could be tested".
        return
    rejected = t.handshake
    if rejected.status >= 500 or rejected.status == 0:
        return  # no_server_error's
    if rejected.close_code is not None and rejected.close_code in _allowed_rejection_codes(ctx):
        return
    if t.over_network and rejected.status == 403 and _allowed_rejection_codes(ctx):
        return  # a close before accept, whose code no client sees: maybe an allowed one
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
