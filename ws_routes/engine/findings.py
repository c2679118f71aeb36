"""What a route's run finds: a failed check as an exception, one type per bug, and our own bugs.

A failure becomes a :class:`ConversationFailed` of a type of its own per bug (:func:`bug_of`,
:func:`failure_type`), raised inside the Hypothesis test: Hypothesis then shrinks each distinct
bug on its own and never slips from one to another. :class:`InternalError` is ws_routes itself
raising while testing a route, reported apart from the findings.
"""

from __future__ import annotations

import sysconfig
import traceback

from ws_routes.driver.apps import blocked_message
from ws_routes.driver.loop import LoopBlocked
from ws_routes.driver.transcript import Failure, Transcript
from ws_routes.engine.conversation import Conversation
from ws_routes.errors import WsRoutesError
from ws_routes.spec.model import Settings

__all__ = ["ConversationFailed", "InternalError", "bug_of", "failure_type", "hang_failure"]


class ConversationFailed(WsRoutesError):
    """A check failed; carries everything the report needs. Subclassed per bug (failure_type)."""

    def __init__(self, failure: Failure, transcript: Transcript, conversation: Conversation):
        self.failure = failure
        self.transcript = transcript
        self.conversation = conversation
        self.flaky = False
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
    """What tells this failure's bug from others: the type of the exception it is about and the
    app's line that raised it, else what was violated.

    A bug is the same wherever it is reached from: the same crash or leak after a mutant (an
    invalid_input negative case) and without one is one bug, so shrinking can drop the mutant.
    """
    error = failure.cause
    if error is not None:
        # The app's own line, not the library's: json.loads raising from two places in the
        # decoder on two inputs is one bug (an unguarded json.loads), not two.
        where = ""
        tb = error.exception.__traceback__
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if not where or not filename.startswith(_LIBRARY_PATHS):
                where = f"{filename}:{tb.tb_lineno}"
            tb = tb.tb_next
        return f"raised {type(error.exception).__qualname__}@{where}"
    return failure.origin or f"{failure.check}|{failure.error_type}"


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


# Where the standard library and installed packages live: frames there are not the app's.
_LIBRARY_PATHS = tuple(
    {sysconfig.get_paths()[name] for name in ("stdlib", "platstdlib", "purelib", "platlib")}
)
