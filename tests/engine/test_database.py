"""The per-route example database: prefixed keys, routes kept apart."""

from __future__ import annotations

from hypothesis.database import InMemoryExampleDatabase

from ws_routes.engine.database import RouteDatabase


def test_route_database_prefixes_keys_and_isolates_routes() -> None:
    inner = InMemoryExampleDatabase()
    a, b = RouteDatabase(inner, "/ws/a"), RouteDatabase(inner, "/ws/b")
    a.save(b"key", b"value")
    assert list(a.fetch(b"key")) == [b"value"]
    assert list(b.fetch(b"key")) == []
    assert list(inner.fetch(b"key")) == []
    (stored,) = inner.data
    assert stored.endswith(b"key")
    assert len(stored) == 16 + 3
    assert RouteDatabase(inner, "/ws/a")._prefix == a._prefix  # stable across runs

    a.move(b"key", b"other", b"value")
    assert (list(a.fetch(b"key")), list(a.fetch(b"other"))) == ([], [b"value"])
    a.delete(b"other", b"value")
    assert list(a.fetch(b"other")) == []


def test_a_write_only_view_saves_but_replays_nothing_and_says_what_it_replayed() -> None:
    inner = InMemoryExampleDatabase()
    RouteDatabase(inner, "/ws/a").save(b"key", b"value")
    write_only = RouteDatabase(inner, "/ws/a", reuse=False)
    assert list(write_only.fetch(b"key")) == []
    assert not write_only.reused
    write_only.save(b"key", b"other")
    reading = RouteDatabase(inner, "/ws/a")
    assert list(reading.fetch(b"missing")) == []
    assert not reading.reused  # an empty key replays nothing
    assert sorted(reading.fetch(b"key")) == [b"other", b"value"]
    assert reading.reused
