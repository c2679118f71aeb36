"""Every error a user can cause derives from :class:`WsRoutesError`.

Errors carry structured fields (where, what was expected, what was found, a hint) so that the
pytest layer and the command line can render them without a traceback.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

__all__ = [
    "AppLoadError",
    "Location",
    "SchemaCompileError",
    "SpecError",
    "SpecErrors",
    "WsRoutesError",
    "WsRoutesWarning",
    "did_you_mean",
    "pointer_to_dotted",
    "pointer_join",
]


_LONGEST_PATH = 16


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """Return ``"did you mean 'x'?"`` for the closest candidate, or None when nothing is close."""
    matches = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return f"did you mean {matches[0]!r}?" if matches else None


def _escape(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def pointer_join(pointer: str, *tokens: str | int) -> str:
    """Append tokens to a JSON pointer (RFC 6901), escaping ``~`` and ``/``."""
    return pointer + "".join("/" + _escape(str(t)) for t in tokens)


def pointer_tokens(pointer: str) -> list[str]:
    """Split a JSON pointer into its unescaped tokens."""
    if not pointer:
        return []
    return [t.replace("~1", "/").replace("~0", "~") for t in pointer.split("/")[1:]]


def pointer_to_dotted(pointer: str) -> str:
    """``/routes/~1ws~1chat/messages`` -> ``routes./ws/chat.messages``: how people read key paths."""
    tokens = pointer_tokens(pointer)
    if len(tokens) > _LONGEST_PATH:
        # A value nested 100 deep would print a path longer than the message about it.
        hidden = len(tokens) - 8
        tokens = [*tokens[:5], f"...({hidden} more)...", *tokens[-3:]]
    return ".".join(tokens) or "(top level)"


@dataclass(frozen=True, slots=True, kw_only=True)
class Location:
    """Where something was written: a file, a 1-based line and column, and a JSON pointer.

    ``line`` and ``column`` are None for sources without positions (TOML, Python objects).
    """

    file: str | None = None
    line: int | None = None
    column: int | None = None
    pointer: str = ""

    def child(self, *tokens: str | int) -> Location:
        """The same file, one level deeper; the position is unknown until a loader fills it in."""
        return Location(file=self.file, pointer=pointer_join(self.pointer, *tokens))

    def __str__(self) -> str:
        parts = [self.file or "<spec>"]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts) + ": " + pointer_to_dotted(self.pointer)


class WsRoutesError(Exception):
    """Base class of every error ws_routes raises on purpose."""


class WsRoutesWarning(UserWarning):
    """Something in the user's setup that is probably a mistake, or that ws_routes cannot honour
    fully, but that does not stop the run (``ws_routes.plugin.WsRoutesWarning`` is this class)."""


class SpecError(WsRoutesError):
    """A problem in a spec, located by file, line, column and JSON pointer."""

    def __init__(self, message: str, *, location: Location | None = None, hint: str | None = None):
        self.message = message
        self.location = location or Location()
        self.hint = hint
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.location}: {self.message}"
        if self.hint:
            text += f" ({self.hint})"
        return text


class SpecErrors(WsRoutesError):
    """Several spec errors, reported together so the user fixes them in one pass."""

    def __init__(self, errors: Sequence[SpecError]):
        self.errors = tuple(errors)
        super().__init__(str(self))

    def __str__(self) -> str:
        return "\n".join(str(e) for e in self.errors)


class SchemaCompileError(WsRoutesError):
    """A JSON Schema we cannot generate values from.

    ``pointer`` is the JSON pointer of the offending keyword *inside the schema*; callers that know
    where the schema was written turn this into a :class:`SpecError` with a full location.
    """

    def __init__(self, message: str, *, pointer: str = "", keyword: str | None = None):
        self.message = message
        self.pointer = pointer
        self.keyword = keyword
        super().__init__(f"{pointer or '(schema root)'}: {message}")


class AppLoadError(WsRoutesError):
    """The ``module:attribute`` app (or strategy) import path could not be resolved."""
