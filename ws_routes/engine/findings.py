"""What a route's run finds: a failed check as an exception, one type per bug, and our own bugs.

A failure becomes a :class:`ConversationFailed` of a type of its own per bug (:func:`bug_of`,
:func:`failure_type`), raised inside the Hypothesis test: Hypothesis then shrinks each distinct
bug on its own and never slips from one to another. :class:`InternalError` is ws_routes itself
raising while testing a route, reported apart from the findings.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ws_routes.app.faults import is_app_code
from ws_routes.driver.apps import blocked_message
from ws_routes.driver.loop import LoopBlocked
from ws_routes.driver.transcript import Failure, Transcript
from ws_routes.driver.transport import AppError
from ws_routes.engine.conversation import Conversation
from ws_routes.errors import WsRoutesError
from ws_routes.mutate import FRAME_FAMILIES
from ws_routes.spec.model import SERVER_ERROR_CLOSE_CODES, Settings

if TYPE_CHECKING:
    from ws_routes.engine.leaks import Leak

__all__ = [
    "AppFrame",
    "ConversationFailed",
    "InternalError",
    "app_frame",
    "bug_of",
    "failure_type",
    "hang_failure",
    "needs_tracing",
    "swallowed",
]


class ConversationFailed(WsRoutesError):
    """A check failed; carries everything the report needs. Subclassed per bug (failure_type)."""

    def __init__(self, failure: Failure, transcript: Transcript, conversation: Conversation):
        self.failure = failure
        self.transcript = transcript
        self.conversation = conversation
        self.flaky = False
        # Reported as first met: Hypothesis stopped before it could shrink it (search.DIVERGED).
        self.unshrunk = False
        # The name of the probe that failed, when a probe did (reports print it).
        self.probe: str | None = None
        # Other distinct findings on the same route, reported after this one.
        self.also: list[ConversationFailed] = []
        # A bug of ws_routes met later on the same route (reported after the findings).
        self.internal: InternalError | None = None
        # Hypothesis' @reproduce_failure(...) of the shrunk example, when a search found it.
        self.blob: str | None = None
        # What replayed it instead of the run's seed drawing it ("a crash file", "the example
        # database"): the seed then does not reproduce it, so reports name the crash file.
        self.replayed: str | None = None
        # Connections to run first, in order, for it to fail in a fresh app (state they leave
        # behind), and what replaying it in a fresh app found (engine.leaks).
        self.earlier: tuple[Conversation, ...] = ()
        self.leak: Leak | None = None
        super().__init__(f"{failure.check}: {failure.message}")


class InternalError(WsRoutesError):
    """ws_routes itself raised while testing a route: a bug of ours, not a finding.

    Raised inside the Hypothesis test like a failure, so Hypothesis shrinks the conversation
    that sets it off; it carries our traceback and that conversation for the report.
    """

    def __init__(
        self,
        exc: BaseException,
        transcript: Transcript | None,
        conversation: Conversation | None,
    ):
        self.traceback = "".join(traceback.format_exception(exc))
        self.transcript = transcript
        self.conversation = conversation
        super().__init__(f"internal error in ws_routes: {type(exc).__name__}: {exc}"[:500])


_FAILURE_TYPES: dict[str, type[ConversationFailed]] = {}


def failure_type(check: str, bug: str = "") -> type[ConversationFailed]:
    """The exception type of ``bug`` (see :func:`bug_of`), else of ``check``; one per process."""
    # One exception type per bug, so Hypothesis treats different bugs as different (it reports
    # each, shrunk on its own) and does not let shrinking slip from one to another.
    key = bug or check
    if key not in _FAILURE_TYPES:
        name = "".join(p.title() for p in check.split("_")) + "Failed"
        _FAILURE_TYPES[key] = type(name, (ConversationFailed,), {"__module__": __name__})
    return _FAILURE_TYPES[key]


def bug_of(failure: Failure, transcript: Transcript) -> str:
    """What tells this failure's bug from others: the exception it is about and where it was
    raised (:func:`_raised`); for a mutant the server did not reject, the mutation family; else
    what was violated.

    A bug is the same wherever it is reached from: the same crash or leak after a mutant (an
    invalid_input negative case) and without one is one bug, so shrinking can drop the mutant.
    """
    error = failure.cause
    if error is not None:
        return _raised(error.exception, _message_type(failure))
    frame = failure.frame
    if failure.check == "invalid_input" and not failure.origin and frame is not None:
        # A server that lets invalid JSON through may still refuse a missing field: each family
        # it does not reject is a bug of its own, shrunk within its family (one key for all let
        # the shrinker slip to the simplest family, naming a mutation that was rejected).
        return f"invalid_input|not rejected|{frame.family or frame.mutation}"
    return failure.origin or f"{failure.check}|{failure.error_type}"


def _raised(exc: BaseException, message: str) -> str:
    """The exception's type and the app's innermost line it passed through; when no frame of
    the traceback is the app's, the innermost frame itself and the type of ``message``, the
    message it followed.

    The app's line, not the library's: json.loads raising from two places in the decoder on two
    inputs is one bug (an unguarded json.loads), not two. But when the app only mounted a
    library (a protocol server), every crash passes through the same frames of ours and the
    library's: there, where the library raised and what it was handling tell the bugs apart (a
    TypeError on a ``null`` frame and one on a ``payload: null`` are two bugs).
    """
    frames: list[tuple[str, str, int]] = []
    tb = exc.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        frames.append((code.co_filename, code.co_name, tb.tb_lineno))
        tb = tb.tb_next
    name = type(exc).__qualname__
    own = [(filename, line) for filename, _, line in frames if is_app_code(filename)]
    if own:
        filename, line = own[-1]
        return f"raised {name}@{filename}:{line}"
    if not frames:
        return f"raised {name} after {message}"
    filename, function, line = frames[-1]
    return f"raised {name}@{filename}:{function}:{line} after {message}"


def _message_type(failure: Failure) -> str:
    """The type of the message the failure is attributed to ("" for none; for a task's error,
    which may end at any message after the one that started it; or for a mutant that no longer
    has the shape of its type: a binary frame is one bug whichever type it was made from)."""
    frame = failure.frame
    if frame is None or frame.direction != "send" or frame.family in FRAME_FAMILIES:
        return ""
    return frame.name or ""


@dataclass(frozen=True, slots=True)
class AppFrame:
    """Where in the app's own code an exception was raised."""

    filename: str
    line: int
    function: str


def app_frame(exception: BaseException) -> AppFrame | None:
    """The innermost frame of ``exception``'s traceback in the app's own code (the innermost of
    all when every frame is a library's); None without a traceback.

    The app's own line, not the library's: json.loads raising from two places in the decoder on
    two inputs is one bug (an unguarded json.loads), not two.
    """
    found: AppFrame | None = None
    last: AppFrame | None = None
    tb = exception.__traceback__
    while tb is not None:
        code = tb.tb_frame.f_code
        last = AppFrame(code.co_filename, tb.tb_lineno, code.co_name)
        if is_app_code(code.co_filename):
            found = last
        tb = tb.tb_next
    return found or last


def hang_failure(
    exc: LoopBlocked, settings: Settings, transcript: Transcript, conversation: Conversation
) -> ConversationFailed:
    """The ``no_hang`` finding of a conversation the loop never finished: the app blocked it,
    or it outlived its hard deadline."""
    if exc.responsive:  # the loop ran, but the conversation outlived every timeout in it
        message = f"the conversation did not end within its hard deadline ({exc})"
        actual = "the conversation was cancelled; the route was not tested further"
    else:
        message = blocked_message(exc, settings)
        actual = "the event loop stopped responding; the run was abandoned"
    failure = Failure(
        check="no_hang",
        error_type="timeout",
        message=message,
        expected="handlers to await instead of blocking (time.sleep, busy loops, sync I/O)",
        actual=actual,
        index=transcript.sent[-1].index if transcript.sent else None,
    )
    return failure_type("no_hang")(failure, transcript, conversation)


def needs_tracing(failed: ConversationFailed) -> bool:
    """Whether ``failed`` closed as a server error with no exception seen, in this process: the
    framework caught it, and a replay traced in the app's code may find it."""
    t = failed.transcript
    close = t.server_close()
    if t.app_error is not None or close is None or close.code not in SERVER_ERROR_CLOSE_CODES:
        return False
    return not t.over_network  # the server's code runs elsewhere: tracing finds nothing here


def swallowed(failed: ConversationFailed, exception: BaseException, trace: str) -> None:
    """Attach to ``failed`` the exception a traced replay found behind its server-error close."""
    t = failed.transcript
    close = t.server_close()
    note = "(the framework caught this and closed the connection; found by replaying with tracing)\n"
    t.app_error = AppError(exception, note + trace)
    t.app_error_index = close.index if close is not None else None
