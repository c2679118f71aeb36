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
    """Prefixes every key with the route, so a failure replays on its own route only.

    ``reuse`` False makes it write-only: what the search saves is kept for later runs, but
    nothing saved is replayed, so a seeded search draws from its seed alone (Hypothesis'
    replay of saved examples changes what it generates after them, and how many). ``reused``
    tells whether any saved example was handed to Hypothesis: then a seed does not describe
    the run.
    """

    def __init__(self, inner: ExampleDatabase, route: str, *, reuse: bool = True):
        super().__init__()
        self._inner = inner
        self._reuse = reuse
        self.reused = False
        # Derived from the route alone, so the next run finds what this one saved.
        self._prefix = hashlib.sha256(f"ws_routes:{route}".encode()).digest()[:16]

    def save(self, key: bytes, value: bytes) -> None:
        self._inner.save(self._prefix + key, value)

    def fetch(self, key: bytes) -> Iterable[bytes]:
        if not self._reuse:
            return []
        values = list(self._inner.fetch(self._prefix + key))
        self.reused = self.reused or bool(values)
        return values

    def delete(self, key: bytes, value: bytes) -> None:
        self._inner.delete(self._prefix + key, value)

    def move(self, src: bytes, dest: bytes, value: bytes) -> None:
        self._inner.move(self._prefix + src, self._prefix + dest, value)
