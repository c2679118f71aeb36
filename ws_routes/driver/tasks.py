"""Which asyncio tasks an app started on a connection, and what became of them.

A task factory on the loop hands every new task to the :class:`TaskOwner` found in its creator's
context; the driver sets an owner in the app's task, and tasks inherit their creator's context,
so tasks started by tasks the app started are found too, on every Python version (3.12's
``Task.get_context`` is not needed). Only weak references are kept to pending tasks, and no
reference from an owner back to its connection, so nothing here keeps a finished connection alive.

Executor jobs (``run_in_executor``, ``to_thread``) are counted per loop, not per owner
(:func:`running_jobs`): a thread can make the app answer whoever started it.

What the checks read from an owner:

* ``pending()``: tasks still running (a reply may still come from one of them).
* ``leaked(scope)``: after the handler returned, pending tasks that still hold this connection
  (a local variable in their coroutine chain is the connection's scope, or an object whose
  ``scope`` it is, such as a Starlette or Litestar ``WebSocket``). A task that does not (a
  broadcaster shared by every connection, started lazily by the first) is not this connection's
  leak, and reporting it would be a false alarm.
* ``unhandled()``: tasks that ended with an exception nobody retrieved (asyncio would log "Task
  exception was never retrieved" when it is garbage-collected), with whether the client had
  already gone when it ended. A ``cancel()`` of a task that had already died does not count as
  reading its exception.
"""

from __future__ import annotations

import asyncio
import contextvars
import traceback
import weakref
from collections.abc import Callable, Coroutine, Iterator, Mapping
from types import FrameType
from typing import Any

from ws_routes.driver.transport import AppError

__all__ = ["TaskOwner", "describe", "running_jobs", "track_tasks"]

_OWNER: contextvars.ContextVar[TaskOwner | None] = contextvars.ContextVar(
    "ws_routes_task_owner", default=None
)


class TaskOwner:
    """The tasks started in one context (one connection's app task and its descendants)."""

    __slots__ = ("__weakref__", "_done", "_pending", "client_gone")

    def __init__(self) -> None:
        self._pending: weakref.WeakSet[asyncio.Task[Any]] = weakref.WeakSet()
        # Finished tasks are kept (strongly) only until the connection is judged: an exception
        # must still be there to be read, and asyncio drops finished tasks at once.
        self._done: list[tuple[asyncio.Task[Any], bool]] = []
        self.client_gone = False  # set by the connection; read when a task ends

    def enter(self) -> None:
        """Make this the owner of tasks created from the current context on."""
        _OWNER.set(self)

    def adopt(self, task: asyncio.Task[Any]) -> None:
        self._pending.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[Any]) -> None:
        if not task.cancelled():
            self._done.append((task, self.client_gone))

    def pending(self) -> list[asyncio.Task[Any]]:
        if not self._pending:  # most apps start none: skip iterating the WeakSet
            return []
        return [t for t in self._pending if not t.done()]

    def leaked(self, scope: Mapping[str, Any]) -> list[asyncio.Task[Any]]:
        return [t for t in self.pending() if _holds(t, scope)]

    def unhandled(self) -> list[tuple[AppError, bool]]:
        """(error, whether the client had gone) for tasks whose exception nobody retrieved.

        Reading the exception marks it retrieved, so asyncio does not also log it later.
        """
        found: list[tuple[AppError, bool]] = []
        for task, gone in self._done:
            # CPython's Task sets _log_traceback while an exception is unretrieved; a Task
            # implementation without it is given the benefit of the doubt.
            if getattr(task, "_log_traceback", False) or getattr(task, "_ws_cancelled_dead", False):
                exc = task.exception()
                if exc is not None:
                    text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
                    found.append((AppError(exc, f"in task {describe(task)}\n{text}"), gone))
        self._done.clear()
        return found


def track_tasks(loop: asyncio.AbstractEventLoop) -> None:
    """Install (once) the task factory that hands new tasks to their creator's owner, and the
    ``run_in_executor`` that hands it the executor jobs they start."""
    previous = loop.get_task_factory()
    if getattr(previous, "_ws_routes_tracking", False):
        return
    _track_jobs(loop)

    def factory(
        loop: asyncio.AbstractEventLoop, coro: Coroutine[Any, Any, Any], **kwargs: Any
    ) -> asyncio.Future[Any]:
        # create_task calls the factory synchronously, so this is the creator's context.
        owner = _OWNER.get()
        if previous is not None:
            task = previous(loop, coro, **kwargs)
        elif owner is not None:
            task = _AppTask(coro, loop=loop, **kwargs)
        else:
            task = asyncio.Task(coro, loop=loop, **kwargs)
        if owner is not None and isinstance(task, asyncio.Task):
            owner.adopt(task)
        return task

    factory._ws_routes_tracking = True  # type: ignore[attr-defined]
    loop.set_task_factory(factory)  # type: ignore[arg-type]


def running_jobs(loop: asyncio.AbstractEventLoop) -> list[asyncio.Future[Any]]:
    """The executor jobs (``run_in_executor``, ``to_thread``) started on ``loop`` since
    :func:`track_tasks` that are still running, whoever started them: a request handed to a
    worker shared by every connection may be answered from a thread too."""
    jobs: set[asyncio.Future[Any]] = getattr(loop.run_in_executor, "_ws_routes_jobs", set())
    return [job for job in jobs if not job.done()]


def _track_jobs(loop: asyncio.AbstractEventLoop) -> None:
    # An instance attribute shadows the method: asyncio.to_thread calls it through the loop too.
    original = loop.run_in_executor
    jobs: set[asyncio.Future[Any]] = set()  # each dropped by its done callback

    def run_in_executor(executor: Any, func: Callable[..., Any], *args: Any) -> Any:
        job = original(executor, func, *args)
        jobs.add(job)
        job.add_done_callback(jobs.discard)
        return job

    run_in_executor._ws_routes_jobs = jobs  # type: ignore[attr-defined]
    setattr(loop, "run_in_executor", run_in_executor)  # noqa: B010  # mypy: no method assignment


class _AppTask(asyncio.Task[Any]):
    """A task the app started: notes when ``cancel()`` hid an exception nobody read.

    ``cancel()`` on a task that already died marks its exception retrieved, and cancelling
    every task of a connection in a ``finally`` is a common clean-up: without this, a task that
    crashed while the client was still being served would go unreported.
    """

    _ws_cancelled_dead = False

    def cancel(self, msg: Any | None = None) -> bool:
        if self.done() and not self.cancelled() and getattr(self, "_log_traceback", False):
            self._ws_cancelled_dead = True
        return super().cancel(msg)


def describe(task: asyncio.Task[Any]) -> str:
    coro = task.get_coro()
    name = getattr(coro, "__qualname__", None) or repr(coro)
    code = getattr(coro, "cr_code", None)
    where = f" ({code.co_filename}:{code.co_firstlineno})" if code is not None else ""
    return f"{task.get_name()}: {name}{where}"


def _frames(task: asyncio.Task[Any]) -> Iterator[FrameType]:
    """The suspended frames of a task, outermost first (coroutines awaiting coroutines)."""
    coro: Any = task.get_coro()
    for _ in range(64):  # a chain deeper than this is not worth walking
        frame = getattr(coro, "cr_frame", None) or getattr(coro, "gi_frame", None)
        if frame is None:
            return
        yield frame
        coro = getattr(coro, "cr_await", None) or getattr(coro, "gi_yieldfrom", None)


def _holds(task: asyncio.Task[Any], scope: Mapping[str, Any]) -> bool:
    for frame in _frames(task):
        for value in frame.f_locals.values():
            try:
                if value is scope or getattr(value, "scope", None) is scope:
                    return True
            except Exception:  # a property that raises is not our socket
                continue
    return False
