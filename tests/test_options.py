from __future__ import annotations

from typing import Any

import pytest

from ws_routes.options import OPTIONS, OptionError, RunOptions, resolve_options

SECONDS = "a number of seconds greater than 0 and at most 86400"


def resolve(cli: dict[str, Any] | None = None, ini: dict[str, Any] | None = None) -> RunOptions:
    cli, ini = cli or {}, ini or {}
    return resolve_options(lambda dest: cli.get(dest), lambda name: ini.get(name))


def test_every_seed_flag_is_registered() -> None:
    flags = {o.flag for o in OPTIONS}
    assert {
        "--routes",
        "--routes-app",
        "--routes-websocket",
        "--routes-ws-max-messages",
        "--routes-ws-timeout",
        "--routes-ws-message-timeout",
        "--routes-ws-include",
        "--routes-ws-exclude",
        "--routes-max-examples",
        "--routes-seed",
        "--routes-verbose",
        "--routes-auth",
        "--routes-spec",
        "--routes-max-time",  # ours: a route bounded by time as well as examples
        # Ours: live mode, a running server over the network (issue 14).
        "--routes-url",
        "--routes-tls-ca",
        "--routes-tls-insecure",
        "--routes-server",  # ours: the app under a real server
    } == flags


def test_the_server_is_taken_as_given_and_checked_by_the_driver() -> None:
    assert resolve({"routes_server": "uvicorn-wsproto"}).server == "uvicorn-wsproto"
    assert resolve(ini={"routes_server": "differential"}).server == "differential"
    assert resolve().server is None


def test_ini_twins_are_named_after_flags() -> None:
    assert {o.ini for o in OPTIONS} >= {"routes_ws_timeout", "routes_app", "routes_websocket"}


def test_nothing_given_means_disabled_and_no_overrides() -> None:
    options = resolve()
    assert not options.enabled
    assert options.settings_overrides() == {}


def test_cli_values_are_typed() -> None:
    options = resolve(
        {
            "routes_websocket": True,
            "routes_ws_max_messages": "3",
            "routes_ws_timeout": "2.5",
            "routes_ws_include": "/ws/chat, /ws/n*",
            "routes_seed": "54321",
        }
    )
    assert options.enabled
    assert options.settings_overrides() == {
        "max_messages": 3,
        "connection_timeout": 2.5,
        "include": ("/ws/chat", "/ws/n*"),
    }
    assert options.seed == 54321


def test_cli_wins_over_ini() -> None:
    options = resolve(
        {"routes_ws_timeout": "1"}, {"routes_ws_timeout": "9", "routes_ws_message_timeout": "4"}
    )
    assert options.connection_timeout == 1.0
    assert options.message_timeout == 4.0


def test_max_time_is_seconds_from_the_command_line_or_the_ini_file() -> None:
    assert resolve({"routes_max_time": "2.5"}).max_time == 2.5
    assert resolve(ini={"routes_max_time": "60"}).max_time == 60.0
    assert resolve().max_time is None
    # A time limit is no spec setting: it bounds the run, not what the routes are.
    assert "max_time" not in resolve({"routes_max_time": "1"}).settings_overrides()


def test_ini_flags_accept_words() -> None:
    assert resolve(ini={"routes_websocket": "true"}).enabled
    assert not resolve(ini={"routes_websocket": "off"}).enabled


@pytest.mark.parametrize(
    ("cli", "ini", "message"),
    [
        (
            {"routes_ws_max_messages": "many"},
            {},
            "--routes-ws-max-messages: expected a whole number, got 'many'",
        ),
        (
            {"routes_max_examples": "0"},
            {},
            "--routes-max-examples: expected a whole number >= 1, got 0",
        ),
        (
            {"routes_ws_max_messages": "0"},
            {},
            "--routes-ws-max-messages: expected a whole number >= 1, got 0",
        ),
        (
            {},
            {"routes_ws_max_messages": "0"},
            "ini option 'routes_ws_max_messages': expected a whole number >= 1, got 0",
        ),
        (
            {"routes_ws_timeout": "-1"},
            {},
            "--routes-ws-timeout: expected a number of seconds greater than 0 and at most 86400, got '-1'",
        ),
        *(
            (
                {"routes_ws_timeout": value},
                {},
                f"--routes-ws-timeout: expected {SECONDS}, got {value!r}",
            )
            for value in ("nan", "inf", "-inf", "1e308", "0", "86400.5")
        ),
        (
            {"routes_ws_message_timeout": "1e308"},
            {},
            f"--routes-ws-message-timeout: expected {SECONDS}, got '1e308'",
        ),
        ({}, {"routes_ws_timeout": "inf"}, f"ini option 'routes_ws_timeout': expected {SECONDS}"),
        *(
            ({"routes_max_time": value}, {}, f"--routes-max-time: expected {SECONDS}, got {value!r}")
            for value in ("soon", "0", "-5", "nan")
        ),
        ({}, {"routes_max_time": "1e9"}, f"ini option 'routes_max_time': expected {SECONDS}"),
        ({"routes_ws_include": " , "}, {}, "expected comma-separated route globs"),
        (
            {},
            {"routes_websocket": "maybe"},
            "ini option 'routes_websocket': expected one of true, false, got 'maybe'",
        ),
    ],
)
def test_bad_values_name_the_option_and_what_is_valid(
    cli: dict[str, Any], ini: dict[str, Any], message: str
) -> None:
    with pytest.raises(
        OptionError, match=message.replace("(", r"\(").replace(")", r"\)").replace("*", r"\*")
    ):
        resolve(cli, ini)


def test_auth_is_not_in_repr() -> None:
    assert "s3cret" not in repr(resolve({"routes_auth": "bearer:s3cret"}))


def test_live_mode_options() -> None:
    options = resolve({"routes_url": "wss://h:1", "routes_tls_insecure": True}, {"routes_tls_ca": "ca.pem"})
    assert (options.url, options.tls_ca, options.tls_insecure) == ("wss://h:1", "ca.pem", True)
    assert resolve().url is None
