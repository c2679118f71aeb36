"""What happened in one conversation, frame by frame: the evidence every check and report reads.

Lines render as ``> json {...}`` (sent), ``< text "..."`` (received), ``x close 1011 "..."``
(a close), ``! ...`` (a note such as a handshake result), so a transcript reads like a log.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

from ws_routes.transport import AppError, HandshakeResult

__all__ = ["Failure", "Frame", "Transcript", "render_frame", "render_payload"]

Direction = Literal["send", "recv", "client_close", "server_close", "abort", "note"]
FrameKind = Literal["json", "text", "bytes"]

_PREVIEW = 400


def render_payload(kind: FrameKind | None, data: Any, *, limit: int = _PREVIEW) -> str:
    """One-line rendering of a payload, cut at ``limit`` characters with the full size noted."""
    if kind == "bytes":
        assert isinstance(data, bytes)
        text = repr(data)
        size = f" ({len(data)} bytes)" if len(text) > limit else ""
    elif kind == "json":
        try:
            text = json.dumps(data, ensure_ascii=True, separators=(", ", ": "))
        except (TypeError, ValueError):
            text = repr(data)
        size = ""
    else:
        text = json.dumps(data, ensure_ascii=True) if isinstance(data, str) else repr(data)
        size = f" ({len(data)} chars)" if isinstance(data, str) and len(text) > limit else ""
    if len(text) > limit:
        text = text[:limit] + "…"
    return text + size


@dataclass(frozen=True, slots=True, kw_only=True)
class Frame:
    """One line of a transcript.

    ``index`` is the position of a sent message in the conversation (0-based), also set on
    received frames to the index of the last message sent before them. ``name`` is the message
    type of a sent frame, or the reply type a received frame matched (None: undocumented).
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
    if frame.direction in ("client_close", "server_close"):
        who = "client" if frame.direction == "client_close" else "server"
        reason = f" {json.dumps(frame.reason)}" if frame.reason else ""
        return f"x close {frame.code}{reason}    [by {who}]"
    if frame.direction == "abort":
        return "x abort (connection dropped without a close frame)    [by client]"
    return f"! {frame.data}"


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

    def render(self, *, limit: int = _PREVIEW) -> list[str]:
        return [f.render(limit=limit) for f in self.frames]


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
