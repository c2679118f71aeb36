"""Acceptance: what CI shows of a finding, one line (the short summary, JUnit's message), the
JUnit properties, and how --tb and -q/-qq shape our output as they shape pytest's."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from tests.conftest import STARLETTE_HEADER, RunRoutes

# Item 1 is out of range: an IndexError raised in `commands`, on the line marked below.
COMMANDS_APP = (
    STARLETTE_HEADER
    + """
ITEMS = ["start"]


async def commands(ws: WebSocket) -> None:
    await ws.accept()
    try:
        while True:
            data = json.loads(await ws.receive_text())
            if data["i"] == 2:
                raise KeyError("two")  # the second bug
            await ws.send_json({"item": ITEMS[data["i"]]})  # the first bug
    except WebSocketDisconnect:
        pass


app = Starlette(routes=[WebSocketRoute("/ws/cmd", commands)])
"""
)
FIRST_BUG = next(
    n for n, line in enumerate(COMMANDS_APP.splitlines(), 1) if line.endswith("# the first bug")
)
SECOND_BUG = FIRST_BUG - 1


def spec(maximum: int) -> str:
    return f"""
routes:
  /ws/cmd:
    messages:
      cmd:
        kind: json
        schema: {{type: object, required: [i], properties: {{i: {{type: integer, minimum: 0, maximum: {maximum}}}}}}}
        reply: [item]
    replies:
      item: {{kind: json}}
    invalid: {{enabled: false}}
"""


ONE_BUG = spec(1)
TWO_BUGS = spec(2)
LINE = f"no_server_error: IndexError in commands (app.py:{FIRST_BUG}) after 1 message [seed 1]"


@pytest.fixture
def on_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CI", "true")


@pytest.fixture
def off_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    for variable in ("CI", "BUILD_NUMBER"):  # what pytest reads to tell CI
        monkeypatch.delenv(variable, raising=False)


def summary(lines: list[str]) -> list[str]:
    start = next(i for i, line in enumerate(lines) if "short test summary info" in line)
    return lines[start + 1 : -1]


def test_ci_shows_the_finding_in_one_line(run_routes: RunRoutes, on_ci: None) -> None:
    result = run_routes(COMMANDS_APP, "-rf", spec=ONE_BUG)
    result.assert_outcomes(failed=1)
    # Under CI pytest prints the whole message: it is the one line, not the whole report.
    assert summary(result.stdout.lines) == [f"FAILED ws-routes::test_websocket[/ws/cmd] - {LINE}"]
    # The full report stays where it was.
    result.stdout.fnmatch_lines(["WEBSOCKET TEST FAILURE: /ws/cmd", "App traceback:"])


def test_several_findings_read_as_the_first_and_how_many_more(
    run_routes: RunRoutes, on_ci: None
) -> None:
    result = run_routes(COMMANDS_APP, "-rf", spec=TWO_BUGS)
    result.assert_outcomes(failed=1)
    [line] = summary(result.stdout.lines)
    assert line.startswith("FAILED ws-routes::test_websocket[/ws/cmd] - no_server_error: ")
    assert line.endswith(" after 1 message [seed 1] (+1 more)")
    assert "ALSO FOUND ON /ws/cmd" in result.stdout.str()


def test_on_a_terminal_pytest_trims_the_line_to_its_width(
    run_routes: RunRoutes, off_ci: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("COLUMNS", "200")
    wide = run_routes(COMMANDS_APP, "-rf", spec=ONE_BUG)
    assert summary(wide.stdout.lines) == [f"FAILED ws-routes::test_websocket[/ws/cmd] - {LINE}"]
    monkeypatch.setenv("COLUMNS", "80")
    narrow = run_routes(COMMANDS_APP, "-rf", spec=ONE_BUG)
    [line] = summary(narrow.stdout.lines)
    assert line.startswith("FAILED ws-routes::test_websocket[/ws/cmd] - no_server_error: Index")
    assert line.endswith("...")
    assert len(line) == 80


def test_junit_message_is_the_line_and_properties_carry_route_seed_checks_and_counts(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    junit = pytester.path / "junit.xml"
    result = run_routes(COMMANDS_APP, f"--junitxml={junit}", spec=ONE_BUG)
    result.assert_outcomes(failed=1)
    case = ET.parse(junit).getroot().find(".//testcase")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("message") == LINE
    assert "WEBSOCKET TEST FAILURE: /ws/cmd" in (failure.text or "")  # the body: the report
    properties = {p.get("name"): p.get("value") for p in case.iter("property")}
    assert {k: properties[k] for k in ("route", "seed", "checks", "findings")} == {
        "route": "/ws/cmd",
        "seed": "1",
        "checks": "no_server_error",
        "findings": "1",
    }
    assert int(properties["sequences"] or 0) >= 1
    assert int(properties["messages"] or 0) >= 1


def test_junit_message_is_the_same_line_under_xdist(
    run_routes: RunRoutes, pytester: pytest.Pytester
) -> None:
    junit = pytester.path / "junit.xml"
    run_routes(COMMANDS_APP, "-n", "2", f"--junitxml={junit}", spec=ONE_BUG)
    failure = ET.parse(junit).getroot().find(".//testcase/failure")
    assert failure is not None
    assert failure.get("message") == LINE


def test_tb_line_prints_only_the_finding(run_routes: RunRoutes) -> None:
    result = run_routes(COMMANDS_APP, "--tb=line", spec=ONE_BUG)
    lines = result.stdout.lines
    start = next(i for i, line in enumerate(lines) if " FAILURES " in line)
    assert lines[start + 1] == f"ws-routes.yaml:3: {LINE}"
    assert "=" in lines[start + 2]  # the next section
    assert "WEBSOCKET TEST FAILURE" not in result.stdout.str()


def test_tb_short_keeps_the_finding_and_transcript_and_the_apps_last_frame(
    run_routes: RunRoutes,
) -> None:
    result = run_routes(COMMANDS_APP, "--tb=short", spec=ONE_BUG)
    result.stdout.fnmatch_lines(
        [
            "WEBSOCKET TEST FAILURE: /ws/cmd",
            "Check: no_server_error",
            "Transcript (1 message(s) sent, minimal after shrinking):",
            '  > json {"i": 1}    [[]cmd]',
            "App traceback:",
            "  ...",
            f'    File "*app.py", line {FIRST_BUG}, in commands',
            "*IndexError: list index out of range",
            "",
            "Reproduce with:",
            "  pytest * --routes-seed 1",
            "=" * 60,
        ]
    )
    out = result.stdout.str()
    assert "Or replay this exact conversation in Python:" not in out
    assert "starlette" not in out.split("App traceback:")[1].split("Reproduce with:")[0]


def test_tb_no_prints_no_report_but_the_summary_line(run_routes: RunRoutes, on_ci: None) -> None:
    result = run_routes(COMMANDS_APP, "--tb=no", "-rf", spec=ONE_BUG)
    out = result.stdout.str()
    assert "WEBSOCKET TEST FAILURE" not in out
    assert " FAILURES " not in out
    assert summary(result.stdout.lines) == [f"FAILED ws-routes::test_websocket[/ws/cmd] - {LINE}"]


def test_qq_drops_the_summary_table_for_one_total_line(run_routes: RunRoutes) -> None:
    result = run_routes(COMMANDS_APP, "-qq", "--tb=no", spec=ONE_BUG)
    out = result.stdout.str()
    assert "WebSocket Test Summary" not in out
    assert "Sequences tested" not in out
    result.stdout.fnmatch_lines(
        ["ws_routes: 1 route (1 failed), * conversations, * messages, 1 finding [[]seed 1]"]
    )


def test_q_keeps_the_summary_table(run_routes: RunRoutes) -> None:
    result = run_routes(COMMANDS_APP, "-q", "--tb=no", spec=ONE_BUG)
    result.stdout.fnmatch_lines(
        ["ws_routes: WebSocket Test Summary", "Route: /ws/cmd   [[]FAILED]"]
    )
