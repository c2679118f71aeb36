"""The app under a real ASGI server: uvicorn (each WebSocket backend) or hypercorn, on 127.0.0.1.

``--routes-server NAME`` tests the app over TCP the way it is deployed. :func:`running_server`
binds a socket on 127.0.0.1, port 0 (the OS picks a free port, known before the server starts),
hands it to the server, and runs the server in a thread of its own with its own event loop; the
server runs the app's lifespan (``lifespan="auto"``: an app without lifespan support is served
anyway, as in-process). Start and stop have deadlines (the route's ``connection_timeout``): a
server that cannot start (lifespan startup failed, the backend missing) is a located
:class:`ServerStartError` naming what the server logged.

The app is wrapped (:mod:`ws_routes.driver.serverview`), so its tracebacks and the server's own
errors reach the report of the connection they belong to, through the ``ServerView`` the
network transport asks.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import logging
import socket
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from ws_routes.driver.serverview import ServerLog, ServerRecord, TaggingApp
from ws_routes.driver.transport import AppError
from ws_routes.errors import WsRoutesError

__all__ = [
    "SERVER_NAMES",
    "RunningServer",
    "ServerChoice",
    "ServerStartError",
    "parse_server",
    "running_server",
]

# --routes-server values: the server, then uvicorn's WebSocket backend ("uvicorn" alone is what
# uvicorn itself picks: websockets-sansio since 0.35 when websockets is installed, else wsproto).
# "differential[:SERVER]" replays each finding and probe in-process and under SERVER.
_UVICORN_BACKENDS = {
    "uvicorn": "auto",
    "uvicorn-websockets": "websockets",
    "uvicorn-websockets-sansio": "websockets-sansio",
    "uvicorn-wsproto": "wsproto",
}
SERVER_NAMES = (*_UVICORN_BACKENDS, "hypercorn")
# What each backend imports; every choice also needs the client we talk to it with (websockets).
_NEEDS = {
    "auto": ("uvicorn",),
    "websockets": ("uvicorn",),
    "websockets-sansio": ("uvicorn",),
    "wsproto": ("uvicorn", "wsproto"),
    "hypercorn": ("hypercorn",),
}
_LOGGERS = {
    "uvicorn": ("uvicorn", "uvicorn.error", "uvicorn.asgi"),
    "hypercorn": ("hypercorn", "hypercorn.error"),
}
# Where the servers' own warnings come from (the module a warning is attributed to).
_SERVER_MODULES = (
    r"uvicorn(\..*)?$",
    r"hypercorn(\..*)?$",
    r"websockets(\..*)?$",
    r"wsproto(\..*)?$",
)
# After its deadline, a server that would not stop is told to stop at once, and given this long.
_FORCE_GRACE = 2.0


class ServerStartError(WsRoutesError):
    """The server could not start, or the option names no server we know (a usage error)."""


@dataclass(frozen=True, slots=True)
class ServerChoice:
    """What ``--routes-server`` asked for."""

    name: str  # the server as reports name it: "uvicorn", "uvicorn-wsproto", "hypercorn"
    differential: bool = False

    @property
    def server(self) -> str:
        return "hypercorn" if self.name == "hypercorn" else "uvicorn"

    @property
    def backend(self) -> str:
        return _UVICORN_BACKENDS.get(self.name, "wsproto")  # hypercorn speaks wsproto


def parse_server(text: str, *, source: str = "--routes-server") -> ServerChoice:
    """``uvicorn``, ``uvicorn-wsproto``, ``hypercorn``, ``differential``, ``differential:NAME``.

    Raises:
        ServerStartError: an unknown name (listing the known ones), or a server that is not
            installed (naming the extra that installs it).
    """
    value = text.strip()
    differential = value == "differential" or value.startswith("differential:")
    name = (value.partition(":")[2] or "uvicorn") if differential else value
    if name not in SERVER_NAMES:
        known = ", ".join([*SERVER_NAMES, "differential", "differential:NAME"])
        raise ServerStartError(f"{source}: expected one of {known}, got {text!r}")
    choice = ServerChoice(name, differential=differential)
    needs = (*_NEEDS[choice.backend if choice.server == "uvicorn" else "hypercorn"], "websockets")
    missing = [m for m in needs if importlib.util.find_spec(m) is None]
    if missing:
        raise ServerStartError(
            f"{source} {text}: {' and '.join(missing)} not installed; "
            "install the extra: pip install 'ws-routes[server]'"
        )
    return choice


class RunningServer:
    """A server we started: where it listens, and the ``ServerView`` of its connections."""

    def __init__(self, choice: ServerChoice, port: int, record: ServerRecord) -> None:
        self.choice = choice
        self.port = port
        self.record = record
        self.base_url = f"ws://127.0.0.1:{port}"

    # The network transport's ServerView, answered from the record.
    def connection_header(self) -> tuple[str, str]:
        return self.record.connection_header()

    def app_error(self, tag: str) -> AppError | None:
        return self.record.app_error(tag)

    def app_stopped(self, tag: str) -> bool | None:
        return self.record.app_stopped(tag)


@contextlib.contextmanager
def running_server(
    app: Any, choice: ServerChoice, *, timeout: float, max_size: int | None = None
) -> Iterator[RunningServer]:
    """Serve ``app`` under ``choice`` on 127.0.0.1 for the block; start and stop within ``timeout``.

    Raises:
        ServerStartError: the server did not start within ``timeout``, or exited (lifespan
            startup failed), with what it logged.
    """
    record = ServerRecord(choice.name)
    ready = threading.Event()
    lifespan: list[str] = []

    def heard(message: str) -> None:
        # Served once startup completed, or once an app without lifespan support returned; a
        # failed startup makes the server exit instead, which _wait_started reports.
        lifespan.append(message)
        if message == "lifespan.startup.complete" or (
            message == "returned" and "lifespan.startup.failed" not in lifespan
        ):
            ready.set()

    wrapped = TaggingApp(app, record, on_lifespan=heard)
    with (
        socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock,
        ServerLog(record).installed(_LOGGERS[choice.server]),
        _server_warnings_ignored(),
    ):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        # Listening now: a client connecting before the server accepts waits in the backlog.
        sock.listen(128)
        port = int(sock.getsockname()[1])
        setup = _Setup(wrapped, choice, sock, ready, max_size or 16 * 1024 * 1024)
        serve, stop, started = (_uvicorn if choice.server == "uvicorn" else _hypercorn)(setup)
        failure: list[BaseException] = []
        loops: list[asyncio.AbstractEventLoop] = []

        def main() -> None:
            loop = asyncio.new_event_loop()
            loops.append(loop)
            try:
                loop.run_until_complete(serve())
            except BaseException as exc:  # SystemExit: uvicorn's "startup failed"
                failure.append(exc)
            finally:
                loop.close()

        thread = threading.Thread(target=main, name=f"ws-routes {choice.name}", daemon=True)
        thread.start()
        try:
            _wait_started(choice, thread, started, timeout, record, failure)
            yield RunningServer(choice, port, record)
        finally:
            stop(False)
            thread.join(timeout)
            if thread.is_alive():  # past the deadline (an app that never returns): cut it all
                stop(True)
                _cancel_everything(loops)
                thread.join(_FORCE_GRACE)


@contextlib.contextmanager
def _server_warnings_ignored() -> Iterator[None]:
    """The server's libraries' own warnings ignored while it runs, the app's left as they are.

    Under pytest's ``error`` filter (this project's, and many others') a deprecation inside
    uvicorn or websockets (uvicorn's legacy websockets backend warns on every connection with
    some versions) would raise in the server's thread and break each handshake. Filters are
    process-wide, so this holds for the server's thread too; they are restored after.
    """
    with warnings.catch_warnings():
        for module in _SERVER_MODULES:
            warnings.filterwarnings("ignore", module=module)
        yield


def _cancel_everything(loops: list[asyncio.AbstractEventLoop]) -> None:
    def cancel_all() -> None:
        for task in asyncio.all_tasks():
            task.cancel()

    for loop in loops:
        with contextlib.suppress(RuntimeError):  # its loop closed: the server stopped meanwhile
            loop.call_soon_threadsafe(cancel_all)


def _wait_started(
    choice: ServerChoice,
    thread: threading.Thread,
    started: Callable[[], bool],
    timeout: float,
    record: ServerRecord,
    failure: list[BaseException],
) -> None:
    deadline = time.monotonic() + timeout
    while not started():
        if not thread.is_alive():
            logged = "\n".join(record.unattributed) or "".join(
                f"{type(e).__name__}: {e}" for e in failure
            )
            raise ServerStartError(
                f"--routes-server {choice.name}: the server exited during startup (did the "
                f"app's lifespan startup fail?)" + (f"\n{logged}" if logged else "")
            )
        if time.monotonic() > deadline:
            raise ServerStartError(
                f"--routes-server {choice.name}: the server did not start within "
                f"connection_timeout ({timeout} s): does the app's lifespan startup finish?"
            )
        time.sleep(0.005)


# What starting a server gives: its coroutine to run, how to stop it (forcibly?), whether it
# serves yet.
_Started = tuple[Callable[[], Any], Callable[[bool], None], Callable[[], bool]]


@dataclass(frozen=True, slots=True)
class _Setup:
    app: TaggingApp
    choice: ServerChoice
    sock: socket.socket
    ready: threading.Event  # set when the app's lifespan startup ended (or it has none)
    max_size: int


def _uvicorn(setup: _Setup) -> _Started:
    import uvicorn

    config = uvicorn.Config(
        setup.app,
        ws=setup.choice.backend,  # type: ignore[arg-type]
        lifespan="auto",
        loop="asyncio",
        log_config=None,  # the process's logging is pytest's; ServerLog hears uvicorn's loggers
        ws_max_size=setup.max_size,
        timeout_graceful_shutdown=1,
    )
    config.load()  # imports the backend, here: a missing one is an error on this thread
    server = uvicorn.Server(config)

    def stop(force: bool) -> None:
        server.should_exit = True
        server.force_exit = server.force_exit or force

    return lambda: server.serve(sockets=[setup.sock]), stop, lambda: bool(server.started)


def _hypercorn(setup: _Setup) -> _Started:
    import os

    from hypercorn.asyncio import serve
    from hypercorn.config import Config

    config = Config()
    # Hypercorn takes its socket by file descriptor; it owns (and closes) this duplicate.
    config.bind = [f"fd://{os.dup(setup.sock.fileno())}"]
    config.websocket_max_message_size = setup.max_size
    config.graceful_timeout = 1.0
    # A logger object is used as it is (a name would get a stderr handler): ServerLog hears it.
    config.errorlog = logging.getLogger("hypercorn.error")
    shutdown: list[tuple[asyncio.AbstractEventLoop, asyncio.Event]] = []

    async def run() -> None:
        event = asyncio.Event()
        shutdown.append((asyncio.get_running_loop(), event))
        await serve(setup.app, config, shutdown_trigger=event.wait)  # type: ignore[arg-type]

    def stop(force: bool) -> None:
        for loop, event in shutdown:
            with contextlib.suppress(RuntimeError):  # its loop closed: the server stopped already
                loop.call_soon_threadsafe(event.set)

    # Hypercorn has no "started" flag: the app's lifespan ending (or its returning at once, with
    # no lifespan support) comes just before it serves the socket that is listening already.
    return run, stop, setup.ready.is_set
