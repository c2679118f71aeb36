"""The server-realism lints probes and conversations attach as warnings."""

from __future__ import annotations

from typing import Any

import pytest

from ws_routes.driver.transcript import Transcript
from ws_routes.driver.transport import Accepted, Rejected
from ws_routes.engine.lints import early_close_warning


@pytest.mark.parametrize(
    ("handshake", "warns"),
    [
        (Rejected(close_code=4001), True),
        (Rejected(close_code=1008), True),
        (Rejected(close_code=1000), False),  # ASGI's default code: a plain refusal
        (Rejected(status=403), False),
        (Accepted(), False),
        (None, False),
    ],
)
def test_early_close_warning(handshake: Any, warns: bool) -> None:
    t = Transcript(route="/ws/x", path="/ws/x", handshake=handshake)
    warning = early_close_warning("/ws/x", t)
    assert (warning is not None) == warns
    if warning:
        assert warning.startswith("/ws/x: the app closes the connection with code")
        assert "HTTP 403" in warning
        assert "accept() first, then close(code=" in warning
