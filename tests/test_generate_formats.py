"""Strings in each supported format (ws_routes.generate.formats)."""

from __future__ import annotations

import datetime
import ipaddress
import uuid
from collections.abc import Callable

import jsonschema
import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ws_routes.generate.formats import FORMATS, format_lengths, format_ok, format_strategy

CHECKER = jsonschema.Draft202012Validator.FORMAT_CHECKER


def _stdlib(name: str) -> Callable[[str], object]:
    parsers: dict[str, Callable[[str], object]] = {
        "date": datetime.date.fromisoformat,
        "date-time": datetime.datetime.fromisoformat,
        "time": datetime.time.fromisoformat,
        "uuid": uuid.UUID,
        "ipv4": ipaddress.IPv4Address,
        "ipv6": ipaddress.IPv6Address,
    }
    return parsers.get(name, str)


@pytest.mark.parametrize("name", FORMATS)
@settings(max_examples=60, deadline=None)
@given(data=st.data(), max_len=st.integers(60, 300))
def test_generated_values_pass_every_checker(name: str, data: st.DataObject, max_len: int) -> None:
    text = data.draw(format_strategy(name, max_len, edges=True))
    assert len(text) <= max_len
    assert format_ok(name, text)
    assert CHECKER.conforms(text, name)
    _stdlib(name)(text)
    assert jsonschema_rs.validator_for({"format": name}, validate_formats=True).is_valid(text)


@pytest.mark.parametrize("name", FORMATS)
@settings(max_examples=20, deadline=None)
@given(data=st.data())
def test_the_shortest_budget_still_works(name: str, data: st.DataObject) -> None:
    shortest = format_lengths(name)[0]
    assert len(data.draw(format_strategy(name, max(shortest, 20), edges=False))) <= max(
        shortest, 20
    )


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("date", "2021-02-30"),
        ("date", "21-02-01"),
        ("time", "24:00:00Z"),
        ("time", "12:00:00"),  # RFC 3339 requires an offset
        ("date-time", "2021-01-01 12:00:00Z"),
        ("uuid", "not-a-uuid"),
        ("ipv4", "256.1.1.1"),
        ("ipv6", "1::2::3"),
        ("hostname", "-bad.example"),
        ("email", "no-at-sign"),
        ("email", "a@b"),
        ("uri", "no scheme"),
    ],
)
def test_format_ok_rejects(name: str, text: str) -> None:
    assert not format_ok(name, text)


def test_unknown_formats_pass() -> None:
    assert format_ok("color", "anything")


@pytest.mark.parametrize("name", [f for f in FORMATS if f != "time"])
@settings(max_examples=30, deadline=None)
@given(data=st.data())
def test_values_pass_the_all_drafts_format_checker(name: str, data: st.DataObject) -> None:
    # jsonschema.FormatChecker() registers draft 3's "time" (%H:%M:%S, no offset) under the
    # same name as RFC 3339's full-time, which requires an offset: no string passes both, and
    # we follow RFC 3339 as drafts 7 to 2020-12 do (see test_generated_values_pass_every_checker).
    text = data.draw(format_strategy(name, 200, edges=True))
    assert jsonschema.FormatChecker().conforms(text, name)
