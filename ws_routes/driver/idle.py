"""Whether an app is provably idle: nothing can reach the client before the client acts again.

Code on an asyncio loop runs from four sources only: the ready queue (callbacks and task steps
due now), timers, I/O becoming ready, and other threads handing callbacks over
(``call_soon_threadsafe``, which is how ``run_in_executor`` and ``to_thread`` jobs report back).
So the app is *idle* when

* every task of the connection (the app's own task and those it started) is done, waits in our
  ``receive()``, or is *dormant*: waits on what only code on the loop can release (an asyncio
  queue, lock, event, condition or semaphore; a sleep, whose timer is judged below; other such
  tasks through ``await task``, ``gather`` or ``wait``);
* and nothing else can run first: the ready queue is empty, no timer falls due (timers of the
  driver's own, marked with :func:`not_the_apps`, aside), no file descriptor but the loop's own
  wake-up pipe is watched, and no executor job is running on the loop (whoever started it: a
  worker shared by every connection may answer from a thread too).

Then "no reply" is decided at once. A timer due only after the deadline cannot bring a reply in
time either: the verdict is then ``idle`` with ``later`` set (a keepalive sleeping 30 s); the
driver calls that a timeout when the app kept timers due before it until then (a ticker).
Anything else cannot be told apart from an app about to answer, and :func:`verdict` says
what to wait for before looking again: one loop iteration (something is runnable), the earliest
timer due before the deadline, or the completion of the futures it cannot see through (a future
of unknown origin, an executor job). Watched I/O gives nothing to wait for: the caller waits for
a frame or its deadline.

Not seen: a thread the app started by hand (``threading.Thread``) that calls back into the loop
while everything looks idle. CPython's loop and task internals (``_ready``, ``_scheduled``,
``_selector``, ``Task._fut_waiter``) are read defensively; on a loop without them only the strict
case counts as idle (every task done or in our ``receive()``).
"""

from __future__ import annotations

import asyncio
import asyncio.locks
import asyncio.queues
import asyncio.tasks
import enum
import gc
import inspect
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass, field
from types import FrameType
from typing import Any, TypeVar

__all__ = ["Verdict", "not_the_apps", "verdict"]

F = TypeVar("F", bound=Callable[..., Any])

# Awaiting one of these can only end when code on the loop releases it.
_PRIMITIVES = frozenset({asyncio.queues.__file__, asyncio.locks.__file__})
_SLEEP = asyncio.tasks.sleep.__code__
# asyncio.wait's waiter ends when one of ``fs`` does; 3.11's wait_for waits on ``fut``.
_WAIT = asyncio.tasks._wait.__code__  # type: ignore[attr-defined]
_WAIT_FOR = asyncio.tasks.wait_for.__code__
_MAX_DEPTH = 64
# Functions whose timers are the driver's own (the loop thread's heartbeat), not the app's.
_OURS: set[Callable[..., Any]] = set()
_MISSING = object()
_ASEND = frozenset({"async_generator_asend", "async_generator_athrow"})
_FRAME = ("cr_frame", "gi_frame", "ag_frame")
_AWAIT = ("cr_await", "gi_yieldfrom", "ag_await")


def not_the_apps(function: F) -> F:
    """Mark timers calling ``function`` (or a method of it) as ours: never a reason to wait."""
    _OURS.add(function)
    return function


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the loop may still do before the deadline.

    Attributes:
        idle: Proof that nothing reaches the client before it sends or closes, or before the
            deadline when ``later``.
        later: A timer is due after the deadline: nothing comes in time, though a reply may
            still come late.
        runnable: Something is ready to run now: look again after one iteration.
        wake_at: Loop time of the earliest timer due before the deadline (None: none).
        futures: Futures whose completion may let the app answer: look again when one completes.
        reason: Why the app is not idle ("" when it is).
    """

    idle: bool
    later: bool = False
    runnable: bool = False
    wake_at: float | None = None
    futures: tuple[asyncio.Future[Any], ...] = ()
    reason: str = ""


IDLE = Verdict(idle=True)
_LATER = Verdict(idle=True, later=True)
_RUNNABLE = Verdict(idle=False, runnable=True, reason="something is runnable")


class _State(enum.Enum):
    DORMANT = "dormant"  # done, or waits on the client or on code of the loop
    RUNNABLE = "runnable"
    OPAQUE = "opaque"  # waits on something we cannot see through


@dataclass(slots=True)
class _Walk:
    inputs: Collection[asyncio.Future[Any]]
    visible: bool  # whether the loop's queues can be inspected (then primitives are dormant)
    opaque: list[asyncio.Future[Any]] = field(default_factory=list)
    seen: set[int] = field(default_factory=set)


def verdict(
    loop: asyncio.AbstractEventLoop,
    tasks: Iterable[asyncio.Future[Any]],
    jobs: Iterable[asyncio.Future[Any]],
    *,
    inputs: Collection[asyncio.Future[Any]],
    deadline: float,
) -> Verdict:
    """Judge ``tasks`` (the connection's) and the loop, up to ``deadline`` (loop time).

    ``jobs``: the executor jobs running on the loop; ``inputs``: the futures on which a task waits
    for the client (those of our ``receive()``).
    """
    # Runs at every step of every conversation: the common case (the app waits in receive(),
    # nothing scheduled) takes no walk and no allocation beyond the lists below.
    ready = getattr(loop, "_ready", None)
    scheduled = getattr(loop, "_scheduled", None)
    if ready and any(not h.cancelled() for h in ready):
        return _RUNNABLE
    walk: _Walk | None = None
    opaque = False
    for task in tasks:
        if _waits_for_input(task, inputs):
            continue
        if walk is None:
            walk = _Walk(inputs=inputs, visible=ready is not None and scheduled is not None)
        state = _future(task, walk, 0)
        if state is _State.RUNNABLE:
            return _RUNNABLE
        opaque = opaque or state is _State.OPAQUE
    reasons: list[str] = []
    if opaque:
        reasons.append("a task of the app waits on an unknown awaitable")
    running = [job for job in jobs if not job.done()]
    if running:
        reasons.append("a thread of the app is running")
    timers = [h.when() for h in scheduled or () if not h.cancelled() and not _ours(h)]
    due = [when for when in timers if when <= deadline]
    if due:
        reasons.append("a timer is pending")
    if _watched_io(loop):
        reasons.append("I/O is pending")
    if not reasons:
        return IDLE if not timers else _LATER
    return Verdict(
        idle=False,
        wake_at=min(due) if due else None,
        futures=(*(walk.opaque if walk else ()), *running),
        reason="; ".join(reasons),
    )


def _waits_for_input(task: asyncio.Future[Any], inputs: Collection[asyncio.Future[Any]]) -> bool:
    """The common case, judged first and fast (once per step of every conversation)."""
    waiter = getattr(task, "_fut_waiter", None)
    return task.done() or (waiter is not None and waiter in inputs and not waiter.done())


def _future(future: asyncio.Future[Any], walk: _Walk, depth: int) -> _State:
    if future.done() or id(future) in walk.seen:
        return _State.DORMANT
    walk.seen.add(id(future))
    if future in walk.inputs:
        return _State.DORMANT
    if depth >= _MAX_DEPTH:
        walk.opaque.append(future)
        return _State.OPAQUE
    if not isinstance(future, asyncio.Task):
        children = getattr(future, "_children", None)  # asyncio.gather's future
        if children is not None:
            return _worst(_future(child, walk, depth + 1) for child in children)
        walk.opaque.append(future)
        return _State.OPAQUE
    waiter = getattr(future, "_fut_waiter", _MISSING)
    if waiter is None or (isinstance(waiter, asyncio.Future) and waiter.done()):
        return _State.RUNNABLE  # its step is due (or it was just woken)
    if not isinstance(waiter, asyncio.Future):
        walk.opaque.append(future)  # a Task we cannot look into: wait for it to end
        return _State.OPAQUE
    if waiter in walk.inputs:
        return _State.DORMANT
    frame = _innermost(future)
    code = frame.f_code if frame is not None else None
    if walk.visible and code is not None and (code.co_filename in _PRIMITIVES or code is _SLEEP):
        return _State.DORMANT
    awaited = _awaited(waiter, frame)
    if awaited is None:
        walk.opaque.append(waiter)
        return _State.OPAQUE
    return _worst(_future(f, walk, depth + 1) for f in awaited)


def _awaited(
    waiter: asyncio.Future[Any], frame: FrameType | None
) -> list[asyncio.Future[Any]] | None:
    """The futures whose completion ends ``waiter``, when we know them."""
    if isinstance(waiter, asyncio.Task) or hasattr(waiter, "_children"):
        return [waiter]
    code = frame.f_code if frame is not None else None
    found: Any = None
    if frame is not None and code is _WAIT:
        found = frame.f_locals.get("fs")
    elif frame is not None and code is _WAIT_FOR:
        found = [frame.f_locals.get("fut")]
    if found is None or not all(isinstance(f, asyncio.Future) for f in found):
        return None
    return list(found)


def _worst(states: Iterable[_State]) -> _State:
    found = set(states)
    for state in (_State.RUNNABLE, _State.OPAQUE):
        if state in found:
            return state
    return _State.DORMANT


def _innermost(task: asyncio.Task[Any]) -> FrameType | None:
    """The frame of the innermost coroutine (or generator) ``task`` is suspended in."""
    awaitable: Any = task.get_coro()
    frame: FrameType | None = None
    for _ in range(_MAX_DEPTH):
        if type(awaitable).__name__ in _ASEND:
            # ``await agen.__anext__()`` (``async for``): the asend object holds the generator,
            # and only the garbage collector's view shows it.
            gens = [g for g in gc.get_referents(awaitable) if inspect.isasyncgen(g)]
            if not gens:
                break
            awaitable = gens[0]
        inner = next((getattr(awaitable, a) for a in _FRAME if getattr(awaitable, a, None)), None)
        if inner is None:
            break
        frame = inner
        awaitable = next((getattr(awaitable, a) for a in _AWAIT if hasattr(awaitable, a)), None)
    return frame


def _ours(handle: asyncio.TimerHandle) -> bool:
    callback = getattr(handle, "_callback", None)
    try:
        return getattr(callback, "__func__", callback) in _OURS
    except TypeError:  # an unhashable callable of the app's: not ours
        return False


def _watched_io(loop: asyncio.AbstractEventLoop) -> bool:
    """Whether the loop watches a file descriptor besides its own wake-up pipe."""
    selector = getattr(loop, "_selector", None)
    if selector is None:
        return False  # not a selector loop: its I/O cannot be seen, as before
    watched = selector.get_map()
    count = len(watched)  # cheap, unlike looking keys up: this runs at every step
    if count != 1:
        return count > 1
    ssock = getattr(loop, "_ssock", None)
    return ssock is None or next(iter(watched)) != ssock.fileno()
