"""What happened in one conversation, frame by frame: the evidence every check and report reads.

Lines render as ``> json {...}`` (sent), ``< text "..."`` (received), ``x close 1011 "..."``
(a close), ``! ...`` (a note such as a handshake result), so a transcript reads like a log.
"""

from __future__ import annotations

import contextlib
import json
import reprlib
from dataclasses import dataclass, field
from typing import Any, Literal

from ws_routes.driver.transport import AppError, HandshakeResult

__all__ = [
    "MAX_KEPT_BYTES",
    "MAX_KEPT_FRAMES",
    "Failure",
    "Frame",
    "Transcript",
    "preview",
    "printable",
    "render_frame",
    "render_payload",
    "short_repr",
]

Direction = Literal["send", "recv", "client_close", "server_close", "abort", "note"]
FrameKind = Literal["json", "text", "bytes"]

_PREVIEW = 400
# A drop seen by a client: whether the handler returned or the server failed is not visible.
_NETWORK_DROP = "x dropped (no close frame: the client sees 1006)    [by server]"
# Nesting shown in a preview; deeper values print as "…".
_PREVIEW_DEPTH = 32

# What one conversation keeps of what the server sends (the rest is counted, not stored): enough
# for any correct app's traffic, a few large frames included, while a flooding app cannot make
# the run buffer gigabytes. Sizes are len() of the payload: bytes, or characters of text.
MAX_KEPT_FRAMES = 10_000
MAX_KEPT_BYTES = 64 * 2**20


def printable(text: str) -> str:
    """``text`` with lone surrogates written as ``\\udXXX`` escapes, so it can be printed."""
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def short_repr(text: str, limit: int = 200) -> str:
    """``repr`` of at most ``limit`` characters of ``text`` (lone surrogates come out escaped)."""
    return repr(text[:limit]) + ("…" if len(text) > limit else "")


def _other(value: Any, limit: int) -> str:
    shorter = reprlib.Repr()  # keyword arguments only from 3.12
    shorter.maxstring = shorter.maxother = limit
    try:
        return shorter.repr(value)
    except Exception:  # a repr that raises (or an int past the digit limit)
        return f"<{type(value).__name__}>"


class _Full(Exception):
    """The preview has its characters."""


def _int_text(value: int) -> str:
    try:
        return str(value)
    except ValueError:  # longer than Python's int-to-string limit
        return f"<int of about {int(value.bit_length() * 0.30103) + 1} digits>"


def _float_text(value: float) -> str:
    if value != value:
        return "NaN"
    if value in (float("inf"), float("-inf")):
        return "Infinity" if value > 0 else "-Infinity"
    return float.__repr__(value)


def preview(value: Any, *, limit: int = _PREVIEW) -> str:
    """JSON-like text of ``value``, at most ``limit`` characters plus "…".

    Built piece by piece and stopped once long enough: a report must never render a whole 50 MB
    frame (or a value nested thousands deep) only to cut it. Never raises.
    """
    out: list[str] = []
    used = 0

    def emit(text: str) -> None:
        nonlocal used
        out.append(text)
        used += len(text)
        if used > limit:
            raise _Full

    def quoted(text: str) -> str:
        return json.dumps(text[: limit - used + 2], ensure_ascii=True)

    def walk(item: Any, depth: int) -> None:
        if depth > _PREVIEW_DEPTH:
            emit("…")
        elif item is None or isinstance(item, bool):
            emit({None: "null", True: "true", False: "false"}[item])
        elif isinstance(item, int):
            emit(_int_text(item))
        elif isinstance(item, float):
            emit(_float_text(item))
        elif isinstance(item, str):
            emit(quoted(item))
        elif isinstance(item, dict):
            emit("{")
            for i, (key, each) in enumerate(item.items()):
                emit(", " if i else "")
                emit(quoted(key if isinstance(key, str) else preview(key, limit=40)) + ": ")
                walk(each, depth + 1)
            emit("}")
        elif isinstance(item, list | tuple):
            emit("[")
            for i, each in enumerate(item):
                emit(", " if i else "")
                walk(each, depth + 1)
            emit("]")
        elif isinstance(item, bytes | bytearray):
            emit(repr(bytes(item[: limit - used + 1])))
        else:
            emit(_other(item, limit))

    with contextlib.suppress(_Full):
        walk(value, 0)
    text = "".join(out)
    return text if len(text) <= limit else text[:limit] + "…"


def render_payload(kind: FrameKind | None, data: Any, *, limit: int = _PREVIEW) -> str:
    """One-line rendering of a payload, cut at ``limit`` characters with the full size noted."""
    if isinstance(data, bytes | bytearray | str) and kind != "json":
        # Only the head is rendered: repr or JSON-quote of the slice, never of the whole.
        head = data[: limit + 1]
        text = repr(bytes(head)) if isinstance(head, bytes | bytearray) else json.dumps(head)
        unit = "chars" if isinstance(data, str) else "bytes"
        if len(text) > limit:
            return text[:limit] + f"… ({len(data)} {unit})"
        return text
    return preview(data, limit=limit)


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """One line of a transcript.

    ``index`` is the position of a sent message in the conversation (0-based), also set on
    received frames to the index of the last message sent before them. ``name`` is the message
    type of a sent frame, or the reply type a received frame matched (None: undocumented).
    A sent mutant has its ``mutation`` (what it breaks) and ``family`` (of
    ``ws_routes.mutate.MUTATION_FAMILIES``).
    """

    direction: Direction
    kind: FrameKind | None = None
    data: Any = None
    name: str | None = None
    index: int | None = None
    code: int | None = None
    reason: str = ""
    elapsed_ms: float = 0.0
    mutation: str | None = None
    family: str | None = None
    # A server_close without a close frame: the handler returned without closing.
    dropped: bool = False

    def render(self, *, limit: int = _PREVIEW) -> str:
        return render_frame(self, limit=limit)


def render_frame(frame: Frame, *, limit: int = _PREVIEW) -> str:
    if frame.direction in ("send", "recv"):
        arrow = ">" if frame.direction == "send" else "<"
        text = f"{arrow} {frame.kind} {render_payload(frame.kind, frame.data, limit=limit)}"
        tags = []
        if frame.name:
            tags.append(frame.name)
        if frame.mutation:
            tags.append(f"invalid: {frame.mutation}")
        if frame.direction == "recv" and frame.name is None and frame.kind is not None:
            tags.append("undocumented")
        return text + (f"    [{', '.join(tags)}]" if tags else "")
    if frame.dropped:
        return "x dropped (the handler returned without closing; clients see 1006)    [by server]"
    if frame.direction in ("client_close", "server_close"):
        who = "client" if frame.direction == "client_close" else "server"
        reason = f" {render_payload('text', frame.reason, limit=limit)}" if frame.reason else ""
        return f"x close {frame.code}{reason}    [by {who}]"
    if frame.direction == "abort":
        return "x abort (connection dropped without a close frame)    [by client]"
    note = frame.data if isinstance(frame.data, str) else preview(frame.data, limit=limit)
    return f"! {printable(note)}"


@dataclass(slots=True, kw_only=True)
class Transcript:
    """Everything observed in one conversation. Mutable while the conversation runs."""

    route: str
    path: str
    query_string: str = ""
    headers: tuple[tuple[str, str], ...] = ()
    subprotocols: tuple[str, ...] = ()
    handshake: HandshakeResult = None
    frames: list[Frame] = field(default_factory=list)
    app_error: AppError | None = None
    app_error_index: int | None = None
    # "handshake", "conversation" or "shutdown": when the app raised, for attributing the failure.
    app_error_phase: str | None = None
    # (index of the sent message, reply names it expected) for replies that never came.
    missed_replies: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)
    # Steps after which "no reply" was decided because the app went idle, not by the timeout.
    decided_idle: list[int] = field(default_factory=list)
    # Message index of a client message that ended an operation -> how many frames had been
    # received when the app, having read it, first paused: later frames came after it saw it.
    seen_ends: dict[int, int] = field(default_factory=dict)
    app_stopped: bool = True
    protocol_errors: list[str] = field(default_factory=list)
    # What the app did that works here but not on every real server: lints, not failures.
    portability: list[str] = field(default_factory=list)
    # Tasks the app started that still held the connection after the handler returned.
    leaked_tasks: list[str] = field(default_factory=list)
    # Exceptions in the app's tasks that nobody retrieved, with whether the client had gone.
    task_errors: list[tuple[AppError, bool]] = field(default_factory=list)
    elapsed_ms: float = 0.0
    messages_sent: int = 0
    # Frames the server sent beyond MAX_KEPT_FRAMES / MAX_KEPT_BYTES: counted, not stored.
    dropped_frames: int = 0
    dropped_bytes: int = 0
    kept_bytes: int = 0
    # Over the network (NetworkTransport): findings rest on what a client can see.
    over_network: bool = False
    # A multi-client conversation: which client this is (0: the first), the other clients'
    # transcripts (on the first's), every client's frames in the order they happened, and the
    # (index of the message, reply names) delivered to others that never reached this client.
    client: int = 0
    others: list[Transcript] = field(default_factory=list)
    timeline: list[tuple[int, Frame]] = field(default_factory=list)
    missed_deliveries: list[tuple[int, tuple[str, ...]]] = field(default_factory=list)

    @property
    def sent(self) -> list[Frame]:
        return [f for f in self.frames if f.direction == "send"]

    @property
    def received(self) -> list[Frame]:
        return [f for f in self.frames if f.direction == "recv"]

    @property
    def aborted(self) -> bool:
        """The client dropped the connection without a close frame."""
        return any(f.direction == "abort" for f in self.frames)

    def server_close(self) -> Frame | None:
        for f in self.frames:
            if f.direction == "server_close":
                return f
        return None

    def room_for(self, size: int) -> bool:
        """Whether a received frame of ``size`` may be stored (the caller then appends it);
        False, counting it as dropped, once the conversation holds MAX_KEPT_FRAMES frames or
        MAX_KEPT_BYTES, and for every frame after the first one dropped (no gaps in the log)."""
        if (
            self.dropped_frames
            or len(self.frames) >= MAX_KEPT_FRAMES
            or self.kept_bytes + size > MAX_KEPT_BYTES
        ):
            self.dropped_frames += 1
            self.dropped_bytes += size
            return False
        self.kept_bytes += size
        return True

    def render(self, *, limit: int = _PREVIEW) -> list[str]:
        def line(f: Frame) -> str:
            return _NETWORK_DROP if self.over_network and f.dropped else f.render(limit=limit)

        lines = [line(f) for f in self.frames]
        if self.others:  # several clients: each line labelled, in the order they happened
            lines = [f"client {c + 1} {line(f)}" for c, f in self.timeline]
        if self.dropped_frames:
            lines.append(
                f"! {self.dropped_frames:,} more frame(s) received ({self.dropped_bytes:,} "
                f"bytes/chars), not kept: a conversation keeps at most {MAX_KEPT_FRAMES:,} "
                f"frames and {MAX_KEPT_BYTES // 2**20} MiB"
            )
        return lines


@dataclass(frozen=True, slots=True, kw_only=True)
class Failure:
    """A check that failed, with what it expected and what it saw.

    ``error_type`` is the category printed as "Error Type" (``server_error``, ``timeout``,
    ``protocol_violation``, ``contract_violation``, ``security``); ``index`` is the index of the
    sent message the failure is attributed to (None: handshake or shutdown).
    """

    check: str
    error_type: str
    message: str
    expected: str
    actual: str
    index: int | None = None
    frame: Frame | None = None
    security: bool = False
    details: tuple[tuple[str, str], ...] = ()
    # The exception this failure is about, if any: what tells one bug from another (a leak
    # found in a conversation where the app also raised is the leak's bug, not the raise's).
    cause: AppError | None = field(default=None, compare=False, repr=False)
    # For a failure relabelled as a negative case: the check and error type it had before.
    origin: str = ""
