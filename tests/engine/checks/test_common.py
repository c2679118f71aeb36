"""Helpers every check shares: which close codes are valid, which report a crash."""

from __future__ import annotations

import pytest

from ws_routes.engine.checks.common import is_server_error_close, valid_close_code


@pytest.mark.parametrize(
    ("code", "valid"),
    [
        (0, False),
        (999, False),
        (1000, True),
        (1001, True),
        (1003, True),
        (1004, False),
        (1005, False),
        (1006, False),
        (1007, True),
        (1011, True),
        (1014, True),
        (1015, False),
        (1016, False),
        (2999, False),
        (3000, True),
        (4000, True),
        (4999, True),
        (5000, False),
        (65535, False),
    ],
)
def test_valid_close_code(code: int, valid: bool) -> None:
    assert valid_close_code(code) is valid


@pytest.mark.parametrize(
    ("code", "reason", "crash"),
    [
        (1011, "", True),
        (1011, "anything", True),
        (4500, "Internal Server Error", True),
        (4500, "", True),
        (4500, "JSON is malformed: invalid character (byte 4)", False),
        (1008, "", False),
        (None, "", False),
    ],
)
def test_is_server_error_close(code: int | None, reason: str, crash: bool) -> None:
    assert is_server_error_close(code, reason) is crash
