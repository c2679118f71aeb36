"""Strings for the ``format`` values we support, and strict checks for them.

Generated values follow the RFCs strictly (RFC 3339 dates and times without leap seconds,
RFC 1123 host names whose labels start with a letter, RFC 3986 URIs, plain dot-atom e-mail
addresses), so they pass both lenient checkers (``jsonschema``'s e-mail check only looks for
"@") and strict ones (email-validator, rfc3339-validator, rfc3987, fqdn).
"""

from __future__ import annotations

import datetime
import ipaddress
import re
from collections.abc import Callable

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

__all__ = ["FORMATS", "format_lengths", "format_ok", "format_strategy"]

_DIGITS = "0123456789"
_LOWER = "abcdefghijklmnopqrstuvwxyz"
_ALNUM = _LOWER + _LOWER.upper() + _DIGITS

# (shortest, longest) length of what we generate for each format, before any max_len cap.
_LENGTHS: dict[str, tuple[int, int]] = {
    "date": (10, 10),
    "time": (9, 21),
    "date-time": (20, 32),
    "uuid": (36, 36),
    "ipv4": (7, 15),
    "ipv6": (2, 39),
    "hostname": (1, 253),
    "email": (6, 254),
    "uri": (8, 2000),
}
FORMATS = tuple(sorted(_LENGTHS))


def format_lengths(name: str) -> tuple[int, int]:
    """The shortest and longest string we generate for format ``name``."""
    return _LENGTHS[name]


def _two(low: int, high: int) -> SearchStrategy[str]:
    return st.integers(low, high).map(lambda n: f"{n:02d}")


_DATE = st.dates(min_value=datetime.date(1, 1, 1)).map(
    lambda d: f"{d.year:04d}-{d.month:02d}-{d.day:02d}"
)
_FRACTION = st.one_of(st.just(""), st.text(_DIGITS, min_size=1, max_size=6).map(lambda s: "." + s))
_OFFSET = st.one_of(
    st.just("Z"),
    st.builds(lambda sign, h, m: f"{sign}{h}:{m}", st.sampled_from("+-"), _two(0, 23), _two(0, 59)),
)
_TIME = st.builds(
    lambda h, m, s, frac, off: f"{h}:{m}:{s}{frac}{off}",
    _two(0, 23),
    _two(0, 59),
    _two(0, 59),
    _FRACTION,
    _OFFSET,
)
_DATE_EDGES = ("1970-01-01", "2000-02-29", "0001-01-01", "9999-12-31")
_TIME_EDGES = ("00:00:00Z", "23:59:59.999999+14:00", "12:00:00-00:00")


def _label(max_len: int) -> SearchStrategy[str]:
    """A host name label: a letter, then letters, digits and inner hyphens (RFC 1123)."""
    size = max(1, min(63, max_len))
    first = st.sampled_from(_LOWER + _LOWER.upper())
    if size == 1:
        return first
    middle = st.text(_ALNUM + "-", max_size=size - 2)
    last = st.sampled_from(_ALNUM)
    return st.one_of(first, st.builds(lambda a, b, c: a + b + c, first, middle, last))


def _hostname(max_len: int, *, min_labels: int = 1) -> SearchStrategy[str]:
    max_len = min(max_len, 253)
    label_len = min(63, max(1, (max_len + 1) // min_labels - 1))
    # n labels of at most label_len characters, joined by dots, fit in max_len.
    most = max(min_labels, min(4, (max_len + 1) // (label_len + 1)))
    return st.lists(_label(label_len), min_size=min_labels, max_size=most).map(".".join)


def _email(max_len: int) -> SearchStrategy[str]:
    max_len = min(max_len, 254)
    local_len = min(64, max(1, (max_len - 1) // 2))
    atom_len = min(16, local_len)
    atom = st.text(_ALNUM + "_%+-", min_size=1, max_size=atom_len)
    # n atoms of at most atom_len characters, joined by dots, fit in local_len.
    most = max(1, (local_len + 1) // (atom_len + 1))
    local = st.lists(atom, min_size=1, max_size=most).map(".".join)
    domain = _hostname(max_len - 1 - local_len, min_labels=2)
    return st.builds(lambda a, b: f"{a}@{b}", local, domain)


# RFC 3986 character classes; "pchar" is what a path segment, query and fragment may hold.
_UNRESERVED = _ALNUM + "-._~"
_SUB_DELIMS = "!$&'()*+,;="
_PCHAR = _UNRESERVED + _SUB_DELIMS + ":@"


def _uri(max_len: int) -> SearchStrategy[str]:
    room = max(1, (max_len - 16) // 4)
    segment = st.text(_PCHAR, max_size=min(20, room)) | st.just("%20")
    scheme = st.sampled_from(["http", "https", "ws", "wss", "ftp", "x-custom+v1.0"])
    host = st.one_of(
        _hostname(min(room, 63)),
        st.ip_addresses(v=4).map(str),
        st.ip_addresses(v=6).map(lambda a: f"[{a}]"),
    )
    port = st.one_of(st.just(""), st.integers(0, 65535).map(lambda p: f":{p}"))
    path = st.lists(segment, max_size=3).map(lambda segs: "".join("/" + s for s in segs))
    tail = st.text(_PCHAR + "/?", max_size=min(20, room))
    query = st.one_of(st.just(""), tail.map(lambda q: "?" + q))
    fragment = st.one_of(st.just(""), tail.map(lambda f: "#" + f))
    built = st.builds(
        lambda s, h, p, pa, q, f: f"{s}://{h}{p}{pa}{q}{f}",
        scheme,
        host,
        port,
        path,
        query,
        fragment,
    )
    urn = st.builds(
        lambda nss: f"urn:example:{nss}", st.text(_PCHAR, min_size=1, max_size=min(20, room))
    )
    return st.one_of(built, urn).filter(lambda u: len(u) <= max_len)


def format_strategy(name: str, max_len: int, *, edges: bool) -> SearchStrategy[str]:
    """Strings in format ``name``, at most ``max_len`` characters long (``max_len`` must allow
    at least :func:`format_lengths` ``[0]`` characters)."""
    strategy: SearchStrategy[str]
    picked: tuple[str, ...] = ()
    if name == "date":
        strategy, picked = _DATE, _DATE_EDGES
    elif name == "time":
        strategy, picked = _TIME, _TIME_EDGES
    elif name == "date-time":
        strategy = st.builds(lambda d, t: f"{d}T{t}", _DATE, _TIME)
        picked = (
            "1970-01-01T00:00:00Z",
            "2000-02-29T23:59:59.999999+14:00",
            "9999-12-31T23:59:59Z",
        )
    elif name == "uuid":
        strategy = st.uuids().map(str)
        picked = ("00000000-0000-0000-0000-000000000000", "ffffffff-ffff-ffff-ffff-ffffffffffff")
    elif name == "ipv4":
        strategy, picked = (
            st.ip_addresses(v=4).map(str),
            ("0.0.0.0", "255.255.255.255", "127.0.0.1"),
        )
    elif name == "ipv6":
        strategy = st.ip_addresses(v=6).map(str)
        picked = ("::", "::1", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "::ffff:192.0.2.1")
    elif name == "hostname":
        strategy, picked = (
            _hostname(max_len),
            ("localhost", "a", "example.com", "xn--bcher-kva.example"),
        )
    elif name == "email":
        strategy, picked = _email(max_len), ("a@b.co", "first.last+tag@example.com")
    elif name == "uri":
        strategy, picked = (
            _uri(max_len),
            ("http://a", "urn:example:x", "https://[::1]:8080/p?q=1#f"),
        )
    else:
        raise KeyError(name)
    fitting = tuple(p for p in picked if len(p) <= max_len)
    if _LENGTHS[name][1] > max_len and name in ("date-time", "time", "ipv6", "ipv4"):
        # Fixed-shape formats: drop the rare long ones rather than redesign the shape.
        strategy = strategy.filter(lambda s: len(s) <= max_len)
    if edges and fitting:
        return st.one_of(strategy, st.sampled_from(fitting))
    return strategy


_TIME_RE = re.compile(r"(\d\d):(\d\d):(\d\d)(\.\d+)?([Zz]|[+-](\d\d):(\d\d))\Z")
_UUID_RE = re.compile(
    r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\Z"
)
_LABEL_RE = re.compile(r"[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\Z")
_LOCAL_RE = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*\Z")
_URI_RE = re.compile(
    r"[A-Za-z][A-Za-z0-9+.-]*:"  # scheme
    r"(//(([A-Za-z0-9._~!$&'()*+,;=:-]|%[0-9A-Fa-f]{2})*@)?"  # userinfo
    r"(\[[0-9A-Fa-f:.]+\]|([A-Za-z0-9._~!$&'()*+,;=-]|%[0-9A-Fa-f]{2})*)(:\d*)?)?"  # host, port
    r"([A-Za-z0-9._~!$&'()*+,;=:@/-]|%[0-9A-Fa-f]{2})*"  # path
    r"(\?([A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?"  # query
    r"(#([A-Za-z0-9._~!$&'()*+,;=:@/?-]|%[0-9A-Fa-f]{2})*)?\Z"  # fragment
)


def _is_date(text: str) -> bool:
    if not re.fullmatch(r"\d{4}-\d\d-\d\d", text, re.ASCII):
        return False
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_time(text: str) -> bool:
    match = _TIME_RE.match(text)
    if match is None:
        return False
    hour, minute, second = int(match[1]), int(match[2]), int(match[3])
    offset_ok = match[6] is None or (int(match[6]) < 24 and int(match[7]) < 60)
    return hour < 24 and minute < 60 and second < 60 and offset_ok


def _is_hostname(text: str) -> bool:
    return 0 < len(text) <= 253 and all(_LABEL_RE.match(label) for label in text.split("."))


def _is_email(text: str) -> bool:
    local, at, domain = text.rpartition("@")
    return (
        bool(at)
        and 0 < len(local) <= 64
        and bool(_LOCAL_RE.match(local))
        and (_is_hostname(domain) and "." in domain)
    )


def _is_ip(version: int) -> Callable[[str], bool]:
    def check(text: str) -> bool:
        try:
            address = ipaddress.ip_address(text)
        except ValueError:
            return False
        return address.version == version and "%" not in text

    return check


_CHECKS: dict[str, Callable[[str], bool]] = {
    "date": _is_date,
    "time": _is_time,
    "date-time": lambda t: len(t) > 11 and t[10] in "Tt" and _is_date(t[:10]) and _is_time(t[11:]),
    "uuid": lambda t: _UUID_RE.match(t) is not None,
    "ipv4": _is_ip(4),
    "ipv6": _is_ip(6),
    "hostname": _is_hostname,
    "email": _is_email,
    "uri": lambda t: _URI_RE.match(t) is not None,
}


def format_ok(name: str, text: str) -> bool:
    """Whether ``text`` is a valid ``name`` (strict RFC reading; unknown formats pass)."""
    check = _CHECKS.get(name)
    return True if check is None else check(text)
