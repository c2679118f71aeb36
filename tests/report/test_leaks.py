"""The report's lines about a case that did not fail in a fresh app on its own."""

from __future__ import annotations

from ws_routes.driver.transcript import Transcript
from ws_routes.driver.transport import Accepted
from ws_routes.engine.conversation import Conversation, Step
from ws_routes.engine.leaks import Leak
from ws_routes.report.leaks import earlier_lines, leak_lines

EARLIER = (Conversation(path="/ws"), Conversation(path="/ws", steps=(Step("say", "text", "x"),)))


def test_an_ordinary_bug_gets_no_line() -> None:
    assert leak_lines(None) == []


def test_the_earlier_connections_found_are_labelled_in_order() -> None:
    leak = Leak(
        earlier=EARLIER,
        transcripts=(("! connect /ws", "x close 1000    [by client]"),),  # the first only
        searched=300,
        forgotten=44,
        replays=12,
        elapsed_s=0.4,
    )
    text = "\n".join(leak_lines(leak))
    assert "this case passes in a fresh app" in text
    assert "These 2 earlier connection(s)" in text
    assert (
        "(minimal; found among the 300 connection(s) this app was sent before it, of which" in text
    )
    assert "the last 256 were kept; 12 fresh replay(s), 0.4 s)" in text
    assert "Connection 1 (earlier):\n  ! connect /ws\n  x close 1000" in text
    # Without a rendered transcript: what it sent.
    assert "Connection 2 (earlier):\n  ! connect /ws; sent: text say" in text
    assert text.endswith("Connection 3 (the failing case): the transcript above.")
    cut = "\n".join(leak_lines(Leak(earlier=EARLIER, minimal=False)))
    assert "(not minimal: the budget ran out first;" in cut


def test_no_prefix_a_budget_and_an_error_are_said_plainly() -> None:
    none = " ".join(leak_lines(Leak(outcome="none", searched=5, replays=2)))
    assert "no sequence of the 5 connection(s) this app was sent before it made it fail" in none
    assert "flaky or order-dependent" in none
    budget = " ".join(leak_lines(Leak(outcome="budget", replays=9, elapsed_s=30.0)))
    assert "ran out of its budget (9 fresh replay(s), 30.0 s)" in budget
    error = " ".join(leak_lines(Leak(outcome="error", detail="it will not import")))
    assert "could not be replayed in a fresh app: it will not import." in error


def test_replayed_earlier_connections_are_printed_before_the_case() -> None:
    transcript = Transcript(route="/ws", path="/ws", handshake=Accepted())
    lines = earlier_lines([transcript])
    assert lines[:3] == ["Connection 1 (earlier):", "  ! connect /ws", "  ! handshake accepted"]
    assert lines[-1] == "Connection 2 (the failing case):"
    assert earlier_lines([]) == []
