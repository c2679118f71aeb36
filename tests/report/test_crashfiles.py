"""Crash files: what one holds, how it reads back, where it goes, and secrets kept out of it."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from ws_routes.compile.credentials import Redactor
from ws_routes.driver.transcript import Failure
from ws_routes.driver.transport import AppError
from ws_routes.engine.conversation import Client, Conversation, Step
from ws_routes.engine.probe_base import Probe
from ws_routes.engine.saved import AfterEarlier
from ws_routes.errors import WsRoutesError
from ws_routes.report import crashfiles
from ws_routes.spec.model import MessageSpec, RouteSpec, Schema, Settings

ROUTE = RouteSpec(
    path="/ws/items/{id:int}",
    messages=(MessageSpec(name="say", kind="text"),),
    settings=Settings(message_timeout=0.5, max_examples=30, checks={"origin": False}),
)
FAILURE = Failure(
    check="no_server_error",
    error_type="server_error",
    message="the app raised ValueError: boom",
    expected="the handler to handle every message without raising",
    actual="ValueError: boom",
    index=0,
)
SECRET = "s3cret-t0ken-value"


def crash(conversation: Conversation, **kw: object) -> crashfiles.CrashFile:
    fields: dict[str, object] = {
        "route": ROUTE,
        "failure": FAILURE,
        "bug": "no_server_error-ValueError-0123abcd",
        "conversation": conversation,
        "report": "the report",
        "redactor": Redactor([SECRET]),
        "app": "app:app",
        "spec": "ws-routes.yaml",
        "seed": 7,
        "blob": "@reproduce_failure('6.0', b'AA==')",
    }
    fields.update(kw)
    return crashfiles.build(**fields)  # type: ignore[arg-type]


def test_a_crash_file_round_trips_every_kind_of_step(tmp_path: Path) -> None:
    conversation = Conversation(
        path="/ws/items/0",
        query=(("lang", "en"),),
        headers=(("x-trace", "t1"),),
        subprotocols=("chat.v1",),
        steps=(
            Step("say", "text", "lone \ud800 surrogate"),
            Step("blob", "bytes", b"\x00\xff\x01", wait=False),
            Step("j", "json", {"n": [1, 2.5, None, True, "é"], "nan": float("inf")}),
            Step("say", "bytes", b"\x80", mutation="bytes frame to a text message", invalid=True),
        ),
        close_code=None,
    )
    path = crashfiles.save(tmp_path, crash(conversation))
    assert (
        path
        == tmp_path / ".ws-routes/crashes/ws-items-id-int-no_server_error-ValueError-0123abcd.json"
    )
    assert path.read_text("utf-8").isascii()
    loaded = crashfiles.load(path)
    assert loaded.saved() == conversation
    assert loaded.route == "/ws/items/{id:int}"
    assert loaded.check == "no_server_error"
    assert loaded.failure["message"] == FAILURE.message
    assert loaded.settings == ROUTE.settings
    assert (loaded.app, loaded.spec, loaded.seed, loaded.hypothesis_blob) == (
        "app:app",
        "ws-routes.yaml",
        7,
        "@reproduce_failure('6.0', b'AA==')",
    )
    assert loaded.spec_digest == crashfiles.route_digest(ROUTE)
    assert set(loaded.versions) == {"python", "ws_routes", "hypothesis"}
    assert not loaded.redacted
    assert not list(tmp_path.glob(".ws-routes/crashes/.*.tmp"))


def test_secrets_are_masked_and_put_back_on_replay(tmp_path: Path) -> None:
    conversation = Conversation(
        path="/ws/items/1",
        query=(("token", SECRET),),
        headers=(("authorization", f"Bearer {SECRET}"),),
        steps=(
            Step("auth", "json", {"token": SECRET, "keep": "plain"}),
            Step("raw", "bytes", f"tok={SECRET}\xff".encode("latin-1")),
        ),
    )
    path = crashfiles.save(tmp_path, crash(conversation, report=f"sent {SECRET}"))
    text = path.read_text("utf-8")
    assert SECRET not in text
    loaded = crashfiles.load(path)
    assert loaded.report == "sent ***"
    assert len(loaded.redacted) == 4
    masked = loaded.saved()
    assert isinstance(masked, Conversation)
    assert masked.query == (("token", "***"),)
    assert masked.steps[0].payload == {"token": "***", "keep": "plain"}
    # The credential of the replaying run goes back exactly where it was.
    assert loaded.saved(SECRET) == conversation


def test_a_probe_is_kept_as_the_probe(tmp_path: Path) -> None:
    probe = Probe("auth", "auth: missing", Conversation(path="/ws/items/1"), "refuse", "no token")
    loaded = crashfiles.load(crashfiles.save(tmp_path, crash(probe.conversation, probe=probe)))
    assert loaded.saved() == probe


def test_the_bug_part_of_the_name_ignores_where_the_project_is(tmp_path: Path) -> None:
    try:
        raise ValueError("boom")
    except ValueError as exc:
        cause = AppError(exc, "Traceback ...")
    failure = replace(FAILURE, cause=cause)
    here = crashfiles.bug_slug(failure, f"raised ValueError@{tmp_path}{os.sep}app.py:9", tmp_path)
    there = crashfiles.bug_slug(
        failure, f"raised ValueError@/elsewhere{os.sep}app.py:9", Path("/elsewhere")
    )
    assert here == there
    assert here.startswith("no_server_error-ValueError-")
    assert crashfiles.bug_slug(FAILURE, "reply_schema|contract_violation") != here


def test_the_route_digest_follows_the_spec_not_where_it_was_written() -> None:
    digest = crashfiles.route_digest(ROUTE)
    moved = replace(ROUTE, location=replace(ROUTE.location, line=40))
    assert crashfiles.route_digest(moved) == digest
    schema = replace(ROUTE.messages[0], schema=Schema(value={"maxLength": 3}))
    assert crashfiles.route_digest(replace(ROUTE, messages=(schema,))) != digest
    faster = replace(ROUTE, settings=ROUTE.settings.merged(message_timeout=0.1))
    assert crashfiles.route_digest(faster) != digest


def test_crash_files_are_found_newest_first_from_below_the_project(tmp_path: Path) -> None:
    old = crashfiles.save(tmp_path, crash(Conversation(path="/ws/items/1"), bug="a"))
    new = crashfiles.save(tmp_path, crash(Conversation(path="/ws/items/2"), bug="b"))
    os.utime(old, (time.time() - 60, time.time() - 60))
    below = tmp_path / "src" / "pkg"
    below.mkdir(parents=True)
    assert crashfiles.crash_files(below) == [new, old]
    assert [p for p, _ in crashfiles.for_route(tmp_path, ROUTE.path)] == [old, new]
    assert list(crashfiles.for_route(tmp_path, "/ws/other")) == []
    assert crashfiles.crash_root(new) == tmp_path.resolve()
    elsewhere = tmp_path.parent / f"{tmp_path.name}-elsewhere"
    elsewhere.mkdir()
    assert crashfiles.crash_files(elsewhere) == []


def test_a_file_that_is_no_crash_file_is_a_clear_error(tmp_path: Path) -> None:
    other = tmp_path / "x.json"
    other.write_text(json.dumps({"hello": 1}))
    with pytest.raises(WsRoutesError, match="not a ws_routes crash file"):
        crashfiles.load(other)
    with pytest.raises(WsRoutesError, match="cannot read"):
        crashfiles.load(tmp_path / "missing.json")
    broken = crashfiles.save(tmp_path, crash(Conversation(path="/ws/items/1")))
    data = json.loads(broken.read_text())
    del data["conversation"]["path"]
    broken.write_text(json.dumps(data))
    with pytest.raises(WsRoutesError, match="malformed"):
        crashfiles.load(broken)
    # A route's own broken file is left alone, not replayed.
    assert list(crashfiles.for_route(tmp_path, ROUTE.path)) == []


def test_the_replay_command_names_the_file_from_where_it_is_run(tmp_path: Path) -> None:
    path = tmp_path / ".ws-routes" / "crashes" / "ws-a x.json"
    assert (
        crashfiles.replay_command(path, tmp_path)
        == "ws-routes replay '.ws-routes/crashes/ws-a x.json'"
    )
    assert crashfiles.replay_command("/abs/f.json", tmp_path) == "ws-routes replay /abs/f.json"


def test_earlier_connections_are_kept_in_order_their_secrets_masked(tmp_path: Path) -> None:
    first = Conversation(path="/ws/items/1", headers=(("authorization", f"Bearer {SECRET}"),))
    second = Conversation(path="/ws/items/2", steps=(Step("say", "text", "hi"),), close_code=None)
    final = Conversation(path="/ws/items/3", steps=(Step("say", "text", "boom"),))
    path = crashfiles.save(tmp_path, crash(final, earlier=(first, second)))
    text = path.read_text("utf-8")
    assert SECRET not in text
    assert [c["path"] for c in json.loads(text)["earlier"]] == ["/ws/items/1", "/ws/items/2"]
    loaded = crashfiles.load(path)
    assert loaded.saved(SECRET) == AfterEarlier(final, (first, second))
    masked = loaded.saved()
    assert isinstance(masked, AfterEarlier)
    assert masked.earlier[0].headers == (("authorization", "Bearer ***"),)
    # A crash file without earlier connections (every one written before them) loads as before.
    assert crashfiles.load(crashfiles.save(tmp_path, crash(final))).saved() == final


def test_a_crash_file_round_trips_a_conversation_of_several_clients(tmp_path: Path) -> None:
    conversation = Conversation(
        path="/ws/items/0",
        steps=(
            Step("", "text", None, client=1, leave="abort"),
            Step("say", "text", "hi", client=2, wait=False),
            Step("say", "text", "again"),
        ),
        clients=(
            Client(path="/ws/items/0", joins=0),
            Client(path="/ws/items/1", query=(("lang", "en"),), headers=(("x", "y"),), joins=1),
        ),
    )
    path = crashfiles.save(tmp_path, crash(conversation))
    stored = json.loads(path.read_text("utf-8"))["conversation"]
    assert [s.get("client") for s in stored["steps"]] == [2, 3, None]  # as reports number them
    assert crashfiles.load(path).saved() == conversation
