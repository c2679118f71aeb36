"""Server URLs: what ``server.url`` and ``--routes-url`` may hold."""

from __future__ import annotations

import pytest

from ws_routes.spec.urls import url_problem


@pytest.mark.parametrize(
    "url", ["ws://127.0.0.1:8000", "wss://example.com", "ws://h/api/v1/", "ws://[::1]:9000"]
)
def test_server_urls(url: str) -> None:
    assert url_problem(url) is None


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://h:8000", "expected ws://HOST[:PORT][/prefix]"),
        ("ws://", "expected ws://"),
        ("h:8000", "expected ws://"),
        ("ws://h:port", "Port could not be cast"),
        ("ws://h/?token=1", "no query or fragment"),
        ("ws://h/#x", "no query or fragment"),
        ("ws://h:0", "port 0"),
    ],
)
def test_what_is_wrong_is_said(url: str, words: str) -> None:
    problem = url_problem(url)
    assert problem is not None
    assert words in problem
    assert repr(url) in problem
