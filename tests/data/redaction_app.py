import asyncio
import base64
import functools
import json
import logging
import sys
import urllib.parse
import warnings

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

TOKEN = 'Zq8/x+y z&w="\u00fc"-9f3KpL2mN7vR4tY1'
BASIC = base64.b64encode(b"alice:Pa55-w0rd-XyZ").decode()
log = logging.getLogger("hostile")


def fail(token: str) -> None:
    raise RuntimeError(f"callback failed for {token}")


async def leak(ws: WebSocket, token: str) -> None:
    """Every way an app spreads its credential around, then a crash."""
    log.warning("authenticated with %s", token)
    log.warning("as JSON %s", json.dumps({"token": token}))
    log.warning("as URL %s and %s", urllib.parse.quote(token), urllib.parse.quote_plus(token))
    log.warning("as base64 %s", base64.b64encode(token.encode()).decode())
    logging.getLogger("asyncio").error("asyncio logger: %r", token)
    asyncio.get_running_loop().call_soon(functools.partial(fail, token))
    print("stdout:", token, json.dumps(token))
    print("stderr:", repr(token), file=sys.stderr)
    warnings.warn(f"the token {token} is deprecated", DeprecationWarning, stacklevel=1)
    await ws.send_text(f"hello {token}")
    await ws.send_json({"you": token})
    for pad in (150, 190, 236, 390):
        await ws.send_text("p" * pad + token)
    await ws.send_text(urllib.parse.quote(token))


async def query(ws: WebSocket) -> None:
    token = ws.query_params.get("token")
    if token != TOKEN:
        await ws.close(code=4001)
        return
    await ws.accept()
    await ws.receive_text()
    await leak(ws, token)
    raise ValueError(f"crashed holding {token!r}")


async def header(ws: WebSocket) -> None:
    authorization = ws.headers.get("authorization", "")
    if authorization != f"Bearer {TOKEN}":
        await ws.close(code=4001)
        return
    await ws.accept()
    await ws.receive_text()
    await leak(ws, TOKEN)
    await ws.close(code=1011, reason=f"bye {TOKEN[:40]}")


async def first(ws: WebSocket) -> None:
    await ws.accept()
    auth = json.loads(await ws.receive_text())
    if not isinstance(auth, dict) or auth.get("token") != TOKEN:
        await ws.close(code=4001)
        return
    await ws.receive_text()
    await leak(ws, TOKEN)
    raise ValueError(f"crashed holding {json.dumps(auth)}")


async def basic(ws: WebSocket) -> None:
    authorization = ws.headers.get("authorization", "")
    if authorization != f"Basic {BASIC}":
        await ws.close(code=4001)
        return
    await ws.accept()
    await ws.receive_text()
    user_password = base64.b64decode(authorization.split()[1]).decode()
    await leak(ws, user_password)
    raise ValueError(f"crashed for {user_password} ({authorization})")


app = Starlette(
    routes=[
        WebSocketRoute("/ws/query", query),
        WebSocketRoute("/ws/header", header),
        WebSocketRoute("/ws/first", first),
        WebSocketRoute("/ws/basic", basic),
    ]
)
