"""Translating between ASGI WebSocket messages and the driver's values, checked like a server.

The ASGI side of the in-process driver (:mod:`ws_routes.driver.asgi`) speaks dicts of bytes;
the client side speaks :mod:`ws_routes.driver.transport` values of str. This module converts one
into the other and holds no state: which message is allowed when is the state machine's business
(:mod:`ws_routes.driver.asgi_state_machine`); whether a message is well formed is decided here.

Each reader of an app's message takes ``refuse``: called with the problem when the message is
malformed, it records it and raises in the app (it never returns), as a real server fails the
send. Header names and values are latin-1 on the wire (RFC 9110 5.5); a close reason is cut to
what fits in a close frame, as wsproto servers do.
"""

from __future__ import annotations

import traceback
from collections.abc import Awaitable, Callable, Collection, Iterable, MutableMapping
from typing import Any, NoReturn

from ws_routes.driver.transport import Accepted, BytesFrame, TextFrame

__all__ = [
    "MAX_REASON_BYTES",
    "AsgiApp",
    "Message",
    "Refuse",
    "accepted",
    "app_traceback",
    "close_of",
    "decode_headers",
    "disconnect_message",
    "response_body",
    "response_start",
    "sent_frame",
    "wire_bytes",
]

Message = MutableMapping[str, Any]
AsgiApp = Callable[
    [Message, Callable[[], Awaitable[Message]], Callable[[Message], Awaitable[None]]],
    Awaitable[None],
]
# Records a problem with what the app sent and raises it in the app; never returns.
Refuse = Callable[[str], NoReturn]

# RFC 6455 5.5: a control frame carries at most 125 bytes, 2 of them the close code.
MAX_REASON_BYTES = 123


def sent_frame(
    message: Message, refuse: Refuse, keep: Callable[[int], bool]
) -> TextFrame | BytesFrame | None:
    """The frame a ``websocket.send`` carries, or None when ``keep(its size)`` drops it.

    The hot path, one call per frame: a dropped frame (a flood) is never built.
    """
    text, data = message.get("text"), message.get("bytes")
    if data is None and isinstance(text, str):
        if not text.isascii() and not _utf8(text):
            refuse(
                "websocket.send text holds a lone surrogate, which UTF-8 cannot encode: "
                "a real server raises UnicodeEncodeError (was a client's \\ud800 escape "
                f"echoed with ensure_ascii=False?): {text!r:.80}"
            )
        return TextFrame(text) if keep(len(text)) else None
    if text is None and isinstance(data, (bytes, bytearray, memoryview)):
        return BytesFrame(bytes(data)) if keep(len(data)) else None
    refuse(
        "websocket.send needs exactly one of 'text' (str) and 'bytes' (bytes), "
        f"got text={text!r:.60} and bytes={data!r:.60}"
    )


def accepted(message: Message, refuse: Refuse) -> Accepted:
    """What the client sees of a ``websocket.accept``: the subprotocol as sent, offered or not."""
    subprotocol = message.get("subprotocol")
    if subprotocol is not None and not isinstance(subprotocol, str):
        refuse(f"websocket.accept subprotocol must be str or None: {subprotocol!r}")
    headers = decode_headers(message.get("headers", ()), refuse)
    return Accepted(subprotocol=subprotocol, headers=headers)


def response_start(message: Message, refuse: Refuse) -> tuple[int, tuple[tuple[str, str], ...]]:
    """The status and headers of a ``websocket.http.response.start`` denial."""
    status = message.get("status")
    if not isinstance(status, int) or not 100 <= status <= 599:
        refuse(f"websocket.http.response.start needs an int status: {status!r}")
    return status, decode_headers(message.get("headers", ()), refuse)


def response_body(message: Message, refuse: Refuse) -> tuple[bytes, bool]:
    """A ``websocket.http.response.body``'s bytes, and whether more body follows."""
    body = message.get("body", b"")
    if not isinstance(body, bytes):
        refuse(f"websocket.http.response.body needs bytes, got {body!r:.60}")
    return body, bool(message.get("more_body", False))


def close_of(message: Message, refuse: Refuse) -> tuple[int, str, str | None]:
    """A ``websocket.close``'s code and reason as a client receives them, and a portability note.

    The note is set when the reason had to be cut: servers disagree there (see below).
    """
    code, reason = message.get("code", 1000), message.get("reason") or ""
    if not isinstance(code, int) or not isinstance(reason, str):
        refuse(f"websocket.close needs an int code and str reason: {message!r:.200}")
    size = len(reason.encode("utf-8", "surrogatepass"))
    if size <= MAX_REASON_BYTES:
        return code, reason, None
    # Servers disagree here (wsproto cuts the reason, uvicorn's websockets backend fails the
    # close), and the long reason is often a framework quoting the client's input: a lint, with
    # the reason cut as a client would receive it from wsproto.
    note = (
        f"the app closed with code {code} and a {size}-byte reason ({reason[:40]!r}...); "
        f"a close frame carries at most {MAX_REASON_BYTES}: hypercorn and uvicorn with "
        "wsproto cut it, uvicorn's default websockets backend fails the close and the "
        "client sees 1006. Keep close reasons short (they often quote the client's input)."
    )
    return code, _cut_utf8(reason, MAX_REASON_BYTES), note


def disconnect_message(code: int, reason: str) -> Message:
    """What the app's ``receive()`` returns once the connection is over."""
    return {"type": "websocket.disconnect", "code": code, "reason": reason}


def decode_headers(raw: object, refuse: Refuse) -> tuple[tuple[str, str], ...]:
    """ASGI ``[(bytes, bytes)]`` headers as ``(lower-case name, value)`` strs."""
    if not isinstance(raw, Iterable):
        refuse(f"headers must be an iterable of (bytes, bytes) pairs, got {raw!r:.100}")
    pairs: list[tuple[str, str]] = []
    for pair in raw:
        name, value = pair if isinstance(pair, list | tuple) and len(pair) == 2 else (None, None)
        if not isinstance(name, bytes) or not isinstance(value, bytes):
            refuse(f"each header must be a (bytes, bytes) pair, got {pair!r:.100}")
        pairs.append((name.decode("latin-1").lower(), value.decode("latin-1")))
    return tuple(pairs)


def wire_bytes(text: str) -> bytes:
    """A header value or query string as a client sends it."""
    # Header values are latin-1 (RFC 9110 5.5); clients send anything else as UTF-8.
    try:
        return text.encode("latin-1")
    except UnicodeEncodeError:
        return text.encode()


def app_traceback(exc: BaseException, ours: Collection[str]) -> str:
    """The traceback from the app's entry point down: our own frames on top are noise.

    ``ours`` holds the files of the frames to cut (the one that called the app); the frame the
    exception was raised in is always kept.
    """
    tb = exc.__traceback__
    while tb is not None and tb.tb_next is not None and tb.tb_frame.f_code.co_filename in ours:
        tb = tb.tb_next
    return "".join(traceback.format_exception(type(exc), exc, tb))


def _cut_utf8(text: str, limit: int) -> str:
    """The longest prefix of ``text`` that takes at most ``limit`` bytes in UTF-8."""
    return text.encode("utf-8", "surrogatepass")[:limit].decode("utf-8", "ignore")


def _utf8(text: str) -> bool:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
