"""longrepr: our failures as pytest's own longrepr, with the one-line finding as the crash line."""

from __future__ import annotations

import pytest

from ws_routes.plugin.longrepr import body_of, finding_repr, is_short

LINE = "no_server_error: IndexError in commands (qs_app.py:21) after 1 message [seed 1]"
REPORT = "=====\nWEBSOCKET TEST FAILURE: /ws/x\n=====\n"


def test_the_body_is_the_report_and_the_crash_line_the_finding() -> None:
    longrepr = finding_repr(REPORT, LINE, path="ws-routes.yaml", lineno=4)
    assert str(longrepr) == REPORT.rstrip("\n")
    assert longrepr.reprcrash is not None
    assert longrepr.reprcrash.message == LINE
    # What --tb=line prints.
    assert str(longrepr.reprcrash) == f"ws-routes.yaml:4: {LINE}"


def test_it_survives_the_way_xdist_sends_reports() -> None:
    report = pytest.TestReport(
        "ws-routes::test_websocket[/ws/x]",
        ("ws-routes", None, "test_websocket[/ws/x]"),
        {},
        "failed",
        finding_repr(REPORT, LINE, path="ws-routes.yaml", lineno=4),
        "call",
    )
    again = pytest.TestReport._from_json(report._to_json())
    assert again.longrepr.reprcrash.message == LINE  # type: ignore[union-attr]
    assert str(again.longrepr) == REPORT.rstrip("\n")


def test_an_empty_body_prints_nothing() -> None:
    assert str(finding_repr("", LINE, path="x", lineno=0)) == ""


@pytest.mark.parametrize(
    ("style", "short", "body"),
    [
        ("auto", False, REPORT),
        ("long", False, REPORT),
        ("native", False, REPORT),
        ("short", True, REPORT),
        ("line", False, ""),  # pytest prints the crash line; the body would repeat it
        ("no", False, REPORT),  # shown nowhere but in JUnit
    ],
)
def test_each_tb_style(style: str, short: bool, body: str) -> None:
    assert is_short(style) is short
    assert body_of(style, REPORT) == body
