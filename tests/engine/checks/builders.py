"""Hand-built transcripts for the check tests: frames, routes and a ``run`` through ``evaluate``."""

from __future__ import annotations

from typing import Any

from ws_routes.compile.route import CompiledRoute, compile_route
from ws_routes.driver.transcript import Failure, Frame, Transcript
from ws_routes.driver.transport import Accepted, AppError, HandshakeResult
from ws_routes.engine.checks import evaluate
from ws_routes.engine.conversation import Conversation, Step
from ws_routes.spec.model import MessageSpec, ReplySpec, RouteSpec, Schema

PATH = "/ws/t"


def route(**fields: Any) -> CompiledRoute:
    defaults: dict[str, Any] = {
        "path": PATH,
        "messages": (MessageSpec(name="say", kind="text"),),
    }
    return compile_route(RouteSpec(**{**defaults, **fields}))


def transcript(
    *frames: Frame,
    handshake: HandshakeResult = Accepted(),  # noqa: B008  (frozen dataclass)
    **fields: Any,
) -> Transcript:
    t = Transcript(route=PATH, path=PATH, handshake=handshake, **fields)
    t.frames.extend(frames)
    t.messages_sent = len(t.sent)
    return t


def sent(index: int, data: Any = "hi", kind: Any = "text", **kw: Any) -> Frame:
    return Frame(direction="send", kind=kind, data=data, name="say", index=index, **kw)


def received(index: int, data: Any, kind: Any = "json", name: str | None = None) -> Frame:
    return Frame(direction="recv", kind=kind, data=data, name=name, index=index)


def server_close(code: int, reason: str = "", index: int | None = 0) -> Frame:
    return Frame(direction="server_close", code=code, reason=reason, index=index)


def client_close(code: int = 1000, index: int | None = 0) -> Frame:
    return Frame(direction="client_close", code=code, index=index)


def app_error(exc: BaseException) -> AppError:
    return AppError(exc, f"Traceback (most recent call last):\n{type(exc).__name__}: {exc}\n")


def run(t: Transcript, r: CompiledRoute | None = None, close_code: int = 1000) -> list[Failure]:
    return evaluate(r or route(), Conversation(path=PATH, close_code=close_code), t)


def checks(failures: list[Failure]) -> list[str]:
    return [f.check for f in failures]


class WebSocketDisconnect(Exception):  # named like every framework's "client went away"
    pass


PONG = ReplySpec(
    name="pong",
    kind="json",
    schema=Schema(
        value={"type": "object", "required": ["ok"], "properties": {"ok": {"const": True}}}
    ),
)


def negative_conversation(*steps: Step, close_code: int | None = 1000) -> Conversation:
    return Conversation(path=PATH, steps=steps, close_code=close_code)


VALID = Step("say", "text", "hi")
MUTANT = Step("say", "bytes", b"\x00", mutation="bytes frame to a text message", invalid=True)
