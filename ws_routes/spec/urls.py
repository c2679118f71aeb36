"""Server URLs (``server: {url: ...}``, ``--routes-url``): what one may hold, said once for all."""

from __future__ import annotations

from urllib.parse import urlsplit

__all__ = ["url_problem"]


def url_problem(url: str) -> str | None:
    """What is wrong with ``url`` as a server's address, or None when it is one.

    A server URL is ``ws://HOST[:PORT][/prefix]`` or ``wss://...``: routes' paths go after it, so
    a query or fragment has no place in it.
    """
    expected = "expected ws://HOST[:PORT][/prefix] or wss://HOST[:PORT][/prefix]"
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:  # a port that is not a number, a bad IPv6 literal
        return f"{expected}, got {url!r} ({exc})"
    if parts.scheme not in ("ws", "wss") or not parts.hostname:
        return f"{expected}, got {url!r}"
    if parts.query or parts.fragment:
        return f"a server URL holds no query or fragment (routes' paths go after it), got {url!r}"
    if port == 0:
        return f"port 0 is no server's port, got {url!r}"
    return None
