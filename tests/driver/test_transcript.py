"""Transcript lines: how every kind of frame renders, payload previews, and the accessors."""

from __future__ import annotations

from typing import Any

import pytest

from ws_routes.driver.transcript import Frame, Transcript, render_frame, render_payload


@pytest.mark.parametrize(
    ("frame", "line"),
    [
        (
            Frame(
                direction="send", kind="json", data={"type": "join", "n": [1, None]}, name="join"
            ),
            '> json {"type": "join", "n": [1, null]}    [join]',
        ),
        (
            Frame(direction="send", kind="text", data='say "hi"\n', name="say"),
            '> text "say \\"hi\\"\\n"    [say]',
        ),
        (
            Frame(direction="send", kind="bytes", data=b"\x00\xff", name="blob"),
            "> bytes b'\\x00\\xff'    [blob]",
        ),
        (
            Frame(
                direction="send", kind="json", data={"n": "x"}, name="div", mutation="type at /n"
            ),
            '> json {"n": "x"}    [div, invalid: type at /n]',
        ),
        (Frame(direction="send", kind="text", data="plain"), '> text "plain"'),
        (
            Frame(direction="recv", kind="json", data={"ok": True}, name="ack"),
            '< json {"ok": true}    [ack]',
        ),
        (Frame(direction="recv", kind="text", data="é"), '< text "\\u00e9"    [undocumented]'),
        (Frame(direction="recv", kind="bytes", data=b""), "< bytes b''    [undocumented]"),
        (Frame(direction="server_close", code=1011), "x close 1011    [by server]"),
        (
            Frame(direction="server_close", code=4000, reason='bye "now"'),
            'x close 4000 "bye \\"now\\""    [by server]',
        ),
        (Frame(direction="client_close", code=1001), "x close 1001    [by client]"),
        (
            Frame(direction="abort"),
            "x abort (connection dropped without a close frame)    [by client]",
        ),
        (
            Frame(direction="note", data="server closed: 2 message(s) not sent"),
            "! server closed: 2 message(s) not sent",
        ),
    ],
)
def test_render_frame(frame: Frame, line: str) -> None:
    assert render_frame(frame) == line
    assert frame.render() == line


def test_received_json_null_without_a_reply_name_is_tagged_undocumented() -> None:
    # A JSON null reply is data None; it is as undocumented as any other unmatched reply.
    assert (
        render_frame(Frame(direction="recv", kind="json", data=None))
        == "< json null    [undocumented]"
    )


@pytest.mark.parametrize(
    ("kind", "data", "limit", "text"),
    [
        ("text", "abcdef", 4, '"abc… (6 chars)'),
        ("text", "abc", 5, '"abc"'),
        ("bytes", b"abcdef", 5, "b'abc… (6 bytes)"),
        ("json", {"k": "v" * 10}, 6, '{"k": …'),
        ("json", {"k": 1}, 100, '{"k": 1}'),
        ("json", {1, 2}, 100, "{1, 2}"),  # not JSON: shown with repr instead of failing
        (None, 42, 100, "42"),
    ],
)
def test_render_payload_previews(kind: Any, data: Any, limit: int, text: str) -> None:
    assert render_payload(kind, data, limit=limit) == text


def test_render_payload_escapes_non_ascii_json() -> None:
    assert render_payload("json", {"nick": "zoë\u2028"}) == '{"nick": "zo\\u00eb\\u2028"}'


def test_transcript_accessors_and_render() -> None:
    t = Transcript(route="/ws/{room}", path="/ws/a")
    t.frames += [
        Frame(direction="send", kind="text", data="a", index=0),
        Frame(direction="recv", kind="text", data="a", index=0),
        Frame(direction="server_close", code=4000, index=0),
        Frame(direction="server_close", code=4001, index=0),
    ]
    assert [f.data for f in t.sent] == ["a"]
    assert [f.direction for f in t.received] == ["recv"]
    close = t.server_close()
    assert close is not None
    assert close.code == 4000
    assert t.render() == [
        '> text "a"',
        '< text "a"    [undocumented]',
        "x close 4000    [by server]",
        "x close 4001    [by server]",
    ]
    assert Transcript(route="/", path="/").server_close() is None


def test_a_conversation_keeps_frames_up_to_its_cap_and_counts_the_rest() -> None:
    from ws_routes.driver.transcript import MAX_KEPT_BYTES

    t = Transcript(route="/ws", path="/ws")
    assert t.room_for(MAX_KEPT_BYTES - 10)
    assert not t.room_for(11)
    assert not t.room_for(1)  # after a drop, nothing more: the kept log has no gaps
    assert (t.kept_bytes, t.dropped_frames, t.dropped_bytes) == (MAX_KEPT_BYTES - 10, 2, 12)
    assert t.render() == [
        "! 2 more frame(s) received (12 bytes/chars), not kept: a conversation keeps at most "
        "10,000 frames and 64 MiB"
    ]


def test_notes_and_reasons_are_printable_whatever_they_hold() -> None:
    close = Frame(direction="server_close", code=4000, reason="\ud800" + "r" * 1000)
    assert close.render(limit=10) == 'x close 4000 "\\ud800rrr… (1001 chars)    [by server]'
    note = Frame(direction="note", data="odd \udfff")
    assert note.render() == "! odd \\udfff"


def test_a_drop_over_the_network_is_rendered_as_a_client_sees_it() -> None:
    drop = Frame(direction="server_close", code=1006, dropped=True)
    t = Transcript(route="/ws", path="/ws", frames=[drop])
    assert t.render() == [
        "x dropped (the handler returned without closing; clients see 1006)    [by server]"
    ]
    t.over_network = True  # a client cannot tell a handler that returned from a crash
    assert t.render() == ["x dropped (no close frame: the client sees 1006)    [by server]"]
