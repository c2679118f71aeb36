"""The engine's tests run without the example database of earlier runs: a bug one of them saved
under a route's key would be replayed first and change what a seeded test finds."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from hypothesis import settings
from hypothesis.database import ExampleDatabase, InMemoryExampleDatabase


@contextmanager
def profile_database(db: ExampleDatabase | None) -> Iterator[None]:
    """Run with the current Hypothesis profile, but with ``db`` as its example database."""
    # By the settings object, not the profile's name: get_current_profile_name() needs
    # Hypothesis 6.139, newer than the minimum this suite runs on.
    previous = settings.default
    settings.register_profile("ws-routes-test-db", parent=previous, database=db)
    settings.load_profile("ws-routes-test-db")
    try:
        yield
    finally:
        settings.register_profile("ws-routes-test-restored", parent=previous)
        settings.load_profile("ws-routes-test-restored")


@pytest.fixture
def example_db() -> Iterator[InMemoryExampleDatabase]:
    """An in-memory example database for this test only."""
    db = InMemoryExampleDatabase()
    with profile_database(db):
        yield db


@pytest.fixture
def no_example_db() -> Iterator[None]:
    """No example database: nothing saved by earlier runs is replayed."""
    with profile_database(None):
        yield


@pytest.fixture(autouse=True)
def _no_saved_examples() -> Iterator[None]:
    with profile_database(None):
        yield
