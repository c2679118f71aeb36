"""The per-route view of Hypothesis' example database: a failure replays on its own route only.

Every route's conversations are drawn by one test function, so Hypothesis would key them all
alike; the route's prefix keeps one route's saved failure from being replayed on another.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

from hypothesis.database import ExampleDatabase

__all__ = ["RouteDatabase"]


class RouteDatabase(ExampleDatabase):
    """Prefixes every key with the route, so a failure replays on its own route only."""

    def __init__(self, inner: ExampleDatabase, route: str):
        super().__init__()
        self._inner = inner
        # Derived from the route alone, so the next run finds what this one saved.
        self._prefix = hashlib.sha256(f"ws_routes:{route}".encode()).digest()[:16]

    def save(self, key: bytes, value: bytes) -> None:
        self._inner.save(self._prefix + key, value)

    def fetch(self, key: bytes) -> Iterable[bytes]:
        return self._inner.fetch(self._prefix + key)

    def delete(self, key: bytes, value: bytes) -> None:
        self._inner.delete(self._prefix + key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self._inner.move(self._prefix + src, self._prefix + dest, value)
