"""spec.clients: ``clients`` and ``delivery``, built into the dataclasses and checked, located."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.spec.texts import errors_of, load_text
from ws_routes.spec.model import Clients, Delivery


@pytest.fixture(autouse=True)
def _in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)


ROOMS = """\
routes:
  /rooms/{room}:
    clients: %s
    messages:
      say: {kind: json, reply: [ack, said]}
    replies:
      ack: {kind: json}
      said: {kind: json, delivery: %s}
"""


def test_a_number_of_clients_and_a_delivery_name_build_their_dataclasses() -> None:
    route = load_text(ROOMS % ("3", "others")).routes[0]
    assert route.clients == Clients(max=3, path_params="drawn")
    assert route.reply("said").delivery == Delivery(to="others")
    assert route.reply("ack").delivery is None  # to the sender, as on a one-client route


def test_the_long_forms_carry_path_params_and_the_scope() -> None:
    text = ROOMS % ("{max: 2, path_params: same}", "{to: all, same: room}")
    route = load_text(text).routes[0]
    assert route.clients == Clients(max=2, path_params="same")
    assert route.reply("said").delivery == Delivery(to="all", same="room")


def test_a_route_without_the_keys_has_one_client() -> None:
    route = load_text("routes:\n  /ws: {messages: {m: {kind: text}}}\n").routes[0]
    assert route.clients == Clients()


def test_same_must_name_a_path_parameter_of_the_route() -> None:
    (error,) = errors_of(ROOMS % ("2", "{to: others, same: rom}"))
    assert "'same' names no path parameter: 'rom'" in error
    assert error.startswith("ws-routes.yaml:8:49: routes./rooms/{room}.replies.said.delivery.same")
    assert "did you mean 'room'?" in error


@pytest.mark.parametrize("value", ["0", "9", "{path_params: same}", "{max: 2, extra: 1}"])
def test_bad_clients_values_are_refused(value: str) -> None:
    assert errors_of(ROOMS % (value, "others"))


def test_clients_with_protocol_states_are_refused_with_why() -> None:
    text = ROOMS % ("2", "others") + "    states: [a, b]\n"
    (error,) = errors_of(text)
    assert "'clients' cannot be combined with 'states' or 'opening' yet" in error
