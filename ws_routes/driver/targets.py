"""Where the app runs, so the runner does not care: in-process, or a server over the network.

:func:`running_target` gives ``(loop, transport)`` for either. In-process it is
:func:`ws_routes.driver.apps.running_app` (the loop thread, the app's lifespan); over the network
a loop thread alone (the server's lifespan is its own); under a server of ours
(``--routes-server``, :mod:`ws_routes.driver.servers`), that server started for the route and
its view of each connection (the app's tracebacks). Over the network the URL is checked first,
within the connection timeout: a server that is not running is one clear message, not a finding
per connection.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from typing import Any
from urllib.parse import urlsplit

from ws_routes.driver.apps import running_app
from ws_routes.driver.loop import LoopThread
from ws_routes.driver.network import NetworkTransport, ServerView, check_url
from ws_routes.driver.transcript import MAX_KEPT_BYTES
from ws_routes.driver.transport import Transport
from ws_routes.errors import WsRoutesError
from ws_routes.spec.model import Settings

__all__ = ["Target", "running_target", "tls_context"]


@dataclass(frozen=True, slots=True)
class Target:
    """What a route's traffic goes to: ``url`` (a running server) when set, else ``app``."""

    app: Any = None
    url: str | None = None
    tls: ssl.SSLContext | None = None
    view: ServerView | None = None
    # A driver.servers.ServerChoice: ``app`` served by that real server for the route, over TCP.
    server: Any = None

    @property
    def over_network(self) -> bool:
        return self.url is not None or self.server is not None


def tls_context(ca_file: str | None = None, *, insecure: bool = False) -> ssl.SSLContext:
    """The TLS context for ``wss://``: verifying against ``ca_file`` (else the system's CAs), or
    verifying nothing (``insecure``: a self-signed test server)."""
    context = ssl.create_default_context()
    if ca_file is not None:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as exc:
            raise WsRoutesError(
                f"--routes-tls-ca {ca_file}: not a readable PEM CA file ({exc})"
            ) from None
    if insecure:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    return context


def _reachable(url: str, timeout: float) -> None:
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "wss" else 80)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except OSError as exc:
        raise WsRoutesError(
            f"cannot reach the server at {url} ({exc}): is it running, and listening there? "
            "(in CI, wait for its port before running pytest: see docs/live.md)"
        ) from None


@contextmanager
def running_target(target: Target, *, settings: Settings) -> Iterator[tuple[LoopThread, Transport]]:
    """A loop thread and a transport to ``target``: the app started in-process, or the server."""
    if target.server is not None:  # started here, for the route, as in-process its lifespan is
        from ws_routes.driver.servers import running_server

        with (
            running_server(
                target.app,
                target.server,
                timeout=settings.connection_timeout,
                max_size=max(settings.max_message_size, MAX_KEPT_BYTES),
            ) as server,
            running_target(
                replace(target, url=server.base_url, view=server, server=None), settings=settings
            ) as pair,
        ):
            yield pair
        return
    if target.url is None:
        with running_app(target.app, timeout=settings.connection_timeout) as (loop, in_process):
            yield loop, in_process
        return
    url = check_url(target.url)
    _reachable(url, settings.connection_timeout)
    # What the server may send: a reply may echo a message of max_message_size or more (an
    # oversize mutant), so the cap is the transcript's (MAX_KEPT_BYTES), as in-process.
    network = NetworkTransport(
        url,
        tls=target.tls,
        view=target.view,
        max_size=max(settings.max_message_size, MAX_KEPT_BYTES),
    )
    loop = LoopThread()
    try:
        yield loop, network
    finally:
        loop.close()
