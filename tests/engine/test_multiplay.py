"""engine.multiplay: conversations of several clients, on the rooms server of tests/protocols."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from tests.protocols import rooms
from ws_routes.compile.route import CompiledRoute, compile_route
from ws_routes.driver.asgi import AsgiTransport
from ws_routes.driver.loop import LoopThread
from ws_routes.driver.transcript import Transcript
from ws_routes.engine.conversation import Client, Conversation, Step
from ws_routes.engine.multiplay import delivered_to, path_values
from ws_routes.engine.play import run_conversation
from ws_routes.engine.runner import running_app
from ws_routes.spec.loader import load_spec

SPEC = load_spec(Path(rooms.__file__).with_suffix(".yaml")).routes[0]
ROUTE = compile_route(replace(SPEC, settings=replace(SPEC.settings, message_timeout=0.5)))


def say(text: str, client: int = 0, **fields: object) -> Step:
    return Step("say", "json", {"type": "say", "text": text}, client=client, **fields)  # type: ignore[arg-type]


def leave(client: int, how: str = "close") -> Step:
    return Step("", "text", None, client=client, leave=how)


@pytest.fixture(scope="module")
def app_loop() -> Iterator[tuple[LoopThread, AsgiTransport]]:
    with running_app(rooms.make_app(bugs=frozenset({"stale_member"})), timeout=2.0) as running:
        yield running


def converse(
    app_loop: tuple[LoopThread, AsgiTransport], *steps: Step, others: tuple[Client, ...]
) -> Transcript:
    loop, transport = app_loop
    conversation = Conversation(path="/rooms/a", steps=steps, clients=others)
    result: Transcript = loop.run(run_conversation(transport, ROUTE, conversation), timeout=10)
    return result


def lines(t: Transcript) -> list[str]:
    return [line for line in t.render() if "< json" not in line or "message" in line]


def test_path_values_read_the_template() -> None:
    assert path_values("/rooms/{room}", "/rooms/a") == {"room": "a"}
    assert path_values("/f/{p:path}/x/{n:int}", "/f/a/b/x/3") == {"p": "a/b", "n": "3"}
    assert path_values("/rooms/{room}", "/other") == {}


def test_delivered_to_follows_the_reply_types_delivery() -> None:
    spec: CompiledRoute = ROUTE
    assert delivered_to(spec.spec, "say", "/rooms/a", None) == (("ack",), ("message",))
    assert delivered_to(spec.spec, "say", "/rooms/a", "/rooms/a") == (("message",), ())
    assert delivered_to(spec.spec, "say", "/rooms/a", "/rooms/b") == ((), ("message",))
    assert delivered_to(spec.spec, "nosuch", "/rooms/a", "/rooms/b") == ((), ())


def test_each_clients_frames_are_labelled_in_the_order_they_happened(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    others = (Client(path="/rooms/a"), Client(path="/rooms/b", joins=1))
    t = converse(app_loop, say("hi"), say("yo", client=2), others=others)
    assert t.render()[0].startswith('client 1 < json {"type": "welcome"')
    shown = lines(t)
    assert shown[0] == "client 2 ! connect /rooms/a: accepted"
    said = [line for line in shown if '"say"' in line or '"message"' in line]
    assert said[0].startswith("client 1 > json")
    assert said[1].startswith('client 2 < json {"type": "message"')  # the same room
    assert said[2].startswith("client 3 > json")  # client 3 joined before step 1
    assert len(said) == 3  # room b has nobody else
    assert [o.client for o in t.others] == [1, 2]
    assert not any(o.missed_deliveries for o in (t, *t.others))
    assert t.messages_sent == 2


def test_a_member_who_left_crashes_the_speaker_on_the_stale_server(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    t = converse(app_loop, leave(0), say("hi", client=1), others=(Client(path="/rooms/a"),))
    speaker = t.others[0]
    assert speaker.app_error is not None
    assert speaker.app_error_phase == "conversation"
    assert speaker.app_error_index == 1
    assert "client 1 x close 1000    [by client]" in t.render()
    assert t.app_error is None  # the one who left is fine


def test_a_step_of_a_client_who_left_is_noted_not_sent(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    t = converse(app_loop, leave(1, "abort"), say("x", client=1), others=(Client(path="/rooms/b"),))
    assert "client 2 ! has left: step 1 not taken" in t.render()
    assert t.messages_sent == 0
