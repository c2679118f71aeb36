"""Server-realism lints: what works in-process but not behind every real server.

A lint is a warning, not a failure: the app behaves as written under the in-process driver,
but a deployment (uvicorn, hypercorn) would change what clients see.
"""

from __future__ import annotations

from ws_routes.compile.route import CompiledRoute
from ws_routes.driver.transcript import Transcript
from ws_routes.driver.transport import Rejected
from ws_routes.engine.checks import is_server_error_close

__all__ = ["early_close_warning", "lint_warnings"]


def lint_warnings(route: CompiledRoute, t: Transcript) -> list[str]:
    """Server-realism lints for one connection: what works in-process but not on every server."""
    early = early_close_warning(route.spec.path, t)
    return ([early] if early else []) + [f"{route.spec.path}: {note}" for note in t.portability]


def early_close_warning(route: str, t: Transcript) -> str | None:
    """Server-realism lint: a custom close code sent before accepting never reaches a client.

    ASGI servers (uvicorn, hypercorn) answer ``websocket.close`` before ``websocket.accept`` with
    HTTP 403; the code is lost. 1000, the ASGI default, is a plain refusal and not flagged.
    """
    hs = t.handshake
    if not isinstance(hs, Rejected) or hs.close_code is None or hs.close_code == 1000:
        return None
    if is_server_error_close(hs.close_code, hs.reason):
        return None  # a crash in the handshake: no_server_error's finding, not a style point
    code = hs.close_code
    return (
        f"{route}: the app closes the connection with code {code} before accepting it; real "
        f"servers (uvicorn, hypercorn) answer that handshake with HTTP 403 and clients never see "
        f"code {code}. To send the code, call accept() first, then close(code={code})."
    )
