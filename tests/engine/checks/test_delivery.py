"""checks.delivery: delivered to the clients in scope, and to no other, from transcripts by hand."""

from __future__ import annotations

from ws_routes.compile.route import compile_route
from ws_routes.driver.transcript import Frame, Transcript
from ws_routes.driver.transport import Accepted
from ws_routes.engine.checks import Context, evaluate
from ws_routes.engine.checks.delivery import check_delivery, check_non_delivery
from ws_routes.engine.conversation import Client, Conversation, Step
from ws_routes.spec.model import Delivery, MessageSpec, ReplySpec, RouteSpec

ROUTE = compile_route(
    RouteSpec(
        path="/rooms/{room}",
        messages=(MessageSpec(name="say", kind="text", reply=("said",)),),
        replies=(ReplySpec(name="said", kind="text", delivery=Delivery("others", "room")),),
    )
)
CONVERSATION = Conversation(
    path="/rooms/a",
    steps=(Step("say", "text", "hi"),),
    clients=(Client(path="/rooms/a"), Client(path="/rooms/b")),
)


def transcripts() -> Transcript:
    first = Transcript(route="/rooms/{room}", path="/rooms/a", handshake=Accepted())
    first.frames.append(Frame(direction="send", kind="text", data="hi", name="say", index=0))
    for number, path in ((1, "/rooms/a"), (2, "/rooms/b")):
        first.others.append(
            Transcript(route="/rooms/{room}", path=path, client=number, handshake=Accepted())
        )
    return first


def received(t: Transcript, name: str | None = "said") -> None:
    t.frames.append(Frame(direction="recv", kind="text", data="hi", name=name, index=0))


def test_a_delivery_in_scope_passes_both_checks() -> None:
    t = transcripts()
    received(t.others[0])
    ctx = Context(ROUTE, CONVERSATION, t)
    assert not list(check_delivery(ctx))
    assert not list(check_non_delivery(ctx))


def test_a_missed_delivery_names_both_clients_and_the_frame() -> None:
    t = transcripts()
    t.others[0].missed_deliveries.append((0, ("said",)))
    t.others[0].decided_idle.append(0)
    (failure,) = check_delivery(Context(ROUTE, CONVERSATION, t))
    assert failure.message == (
        "client 1's message 0 (say, on /rooms/a) did not reach client 2 (on /rooms/a): no 'said'"
    )
    assert failure.frame is not None
    assert failure.frame.data == "hi"
    assert "went idle" in failure.actual  # decided at once, no timeout named


def test_a_delivery_out_of_scope_is_a_non_delivery_failure() -> None:
    t = transcripts()
    received(t.others[0])
    received(t.others[1])  # another room
    (failure,) = check_non_delivery(Context(ROUTE, CONVERSATION, t))
    assert failure.check == "non_delivery"
    assert "client 3 (on /rooms/b) received 'said'" in failure.message
    assert "client 1's message 0 (say, on /rooms/a)" in failure.message


def test_frames_no_message_of_the_burst_causes_are_not_judged() -> None:
    t = transcripts()
    t.frames[0] = Frame(direction="send", kind="text", data="hi", name="other", index=0)
    received(t.others[1])
    assert not list(check_non_delivery(Context(ROUTE, CONVERSATION, t)))


def test_both_checks_switch_off_and_other_checks_name_the_client() -> None:
    t = transcripts()
    received(t.others[1])
    t.others[0].missed_deliveries.append((0, ("said",)))
    t.others[1].frames.append(Frame(direction="server_close", code=1011, index=0))
    failures = evaluate(ROUTE, CONVERSATION, t)
    assert [f.check for f in failures] == ["no_server_error", "delivery", "non_delivery"]
    assert failures[0].message.startswith("client 3: ")
    off = ROUTE.spec.settings.merged(checks={"delivery": False, "non_delivery": False})
    quiet = compile_route(RouteSpec(**{**_fields(ROUTE.spec), "settings": off}))
    assert [f.check for f in evaluate(quiet, CONVERSATION, t)] == ["no_server_error"]


def _fields(spec: RouteSpec) -> dict[str, object]:
    return {name: getattr(spec, name) for name in spec.__dataclass_fields__}
