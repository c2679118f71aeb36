"""Counters of one route, summed across xdist workers: what the runner counts and the summary prints."""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["RouteStats"]


@dataclass(slots=True, kw_only=True)
class RouteStats:
    """Counters for one route; sums correctly when merged from several workers."""

    route: str
    sequences: int = 0
    messages: int = 0
    connections: int = 0
    refused: int = 0
    failures: int = 0
    elapsed_s: float = 0.0
    outcome: str = ""
    negative: int = 0  # sent frames that break the schemas on purpose (mutations)
    aborts: int = 0  # conversations the client ended by dropping the connection
    handshake_cells: int = 0  # probes: subprotocol offers
    path_probes: int = 0  # probes: boundary path parameter values
    auth_probes: int = 0  # probes: missing, empty and malformed credentials
    origin_probes: int = 0  # probes: a foreign Origin
    replayed: int = 0  # saved failures (crash files) replayed before the conversations

    def to_json(self) -> str:
        return json.dumps({k: getattr(self, k) for k in self.__slots__})  # type: ignore[attr-defined]

    @classmethod
    def from_json(cls, text: str) -> RouteStats:
        return cls(**json.loads(text))
