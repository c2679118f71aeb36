"""handshake and subprotocol_negotiation: positive and negative cases on hand-built transcripts."""

from __future__ import annotations

from typing import Any

import pytest

from tests.engine.checks.builders import (
    PATH,
    checks,
    route,
    run,
    transcript,
)
from ws_routes.compile.route import compile_route
from ws_routes.driver.transport import Accepted, Rejected
from ws_routes.spec.model import AuthSpec, Settings, default_route

# -- handshake -------------------------------------------------------------------------------------


def test_declared_route_refusing_with_an_undeclared_code_fails_handshake() -> None:
    (failure,) = run(transcript(handshake=Rejected(close_code=4404)))
    assert failure.check == "handshake"
    assert failure.error_type == "handshake_error"
    assert failure.actual == (
        "refused with close code 4404 before accepting (HTTP 403 on a real server)"
    )


def test_refusing_with_1000_hints_at_an_unmatched_path() -> None:
    (failure,) = run(transcript(handshake=Rejected(close_code=1000)))
    assert "a router closes with 1000 when no route matches" in failure.message


def test_http_denial_fails_handshake_with_its_status() -> None:
    (failure,) = run(transcript(handshake=Rejected(status=401)))
    assert (failure.check, failure.actual) == ("handshake", "refused with HTTP 401")


@pytest.mark.parametrize("status", [401, 403])
def test_http_denial_is_a_declared_refusal_on_an_auth_route(status: int) -> None:
    r = route(auth=AuthSpec(header="authorization", scheme="Bearer"))
    assert run(transcript(handshake=Rejected(status=status)), r) == []
    assert checks(run(transcript(handshake=Rejected(status=404)), r)) == ["handshake"]


@pytest.mark.parametrize(
    "fields",
    [
        {"close_codes": (1000, 4404)},
        {"auth": AuthSpec(query_param="token", reject_close_codes=(4404,))},
    ],
    ids=["close_codes", "auth.reject_close_codes"],
)
def test_declared_refusal_codes_pass_handshake(fields: dict[str, Any]) -> None:
    assert run(transcript(handshake=Rejected(close_code=4404)), route(**fields)) == []


def test_default_auth_reject_codes_allow_4001_1008_4003() -> None:
    r = route(auth=AuthSpec(query_param="token"))
    for code in (1008, 4001, 4003):
        assert run(transcript(handshake=Rejected(close_code=code)), r) == []


def test_undeclared_route_refusing_is_left_to_the_item() -> None:
    r = compile_route(default_route(PATH, Settings()))
    assert run(transcript(handshake=Rejected(close_code=4404)), r) == []


# -- subprotocol_negotiation -----------------------------------------------------------------------


def test_subprotocol_not_offered_fails() -> None:
    t = transcript(handshake=Accepted(subprotocol="evil"), subprotocols=("chat.v1",))
    (failure,) = run(t, route(subprotocols=("chat.v1",)))
    assert failure.check == "subprotocol_negotiation"
    assert failure.expected == "one of ['chat.v1']"
    assert failure.actual == "'evil'"


def test_subprotocol_chosen_when_none_offered_fails() -> None:
    (failure,) = run(transcript(handshake=Accepted(subprotocol="chat.v1")))
    assert failure.expected == "no subprotocol (none was offered)"


def test_no_subprotocol_chosen_from_declared_ones_fails() -> None:
    t = transcript(handshake=Accepted(), subprotocols=("chat.v1", "chat.v2"))
    (failure,) = run(t, route(subprotocols=("chat.v1", "chat.v2")))
    assert failure.message == "server accepted without selecting any of the offered subprotocols"


def test_no_subprotocol_chosen_is_fine_when_validation_is_off() -> None:
    r = route(subprotocols=("chat.v1",), settings=Settings(validate_subprotocols=False))
    assert run(transcript(handshake=Accepted(), subprotocols=("chat.v1",)), r) == []


def test_offered_subprotocol_chosen_passes() -> None:
    t = transcript(handshake=Accepted(subprotocol="chat.v2"), subprotocols=("chat.v1", "chat.v2"))
    assert run(t, route(subprotocols=("chat.v1", "chat.v2"))) == []


# -- over the network: what a client can see ------------------------------------------------------


def test_http_403_over_the_network_may_be_a_declared_close_before_accept() -> None:
    # uvicorn answers a close before accept with HTTP 403: the code (maybe a declared one) is lost.
    refused = Rejected(status=403)
    declared = route(close_codes=(4404,))
    assert run(transcript(handshake=refused, over_network=True), declared) == []
    assert checks(run(transcript(handshake=refused), declared)) == ["handshake"]  # in-process
    # With no refusal declared, a 403 is still a refusal of a route that must accept.
    assert checks(run(transcript(handshake=refused, over_network=True))) == ["handshake"]


def test_no_valid_http_answer_is_not_a_refusal() -> None:
    t = transcript(handshake=Rejected(status=0, reason="EOFError: reset"), over_network=True)
    assert checks(run(t)) == ["no_server_error"]
