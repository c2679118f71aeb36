"""A real server for tests and benchmarks: uvicorn on 127.0.0.1, a free port, in a thread.

Starting and stopping both have deadlines: a server that does not come up (or down) in time is
an error here, never a hung test.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

__all__ = ["running_uvicorn"]


@contextlib.contextmanager
def running_uvicorn(
    app: Any,
    *,
    ws: str = "websockets-sansio",
    ssl: tuple[str, str] | None = None,
    start_timeout: float = 10.0,
    stop_timeout: float = 5.0,
) -> Iterator[int]:
    """Serve ``app`` with uvicorn on 127.0.0.1 (port 0: the OS picks a free one); yield the port.

    ``ws`` is uvicorn's WebSocket backend (``websockets``, ``websockets-sansio`` or ``wsproto``);
    ``ssl`` a (certificate file, key file) pair to serve ``wss://``.
    """
    import uvicorn

    cert, key = ssl or (None, None)
    config = uvicorn.Config(
        app,
        host="127.0.0.1",
        port=0,
        ws=ws,
        log_level="critical",
        lifespan="off",
        ssl_certfile=cert,
        ssl_keyfile=key,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="uvicorn", daemon=True)
    thread.start()
    deadline = time.monotonic() + start_timeout
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"uvicorn did not start within {start_timeout} s")
        time.sleep(0.01)
    port: int = server.servers[0].sockets[0].getsockname()[1]
    try:
        yield port
    finally:
        server.should_exit = True
        thread.join(stop_timeout)
        if thread.is_alive():
            server.force_exit = True
            thread.join(stop_timeout)
