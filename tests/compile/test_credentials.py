from __future__ import annotations

import pytest

from ws_routes.compile.credentials import (
    Credential,
    Redactor,
    credential_for,
    parse_auth_option,
    redact,
)
from ws_routes.errors import WsRoutesError
from ws_routes.spec.model import AuthSpec


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("bearer:tok", Credential("header", "authorization", "Bearer tok", "tok")),
        (
            "header:X-Api-Key:k:with:colons",
            Credential("header", "x-api-key", "k:with:colons", "k:with:colons"),
        ),
        ("query:token:abc", Credential("query", "token", "abc", "abc")),
        ("cookie:session:xyz", Credential("cookie", "session", "xyz", "xyz")),
    ],
)
def test_parse_auth_option(text: str, expected: Credential) -> None:
    assert parse_auth_option(text) == expected


@pytest.mark.parametrize("text", ["basic:user:pw", "bearer:", "query:token", "header::v", "tok"])
def test_bad_auth_option_lists_forms_and_hides_the_secret(text: str) -> None:
    with pytest.raises(
        WsRoutesError, match="expected one of bearer:TOKEN, header:NAME:VALUE"
    ) as info:
        parse_auth_option(text)
    secret = text.partition(":")[2]
    if secret:
        assert secret not in str(info.value)


def test_repr_never_shows_the_secret() -> None:
    assert "tok" not in repr(parse_auth_option("bearer:tok"))


def test_route_token_wins_over_the_cli_credential() -> None:
    cli = parse_auth_option("bearer:cli")
    assert credential_for(AuthSpec(query_param="token", token="spec"), cli) == Credential(
        "query", "token", "spec", "spec"
    )


def test_cli_secret_goes_where_the_route_says() -> None:
    cli = parse_auth_option("bearer:cli")
    assert credential_for(AuthSpec(query_param="token"), cli) == Credential("query", "token", "cli", "cli")


def test_cli_credential_as_given_when_the_route_has_no_auth() -> None:
    cli = parse_auth_option("cookie:sid:abc")
    assert credential_for(None, cli) is cli


def test_spec_token_goes_where_the_spec_says() -> None:
    assert credential_for(AuthSpec(query_param="t", token="x"), None) == Credential(
        "query", "t", "x", "x"
    )
    assert credential_for(
        AuthSpec(header="Authorization", scheme="Bearer", token="x"), None
    ) == Credential("header", "authorization", "Bearer x", "x")
    assert credential_for(AuthSpec(cookie="sid", token="x"), None) == Credential(
        "cookie", "sid", "x", "x"
    )
    assert credential_for(AuthSpec(query_param="t"), None) is None
    assert credential_for(None, None) is None


def test_redact_replaces_longest_secret_first() -> None:
    assert redact("token=abcdef and abc", ["abc", "abcdef"]) == "token=*** and ***"
    assert redact("nothing", ["", "zzz"]) == "nothing"


SECRET = 'Zq8/x+y z&w="\u00fc"-9f3KpL2mN7vR4tY1'


@pytest.mark.parametrize(
    "form",
    [
        SECRET,
        __import__("urllib.parse").parse.quote(SECRET, safe=""),
        __import__("urllib.parse").parse.quote(SECRET),
        __import__("urllib.parse").parse.quote_plus(SECRET),
        __import__("json").dumps(SECRET)[1:-1],
        __import__("json").dumps(SECRET, ensure_ascii=False)[1:-1],
        repr(SECRET)[1:-1],
        __import__("base64").b64encode(SECRET.encode()).decode(),
    ],
)
def test_redactor_hides_every_encoding(form: str) -> None:
    redactor = Redactor([SECRET])
    assert redactor.redact(f"before {form} after") == "before *** after"


def test_redactor_hides_a_prefix_cut_by_a_preview_and_a_suffix_after_a_cut() -> None:
    redactor = Redactor([SECRET])
    assert redactor.redact(f'"pad {SECRET[:9]}… (99 chars)') == '"pad ***… (99 chars)'
    assert redactor.redact(f"'x...{SECRET[-9:]}'") == "'x...***'"
    # Short pieces are ordinary text: a 7-character prefix at a cut stays.
    assert redactor.redact(f"{SECRET[:7]}…") == f"{SECRET[:7]}…"


def test_redactor_decodes_basic_auth_and_masks_its_repr() -> None:
    redactor = Redactor(["Basic YWxpY2U6UGE1NS13MHJkLVh5Wg=="])
    assert redactor.redact("user alice:Pa55-w0rd-XyZ, pw Pa55-w0rd-XyZ") == "user ***, pw ***"
    assert "YWxp" not in repr(redactor)
    assert not Redactor([""])
@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("bearer:s3cret", "the Authorization header"),
        ("header:X-Key:s3cret", "header 'x-key'"),
        ("query:token:s3cret", "query parameter 'token'"),
        ("cookie:sid:s3cret", "cookie 'sid'"),
    ],
)
def test_where_names_the_place_and_never_the_secret(text: str, where: str) -> None:
    assert parse_auth_option(text).where() == where
