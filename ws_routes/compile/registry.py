"""``register_message_strategy``: replace generation for one message kind on matching routes.

The seed documents it as ``ws_routes.websocket`` (a re-export); also exported from ``ws_routes``.
Registrations usually live in a ``conftest.py``; the compiler reads them when it compiles a route.
"""

from __future__ import annotations

import fnmatch
import threading
from dataclasses import dataclass
from typing import Any

from hypothesis.strategies import SearchStrategy

from ws_routes.errors import WsRoutesError, did_you_mean
from ws_routes.spec.model import KINDS, Kind

__all__ = [
    "RegisteredStrategy",
    "clear_message_strategies",
    "pattern_matches",
    "register_message_strategy",
    "registered_strategies",
    "strategy_for",
]


@dataclass(frozen=True, slots=True)
class RegisteredStrategy:
    pattern: str
    kind: Kind
    strategy: SearchStrategy[Any]


_lock = threading.Lock()
_registry: list[RegisteredStrategy] = []


def _template_without_converters(path: str) -> str:
    # "/ws/{id:int}" -> "/ws/{id}", so a pattern may be written either way.
    out, depth, skipping = [], 0, False
    for ch in path:
        if ch == "{":
            depth, skipping = depth + 1, False
        elif ch == "}":
            depth, skipping = depth - 1, False
        elif ch == ":" and depth:
            skipping = True
            continue
        if not skipping:
            out.append(ch)
    return "".join(out)


def pattern_matches(pattern: str, path: str) -> bool:
    """Whether a route path or glob ``pattern`` selects the route template ``path``."""
    candidates = {path, _template_without_converters(path)}
    pattern_plain = _template_without_converters(pattern)
    return any(
        c in (pattern, pattern_plain)
        or fnmatch.fnmatchcase(c, pattern)
        or fnmatch.fnmatchcase(c, pattern_plain)
        for c in candidates
    )


def register_message_strategy(pattern: str, kind: str, strategy: SearchStrategy[Any]) -> None:
    """Use ``strategy`` for every ``kind`` message on routes matching ``pattern``.

    Args:
        pattern: a route path as the app declares it (``/ws/chat/{room}``) or a glob
            (``/ws/*``). Later registrations win over earlier ones.
        kind: ``"text"`` (the strategy yields ``str``), ``"json"`` (JSON values) or ``"bytes"``.
        strategy: a Hypothesis strategy.

    Raises:
        WsRoutesError: for an unknown kind, a pattern that is not a string, or a strategy that is
            not a Hypothesis strategy.
    """
    if not isinstance(pattern, str) or not pattern:
        raise WsRoutesError(
            f"register_message_strategy: pattern must be a route path or glob, got {pattern!r}"
        )
    if kind not in KINDS:
        hint = did_you_mean(str(kind), KINDS)
        raise WsRoutesError(
            f"register_message_strategy({pattern!r}, ...): kind must be one of "
            f"{', '.join(map(repr, KINDS))}, got {kind!r}" + (f" ({hint})" if hint else "")
        )
    if not isinstance(strategy, SearchStrategy):
        raise WsRoutesError(
            f"register_message_strategy({pattern!r}, {kind!r}, ...): expected a Hypothesis strategy, "
            f"got {type(strategy).__name__} {strategy!r}"
            + (" (did you forget to call it?)" if callable(strategy) else "")
        )
    with _lock:
        _registry.append(RegisteredStrategy(pattern, kind, strategy))  # type: ignore[arg-type]


def registered_strategies() -> tuple[RegisteredStrategy, ...]:
    with _lock:
        return tuple(_registry)


def strategy_for(path: str, kind: Kind) -> RegisteredStrategy | None:
    """The latest registration for ``kind`` whose pattern matches ``path``."""
    for reg in reversed(registered_strategies()):
        if reg.kind == kind and pattern_matches(reg.pattern, path):
            return reg
    return None


def clear_message_strategies() -> None:
    """Forget every registration (for tests)."""
    with _lock:
        _registry.clear()
