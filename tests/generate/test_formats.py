"""Strings in each supported format (ws_routes.generate.formats)."""

from __future__ import annotations

import datetime
import ipaddress
import re
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import jsonschema
import jsonschema_rs
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ws_routes.errors import SchemaCompileError, WsRoutesError, WsRoutesWarning
from ws_routes.generate import check_schema, from_schema
from ws_routes.generate.formats import (
    FORMATS,
    clear_registered_formats,
    format_lengths,
    format_ok,
    format_strategy,
    is_known_format,
    register_format,
    unknown_format_note,
)

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


# -- unknown and registered formats ---------------------------------------------------------------


@pytest.fixture
def formats() -> Iterator[None]:
    """Registrations made in a test end with it."""
    clear_registered_formats()
    yield
    clear_registered_formats()


def _draws(strategy: st.SearchStrategy[Any], count: int = 40) -> list[Any]:
    seen: list[Any] = []

    @settings(max_examples=count, database=None, derandomize=True, deadline=None)
    @given(strategy)
    def collect(value: Any) -> None:
        seen.append(value)

    collect()
    return seen


def test_an_unknown_format_generates_by_type_with_one_warning_per_format() -> None:
    schema = {
        "type": "object",
        "properties": {
            "amount": {"type": "string", "format": "decimal", "maxLength": 5},
            "price": {"type": "string", "format": "decimal"},
            "wait": {"$ref": "#/$defs/wait"},
        },
        "required": ["amount", "wait"],
        "additionalProperties": False,
        "$defs": {"wait": {"type": "string", "format": "duration"}},
    }
    with pytest.warns(WsRoutesWarning) as caught:
        strategy = from_schema(schema)
    messages = [str(w.message) for w in caught]
    assert len(messages) == 2, messages
    assert messages[0].startswith("/properties/amount/format: format 'decimal' is unknown")
    assert messages[1].startswith("/$defs/wait/format: format 'duration' is unknown")
    assert "register_format('decimal', strategy)" in messages[0]
    values = _draws(strategy)
    # By type: any string (so some that are no decimal at all), within the other keywords.
    assert all(isinstance(v["amount"], str) and len(v["amount"]) <= 5 for v in values)
    assert any(not v["amount"].replace(".", "", 1).isdigit() for v in values)


def test_unknown_formats_go_to_the_callback_instead_of_a_warning() -> None:
    seen: list[tuple[str, str]] = []
    # No pytest.warns: the suite turns warnings into errors, so a warning here would fail.
    check_schema({"format": "x-sku"}, on_unknown_format=lambda n, p: seen.append((n, p)))
    assert seen == [("x-sku", "/format")]


def test_a_typo_of_a_known_format_says_which() -> None:
    with pytest.warns(
        WsRoutesWarning,
        match=r"format 'date_time' is unknown to ws_routes \(did you mean 'date-time'\?\)",
    ):
        from_schema({"type": "string", "format": "date_time"})
    assert "did you mean" not in unknown_format_note("decimal")  # no typo of "email"


def test_a_non_string_format_is_an_error() -> None:
    with pytest.raises(SchemaCompileError, match="format must be a string, found 5"):
        from_schema({"type": "string", "format": 5})


@pytest.mark.usefixtures("formats")
def test_a_registered_format_generates_from_its_strategy_within_the_keywords() -> None:
    register_format("decimal", st.decimals(-1000, 1000, places=2).map(str))
    values = _draws(from_schema({"type": "string", "format": "decimal", "maxLength": 6}))
    assert values
    for value in values:
        assert len(value) <= 6
        float(value)  # a decimal, not any string
    # The byte budget applies too: 8 bytes leave 6 characters inside the quotes.
    assert all(
        len(v) <= 6
        for v in _draws(from_schema({"type": "string", "format": "decimal"}, max_size=8))
    )


@pytest.mark.usefixtures("formats")
def test_a_registration_replaces_a_built_in_format() -> None:
    register_format("email", st.just("team@example.org"))
    assert set(_draws(from_schema({"type": "string", "format": "email"}), 5)) == {
        "team@example.org"
    }
    assert format_ok("email", "not checked: the user's strategy defines the format")


@pytest.mark.usefixtures("formats")
def test_a_registered_strategy_must_yield_strings() -> None:
    register_format("count", st.just(5))  # type: ignore[arg-type]
    with pytest.raises(
        WsRoutesError,
        match=r"register_format\('count', \.\.\.\): the strategy must yield str, got int 5",
    ):
        _draws(from_schema({"type": "string", "format": "count"}), 1)


@pytest.mark.usefixtures("formats")
@pytest.mark.parametrize(
    ("name", "strategy", "message"),
    [
        ("", st.just("x"), "name must be a non-empty string, got ''"),
        ("decimal", "1.0", "expected a Hypothesis strategy of str, got str '1.0'"),
        ("decimal", st.text, "(did you forget to call it?)"),
    ],
)
def test_register_format_checks_its_arguments(name: Any, strategy: Any, message: str) -> None:
    with pytest.raises(WsRoutesError, match=re.escape(message)):
        register_format(name, strategy)
    assert not is_known_format("decimal")


def test_register_format_is_public_api() -> None:
    import ws_routes

    assert ws_routes.register_format is register_format
    assert "register_format" in ws_routes.__all__
