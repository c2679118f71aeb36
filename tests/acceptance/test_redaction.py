"""Acceptance: a failing authenticated run never prints its secret, in any encoding or channel."""

from __future__ import annotations

import base64
import json
import urllib.parse
from pathlib import Path

import pytest

from tests.conftest import RunRoutes

APP = (Path(__file__).resolve().parents[1] / "data" / "redaction_app.py").read_text(encoding="utf-8")
TOKEN = 'Zq8/x+y z&w="\u00fc"-9f3KpL2mN7vR4tY1'
BASIC = "YWxpY2U6UGE1NS13MHJkLVh5Wg=="  # alice:Pa55-w0rd-XyZ, the spec's token of /ws/basic
SPEC = f"""
routes:
  /ws/query:
    auth: {{query_param: token}}
    messages: {{say: {{kind: text}}}}
  /ws/header:
    auth: {{header: Authorization, scheme: Bearer}}
    messages: {{say: {{kind: text}}}}
  /ws/first:
    auth:
      first_message: {{type: object, properties: {{type: {{const: auth}}}}, required: [type]}}
    messages: {{say: {{kind: text}}}}
  /ws/basic:
    auth: {{header: Authorization, scheme: Basic, token: {BASIC}}}
    messages: {{say: {{kind: text}}}}
"""


def _forms() -> dict[str, str]:
    """Every encoding of every secret (computed here, not by the code under test), and the
    8-character prefix and suffix of each."""
    out = {}
    for secret in (TOKEN, BASIC, "alice:Pa55-w0rd-XyZ", "Pa55-w0rd-XyZ"):
        encodings = {
            "raw": secret,
            "quote": urllib.parse.quote(secret, safe=""),
            "quote/": urllib.parse.quote(secret),
            "quote_plus": urllib.parse.quote_plus(secret),
            "json": json.dumps(secret)[1:-1],
            "json-unicode": json.dumps(secret, ensure_ascii=False)[1:-1],
            "repr": repr(secret)[1:-1],
            "base64": base64.b64encode(secret.encode()).decode(),
            "base64url": base64.urlsafe_b64encode(secret.encode()).decode(),
        }
        for name, text in encodings.items():
            out[f"{secret[:5]} {name}"] = text
            out[f"{secret[:5]} {name} prefix"] = text[:8]
            out[f"{secret[:5]} {name} suffix"] = text[-8:]
    return out


@pytest.mark.parametrize("xdist", [False, True], ids=["serial", "xdist"])
def test_no_encoding_of_a_secret_reaches_any_output(
    run_routes: RunRoutes, pytester: pytest.Pytester, xdist: bool
) -> None:
    junit = pytester.path / "junit.xml"
    result = run_routes(
        APP,
        "--routes-auth",
        f"bearer:{TOKEN}",
        "--routes-max-examples",
        "5",
        f"--junitxml={junit}",
        "-l",
        "-vv",
        "--routes-verbose",
        *(["-n", "2"] if xdist else ["-p", "no:xdist"]),
        spec=SPEC,
    )
    result.assert_outcomes(failed=4)
    out = result.stdout.str()
    # The findings are still reported, with the credential shown as *** where it was.
    for route in ("/ws/query", "/ws/header", "/ws/first", "/ws/basic"):
        assert f"WEBSOCKET TEST FAILURE: {route}" in out
    assert "Check: no_server_error" in out
    assert "authorization: Bearer ***" in out
    assert "authorization: Basic ***" in out
    if not xdist:
        assert "Captured log call" in out
        assert "authenticated with ***" in out
    channels = {"stdout": out, "stderr": result.stderr.str(), "junit": junit.read_text("utf-8")}
    leaks = [
        f"{channel}: {name} {text!r}"
        for channel, content in channels.items()
        for name, text in _forms().items()
        if text in content
    ]
    assert leaks == []
