"""ws_routes.testing: route sessions and route tests, in process (tests/acceptance/
test_route_tests.py runs them under pytest, pytest-xdist and HypoFuzz)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from hypothesis import settings

from tests.engine.runner_app import APP
from ws_routes.engine.conversation import Conversation, Step
from ws_routes.engine.example import RouteHung
from ws_routes.engine.findings import ConversationFailed
from ws_routes.errors import AppLoadError, WsRoutesError
from ws_routes.spec.loader import load_spec_text
from ws_routes.testing import route_session, route_test

SPEC = """\
version: 1
settings: {max_examples: 40, max_messages: 3, message_timeout: 0.2, connection_timeout: 0.5}
routes:
  "/ws/short":
    messages:
      say: {kind: text, max_size: 12, reply: [echo]}
    replies:
      echo: {kind: text}
    invalid: {enabled: false}
    auth: {query_param: token}
"""


@pytest.fixture
def spec_file(tmp_path: Path) -> Path:
    path = tmp_path / "ws-routes.yaml"
    path.write_text(SPEC, encoding="utf-8")
    return path


def test_a_session_judges_a_conversation_with_the_plugins_checks(spec_file: Path) -> None:
    session = route_session(spec_file, "/ws/short", app=APP, auth="query:token:s3cret-value")
    try:
        ok = session.check(Conversation(path="/ws/short", steps=(Step("say", "text", "hi"),)))
        assert [f.data for f in ok.received] == ["hi"]
        with pytest.raises(ConversationFailed) as caught:
            session.check(Conversation(path="/ws/short", steps=(Step("say", "text", "long"),)))
    finally:
        session.close()
    report = session.report(caught.value)
    assert "Check: no_server_error" in report
    assert "ValueError: too long: 'long'" in report
    assert "from ws_routes import replay" in report


def test_the_report_hides_the_credential(spec_file: Path) -> None:
    session = route_session(spec_file, "/ws/short", app=APP, auth="query:token:s3cret-value")
    conversation = Conversation(
        path="/ws/short", query=(("token", "s3cret-value"),), steps=(Step("say", "text", "long"),)
    )
    try:
        with pytest.raises(ConversationFailed) as caught:
            session.check(conversation)
    finally:
        session.close()
    report = session.report(caught.value)
    assert "s3cret-value" not in report
    assert "token" in report


def test_a_route_test_is_a_given_test_with_the_routes_settings(spec_file: Path) -> None:
    test = route_test(spec_file, "/ws/short", app=APP)
    chosen = test._hypothesis_internal_use_settings  # type: ignore[attr-defined]
    assert chosen.max_examples == 40  # the spec's
    assert chosen.deadline is None
    assert chosen.database == settings().database
    with pytest.raises(ConversationFailed) as caught:
        test()  # shrinks, and on its final replay notes the report
    test.ws_routes.close()  # type: ignore[attr-defined]
    notes = "\n".join(getattr(caught.value, "__notes__", ()))
    assert "WEBSOCKET TEST FAILURE: /ws/short" in notes
    assert "minimal after shrinking" in notes
    assert [len(s.payload) for s in caught.value.conversation.steps] == [3]  # shrunk


def test_a_loaded_spec_and_its_app_name(tmp_path: Path) -> None:
    spec = load_spec_text(SPEC.replace("version: 1", "version: 1\napp: nowhere_at_all:app"))
    with pytest.raises(AppLoadError, match="nowhere_at_all"):
        route_session(spec, "/ws/short", rootdir=tmp_path)
    with pytest.raises(AppLoadError, match="no app to test"):
        route_session(load_spec_text(SPEC), "/ws/short")


def test_a_route_only_the_app_declares_is_tested_with_default_settings(spec_file: Path) -> None:
    session = route_session(spec_file, "/ws/echo", app=APP)
    assert session.route.spec.path == "/ws/echo"
    assert not session.route.spec.declared
    with pytest.raises(
        WsRoutesError, match=r"in neither the spec nor the app; known routes: /ws/short, /ws/cold, "
    ):
        route_session(spec_file, "/ws/nothing-like-it", app=APP)


def test_a_hang_is_reported_at_once_not_shrunk(spec_file: Path) -> None:
    test = route_test(spec_file, "/ws/hang", app=APP)  # never answers the handshake
    started = time.monotonic()
    with pytest.raises(RouteHung) as caught:
        test()
    test.ws_routes.close()  # type: ignore[attr-defined]
    assert time.monotonic() - started < 10  # one timeout (0.5 s) and its grace, no shrinking
    assert caught.value.failure.failure.check == "no_hang"
    assert test.ws_routes.runner.stats.sequences == 1  # type: ignore[attr-defined]
    assert "WEBSOCKET TEST FAILURE: /ws/hang" in "\n".join(caught.value.__notes__)
