"""What HTTP/1.1 carries of a handshake: headers, subprotocols, the request target."""

from __future__ import annotations

from ws_routes.driver.network_http import offerable, on_the_wire, wire_target


def test_headers_go_as_bytes_a_server_reads_back_and_the_rest_is_counted() -> None:
    headers = [
        ("X-A", "plain"),
        ("X-B", "caf\xe9"),  # latin-1: as it is
        ("X-C", "\U0001f600"),  # beyond: its UTF-8 bytes
        ("X-D", "tab\tok"),
        ("X-E", "split\r\nHost: evil"),
        ("bad name", "x"),
        ("X-F", "nul\x00"),
    ]
    sent, left_out = on_the_wire(headers)
    assert sent == [
        ("X-A", "plain"),
        ("X-B", "caf\xe9"),
        ("X-C", "\U0001f600".encode().decode("latin-1")),
        ("X-D", "tab\tok"),
    ]
    assert left_out == 3


def test_only_token_subprotocols_can_be_offered() -> None:
    assert offerable(["chat.v1", "a b", "", "graphql-transport-ws", "\xe9"]) == [
        "chat.v1",
        "graphql-transport-ws",
    ]


def test_request_targets_are_percent_encoded_once() -> None:
    assert wire_target("/ws/caf%C3%A9", b"x=1&y=%20") == "/ws/caf%C3%A9?x=1&y=%20"
    assert wire_target("/ws/a b") == "/ws/a%20b"
    assert wire_target("ws/x?q=\xe9") == "/ws/x?q=%C3%A9"  # the ?query of the path, as UTF-8
    assert wire_target("/ws/\udc80") == "/ws/%ED%B2%80"  # a lone surrogate does not raise
    assert wire_target("/ws/x?in=path", b"given=1") == "/ws/x?given=1"
