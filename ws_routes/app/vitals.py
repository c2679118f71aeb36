"""The process's vital signs, in memory shared with a watcher process that reads them.

A handler stuck in a C call that holds the GIL (a backtracking regex, a ``ctypes.PyDLL`` call,
a C extension's loop) stops every Python thread of the process, the in-process watchdog
(``driver.loop``) included: no Python code can notice it, report it or obey Ctrl-C. A watcher
*process* can (``plugin.watcher``). It needs to know, without asking, whether the app is being
waited for and how long that wait may stay silent, so this process writes those facts into a
small shared memory block, which costs a memory write where a pipe would cost a system call:
the driver declares thousands of waits per route.

What is written (all on the monotonic clock, which Linux shares between processes):

- ``beat``: when the event loop last ran while a coroutine of ours runs on it;
- ``limit`` and ``grace``: how long the loop may stay silent in the current wait (the wait's
  configured timeout) and the in-process watchdog's grace beyond it; NaN outside waits;
- ``hard``: when the running coroutine's hard deadline (plus its grace) passes; NaN when
  nothing of the app's runs (between routes, while our own code runs);
- ``during``: what is waited for ("waiting for a reply"), for the report.

The watcher acts on a silence past ``min(beat + limit + grace, hard)`` plus its own grace, so
the in-process watchdog, which acts at that point when the GIL is free, always comes first.
Fields are written without a lock: the watcher reads twice and decides only on a state that
stays put, and a state that does stay put is the one that matters (a stuck process writes
nothing). Each write is one slice assignment of bytes packed beforehand: ``struct.pack_into``
zeroes its target before filling it, and a reader that caught those zeros (the writer
descheduled in between, on a loaded machine) saw a wait "silent since time 0" and killed a
healthy run. A record of zeros (fresh memory) is read as "nothing runs" for the same reason.
"""

from __future__ import annotations

import math
import struct
import time
from typing import Any

__all__ = ["SIZE", "Snapshot", "Vitals", "current", "install", "read"]

_NUMBERS = struct.Struct("<4d")  # beat, limit, grace, hard
_BEAT, _LIMIT = struct.Struct("<d"), struct.Struct("<2d")
_LENGTH = struct.Struct("<H")
_DURING_AT = _NUMBERS.size + _LENGTH.size
_DURING_MAX = 200
# Bytes of the shared block.
SIZE = _DURING_AT + _DURING_MAX
_NAN = math.nan


class Vitals:
    """Writes the vital signs into ``buffer`` (a writable mmap of at least :data:`SIZE` bytes).

    ``owner`` is the object (a ``LoopThread``) whose writes count: a loop thread abandoned
    earlier in the session may come back to life and must not overwrite the current one's.
    """

    __slots__ = ("_buffer", "_during", "_hard", "owner")

    def __init__(self, buffer: Any) -> None:
        self._buffer = buffer
        self._during = ""
        self._hard = _NAN  # the running coroutine's, kept here too: a wait writes it again
        self.owner: object = None
        self.idle()

    def running(self, owner: object, beat: float, hard: float) -> None:
        """A coroutine of ``owner``'s starts: it must end by ``hard``; no wait on the app yet."""
        self.owner = owner
        self._hard = hard
        self._buffer[0:_NUMBERS.size] = _NUMBERS.pack(beat, _NAN, _NAN, hard)

    def beat(self, owner: object, beat: float) -> None:
        """The loop ran at ``beat`` (its heartbeat, or a wait starting)."""
        if owner is self.owner:
            self._buffer[0:_BEAT.size] = _BEAT.pack(beat)

    def wait(
        self, owner: object, beat: float, limit: float | None, grace: float, during: str
    ) -> None:
        """A wait on the app starts at ``beat``: silent for ``limit`` (+ ``grace``) seconds at most.

        ``limit`` None: the wait is held to the hard deadline only; ``during`` empty: it ends.
        """
        if owner is not self.owner:
            return
        if not during:
            self._buffer[8 : 8 + _LIMIT.size] = _LIMIT.pack(_NAN, _NAN)
            return
        if during is not self._during:  # labels are mostly the same constant: no re-encoding
            self._during = during
            data = during.encode("utf-8", "replace")[:_DURING_MAX]
            _LENGTH.pack_into(self._buffer, _NUMBERS.size, len(data))
            self._buffer[_DURING_AT : _DURING_AT + len(data)] = data
        self._buffer[0:_NUMBERS.size] = _NUMBERS.pack(
            beat, _NAN if limit is None else limit, grace, self._hard
        )

    def deadline(self, seconds: float, during: str) -> None:
        """Code of the app's runs on this thread now (an import, a factory): ``seconds`` at most."""
        self.owner = None
        self._during = ""
        data = during.encode("utf-8", "replace")[:_DURING_MAX]
        _LENGTH.pack_into(self._buffer, _NUMBERS.size, len(data))
        self._buffer[_DURING_AT : _DURING_AT + len(data)] = data
        now = time.monotonic()
        self._hard = now + seconds
        self._buffer[0:_NUMBERS.size] = _NUMBERS.pack(now, _NAN, _NAN, self._hard)

    def idle(self, owner: object = None) -> None:
        """Nothing of the app's runs (``owner``: only if it is the current owner; None: always)."""
        if owner is None or owner is self.owner:
            self._hard = _NAN
            self._buffer[0:_NUMBERS.size] = _NUMBERS.pack(_NAN, _NAN, _NAN, _NAN)


class Snapshot:
    """The vital signs as the watcher reads them."""

    __slots__ = ("beat", "during", "grace", "hard", "limit", "raw")

    def __init__(self, raw: bytes) -> None:
        self.raw = raw  # compared as bytes: NaN, "not set", is unequal to itself as a float
        numbers: tuple[float, float, float, float] = _NUMBERS.unpack_from(raw, 0)
        self.beat, self.limit, self.grace, self.hard = numbers
        (length,) = _LENGTH.unpack_from(raw, _NUMBERS.size)
        data = raw[_DURING_AT : _DURING_AT + min(length, _DURING_MAX)]
        self.during = data.decode("utf-8", "replace")

    def overdue_at(self) -> float:
        """When the in-process watchdog would have acted, or inf (nothing of the app's runs)."""
        # NaN: not set; zeros (never a real time on the monotonic clock of a running machine):
        # memory not written yet.
        if math.isnan(self.hard) or self.hard <= 0 or self.beat <= 0:
            return math.inf
        stall = math.inf if math.isnan(self.limit) else self.beat + self.limit + self.grace
        return min(stall, self.hard)


def read(buffer: Any) -> Snapshot:
    """The vital signs in ``buffer`` now (the watcher's side)."""
    return Snapshot(bytes(buffer[:SIZE]))


_CURRENT: list[Vitals] = []


def install(vitals: Vitals | None) -> None:
    """Make ``vitals`` the process's (None: stop writing any)."""
    _CURRENT[:] = [vitals] if vitals is not None else []


def current() -> Vitals | None:
    """The process's vital signs writer, if a watcher reads them."""
    return _CURRENT[0] if _CURRENT else None
