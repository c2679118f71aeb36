"""Checks: pure functions from (route, conversation, transcript) to failures.

Each check has a name (reports print it; ``settings.checks`` switches it off) and only reads the
transcript, so checks are cheap and can be tested without an app.

The checks live in one module per family (crashes, handshake, replies, correlation, closing,
negative), all built on ``common``; this module holds their order, which is the order failures are reported in.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import replace
from typing import TYPE_CHECKING

from ws_routes.driver.transcript import Failure, Transcript
from ws_routes.engine.checks.closing import (
    check_close_before_return,
    check_close_code,
    check_disconnect,
    check_graceful_shutdown,
    is_benign_disconnect,
)
from ws_routes.engine.checks.common import Context, is_server_error_close, valid_close_code
from ws_routes.engine.checks.correlation import TIE_CHECKS, check_ties
from ws_routes.engine.checks.crashes import (
    check_flood,
    check_no_hang,
    check_no_server_error,
    check_protocol,
)
from ws_routes.engine.checks.delivery import check_delivery, check_non_delivery
from ws_routes.engine.checks.handshake import check_handshake, check_subprotocol
from ws_routes.engine.checks.negative import as_negative, check_invalid_input
from ws_routes.engine.checks.replies import check_replies, check_reply_expected

if TYPE_CHECKING:
    from ws_routes.compile.route import CompiledRoute
    from ws_routes.engine.conversation import Conversation

__all__ = [
    "CHECKS",
    "Context",
    "evaluate",
    "is_benign_disconnect",
    "is_server_error_close",
    "valid_close_code",
]


CHECKS: tuple[tuple[str, Callable[[Context], Iterator[Failure]]], ...] = (
    ("no_server_error", check_no_server_error),
    ("no_hang", check_no_hang),
    ("flood", check_flood),
    ("handshake", check_handshake),
    ("subprotocol_negotiation", check_subprotocol),
    ("reply_schema", check_replies),  # also yields undocumented_reply, switched separately
    ("correlation", check_ties),  # also yields no_reply, echo and stream, switched separately
    ("reply_expected", check_reply_expected),
    ("delivery", check_delivery),
    ("non_delivery", check_non_delivery),
    ("close_code", check_close_code),
    ("close_before_return", check_close_before_return),
    ("graceful_shutdown", check_graceful_shutdown),
    ("invalid_input", check_invalid_input),
    ("disconnect", check_disconnect),
    ("no_server_error", check_protocol),
)


# The other names a check yields failures of: it runs while any of its names is enabled.
_FAMILIES = {"reply_schema": ("undocumented_reply",), "correlation": TIE_CHECKS[1:]}
_GATED = tuple((name, check, _FAMILIES.get(name, ())) for name, check in CHECKS)
# Checks that read every client's transcript at once, from the first's.
_ACROSS_CLIENTS = frozenset({"delivery", "non_delivery"})
_ORDER = {name: i for i, (name, _) in reversed(list(enumerate(CHECKS)))}  # first place wins


def evaluate(
    route: CompiledRoute, conversation: Conversation, transcript: Transcript
) -> list[Failure]:
    """Every failure in ``transcript``, most severe first; disabled checks are skipped."""
    settings = route.spec.settings
    failures: list[Failure] = []
    # Several clients: every client's transcript is judged, its failures named by the client;
    # the delivery checks read the first's, which holds the others'.
    for t in (transcript, *transcript.others):
        ctx = Context(route, conversation, t)
        for name, check, family in _GATED:
            if t.client and name in _ACROSS_CLIENTS:
                continue
            if not settings.check_enabled(name) and not any(map(settings.check_enabled, family)):
                continue
            found = list(check(ctx))
            if transcript.others and name not in _ACROSS_CLIENTS:
                found = [replace(f, message=f"client {t.client + 1}: {f.message}") for f in found]
            failures.extend(found)
    if transcript.others:  # most severe first, whichever client it was on
        failures.sort(key=lambda f: _ORDER.get(f.check, len(_ORDER)))
    failures = _silence_first(failures)
    if any(step.mutation for step in conversation.steps):
        failures = [as_negative(f, conversation.steps) for f in failures]
    return failures


_SCHEMA_CHECKS = frozenset({"reply_schema", "undocumented_reply"})


def _silence_first(failures: list[Failure]) -> list[Failure]:
    """``failures`` with a ``no_reply`` failure ahead of the reply schema ones.

    A frame that answers a message declared to get no reply matches no declared reply either
    (JSON-RPC's `[]` for a batch of notifications): "must get no reply" is the finding, where
    "matches none of the declared replies" would have its reader declare the frame.
    """
    silent = next((i for i, f in enumerate(failures) if f.check == "no_reply"), None)
    schema = next((i for i, f in enumerate(failures) if f.check in _SCHEMA_CHECKS), None)
    if silent is not None and schema is not None and silent > schema:
        failures.insert(schema, failures.pop(silent))
    return failures
