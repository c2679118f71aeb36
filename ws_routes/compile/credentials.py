"""Credentials: parsing ``--routes-auth``, placing a token where the spec says, redacting secrets."""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import quote, quote_plus

from ws_routes.errors import WsRoutesError
from ws_routes.spec.model import AuthSpec

__all__ = [
    "AUTH_FORMS",
    "MASK",
    "MIN_PIECE",
    "Credential",
    "Redactor",
    "credential_for",
    "parse_auth_option",
    "redact",
]

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
    """Parse ``bearer:TOKEN``, ``header:NAME:VALUE``, ``query:NAME:VALUE`` or ``cookie:NAME:VALUE``.

    A malformed value is a :class:`WsRoutesError` saying what is wrong with it, never showing it:
    any part of it may be the secret.
    """
    kind, _, rest = text.partition(":")
    kind = kind.strip().lower()
    if kind == "bearer" and rest:
        return Credential("header", "authorization", f"Bearer {rest}", rest)
    if kind in ("header", "query", "cookie"):
        name, sep, value = rest.partition(":")
        if sep and name and value:
            place: Place = kind  # type: ignore[assignment]
            return Credential(place, name.lower() if kind == "header" else name, value, value)
    kind_hint = (
        "; for HTTP basic auth pass header:Authorization:Basic BASE64-OF-USER:PASSWORD"
        if kind == "basic"
        else ""
    )
    raise WsRoutesError(
        f"--routes-auth: expected one of {', '.join(AUTH_FORMS)}, got {_what_is_wrong(text)} "
        f"(the value itself is not shown: it may hold the secret){kind_hint}"
    )


def _what_is_wrong(text: str) -> str:
    """What is wrong with a malformed ``--routes-auth`` value, in words that hold none of it."""
    kind, colon, rest = text.partition(":")
    kind = kind.strip().lower()
    if not colon:
        return f"a value with no ':' ({len(text)} characters)"
    if kind == "bearer":
        return "'bearer:' with an empty TOKEN"
    if kind in ("header", "query", "cookie"):
        name, sep, _ = rest.partition(":")
        if not name:
            return f"'{kind}:' with an empty NAME"
        if not sep:
            return f"'{kind}:' with a NAME and no ':VALUE'"
        return f"'{kind}:' with an empty VALUE"
    if kind == "basic":
        return "the kind 'basic'"
    return "an unknown kind before the first ':'"


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
        if auth is None or not (
            auth.query_param or auth.header or auth.cookie or auth.first_message
        ):
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


# --- Redaction -----------------------------------------------------------------------------------

MASK = "***"
# A cut preview (``...abcdefgh…``) may end in the start of a secret: from this many characters
# on, such a piece is taken for the secret (shorter ones are too likely to be ordinary text).
MIN_PIECE = 8
# Parts a secret decodes to (the password of a basic-auth ``user:password``, the token after a
# ``Bearer`` scheme) are redacted from this length on.
_MIN_DERIVED = 4
# What marks a cut in our previews (``…``, also JSON-escaped) and in pytest's (``saferepr``'s
# ``...`` in the middle of a long value).
_CUT = re.compile(r"…|\\u2026|\.\.\.")
_QUOTES = "'\""
_PERCENT = re.compile(r"%[0-9A-F]{2}")


class Redactor:
    """Replaces every secret it was given, in every encoding it may take on the way, by ``***``.

    Built once per run: the encodings are computed when a secret is added, so redacting a long
    report is one regex pass plus a look at each cut marker. Encodings covered: the raw text,
    percent-encoded (``quote`` with and without ``/`` safe, ``quote_plus``, lower-case hex),
    JSON-escaped (``ensure_ascii`` on and off), Python ``repr``/``ascii`` escapes (also of the
    UTF-8 bytes), base64 (standard and URL-safe, padded or not, and at any alignment inside a
    longer encoded text), each of those escaped once more (a JSON string inside a repr), and a
    prefix or suffix of :data:`MIN_PIECE`+ characters of any of them next to a cut marker.
    A secret that is itself base64 (``Basic dXNlcjpwdw==``) or carries a scheme (``Bearer x``)
    also has its decoded text, password and token redacted.
    """

    __slots__ = ("_count", "_ends", "_grams", "_pattern", "_secrets", "_starts", "_variants")

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets: set[str] = set()
        self._variants: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._starts: dict[str, list[str]] = {}
        self._ends: dict[str, list[str]] = {}
        self._grams: frozenset[str] = frozenset()  # every MIN_PIECE-long run of every variant
        self._count = 0
        self.add(*secrets)

    def __repr__(self) -> str:  # a traceback's locals (pytest -l) show this, never the secrets
        return f"Redactor(<{self._count} secret(s)>)"

    def __bool__(self) -> bool:
        return bool(self._variants)

    def add(self, *secrets: str) -> None:
        """Redact ``secrets`` too (empty ones and :data:`MASK` are ignored)."""
        new = {s for s in secrets if s and s != MASK} - self._secrets
        if not new:
            return
        self._secrets |= new
        self._count = len(self._secrets)
        for secret in new:
            for piece in _derived(secret):
                self._variants |= _encodings(piece)
        self._variants.discard("")
        ordered = sorted(self._variants, key=lambda v: (-len(v), v))
        self._pattern = re.compile("|".join(re.escape(v) for v in ordered))
        self._starts, self._ends = {}, {}
        grams: set[str] = set()
        for v in ordered:
            if len(v) > MIN_PIECE:
                self._starts.setdefault(v[:MIN_PIECE], []).append(v)
                self._ends.setdefault(v[-MIN_PIECE:], []).append(v)
                grams.update(v[i : i + MIN_PIECE] for i in range(len(v) - MIN_PIECE + 1))
        self._grams = frozenset(grams)

    def redact(self, text: str) -> str:
        """``text`` with every secret (in any encoding, or cut next to a ``…``) as ``***``."""
        if self._pattern is None or not text:
            return text
        text = self._pattern.sub(MASK, text)
        if not self._starts or not _CUT.search(text):
            return text
        return self._redact_cuts(text)

    def _redact_cuts(self, text: str) -> str:
        # (start, end) spans of secret pieces touching a cut marker, found on the masked text.
        spans: list[tuple[int, int]] = []
        longest = max(len(v) for vs in self._starts.values() for v in vs)
        for cut in _CUT.finditer(text):
            end = cut.start()
            if end and text[end - 1] in _QUOTES:  # repr(value[:n]) + "…"
                end -= 1
            best = 0
            # The run just before the cut must lie inside some variant, or nothing ends there.
            near = text[end - MIN_PIECE : end] in self._grams if end >= MIN_PIECE else False
            for size in range(MIN_PIECE, min(longest, end) + 1 if near else 0):
                start = end - size
                for v in self._starts.get(text[start : start + MIN_PIECE], ()):
                    if size < len(v) and v.startswith(text[start:end]):
                        best = size
            if best:
                spans.append((end - best, end))
            begin = cut.end()
            if begin < len(text) and text[begin] in _QUOTES:
                begin += 1
            best = 0
            near = text[begin : begin + MIN_PIECE] in self._grams
            for size in range(MIN_PIECE, min(longest, len(text) - begin) + 1 if near else 0):
                stop = begin + size
                for v in self._ends.get(text[stop - MIN_PIECE : stop], ()):
                    if size < len(v) and v.endswith(text[begin:stop]):
                        best = size
            if best:
                spans.append((begin, begin + best))
        if not spans:
            return text
        out, at = [], 0
        for start, stop in sorted(spans):
            if start < at:
                continue
            out += [text[at:start], MASK]
            at = stop
        out.append(text[at:])
        return "".join(out)


def redact(text: str, secrets: Redactor | Iterable[str]) -> str:
    """Replace every secret in ``text`` (in any of its encodings) by ``***``."""
    redactor = secrets if isinstance(secrets, Redactor) else Redactor(secrets)
    return redactor.redact(text)


def _derived(secret: str) -> set[str]:
    """The secret and the parts it decodes to that travel (and leak) on their own."""
    out = {secret}
    scheme, space, token = secret.partition(" ")
    if space and scheme.isalpha() and len(token.strip()) >= _MIN_DERIVED:
        out.add(token.strip())  # "Bearer abc": the app logs "abc"
    for candidate in list(out):
        decoded = _b64_text(candidate)
        if decoded is not None and len(decoded) >= _MIN_DERIVED:
            out.add(decoded)  # "Basic dXNlcjpwdw==": the app logs "user:pw"
            _, colon, password = decoded.partition(":")
            if colon and len(password) >= _MIN_DERIVED:
                out.add(password)
    return out


def _b64_text(text: str) -> str | None:
    """What ``text`` decodes to, when it is base64 of printable UTF-8 text."""
    if len(text) < _MIN_DERIVED or not re.fullmatch(r"[A-Za-z0-9+/_-]+={0,2}", text):
        return None
    padded = text + "=" * (-len(text) % 4)
    for alphabet in (None, b"-_"):
        try:
            raw = base64.b64decode(padded, altchars=alphabet, validate=True)
            decoded = raw.decode("utf-8")
        except (ValueError, UnicodeDecodeError):
            continue
        if decoded.isprintable():
            return decoded
    return None


def _encodings(secret: str) -> set[str]:
    """Every form of ``secret`` worth looking for, each escaped once more as JSON or repr."""
    first = {secret, *_escapes(secret)}
    for text in (
        quote(secret, safe=""),
        quote(secret),
        quote_plus(secret),
        quote_plus(secret, safe="/"),
    ):
        first |= {text, _PERCENT.sub(lambda m: m.group().lower(), text)}
    first |= _base64_forms(secret.encode("utf-8"))
    out = set(first)
    for text in first:
        out |= _escapes(text)
    return out


def _escapes(text: str) -> set[str]:
    """``text`` as it reads inside a JSON string or a Python repr (quotes left off)."""
    return {
        json.dumps(text)[1:-1],
        json.dumps(text, ensure_ascii=False)[1:-1],
        repr(text)[1:-1],
        ascii(text)[1:-1],
        repr(text.encode("utf-8"))[2:-1],
        text.replace("\\", "\\\\").replace('"', '\\"'),
    }


def _base64_forms(data: bytes) -> set[str]:
    """``data`` base64-encoded alone, and the run of characters it fixes at any alignment."""
    out: set[str] = set()
    for encode in (base64.b64encode, base64.urlsafe_b64encode):
        whole = encode(data).decode("ascii")
        out |= {whole, whole.rstrip("=")}
        for shift in (1, 2):
            encoded = encode(b"\0" * shift + data + b"\0\0").decode("ascii")
            # Character i holds bits [6i, 6i + 6): keep those that lie inside the secret's bits.
            first = -(-8 * shift // 6)
            last = (8 * (shift + len(data))) // 6
            core = encoded[first:last]
            if len(core) >= MIN_PIECE:
                out.add(core)
    return out
