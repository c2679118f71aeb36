"""What every probe is made of: the ``Probe`` record, and the simplest valid connection it varies.

Each probe family (:mod:`ws_routes.engine.probes`, :mod:`ws_routes.engine.sweep`) starts from
one deterministic handshake and message per route and changes one thing about it, so a probe's
failure is that one thing's fault. This module holds that shared start and the records the
families build and :mod:`ws_routes.engine.judge` judges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from ws_routes.app.discovery import render_path
from ws_routes.compile.credentials import Credential
from ws_routes.compile.route import CompiledMessage, CompiledRoute
from ws_routes.driver.transcript import Failure, Transcript
from ws_routes.engine.conversation import Conversation, Step, apply_credential
from ws_routes.engine.protocol import ProtocolState

__all__ = [
    "UNKNOWN_SUBPROTOCOL",
    "BaseConnection",
    "Expect",
    "Probe",
    "ProbeGroup",
    "ProbeOutcome",
    "base_connection",
    "conversation_for",
    "simplest",
]

# Offered by one handshake cell, judged by another module: a server selecting it echoes offers.
UNKNOWN_SUBPROTOCOL = "ws-routes-unknown"

ProbeGroup = Literal["handshake", "auth", "origin", "negative"]
# How a probe is judged:
#   accept      the standard checks (a cell offering declared subprotocols)
#   may_refuse  the standard checks, but refusing is allowed (no or an unknown subprotocol)
#   survive     only crashes, hangs and invalid close codes (odd path values may be refused)
#   refuse      survive, plus: serving anything is a security failure (auth, origin)
Expect = Literal["accept", "may_refuse", "survive", "refuse"]

_SIMPLEST = settings(
    database=None,
    max_examples=10,
    phases=[Phase.generate, Phase.shrink],
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
# A sentinel: a strategy that could not produce a value.
_NOTHING: Any = object()


@dataclass(frozen=True, slots=True)
class Probe:
    """One fixed connection: its group, a name reports print, and what it sends.

    ``detail`` says in words what is special about it (for security failures). The ``baseline``
    probe connects exactly as conversations do (declared subprotocols, valid credential); every
    other probe differs from it in one respect, so its failures are that respect's fault only
    while the baseline passes.
    """

    group: ProbeGroup
    name: str
    conversation: Conversation
    expect: Expect = "accept"
    detail: str = ""
    baseline: bool = False


@dataclass(slots=True)
class ProbeOutcome:
    probe: Probe
    transcript: Transcript
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def simplest(strategy: st.SearchStrategy[Any]) -> Any:
    """The value Hypothesis shrinks ``strategy`` to: deterministic and cheap.

    Raises:
        HypothesisException: the strategy produced no value.
    """
    return find(strategy, lambda _: True, settings=_SIMPLEST)


@dataclass(frozen=True, slots=True)
class BaseConnection:
    """The simplest valid handshake and message of a route, shared by all its probes."""

    values: dict[str, str]
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    steps: list[Step]
    first_message: Any


def base_connection(route: CompiledRoute) -> BaseConnection | None:
    """The route's simplest valid connection; None when its path cannot be drawn."""

    def draw(strategy: st.SearchStrategy[Any] | None, default: Any) -> Any:
        if strategy is None:
            return default
        try:
            return simplest(strategy)
        except HypothesisException:
            return _NOTHING

    values = draw(route.path_params, {})
    if values is _NOTHING:
        return None  # no path to connect to; the conversations report why
    query = draw(route.query, [])
    headers = draw(route.headers, [])
    steps: list[Step] = []
    for message in _first_messages(route)[: route.spec.settings.max_messages]:
        payload = draw(message.strategy, None)
        if payload is _NOTHING:
            break
        steps.append(Step(message.spec.name, message.spec.kind, payload))
    first = draw(route.first_message, None)
    return BaseConnection(
        values=values,
        query=[] if query is _NOTHING else query,
        headers=[] if headers is _NOTHING else headers,
        steps=steps,
        first_message=None if first is _NOTHING else first,
    )


def _first_messages(route: CompiledRoute) -> list[CompiledMessage]:
    """What a probe sends: the opening when the route declares one, else the first message
    the protocol allows on a fresh connection (the first declared one on most routes)."""
    by_name = {m.spec.name: m for m in route.messages}
    if route.spec.opening:
        return [by_name[n] for n in route.spec.opening if n in by_name]
    if not route.messages:
        return []
    fresh = ProtocolState(route.spec)
    return [next((m for m in route.messages if fresh.sendable(m.spec)), route.messages[0])]


def conversation_for(
    route: CompiledRoute,
    base: BaseConnection,
    credential: Credential | None,
    *,
    values: dict[str, str] | None = None,
    subprotocols: tuple[str, ...] | None = None,
    extra_headers: tuple[tuple[str, str], ...] = (),
    steps: tuple[Step, ...] | None = None,
) -> Conversation:
    """``base`` with ``credential`` applied and the given parts replaced (None: keep base's)."""
    query, headers, sent = apply_credential(
        credential,
        list(base.query),
        list(base.headers),
        list(base.steps if steps is None else steps),
        base.first_message,
    )
    replaced = {name for name, _ in extra_headers}
    headers = [(k, v) for k, v in headers if k not in replaced] + list(extra_headers)
    return Conversation(
        path=render_path(route.spec.path, values if values is not None else base.values),
        query=tuple(query),
        headers=tuple(headers),
        subprotocols=route.spec.subprotocols if subprotocols is None else subprotocols,
        steps=tuple(sent),
    )
