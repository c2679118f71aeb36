"""Counters of one route, summed across xdist workers: what the runner counts and the summary prints."""

from __future__ import annotations

import json
from dataclasses import dataclass

__all__ = ["Progress", "RouteStats"]


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
    # The route hit --routes-max-time: the search stopped before its budget of examples.
    time_limited: bool = False
    replayed: int = 0  # saved failures (crash files) replayed before the conversations

    def count_probe(self, group: str, name: str) -> None:
        """Count one probe of ``group`` (its family) under its counter."""
        if group == "negative":
            self.negative += 1
        elif group == "auth":
            self.auth_probes += 1
        elif group == "origin":
            self.origin_probes += 1
        elif name.startswith("path:"):
            self.path_probes += 1
        else:
            self.handshake_cells += 1

    def to_json(self) -> str:
        return json.dumps({k: getattr(self, k) for k in self.__slots__})  # type: ignore[attr-defined]

    @classmethod
    def from_json(cls, text: str) -> RouteStats:
        return cls(**json.loads(text))


@dataclass(frozen=True, slots=True, kw_only=True)
class Progress:
    """Where a running route is: what the runner reports after each conversation and probe."""

    route: str
    conversations: int  # run so far, the replays of shrinking included
    budget: int  # the conversations the searches started so far may generate
    findings: int  # distinct bugs found so far
    probes: int  # probes run so far
    elapsed_s: float
    shrinking: bool = False  # the current search found a bug: its runs now mostly shrink it
