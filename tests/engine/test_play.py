"""Running a conversation against a small Starlette app, and the transcript it records."""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import replace
from typing import Any, cast

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from ws_routes.compile import registry as websocket
from ws_routes.compile.route import CompiledRoute, compile_route
from ws_routes.compile.ties import DUPLICATE_ID
from ws_routes.driver.asgi import AsgiTransport
from ws_routes.driver.loop import LoopThread
from ws_routes.driver.transcript import Transcript
from ws_routes.driver.transport import Accepted, Rejected
from ws_routes.engine.checks import evaluate
from ws_routes.engine.conversation import Conversation, Step, conversations
from ws_routes.engine.play import as_sent, run_conversation
from ws_routes.engine.runner import running_app
from ws_routes.engine.steps import DrawnSteps
from ws_routes.spec.model import (
    InvalidSpec,
    MessageSpec,
    ReplySpec,
    RouteSpec,
    Schema,
    Settings,
    StreamSpec,
)

QUICK = Settings(connection_timeout=1.0, message_timeout=0.5)
SAY = MessageSpec(name="say", kind="text", reply=("echo",))
ECHO_REPLY = ReplySpec(name="echo", kind="text")


def compiled(**fields: Any) -> CompiledRoute:
    return compile_route(
        RouteSpec(**{"path": "/ws/echo", "messages": (SAY,), "settings": QUICK, **fields})
    )


# -- running a conversation ------------------------------------------------------------------------


async def echo(ws: WebSocket) -> None:
    await ws.accept(subprotocol=(ws.scope["subprotocols"] or [None])[0])
    try:
        while True:
            text = await ws.receive_text()
            if text == "boom":
                raise ValueError("boom")
            if text == "bye":
                await ws.close(code=4000, reason="bye")
                return
            if text == "later":
                pending.add(asyncio.create_task(send_later(ws)))
                continue
            if text == "tick":
                pending.add(asyncio.create_task(tick(ws)))
                continue
            if text != "quiet":
                await ws.send_text(text)
    except WebSocketDisconnect:
        if ws.query_params.get("fail_on_close"):
            raise RuntimeError("cleanup failed") from None


pending: set[asyncio.Task[None]] = set()


async def send_later(ws: WebSocket) -> None:
    for _ in range(3):
        await asyncio.sleep(0.01)  # a reply that comes from a background task, not at once
    await ws.send_text("later")


async def tick(ws: WebSocket) -> None:
    while ws is not None:  # a timer always pending; holds the socket, so it is cancelled at the end
        await asyncio.sleep(0.01)


async def whoami(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_json(
        {
            "query": dict(ws.query_params),
            "auth": ws.headers.get("authorization"),
            "cookies": ws.cookies,
        }
    )
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass


async def refuse(ws: WebSocket) -> None:
    await ws.close(code=4001)


async def heartbeat_leak(ws: WebSocket) -> None:
    await ws.accept()

    async def beat() -> None:
        while True:
            await asyncio.sleep(10)
            await ws.send_text("ping")

    pending.add(asyncio.create_task(beat()))  # never cancelled: it outlives the connection
    while (await ws.receive())["type"] != "websocket.disconnect":
        pass


async def validating(ws: WebSocket) -> None:
    """Answers bad input with an error reply from a background task (must_reject waits for it)."""
    await ws.accept()

    async def complain() -> None:
        await asyncio.sleep(0.01)
        await ws.send_json({"error": "bad input"})

    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") != "ok":
            pending.add(asyncio.create_task(complain()))


SESSIONS = iter(range(1000, 10**6))
ENDED: list[str] = []


async def session(ws: WebSocket) -> None:
    """hello -> welcome with a fresh session; resume must carry this connection's session."""
    await ws.accept()
    token = None
    try:
        while True:
            data = json.loads(await ws.receive_text())
            if data.get("type") == "hello":
                token = f"s{next(SESSIONS)}"
                await ws.send_json({"type": "welcome", "session": token})
            elif data.get("type") == "resume":
                if token is None or data.get("session") != token:
                    await ws.close(4403, "unknown session")
                    return
                await ws.send_json({"type": "resumed"})
    except WebSocketDisconnect:
        ENDED.append("session")


APP = Starlette(
    routes=[
        WebSocketRoute("/ws/session", session),
        WebSocketRoute("/ws/leak", heartbeat_leak),
        WebSocketRoute("/ws/validating", validating),
        WebSocketRoute("/ws/echo", echo),
        WebSocketRoute("/ws/whoami", whoami),
        WebSocketRoute("/ws/refuse", refuse),
    ]
)


@pytest.fixture(scope="module")
def app_loop() -> Iterator[tuple[LoopThread, AsgiTransport]]:
    with running_app(APP, timeout=2.0) as running:
        yield running


def converse(
    app_loop: tuple[LoopThread, AsgiTransport], route: CompiledRoute, *steps: Step, **fields: Any
) -> Transcript:
    loop, transport = app_loop
    conversation = Conversation(path=fields.pop("path", route.spec.path), steps=steps, **fields)
    result: Transcript = loop.run(run_conversation(transport, route, conversation), timeout=10)
    return result


def say(text: str, *, wait: bool = True) -> Step:
    return Step("say", "text", text, wait)


def test_echo_conversation_transcript(app_loop: tuple[LoopThread, AsgiTransport]) -> None:
    route = compiled(replies=(ECHO_REPLY,), subprotocols=("chat.v1",))
    t = converse(app_loop, route, say("a"), say("b"), subprotocols=("chat.v1",), close_code=1001)
    assert t.handshake == Accepted(subprotocol="chat.v1")
    assert t.render() == [
        '> text "a"    [say]',
        '< text "a"    [echo]',
        '> text "b"    [say]',
        '< text "b"    [echo]',
        "x close 1001    [by client]",
    ]
    assert [f.index for f in t.frames] == [0, 0, 1, 1, 1]
    assert (t.messages_sent, t.app_stopped, t.app_error, t.missed_replies) == (2, True, None, [])
    assert t.subprotocols == ("chat.v1",)


def test_burst_replies_are_collected_after_the_last_message(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    route = compiled(replies=(ECHO_REPLY,))
    t = converse(app_loop, route, say("a", wait=False), say("b", wait=False), say("c"))
    assert [f.direction for f in t.frames[:3]] == ["send", "send", "send"]
    assert [(f.data, f.index) for f in t.received] == [("a", 2), ("b", 2), ("c", 2)]
    assert t.missed_replies == []


def test_missing_reply_is_recorded(app_loop: tuple[LoopThread, AsgiTransport]) -> None:
    t = converse(app_loop, compiled(replies=(ECHO_REPLY,)), say("x"), say("quiet"))
    assert t.missed_replies == [(1, ("echo",))]


def test_reply_from_a_background_task_is_waited_for(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    t = converse(app_loop, compiled(replies=(ECHO_REPLY,)), say("later"))
    assert [f.data for f in t.received] == ["later"]
    assert t.missed_replies == []


def test_server_close_stops_sending(app_loop: tuple[LoopThread, AsgiTransport]) -> None:
    t = converse(app_loop, compiled(), say("bye"), say("x"), say("y"))
    assert t.render() == [
        '> text "bye"    [say]',
        'x close 4000 "bye"    [by server]',
        "! server closed: 2 message(s) not sent",
    ]
    assert t.messages_sent == 1
    close = t.server_close()
    assert close is not None
    assert (close.code, close.index) == (4000, 0)


def test_app_error_is_attributed_to_the_message(app_loop: tuple[LoopThread, AsgiTransport]) -> None:
    t = converse(app_loop, compiled(), say("ok"), say("boom"))
    assert t.app_error is not None
    assert t.app_error.summary == "ValueError: boom"
    assert (t.app_error_index, t.app_error_phase) == (1, "conversation")
    assert t.render()[-1] == "x close 1011    [by server]"
    assert "ValueError: boom" in t.app_error.traceback


def test_error_after_the_client_closed_is_a_shutdown_error(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    t = converse(app_loop, compiled(), say("ok"), path="/ws/echo", query=(("fail_on_close", "1"),))
    assert t.app_error is not None
    assert t.app_error.summary == "RuntimeError: cleanup failed"
    assert (t.app_error_index, t.app_error_phase) == (0, "shutdown")


def test_refused_handshake_sends_nothing(app_loop: tuple[LoopThread, AsgiTransport]) -> None:
    t = converse(app_loop, compiled(path="/ws/refuse"), say("never"))
    assert t.handshake == Rejected(status=403, close_code=4001)
    assert (t.frames, t.messages_sent, t.app_stopped) == ([], 0, True)


def test_credentials_reach_the_app(app_loop: tuple[LoopThread, AsgiTransport]) -> None:
    route = compiled(path="/ws/whoami", messages=())
    t = converse(
        app_loop,
        route,
        query=(("token", "q"),),
        headers=(("authorization", "Bearer h"), ("cookie", "session=c")),
    )
    (reply,) = t.received
    assert json.loads(reply.data) == {
        "query": {"token": "q"},
        "auth": "Bearer h",
        "cookies": {"session": "c"},
    }
    assert t.query_string == "token=q"


def test_registered_kind_the_spec_does_not_declare_can_be_sent(
    app_loop: tuple[LoopThread, AsgiTransport], monkeypatch: pytest.MonkeyPatch
) -> None:
    # compile_route adds a message named after the registered kind; the runner must not then
    # look that name up in the spec's messages (KeyError: 'bytes').
    monkeypatch.setattr(websocket, "_registry", [])
    websocket.register_message_strategy("/ws/echo", "json", st.just({"n": 1}))
    route = compiled()
    assert [m.spec.name for m in route.messages] == ["say", "json"]
    t = converse(app_loop, route, Step("json", "json", {"n": 1}))
    assert t.render()[0] == '> json {"n": 1}    [json]'


# -- aborts, leaks, rejections ---------------------------------------------------------------------


def test_abort_drops_the_connection_without_a_close_frame(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    t = converse(app_loop, compiled(replies=(ECHO_REPLY,)), say("hi"), close_code=None)
    assert [f.direction for f in t.frames] == ["send", "recv", "abort"]
    assert t.aborted
    assert t.app_stopped
    assert t.app_error is None
    assert t.leaked_tasks == []
    assert t.task_errors == []


def test_abort_after_a_burst_does_not_wait_for_replies(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    t = converse(app_loop, compiled(), say("a", wait=False), say("b", wait=False), close_code=None)
    assert [f.direction for f in t.frames] == ["send", "send", "abort"]


def test_tasks_holding_the_connection_after_it_ended_are_leaked(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    t = converse(app_loop, compiled(path="/ws/leak"), say("x"))
    assert len(t.leaked_tasks) == 1
    assert "beat" in t.leaked_tasks[0]


def test_must_reject_waits_for_an_error_reply_from_a_background_task(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    route = compiled(
        path="/ws/validating",
        replies=(ReplySpec(name="error", kind="json", error=True),),
        invalid=InvalidSpec(must_reject=True),
    )
    mutant = Step("say", "text", "{", mutation="text that is not JSON", invalid=True)
    t = converse(app_loop, route, mutant)
    assert [(f.name, f.index) for f in t.received] == [("error", 0)]
    assert t.missed_replies == []  # a rejection is not an expected reply
    assert [f.mutation for f in t.sent] == ["text that is not JSON"]


def test_must_reject_does_not_judge_a_burst_the_client_aborted_after(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    # The user trial's false alarm: the error reply comes 10 ms after the mutant, the abort
    # that ends the burst a fraction of a millisecond after it. Nothing was waited for.
    route = compiled(
        path="/ws/validating",
        replies=(ReplySpec(name="error", kind="json", error=True),),
        invalid=InvalidSpec(must_reject=True),
    )
    mutant = Step("say", "text", "{", wait=False, mutation="text that is not JSON", invalid=True)
    steps = (say("ok", wait=False), mutant)
    conversation = Conversation(path="/ws/validating", steps=steps, close_code=None)
    loop, transport = app_loop
    t = loop.run(run_conversation(transport, route, conversation), timeout=10)
    assert [f.direction for f in t.frames] == ["send", "send", "abort"]
    assert (t.missed_replies, t.decided_idle) == ([], [])  # no reply_expected either
    # (The test app's late error task then raises on the dropped socket: a finding of its own.)
    assert not [f for f in evaluate(route, conversation, t) if "not rejected" in f.message]
    # Collected (the mutant waits), the same silence is judged: the reply is waited for.
    t = converse(app_loop, route, replace(mutant, wait=True), close_code=None)
    assert [(f.name, f.index) for f in t.received] == [("error", 0)]


class _Scripted:
    """A drawn conversation's source that ends where the protocol allows nothing more."""

    def __init__(self, *steps: Step) -> None:
        self._steps, self.sent, self.limit = list(steps), list[Step](), len(steps) + 1

    @property
    def finished(self) -> bool:
        return False

    def next(self, state: object, running: frozenset[str] = frozenset()) -> Step | None:
        if not self._steps:
            return None
        self.sent.append(self._steps.pop(0))
        return self.sent[-1]


def test_a_closed_conversation_collects_a_burst_the_protocol_ended(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    # The checks take "not aborted" for "every burst was collected": true of drawn steps too.
    loop, transport = app_loop
    route = compiled(replies=(ECHO_REPLY,))
    source = cast(DrawnSteps, _Scripted(say("a", wait=False)))
    conversation = Conversation(path="/ws/echo", source=source)
    t = loop.run(run_conversation(transport, route, conversation), timeout=10)
    assert [f.direction for f in t.frames] == ["send", "recv", "client_close"]
    assert t.missed_replies == []


# -- protocol state ----------------------------------------------------------------------------------


def typed(name: str, **more: Any) -> Schema:
    return Schema(
        value={
            "type": "object",
            "properties": {"type": {"const": name}, **more},
            "required": ["type", *more],
            "additionalProperties": False,
        }
    )


def session_route(**fields: Any) -> CompiledRoute:
    spec: dict[str, Any] = {
        "path": "/ws/session",
        "states": ("fresh", "in"),
        "opening": ("hello",),
        "messages": (
            MessageSpec(
                name="hello",
                kind="json",
                schema=typed("hello"),
                reply=("welcome",),
                when=("fresh",),
            ),
            MessageSpec(
                name="resume",
                kind="json",
                schema=typed("resume", session={"type": "string"}),
                reply=("resumed",),
                when=("in",),
                use={"/session": "session"},
            ),
        ),
        "replies": (
            ReplySpec(
                name="welcome",
                kind="json",
                schema=typed("welcome", session={"type": "string"}),
                goto="in",
                capture={"session": "/session"},
            ),
            ReplySpec(name="resumed", kind="json", schema=typed("resumed")),
        ),
        "settings": QUICK,
        "invalid": InvalidSpec(enabled=False),
        **fields,
    }
    return compile_route(RouteSpec(**spec))


def test_fixed_steps_use_the_values_this_run_captured(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    # A replay of a recorded conversation: the session recorded is stale, the server's is new.
    route = session_route()
    hello = Step("hello", "json", {"type": "hello"})
    resume = Step("resume", "json", {"type": "resume", "session": "s-recorded"})
    t = converse(app_loop, route, hello, resume)
    welcome = t.received[0].data
    assert [f.name for f in t.received] == ["welcome", "resumed"]
    assert t.sent[1].data == {"type": "resume", "session": welcome["session"]}
    assert "! state: in" in t.render()
    assert t.missed_replies == []


def test_drawn_steps_follow_the_state_and_record_what_was_sent(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    loop, transport = app_loop
    route = session_route()
    runs: list[tuple[Conversation, Transcript]] = []

    @settings(max_examples=15, database=None, derandomize=True)
    @given(conversations(route))
    def check(conversation: Conversation) -> None:
        t = loop.run(run_conversation(transport, route, conversation), timeout=10)
        runs.append((conversation.recorded(), t))

    # On the loop thread, as the runner searches: the steps are drawn inside the running
    # conversation, and Hypothesis' build context belongs to the thread it runs on.
    loop.call(check)
    for recorded, t in runs:
        assert recorded.steps[0].message == "hello"
        assert [f.data for f in t.sent] == [s.payload for s in recorded.steps]
        assert t.server_close() is None  # every resume carried this connection's session
        assert t.missed_replies == []
    assert any(len(recorded.steps) > 2 for recorded, _ in runs)


def test_a_draw_that_ends_the_run_closes_the_connection_first(
    app_loop: tuple[LoopThread, AsgiTransport], monkeypatch: pytest.MonkeyPatch
) -> None:
    loop, transport = app_loop
    route = session_route()

    class Stop(BaseException):
        pass

    @settings(max_examples=1, database=None)
    @given(conversations(route))
    def check(conversation: Conversation) -> None:
        source = conversation.source
        assert source is not None
        drawn = source.next

        def next_then_stop(state: Any, running: frozenset[str] = frozenset()) -> Step | None:
            if source.sent:
                raise Stop  # as Hypothesis' StopTest does when the choices run out
            return drawn(state, running)

        monkeypatch.setattr(source, "next", next_then_stop)
        ENDED.clear()
        with pytest.raises(Stop):
            loop.run(run_conversation(transport, route, conversation), timeout=10)
        assert ENDED == ["session"]

    loop.call(check)


# -- replies tied to requests ----------------------------------------------------------------------


async def tied(ws: WebSocket) -> None:
    """Answers each request from a task of its own, after its "delay"; streams "n" items."""
    await ws.accept()
    tasks: set[asyncio.Task[None]] = set()

    async def answer(request: dict[str, Any]) -> None:
        await asyncio.sleep(request.get("delay", 0))
        if request["op"] == "sub":
            for i in range(request.get("n", 2)):
                await ws.send_json({"id": request["id"], "next": i})
                await asyncio.sleep(0.005)
            if not request.get("open"):
                await ws.send_json({"id": request["id"], "done": True})
        else:
            await ws.send_json({"id": request["id"], "result": "x"})

    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        request = json.loads(message["text"])
        if request["op"] != "notify":
            tasks.add(asyncio.create_task(answer(request)))


TIED_APP = Starlette(routes=[WebSocketRoute("/ws/tied", tied)])
_RESULT = {
    "type": "object",
    "required": ["id", "result"],
    "properties": {"result": {"type": "string"}},
}
TIED = compile_route(
    RouteSpec(
        path="/ws/tied",
        settings=QUICK,
        messages=(
            MessageSpec(
                name="call",
                kind="json",
                correlation="/id",
                unique=True,
                reply=("first", "error"),
                schema=Schema(value={"properties": {"id": {"type": "integer", "maximum": 3}}}),
            ),
            MessageSpec(name="other", kind="json", correlation="/id", reply=("second",)),
            MessageSpec(
                name="sub",
                kind="json",
                correlation="/id",
                unique=True,
                stream=StreamSpec(items=("next",), end=("done",)),
            ),
            MessageSpec(name="notify", kind="json", no_reply=True),
        ),
        replies=(
            # Two types that fit the same frames: the one expected names it.
            ReplySpec(name="first", kind="json", correlation="/id", schema=Schema(value=_RESULT)),
            ReplySpec(name="second", kind="json", correlation="/id", schema=Schema(value=_RESULT)),
            ReplySpec(
                name="next",
                kind="json",
                correlation="/id",
                schema=Schema(value={"required": ["next"]}),
            ),
            ReplySpec(
                name="done",
                kind="json",
                correlation="/id",
                schema=Schema(value={"required": ["done"]}),
            ),
            ReplySpec(
                name="error", kind="json", error=True, schema=Schema(value={"required": ["error"]})
            ),
        ),
    )
)


@pytest.fixture(scope="module")
def tied_loop() -> Iterator[tuple[LoopThread, AsgiTransport]]:
    with running_app(TIED_APP, timeout=2.0) as running:
        yield running


def op(message: str, *, wait: bool = True, mutation: str | None = None, **payload: Any) -> Step:
    return Step(message, "json", {"op": message, **payload}, wait, mutation)


def test_each_request_in_flight_gets_its_reply_waited_for(
    tied_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    t = converse(
        tied_loop, TIED, op("call", id=1, delay=0.02, wait=False), op("other", id=2, delay=0.001)
    )
    assert [(f.data["id"], f.name) for f in t.received] == [(2, "second"), (1, "first")]
    assert t.missed_replies == []


def test_the_last_task_may_leave_two_answers_queued(
    tied_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    # Both tasks wake from the same 1 ms timer: when the count of tasks drops to 0, the second
    # answer is still queued. It must be read, not taken for a missing reply.
    t = converse(
        tied_loop, TIED, op("call", id=1, delay=0.001, wait=False), op("call", id=2, delay=0.001)
    )
    assert sorted(f.data["id"] for f in t.received) == [1, 2]
    assert t.missed_replies == []


def test_a_stream_is_waited_for_until_its_end(tied_loop: tuple[LoopThread, AsgiTransport]) -> None:
    t = converse(tied_loop, TIED, op("sub", id=1, n=3))
    assert [f.name for f in t.received] == ["next", "next", "next", "done"]
    assert t.missed_replies == []


def test_a_stream_still_open_when_the_app_went_idle_is_missed_at_the_end(
    tied_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    t = converse(tied_loop, TIED, op("sub", id=1, n=1, open=True), op("notify"))
    assert [f.name for f in t.received] == ["next"]
    assert t.missed_replies == [(0, ("done",))]


def test_a_no_reply_message_is_not_waited_for(tied_loop: tuple[LoopThread, AsgiTransport]) -> None:
    t = converse(tied_loop, TIED, op("notify"), op("notify"))
    assert t.received == []
    assert t.missed_replies == []
    assert t.elapsed_ms < 1000 * QUICK.message_timeout


def test_an_active_unique_id_is_replaced_when_sent_and_reported_as_sent(
    tied_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    steps = (op("call", id=3, delay=0.01, wait=False), op("call", id=3))
    t = converse(tied_loop, TIED, *steps)
    assert [f.data["id"] for f in t.sent] == [3, 2]  # 4 is over the schema's maximum
    assert sorted(f.data["id"] for f in t.received) == [2, 3]
    assert t.missed_replies == []
    conversation = Conversation(path="/ws/tied", steps=steps)
    shown = as_sent(conversation, t)
    assert [s.payload["id"] for s in shown.steps] == [3, 2]
    assert shown.steps[0] is steps[0]
    assert as_sent(shown, t) is shown  # nothing left to rewrite


def test_a_duplicate_id_step_sends_an_active_id_on_purpose(
    tied_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    t = converse(
        tied_loop,
        TIED,
        op("sub", id=0, n=1, delay=0.01, wait=False),
        op("call", id=1, mutation=DUPLICATE_ID),
    )
    assert [f.data["id"] for f in t.sent] == [0, 0]
    assert t.sent[1].mutation == DUPLICATE_ID


def test_a_null_mutant_is_sent(tied_loop: tuple[LoopThread, AsgiTransport]) -> None:
    # null is a payload, not "no id free": it was once taken for the ledger's refusal.
    mutant = Step("notify", "json", None, True, "wrong type at (root): null instead of object")
    t = converse(tied_loop, TIED, mutant)
    assert [(f.data, f.mutation) for f in t.sent] == [(None, mutant.mutation)]
    assert t.messages_sent == 1


# -- deciding "no reply": idle apps at once, timers and threads waited for -------------------------

CALL = MessageSpec(name="call", kind="json", reply=("result",))
RESULT = ReplySpec(name="result", kind="json")


@contextlib.asynccontextmanager
async def dispatcher(app: Starlette) -> AsyncIterator[None]:
    """A JSON-RPC server's dispatcher, shared by every connection and started with the app: the
    requests' handlers are none of a connection's tasks."""
    requests: asyncio.Queue[tuple[WebSocket, dict[str, Any]]] = asyncio.Queue()

    async def handle(ws: WebSocket, request: dict[str, Any]) -> None:
        if request.get("method") == "slow":
            await asyncio.sleep(0.001)  # a timer pending: the app is not quiet
        if request.get("method") == "thread":
            await asyncio.to_thread(time.sleep, 0.02)  # a thread: the app is not quiet
        if "id" in request and request.get("method") in ("fast", "slow", "thread"):
            await ws.send_json({"id": request["id"], "result": request["method"]})

    async def dispatch() -> None:
        while True:
            ws, request = await requests.get()
            handlers.add(asyncio.create_task(handle(ws, request)))

    handlers: set[asyncio.Task[None]] = set()
    app.state.requests = requests
    task = asyncio.create_task(dispatch())
    yield
    task.cancel()


async def jsonrpc(ws: WebSocket) -> None:
    await ws.accept()
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        try:
            request = json.loads(message.get("text") or "")
        except ValueError:
            continue  # invalid messages are ignored silently
        if isinstance(request, dict):
            ws.app.state.requests.put_nowait((ws, request))


@pytest.fixture(scope="module")
def rpc_loop() -> Iterator[tuple[LoopThread, AsgiTransport]]:
    app = Starlette(routes=[WebSocketRoute("/rpc", jsonrpc)], lifespan=dispatcher)
    with running_app(app, timeout=2.0) as running:
        yield running


def rpc_route(**fields: Any) -> CompiledRoute:
    spec: dict[str, Any] = {"messages": (CALL,), "replies": (RESULT,), "settings": QUICK}
    return compile_route(RouteSpec(path="/rpc", **spec | fields))


def call(method: str, id_: int = 1, *, wait: bool = True) -> Step:
    return Step("call", "json", {"id": id_, "method": method}, wait)


def test_a_reply_behind_a_timer_is_not_missed(rpc_loop: tuple[LoopThread, AsgiTransport]) -> None:
    # Two requests in flight, one answered after a 1 ms sleep: a pending timer is not quiet.
    t = converse(rpc_loop, rpc_route(), call("slow", 1, wait=False), call("fast", 2))
    assert sorted(f.data["id"] for f in t.received) == [1, 2]
    assert (t.missed_replies, t.decided_idle) == ([], [])


def test_a_reply_from_a_thread_is_waited_for(rpc_loop: tuple[LoopThread, AsgiTransport]) -> None:
    t = converse(rpc_loop, rpc_route(), call("thread", 1, wait=False), call("fast", 2))
    assert sorted(f.data["id"] for f in t.received) == [1, 2]
    assert (t.missed_replies, t.decided_idle) == ([], [])


def test_no_reply_from_an_idle_app_is_decided_at_once(
    rpc_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    slow = Settings(connection_timeout=1.0, message_timeout=5.0)
    start = time.perf_counter()
    t = converse(rpc_loop, rpc_route(settings=slow), call("fast", 1), call("unknown", 2))
    assert time.perf_counter() - start < 2.5  # not the 5 s timeout
    assert (t.missed_replies, t.decided_idle) == ([(1, ("result",))], [1])


def test_an_ignored_mutant_is_decided_at_once_under_must_reject(
    rpc_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    route = rpc_route(
        replies=(RESULT, ReplySpec(name="error", kind="json", error=True)),
        invalid=InvalidSpec(must_reject=True),
        settings=Settings(connection_timeout=1.0, message_timeout=5.0),
    )
    mutant = Step("call", "text", "{", mutation="text that is not JSON", invalid=True)
    start = time.perf_counter()
    t = converse(rpc_loop, route, mutant)
    assert time.perf_counter() - start < 2.5
    assert (t.received, t.missed_replies, t.decided_idle) == ([], [], [0])


def test_after_a_reply_behind_timers_the_app_is_idle_at_once(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    # "later" answers after three 10 ms sleeps, "quiet" never: once the background task has
    # answered and ended, nothing can answer "quiet" any more.
    start = time.perf_counter()
    t = converse(app_loop, compiled(replies=(ECHO_REPLY,)), say("later", wait=False), say("quiet"))
    assert time.perf_counter() - start < QUICK.message_timeout
    assert [f.data for f in t.received] == ["later"]
    assert (t.missed_replies, t.decided_idle) == ([(1, ("echo",))], [1])


def test_a_timer_that_may_still_answer_is_waited_out(
    app_loop: tuple[LoopThread, AsgiTransport],
) -> None:
    # A task of the app keeps a timer pending: it may answer yet, so only the timeout decides.
    start = time.perf_counter()
    t = converse(app_loop, compiled(replies=(ECHO_REPLY,)), say("tick"))
    assert time.perf_counter() - start >= QUICK.message_timeout
    assert (t.missed_replies, t.decided_idle) == ([(0, ("echo",))], [])
    assert len(t.leaked_tasks) == 1  # and cancelled, so it cannot keep later tests waiting
