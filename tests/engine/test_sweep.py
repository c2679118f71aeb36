"""The negative sweep: every mutation family of every message type, once, as probes."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.probe_routes import SAY, compiled
from ws_routes.compile.credentials import Credential
from ws_routes.engine.probes import Probe, build_probes
from ws_routes.spec.model import InvalidSpec, MessageSpec, ReplySpec, Schema, Settings


def test_negative_probes_send_each_family_once_per_message_after_the_credential() -> None:
    number = MessageSpec(
        name="set",
        kind="json",
        schema=Schema(
            value={
                "type": "object",
                "properties": {"n": {"type": "integer", "maximum": 9}},
                "required": ["n"],
                "additionalProperties": False,
            }
        ),
    )
    route = compiled(messages=(number,), invalid=InvalidSpec())
    credential = Credential("query", "token", "s3cret", "s3cret")
    negative = [p for p in build_probes(route, credential) if p.group == "negative"]
    labels = [p.name.removeprefix("negative: set: ") for p in negative]
    for expected in (
        "bytes frame to a json message",
        "missing required field /n",
        "extra field /x-unknown",
        "out of bounds at /n: 10 (maximum 9)",
        "empty text frame",
    ):
        assert expected in labels
    assert any(label.startswith("wrong type at /n") for label in labels)
    assert any(label.startswith("text that is not JSON") for label in labels)
    for probe in negative:
        (step,) = probe.conversation.steps
        assert step.mutation is not None
        assert probe.conversation.query == (("token", "s3cret"),)


def test_with_several_message_types_the_sweep_runs_again_after_the_first_declared_one() -> None:
    join = MessageSpec(name="join", kind="json", schema=Schema(value={"const": {"room": "a"}}))
    route = compiled(messages=(join, SAY), invalid=InvalidSpec())
    negative = [p for p in build_probes(route, None) if p.group == "negative"]
    fresh = [p for p in negative if not p.name.startswith("negative after join: ")]
    after = [p for p in negative if p.name.startswith("negative after join: ")]
    assert [p.name.removeprefix("negative: ") for p in fresh] == [
        p.name.removeprefix("negative after join: ") for p in after
    ]
    assert any(p.name.startswith("negative after join: say: ") for p in after)
    for probe in after:
        opening, mutant = probe.conversation.steps
        assert (opening.message, opening.payload, opening.mutation) == ("join", {"room": "a"}, None)
        assert mutant.mutation is not None
    # One message type: no opening to put first.
    single = compiled(invalid=InvalidSpec())
    assert not [p for p in build_probes(single, None) if " after " in p.name]


@pytest.mark.parametrize("limit", [0, 1, 2])
def test_no_probe_sends_more_messages_than_max_messages(limit: int) -> None:
    join = MessageSpec(name="join", kind="json", schema=Schema(value={"const": {"room": "a"}}))
    settings = Settings(connection_timeout=1.0, message_timeout=0.3, max_messages=limit)
    route = compiled(messages=(join, SAY), invalid=InvalidSpec(), settings=settings)
    probes = build_probes(route, None)
    groups = {p.group for p in probes}
    assert groups == ({"handshake", "negative"} if limit else {"handshake"})
    assert max(len(p.conversation.steps) for p in probes) == limit
    after = [p for p in probes if p.name.startswith("negative after join: ")]
    assert bool(after) == (limit >= 2)


def test_optional_fields_get_their_mutants_too() -> None:
    watch = MessageSpec(
        name="watch",
        kind="json",
        schema=Schema(
            value={
                "type": "object",
                "properties": {"symbol": {"type": "string"}, "window": {"type": "integer", "minimum": 1}},
                "required": ["symbol"],
            }
        ),
    )
    route = compiled(messages=(watch,), invalid=InvalidSpec())
    labels = [p.name for p in build_probes(route, None) if p.group == "negative"]
    # The simplest watch has no window; the sweep also starts from one that has every field.
    assert "negative: watch: out of bounds at /window: 0 (minimum 1)" in labels
    assert len(labels) == len(set(labels))


def test_no_negative_probes_when_invalid_testing_is_off() -> None:
    route = compiled(invalid=InvalidSpec(enabled=False))
    assert not [p for p in build_probes(route, None) if p.group == "negative"]
    off = compiled(invalid=InvalidSpec(), settings=Settings(checks={"invalid_input": False}))
    assert not [p for p in build_probes(off, None) if p.group == "negative"]


def _graphql(**fields: Any) -> list[Probe]:
    def typed(name: str) -> Schema:
        return Schema(
            value={
                "type": "object",
                "properties": {"type": {"const": name}},
                "required": ["type"],
                "additionalProperties": False,
            }
        )

    init = MessageSpec(
        name="init", kind="json", schema=typed("init"), reply=("ack",), when=("connecting",)
    )
    subscribe = MessageSpec(
        name="subscribe", kind="json", schema=typed("subscribe"), when=("ready",)
    )
    ping = MessageSpec(name="ping", kind="json", schema=typed("ping"))
    route = compiled(
        messages=(ping, subscribe, init),
        replies=(ReplySpec(name="ack", kind="json", goto="ready"),),
        states=("connecting", "ready"),
        invalid=InvalidSpec(),
        **fields,
    )
    return [p for p in build_probes(route, None) if p.group == "negative"]


def test_with_an_opening_the_sweep_runs_again_after_it() -> None:
    negative = _graphql(opening=("init",))
    after = [p for p in negative if p.name.startswith("negative after init: ")]
    assert any(p.name.startswith("negative after init: subscribe: ") for p in after)
    for probe in after:
        opening, mutant = probe.conversation.steps
        assert (opening.message, opening.payload, opening.mutation) == (
            "init",
            {"type": "init"},
            None,
        )
        assert mutant.mutation is not None
    # Not after the first declared message (ping): the opening is what leads to the state.
    assert not any(p.name.startswith("negative after ping") for p in negative)


def test_every_message_is_sent_once_where_its_when_forbids_it() -> None:
    gates = {
        p.name: p.conversation.steps
        for p in _graphql(opening=("init",))
        if "wrong_state" in p.name or "skipped_opening" in p.name
    }
    assert list(gates) == [
        "negative: subscribe: skipped_opening (in state connecting)",
        "negative after init: init: wrong_state (in state ready)",
    ]
    (skipped,) = gates["negative: subscribe: skipped_opening (in state connecting)"]
    assert (skipped.payload, skipped.mutation, skipped.invalid) == (
        {"type": "subscribe"},
        "skipped_opening",
        True,
    )
    init, again = gates["negative after init: init: wrong_state (in state ready)"]
    assert (init.mutation, again.message, again.mutation) == (None, "init", "wrong_state")
    # Without an opening, the first state's gate is a plain wrong-state step.
    assert "negative: subscribe: wrong_state (in state connecting)" in [p.name for p in _graphql()]
