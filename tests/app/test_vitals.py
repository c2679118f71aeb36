"""The vital signs shared with the watcher: what each write says, read back as the watcher does."""

from __future__ import annotations

import math
import mmap
import time
from collections.abc import Iterator

import pytest

from ws_routes.app import vitals


@pytest.fixture
def shared() -> Iterator[mmap.mmap]:
    block = mmap.mmap(-1, vitals.SIZE)
    yield block
    block.close()


def test_idle_means_nothing_to_watch(shared: mmap.mmap) -> None:
    vitals.Vitals(shared)
    assert vitals.read(shared).overdue_at() == math.inf


def test_a_wait_is_overdue_at_its_limit_plus_grace_and_a_run_at_its_hard_deadline(
    shared: mmap.mmap,
) -> None:
    owner = object()
    signs = vitals.Vitals(shared)
    signs.running(owner, beat=100.0, hard=130.0)
    assert vitals.read(shared).overdue_at() == 130.0  # no wait yet: the hard deadline only
    signs.wait(owner, beat=101.0, limit=0.5, grace=1.0, during="waiting for a reply")
    snapshot = vitals.read(shared)
    assert snapshot.overdue_at() == 102.5
    assert (snapshot.limit, snapshot.during) == (0.5, "waiting for a reply")
    signs.beat(owner, 110.0)  # the heartbeat moves it on
    assert vitals.read(shared).overdue_at() == 111.5
    signs.wait(owner, beat=111.0, limit=None, grace=1.0, during="")  # the wait ended
    assert vitals.read(shared).overdue_at() == 130.0
    signs.idle(owner)
    assert vitals.read(shared).overdue_at() == math.inf


def test_only_the_owner_writes(shared: mmap.mmap) -> None:
    current, abandoned = object(), object()
    signs = vitals.Vitals(shared)
    signs.running(current, beat=1.0, hard=9.0)
    signs.beat(abandoned, 50.0)
    signs.wait(abandoned, beat=50.0, limit=0.1, grace=0.0, during="x")
    signs.idle(abandoned)
    snapshot = vitals.read(shared)
    assert (snapshot.beat, snapshot.hard, snapshot.during) == (1.0, 9.0, "")
    assert math.isnan(snapshot.limit)


def test_an_import_deadline_is_overdue_at_its_timeout(shared: mmap.mmap) -> None:
    signs = vitals.Vitals(shared)
    before = time.monotonic()
    signs.deadline(3.0, "importing app module 'app'")
    snapshot = vitals.read(shared)
    assert before + 3.0 <= snapshot.overdue_at() <= time.monotonic() + 3.0
    assert snapshot.during == "importing app module 'app'"


def test_a_long_label_is_cut_not_overflowing(shared: mmap.mmap) -> None:
    owner = object()
    signs = vitals.Vitals(shared)
    signs.running(owner, beat=1.0, hard=2.0)
    signs.wait(owner, beat=1.0, limit=1.0, grace=1.0, during="é" * 500)
    assert vitals.read(shared).during.startswith("éé")
    assert len(vitals.read(shared).during.encode()) <= vitals.SIZE


def test_memory_of_zeros_is_nothing_running_not_a_wait_silent_since_time_0() -> None:
    # Fresh shared memory, or what struct.pack_into leaves for a moment (it zeroes its target
    # before filling it): a watcher that read it as a wait killed a healthy run on a loaded CI.
    assert vitals.Snapshot(bytes(vitals.SIZE)).overdue_at() == math.inf


def test_a_write_never_passes_through_zeros(shared: mmap.mmap) -> None:
    class Recorder(bytearray):
        """A buffer that keeps what each write put at its start."""

        writes: list[bytes]

        def __setitem__(self, key: object, value: object) -> None:
            super().__setitem__(key, value)  # type: ignore[index]
            self.writes.append(bytes(self[:8]))

    buffer = Recorder(vitals.SIZE)
    buffer.writes = []
    writer = vitals.Vitals(buffer)
    owner = object()
    writer.running(owner, time.monotonic(), time.monotonic() + 5)
    writer.wait(owner, time.monotonic(), 1.0, 1.0, "waiting for a reply")
    writer.beat(owner, time.monotonic())
    # Every write is one slice assignment of packed bytes, so the beat is never seen as 0.
    assert buffer.writes
    assert all(w != bytes(8) for w in buffer.writes)
