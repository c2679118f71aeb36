"""The app, running: a loop thread with the app's lifespan started, ``os._exit`` trapped, and a
transport whose waits the loop's watchdog knows about; and how a blocked loop is described.

:func:`running_app` is what each route runs inside (``runner.RouteRunner``). The lifespan phases
are waits on the app like the driver's (``LoopThread.watch``): a startup or shutdown that blocks
the loop for longer than ``connection_timeout`` is a :class:`LifespanError` at that timeout, not
after a hard deadline.
"""

from __future__ import annotations

from collections.abc import Coroutine, Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from ws_routes.app.faults import trap_os_exit
from ws_routes.driver.asgi import AsgiTransport
from ws_routes.driver.lifespan import Lifespan, LifespanError
from ws_routes.driver.loop import LoopBlocked, LoopThread
from ws_routes.spec.model import Settings

__all__ = ["blocked_message", "running_app"]

T = TypeVar("T")

# Lifespan startup and shutdown end on their own within their timeout plus about a second
# (a traceback grace and a cancellation grace, see lifespan.py); the hard deadline allows that.
_LIFESPAN_SLACK = 2.0


@contextmanager
def running_app(app: Any, *, timeout: float) -> Iterator[tuple[LoopThread, AsgiTransport]]:
    """A loop thread with the app's lifespan started on it, and a transport to the app.

    Shutdown runs even when the body fails; a loop the app blocked is abandoned instead. A
    lifespan phase that blocks the loop for longer than ``timeout`` is a :class:`LifespanError`.
    """
    loop = LoopThread()
    lifespan = Lifespan(app)
    # os._exit in the app's code is a finding of the route, not the end of the session.
    with trap_os_exit(loop.thread):
        try:
            _lifespan_phase(loop, lifespan.startup(timeout=timeout), "startup", timeout)
            yield loop, AsgiTransport(app, state=lifespan.state, watch=loop.watch)
        finally:
            if loop.usable:
                try:
                    _lifespan_phase(loop, lifespan.shutdown(timeout=timeout), "shutdown", timeout)
                finally:
                    loop.close()


def _lifespan_phase(
    loop: LoopThread, phase: Coroutine[Any, Any, None], name: str, timeout: float
) -> None:
    try:
        loop.run(
            _watched(loop, phase, f"the app's lifespan {name}"),
            timeout=timeout + _LIFESPAN_SLACK,
            stall=timeout,
        )
    except LoopBlocked as exc:
        how_long = f"{exc.stalled:.1f} s" if exc.stalled is not None else f"over {exc.timeout} s"
        raise LifespanError(
            name,
            f"the app blocked the event loop for {how_long} during lifespan {name}, longer than "
            f"connection_timeout ({timeout} s): await instead of blocking (time.sleep, sync "
            "I/O, busy loops) in startup and shutdown handlers",
            traceback=exc.stack,
        ) from None


async def _watched(loop: LoopThread, coro: Coroutine[Any, Any, T], during: str) -> T:
    """Await ``coro`` as one wait on the app, held to the run's ``stall`` (see LoopThread.watch)."""
    loop.watch(None, during)
    try:
        return await coro
    finally:
        loop.watch(None, "")


def blocked_message(exc: LoopBlocked, settings: Settings) -> str:
    """The no_hang message for a blocked loop: how long, during which wait, what it allows."""
    how_long = f" for {exc.stalled:.1f} s" if exc.stalled is not None else ""
    during = f" while {exc.during}" if exc.during else ""
    names = [
        name
        for name, value in (
            ("message_timeout", settings.message_timeout),
            ("connection_timeout", settings.connection_timeout),
        )
        if value == exc.timeout
    ]
    allowed = f"{exc.timeout} s" + (f" ({names[0]})" if names else "")
    return (
        f"the app blocked the event loop{how_long}{during}, longer than the {allowed} that wait "
        "allows: on a server, every other connection stalls meanwhile (a synchronous call such "
        "as time.sleep(), sync I/O or a busy loop in an async handler?)"
    )
