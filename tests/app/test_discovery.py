"""Route discovery (Starlette, FastAPI, Litestar, middleware), templates, and app loading."""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from litestar.connection import WebSocket as LitestarSocket  # resolved by Litestar at runtime
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.routing import Host, Mount, Route, Router, WebSocketRoute
from starlette.types import Receive, Scope, Send
from starlette.websockets import WebSocket

from ws_routes.app.discovery import (
    DiscoveredRoute,
    discover,
    inspect_app,
    load_app,
    match_routes,
    normalize_template,
    opaque_mounts,
    render_path,
    split_template,
)
from ws_routes.errors import AppLoadError
from ws_routes.spec.model import RouteSpec


async def ws_handler(websocket: WebSocket) -> None:
    await websocket.close()


async def http_handler(request: Any) -> None:
    raise NotImplementedError


async def raw_app(scope: Scope, receive: Receive, send: Send) -> None:
    raise NotImplementedError


class RawMiddleware:
    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


class SlottedMiddleware:
    __slots__ = ("app",)

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self.app(scope, receive, send)


def paths(routes: list[DiscoveredRoute] | None) -> list[str]:
    assert routes is not None
    return [r.path for r in routes]


def starlette_app() -> Starlette:
    return Starlette(
        routes=[
            Route("/health", http_handler),
            WebSocketRoute("/ws/{room_id:int}", ws_handler),
            Mount(
                "/api",
                routes=[
                    WebSocketRoute("/chat", ws_handler),
                    Mount(
                        "/v{version:int}", routes=[WebSocketRoute("/feed/{rest:path}", ws_handler)]
                    ),
                ],
                middleware=[Middleware(RawMiddleware)],
            ),
            WebSocketRoute("/graphql", raw_app),  # an ASGI app as endpoint is still a route
            Mount("/legacy", app=raw_app),
            Host("admin.example.com", app=Router([WebSocketRoute("/admin", ws_handler)])),
        ],
        middleware=[Middleware(CORSMiddleware, allow_origins=["*"])],
    )


def test_starlette_routes_mounts_and_hosts() -> None:
    found = inspect_app(starlette_app())
    assert found.routes is not None
    assert [r.path for r in found.routes] == [
        "/api/chat",
        "/api/v{version:int}/feed/{rest:path}",
        "/graphql",
        "/ws/{room_id:int}",
    ]
    feed = found.routes[1]
    assert feed.params == {"version": "int", "rest": "path"}
    assert feed.framework == "starlette"
    assert feed.endpoint == f"{__name__}.ws_handler"
    assert feed.handler is ws_handler
    assert found.routes[2].endpoint == f"{__name__}.raw_app"
    assert found.opaque_mounts == ("/legacy",)
    assert found.skipped_hosts == ("admin.example.com",)


@pytest.mark.parametrize(
    "wrap",
    [
        RawMiddleware,
        SlottedMiddleware,
        lambda app: RawMiddleware(RawMiddleware(app)),
        lambda app: functools.partial(lambda scope, receive, send, inner: None, inner=app),
    ],
    ids=["middleware", "slotted-middleware", "two-middlewares", "partial"],
)
def test_middleware_is_unwrapped(wrap: Callable[[Any], Any]) -> None:
    assert paths(discover(wrap(starlette_app()))) == paths(discover(starlette_app()))
    assert opaque_mounts(wrap(starlette_app())) == ["/legacy"]


def test_plain_asgi_app_has_no_routing_table() -> None:
    assert discover(raw_app) is None
    assert discover(RawMiddleware(raw_app)) is None
    assert discover(Starlette()) == []


def test_root_mount_of_an_opaque_app() -> None:
    app = Starlette(routes=[WebSocketRoute("/ws", ws_handler), Mount("/", app=raw_app)])
    assert inspect_app(app).opaque_mounts == ("",)


def test_fastapi_include_router_prefixes_and_mounts() -> None:
    from fastapi import APIRouter, FastAPI

    inner = APIRouter(prefix="/inner")

    @inner.websocket("/rooms/{room_id}")
    async def room(websocket: WebSocket, room_id: int) -> None:
        await websocket.close()

    @inner.get("/items")
    async def items() -> list[int]:
        return []

    middle = APIRouter()
    middle.include_router(inner, prefix="/mid")
    app = FastAPI()
    app.include_router(middle, prefix="/api")

    @app.websocket("/top/{slug:path}")
    async def top(websocket: WebSocket, slug: str) -> None:
        await websocket.close()

    app.mount("/sub", Starlette(routes=[WebSocketRoute("/echo", ws_handler)]))
    app.router.add_websocket_route("/plain", ws_handler)
    routes = discover(app)
    assert routes is not None
    by_path = {r.path: r for r in routes}
    assert list(by_path) == [
        "/api/mid/inner/rooms/{room_id}",
        "/plain",
        "/sub/echo",
        "/top/{slug:path}",
    ]
    assert by_path["/api/mid/inner/rooms/{room_id}"].framework == "fastapi"
    assert by_path["/api/mid/inner/rooms/{room_id}"].params == {"room_id": "str"}
    assert by_path["/api/mid/inner/rooms/{room_id}"].handler is room
    assert by_path["/plain"].framework == "fastapi"  # declared on a FastAPI app's router
    assert by_path["/sub/echo"].framework == "starlette"
    assert by_path["/top/{slug:path}"].endpoint is not None
    assert by_path["/top/{slug:path}"].endpoint.endswith(
        "test_fastapi_include_router_prefixes_and_mounts.<locals>.top"
    )


def test_litestar_handlers_listeners_routers_and_controllers() -> None:
    from litestar import Controller, Litestar, Router, asgi, get, websocket, websocket_listener
    from litestar.handlers import WebsocketListener
    from litestar.types import Receive as LReceive
    from litestar.types import Scope as LScope
    from litestar.types import Send as LSend

    @websocket("/ws/{room_id:int}")
    async def handler(socket: LitestarSocket[Any, Any, Any]) -> None:
        await socket.close()

    @websocket_listener("/listen/{name:str}")
    async def listen(data: str) -> str:
        return data

    class Echo(WebsocketListener):
        path = "/cls"

        async def on_receive(self, data: str) -> str:
            return data

    class Rooms(Controller):
        path = "/rooms"

        @websocket("/{amount:decimal}/{day:date}")
        async def priced(self, socket: LitestarSocket[Any, Any, Any]) -> None:
            await socket.close()

        @get("/list")
        async def listing(self) -> str:
            return ""

    namespace = {"LScope": LScope, "LReceive": LReceive, "LSend": LSend}

    @asgi("/mounted", is_mount=True, copy_scope=True, signature_namespace=namespace)
    async def mounted(scope: LScope, receive: LReceive, send: LSend) -> None:
        raise NotImplementedError

    router = Router(path="/api", route_handlers=[handler, listen, Echo, Rooms])
    app = Litestar(route_handlers=[router, mounted], openapi_config=None)
    found = inspect_app(RawMiddleware(app))
    assert found.routes is not None
    by_path = {r.path: r for r in found.routes}
    assert list(by_path) == [
        "/api/cls",
        "/api/listen/{name:str}",
        "/api/rooms/{amount:decimal}/{day:date}",
        "/api/ws/{room_id:int}",
    ]
    assert {r.framework for r in found.routes} == {"litestar"}
    assert by_path["/api/rooms/{amount:decimal}/{day:date}"].params == {
        "amount": "decimal",
        "day": "date",
    }
    assert by_path["/api/ws/{room_id:int}"].handler is handler.fn
    listener = by_path["/api/listen/{name:str}"]
    assert listener.endpoint is not None
    assert listener.endpoint.endswith("<locals>.listen")
    assert by_path["/api/cls"].endpoint is not None
    assert by_path["/api/cls"].endpoint.endswith("Echo.on_receive")
    assert found.opaque_mounts == ("/mounted",)


def test_templates() -> None:
    assert split_template("/ws/{room:int}/{name}/{rest:path}") == {
        "room": "int",
        "name": "str",
        "rest": "path",
    }
    assert split_template("/ws/{ room : int }") == {"room": "int"}
    assert normalize_template("/ws/{room:int}/{name}") == "/ws/{room}/{name}"
    assert normalize_template("/plain") == "/plain"


def test_render_path_percent_encodes() -> None:
    template = "/ws/{room:int}/{name}/{rest:path}"
    values = {"room": "7", "name": "a b/ç?", "rest": "x/y z"}
    assert render_path(template, values) == "/ws/7/a%20b%2F%C3%A7%3F/x/y%20z"
    with pytest.raises(ValueError, match="room"):
        render_path(template, {"name": "a", "rest": "b"})


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A project folder with a uniquely named app module; sys.path and sys.modules restored."""
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.setattr(sys, "modules", dict(sys.modules))
    return tmp_path


def write_module(project: Path, source: str) -> str:
    name = f"wsr_app_{abs(hash(str(project)))}"
    (project / f"{name}.py").write_text(source)
    return name


APP_SOURCE = """
from starlette.applications import Starlette

app = Starlette()
other_app = Starlette()
settings = {"debug": True}

class Holder:
    inner = Starlette()

def create_app():
    return Starlette()

def broken_factory():
    raise RuntimeError("no env")
"""


def test_load_app_forms(project: Path) -> None:
    module = write_module(project, APP_SOURCE)
    assert type(load_app(f"{module}:app", rootdir=project)).__name__ == "Starlette"
    assert type(load_app(f"{module}:create_app()", rootdir=project)).__name__ == "Starlette"
    assert type(load_app(f"{module}:Holder.inner", rootdir=project)).__name__ == "Starlette"
    assert str(project) in sys.path


@pytest.mark.parametrize(
    ("target", "message"),
    [
        ("{m}", "expected 'module:attribute'"),
        ("{m}:", "expected 'module:attribute'"),
        ("wsr_no_such_module_xyz:app", "no module named 'wsr_no_such_module_xyz'"),
        ("{m}:ap", "did you mean 'app'?; ASGI apps in the module: app, other_app"),
        ("{m}:Holder.iner", "'{m}:Holder' has no attribute 'iner'; did you mean 'inner'?"),
        ("{m}:settings", "is a dict, not an ASGI app"),
        ("{m}:broken_factory()", "raised RuntimeError: no env"),
        ("{m}:settings()", "is not callable"),
    ],
)
def test_load_app_errors(project: Path, target: str, message: str) -> None:
    module = write_module(project, APP_SOURCE)
    with pytest.raises(AppLoadError) as info:
        load_app(target.format(m=module), rootdir=project)
    assert message.format(m=module) in str(info.value)


def test_load_app_import_errors(project: Path) -> None:
    module = write_module(project, "import wsr_missing_dependency_xyz\n")
    with pytest.raises(AppLoadError, match=r"importing app module .* failed: No module named"):
        load_app(f"{module}:app", rootdir=project)
    module = write_module(project / "..", "raise ValueError('bad config')\n")
    with pytest.raises(AppLoadError, match=r"raised ValueError: bad config \(at .*\.py:\d+\)"):
        load_app(f"{module}:app", rootdir=project / "..")


@pytest.mark.parametrize(
    ("source", "target", "message"),
    [
        (
            "import time\ntime.sleep(30)\napp = None\n",
            "{m}:app",
            r"importing app module '{m}' did not finish within 0.2 s \(at .*{m}\.py:2\): move",
        ),
        (
            "import time\ndef make():\n    while True:\n        pass\n",
            "{m}:make()",
            r"the app factory '{m}:make\(\)' did not finish within 0.2 s \(at .*{m}\.py:\d\)",
        ),
        (
            "import sys\nsys.exit(2)\n",
            "{m}:app",
            r"importing app module '{m}' called sys.exit\(2\) \(at .*{m}\.py:2\): an importable",
        ),
        (
            "def make():\n    raise KeyboardInterrupt\n",
            "{m}:make()",
            r"the app factory '{m}:make\(\)' raised KeyboardInterrupt \(at .*{m}\.py:2\)",
        ),
    ],
    ids=["blocking-import", "spinning-factory", "sys-exit-import", "interrupting-factory"],
)
def test_app_code_that_blocks_or_exits_at_load_is_a_located_error(
    project: Path, source: str, target: str, message: str
) -> None:
    module = write_module(project, source)
    with pytest.raises(AppLoadError, match=message.format(m=module)):
        load_app(target.format(m=module), rootdir=project, timeout=0.2)


def test_the_load_deadline_restores_the_signal_handlers() -> None:
    import signal

    before = (signal.getsignal(signal.SIGALRM), signal.getsignal(signal.SIGINT))
    with pytest.raises(AppLoadError):
        load_app("wsr_no_such_module_xyz:app", timeout=5)
    assert (signal.getsignal(signal.SIGALRM), signal.getsignal(signal.SIGINT)) == before
    assert signal.getitimer(signal.ITIMER_REAL) == (0.0, 0.0)


# -- matching spec routes with the app's ---------------------------------------------------------


async def _noop(ws: WebSocket) -> None:
    await ws.close()


def test_match_routes_pairs_by_template_and_explains_missing_ones() -> None:
    app = Starlette(
        routes=[WebSocketRoute("/ws/endpoint", _noop), WebSocketRoute("/ws/plain/{name}", _noop)]
    )
    declared = (RouteSpec(path="/ws/plain/{name:str}"), RouteSpec(path="/ws/endpoints"))
    matches = match_routes(declared, inspect_app(app))
    assert [(m.found and m.found.path, m.declared and m.declared.path) for m in matches] == [
        ("/ws/endpoint", None),
        ("/ws/plain/{name}", "/ws/plain/{name:str}"),
        (None, "/ws/endpoints"),
    ]
    assert matches[2].problem is not None
    assert "did you mean '/ws/endpoint'?" in matches[2].problem


def test_match_routes_trusts_spec_routes_under_opaque_mounts() -> None:
    async def plain(scope: Any, receive: Any, send: Any) -> None:
        pass

    app = Starlette(routes=[Mount("/graphql", app=plain)])
    (match,) = match_routes((RouteSpec(path="/graphql/ws"),), inspect_app(app))
    assert match.found is None
    assert match.problem is None


def test_match_routes_without_a_routing_table_tests_the_spec_as_declared() -> None:
    async def plain(scope: Any, receive: Any, send: Any) -> None:
        pass

    (match,) = match_routes((RouteSpec(path="/ws"),), inspect_app(plain))
    assert match.found is None
    assert match.declared is not None
    assert match.problem is None
