"""Where a route's traffic goes: an app in-process, or a running server over the network."""

from __future__ import annotations

import socket
import ssl
import subprocess
from pathlib import Path

import pytest
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket

from tests.servers import running_uvicorn
from ws_routes.driver.asgi import AsgiTransport
from ws_routes.driver.network import NetworkTransport
from ws_routes.driver.targets import Target, running_target, tls_context
from ws_routes.driver.transcript import MAX_KEPT_BYTES
from ws_routes.driver.transport import Accepted, TextFrame
from ws_routes.errors import WsRoutesError
from ws_routes.spec.model import Settings

SETTINGS = Settings(connection_timeout=2.0, message_timeout=1.0)


async def hello(ws: WebSocket) -> None:
    await ws.accept()
    await ws.send_text("hello")
    await ws.close()


APP = Starlette(routes=[WebSocketRoute("/hello", hello)])


async def _hello(transport: AsgiTransport | NetworkTransport) -> list[object]:
    conn = await transport.connect("/hello", timeout=2.0)
    seen = [conn.handshake, await conn.receive(2.0)]
    await conn.close(timeout=2.0)
    return seen


def test_in_process_target_runs_the_app_on_a_loop_thread() -> None:
    with running_target(Target(app=APP), settings=SETTINGS) as (loop, transport):
        assert isinstance(transport, AsgiTransport)
        assert loop.run(_hello(transport), timeout=5) == [Accepted(), TextFrame("hello")]
    assert not Target(app=APP).over_network


def test_network_target_talks_to_the_server() -> None:
    with running_uvicorn(APP) as port:
        target = Target(url=f"ws://127.0.0.1:{port}/")
        assert target.over_network
        with running_target(target, settings=SETTINGS) as (loop, transport):
            assert isinstance(transport, NetworkTransport)
            assert transport.base_url == f"ws://127.0.0.1:{port}"
            # A reply may echo an oversize mutant: the cap is the transcript's, not the route's.
            assert transport.max_size == MAX_KEPT_BYTES
            handshake, frame = loop.run(_hello(transport), timeout=5)
    assert isinstance(handshake, Accepted)
    assert frame == TextFrame("hello")


def test_a_server_that_is_not_there_is_one_clear_error() -> None:
    with socket.create_server(("127.0.0.1", 0)) as sock:
        port = sock.getsockname()[1]  # closed at once: nothing listens there
    with (
        pytest.raises(WsRoutesError, match=rf"cannot reach the server at ws://127.0.0.1:{port} "),
        running_target(Target(url=f"ws://127.0.0.1:{port}"), settings=SETTINGS),
    ):
        pass


def test_tls_context_verifies_unless_told_not_to(tmp_path: Path) -> None:
    assert tls_context().verify_mode is ssl.CERT_REQUIRED
    insecure = tls_context(insecure=True)
    assert (insecure.verify_mode, insecure.check_hostname) == (ssl.CERT_NONE, False)
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    with pytest.raises(
        WsRoutesError, match=r"--routes-tls-ca .*ca.pem: not a readable PEM CA file"
    ):
        tls_context(str(bad))


def _self_signed(folder: Path) -> tuple[Path, Path]:
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
         "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    return cert, key


def test_wss_with_a_private_ca(tmp_path: Path) -> None:
    cert, key = _self_signed(tmp_path)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    with running_uvicorn(APP, ssl=(str(cert), str(key))) as port:
        url = f"wss://127.0.0.1:{port}"
        for tls in (tls_context(str(cert)), tls_context(insecure=True)):
            with running_target(Target(url=url, tls=tls), settings=SETTINGS) as (loop, transport):
                handshake, frame = loop.run(_hello(transport), timeout=5)
            assert (isinstance(handshake, Accepted), frame) == (True, TextFrame("hello"))
        # Without the CA the certificate is refused: a handshake with no valid answer.
        with running_target(Target(url=url, tls=tls_context()), settings=SETTINGS) as (loop, t):
            handshake, _ = loop.run(_hello(t), timeout=5)
        assert handshake.status == 0
        assert "CERTIFICATE_VERIFY_FAILED" in handshake.reason


def test_a_server_target_serves_the_app_for_the_block_with_its_view() -> None:
    from ws_routes.driver.servers import RunningServer, parse_server

    target = Target(app=APP, server=parse_server("uvicorn"))
    assert target.over_network
    with running_target(target, settings=SETTINGS) as (loop, transport):
        assert isinstance(transport, NetworkTransport)
        assert isinstance(transport.view, RunningServer)
        port = transport.view.port
        handshake, frame = loop.run(_hello(transport), timeout=5)
    assert isinstance(handshake, Accepted)
    assert frame == TextFrame("hello")
    with pytest.raises(ConnectionRefusedError), socket.create_connection(("127.0.0.1", port), 1.0):
        pass  # stopped with the block
