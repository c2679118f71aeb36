"""What HTTP/1.1 can carry of a handshake, for the network driver: headers, subprotocols, paths.

The in-process driver hands the app any string; a request on the wire cannot hold a control
character in a header value, a name that is no token, or a subprotocol that is no token, and a
path travels percent-encoded. What cannot travel is left out (the driver notes it), never sent
broken: a split request would be our bug reported as the server's.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from urllib.parse import quote

__all__ = ["offerable", "on_the_wire", "wire_target"]

# A header name or a subprotocol is an HTTP token (RFC 9110 5.1, RFC 6455 4.1).
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
# A header value holds no control character but HTAB.
_CONTROL = re.compile(r"[\x00-\x08\x0a-\x1f\x7f]")
_PATH_SAFE = "/%!$&'()*+,;=:@-._~"


def on_the_wire(headers: Sequence[tuple[str, str]]) -> tuple[list[tuple[str, str]], int]:
    """The headers as HTTP/1.1 carries them, and how many it cannot carry at all.

    A value's characters beyond latin-1 go as their UTF-8 bytes, as the in-process driver sends
    them (``wire_bytes``); a name that is no token, or a control character (CR, LF: a split
    request), cannot be sent.
    """
    out = []
    for name, value in headers:
        if not _TOKEN.fullmatch(name) or _CONTROL.search(value):
            continue
        try:
            value.encode("latin-1")
        except UnicodeEncodeError:
            value = value.encode("utf-8", "surrogatepass").decode("latin-1")
        out.append((name, value))
    return out, len(headers) - len(out)


def offerable(subprotocols: Sequence[str]) -> list[str]:
    """The subprotocols a client can offer (Sec-WebSocket-Protocol holds tokens only)."""
    return [p for p in subprotocols if _TOKEN.fullmatch(p)]


def wire_target(path: str, query_string: bytes = b"") -> str:
    """``path`` (as sent on the wire; a ``?query`` in it counts when ``query_string`` is empty)
    and the query, percent-encoded where they must be, as a request target starting with /."""
    if "?" in path:
        path, _, query = path.partition("?")
        query_string = query_string or query.encode("utf-8", "surrogatepass")
    # A lone surrogate in a drawn path segment goes as the bytes Python writes for it.
    wire = quote(path.encode("utf-8", "surrogatepass"), safe=_PATH_SAFE)
    query = quote(query_string, safe=_PATH_SAFE + "?")
    return ("" if wire.startswith("/") else "/") + wire + (f"?{query}" if query else "")
