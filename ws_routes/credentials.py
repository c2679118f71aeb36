"""Credentials: parsing ``--routes-auth``, placing a token where the spec says, redacting secrets."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from ws_routes.errors import WsRoutesError
from ws_routes.spec import AuthSpec

__all__ = ["AUTH_FORMS", "Credential", "credential_for", "parse_auth_option", "redact"]

Place = Literal["header", "query", "cookie", "first_message"]
AUTH_FORMS = ("bearer:TOKEN", "header:NAME:VALUE", "query:NAME:VALUE", "cookie:NAME:VALUE")


@dataclass(frozen=True, slots=True)
class Credential:
    """Where a secret goes (``place``, ``name``) and the full value sent."""

    place: Place
    name: str
    value: str
    secret: str  # the part to redact (the token itself, without "Bearer ")

    def where(self) -> str:
        """Where the credential went, for hints (never the secret itself)."""
        if self.place == "header":
            return "the Authorization header" if self.name == "authorization" else f"header {self.name!r}"
        if self.place == "query":
            return f"query parameter {self.name!r}"
        if self.place == "cookie":
            return f"cookie {self.name!r}"
        return "the first message"

    def __repr__(self) -> str:  # never leak the secret through a repr
        return f"Credential(place={self.place!r}, name={self.name!r}, value='***')"


def parse_auth_option(text: str) -> Credential:
    """Parse ``bearer:TOKEN``, ``header:NAME:VALUE``, ``query:NAME:VALUE`` or ``cookie:NAME:VALUE``."""
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    if kind == "bearer" and rest:
        return Credential("header", "authorization", f"Bearer {rest}", rest)
    if kind in ("header", "query", "cookie"):
        name, sep, value = rest.partition(":")
        if sep and name and value:
            place: Place = kind  # type: ignore[assignment]
            return Credential(place, name.lower() if kind == "header" else name, value, value)
    raise WsRoutesError(
        f"--routes-auth: expected one of {', '.join(AUTH_FORMS)}, got {_mask(text)!r}"
    )


def _mask(text: str) -> str:
    kind, _, rest = text.partition(":")
    return f"{kind}:***" if rest else text


def credential_for(auth: AuthSpec | None, option: Credential | None) -> Credential | None:
    """The credential positive conversations carry on a route.

    The route's own ``auth.token`` wins (it is the most specific); otherwise the ``--routes-auth``
    secret goes where the route's ``auth`` says, or as ``--routes-auth`` says when the route has
    no ``auth`` section.
    """
    token = auth.token if auth is not None and auth.token is not None else None
    if token is None:
        if option is None:
            return None
        if auth is None or not (auth.query_param or auth.header or auth.cookie or auth.first_message):
            return option
        token = option.secret
    assert auth is not None
    if auth.query_param:
        return Credential("query", auth.query_param, token, token)
    if auth.header:
        value = f"{auth.scheme} {token}" if auth.scheme else token
        return Credential("header", auth.header.lower(), value, token)
    if auth.cookie:
        return Credential("cookie", auth.cookie, token, token)
    if auth.first_message is not None:
        return Credential("first_message", "token", token, token)
    return option


def redact(text: str, secrets: Iterable[str]) -> str:
    """Replace every secret in ``text`` by ``***``; longer secrets first so none leaks partially."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, "***")
    return text
