"""What one route's run ends with: its findings, counters and lints, or why it was not tested.

A route where nothing failed but no message could be tested either (every connection refused,
or closed right after the accept) is skipped with the reason and a hint, not passed silently.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ws_routes.compile.credentials import Credential
from ws_routes.compile.route import CompiledRoute
from ws_routes.engine.findings import ConversationFailed, InternalError
from ws_routes.engine.probe_base import Probe
from ws_routes.engine.stats import RouteStats

__all__ = ["RouteResult", "untested_reason"]


@dataclass(slots=True, kw_only=True)
class RouteResult:
    stats: RouteStats
    failure: ConversationFailed | None = None
    skipped: str | None = None
    error: str | None = None
    # Server-realism lints (probes.lint_warnings): not failures; one per route.
    warnings: list[str] = field(default_factory=list)
    # A bug of ws_routes that ended the route early; ``failure`` keeps what came before it.
    internal: InternalError | None = None
    # Per saved failure replayed first (RouteRunner's ``replays``), in order: its failure, or
    # None when it passed; shorter when the route ended before replaying them all.
    replayed: list[ConversationFailed | None] = field(default_factory=list)
    # Hypothesis' statistics of each search (hypothesis.statistics.describe_statistics reads them).
    statistics: list[dict[str, Any]] = field(default_factory=list)
    # The probes that ran, by name: what a probe's finding is replayed as.
    probes: dict[str, Probe] = field(default_factory=dict)


def untested_reason(
    route: CompiledRoute,
    credential: Credential | None,
    stats: RouteStats,
    closed_at_once: set[int],
) -> str | None:
    """Why no message of the route could be tested, or None when some were.

    ``closed_at_once``: the codes the server closed with before a conversation's first message.
    """
    if stats.connections == 0 and stats.refused > 0:
        what = f"the app refused all {stats.refused} connections"
    elif stats.connections > 0 and stats.messages == 0 and closed_at_once:
        # Accepted, then closed before any message could go (an auth check after accept).
        codes = ", ".join(str(c) for c in sorted(closed_at_once))
        what = (
            f"the server closed all {stats.connections} connections right after accepting "
            f"them (close code {codes})"
        )
    else:
        return None
    hint = _untested_hint(route, credential)
    return f"{route.spec.path}: {what}, so no message could be tested; {hint}"


def _untested_hint(route: CompiledRoute, credential: Credential | None) -> str:
    auth = route.spec.auth
    if auth is not None and credential is None:
        return "the route requires auth and has no credential: set auth.token or pass --routes-auth"
    if credential is not None:
        return (
            f"the credential was sent in {credential.where()}; if the app reads it "
            "elsewhere, pass --routes-auth query:NAME:TOKEN, header:NAME:VALUE or "
            "cookie:NAME:VALUE, or set the route's auth (query_param, header, cookie, "
            "first_message) in ws-routes.yaml"
            + ("; also check the route's close_codes" if route.spec.declared else "")
        )
    if route.spec.declared:
        return "check the credentials and the route's close_codes"
    return "pass credentials with --routes-auth, or describe the route in ws-routes.yaml (auth, close_codes)"
