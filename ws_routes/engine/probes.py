"""Probes: fixed connections run once per route, before the generated conversations.

Some bugs live in one exact handshake, not in a sequence of messages: a subprotocol the server
picks although nobody offered it, a path value at the edge of what the router admits, a token
that is missing, empty or malformed, a foreign ``Origin``. Random draws reach those rarely, and a
failure among them needs no shrinking, so each is one deterministic connection that sends the
simplest valid message and closes.

Every probe is judged by what its group allows: a refusal is the right answer to a missing
credential or an unknown subprotocol, so it is not a ``handshake`` failure there; a server that
crashes is always a ``no_server_error`` failure.

This module is the entry point: it lists a route's probes and runs one. The families that vary
the handshake (subprotocol cells, boundary path values, credentials, ``Origin``) are built here;
the record and the simplest connection they vary are :mod:`ws_routes.engine.probe_base`, the
negative sweep is :mod:`ws_routes.engine.sweep`, judging is :mod:`ws_routes.engine.judge` and
the server-realism lints are :mod:`ws_routes.engine.lints`.
"""

from __future__ import annotations

from collections.abc import Iterator

from ws_routes.app.discovery import render_path
from ws_routes.compile.credentials import Credential
from ws_routes.compile.route import CompiledRoute
from ws_routes.driver.transcript import Transcript
from ws_routes.driver.transport import Transport
from ws_routes.engine.conversation import Conversation, Step
from ws_routes.engine.judge import judge
from ws_routes.engine.lints import early_close_warning, lint_warnings
from ws_routes.engine.play import run_conversation
from ws_routes.engine.probe_base import (
    UNKNOWN_SUBPROTOCOL,
    BaseConnection,
    Expect,
    Probe,
    ProbeOutcome,
    base_connection,
    conversation_for,
    simplest,
)
from ws_routes.engine.sweep import negative_probes
from ws_routes.spec.model import AuthSpec

# judge, the lints, the records and simplest are re-exported: callers import them from here.
__all__ = [
    "MALFORMED_TOKEN",
    "UNKNOWN_SUBPROTOCOL",
    "Probe",
    "ProbeOutcome",
    "build_probes",
    "early_close_warning",
    "lint_warnings",
    "judge",
    "run_probe",
    "simplest",
]

MALFORMED_TOKEN = "x" * 3 + ".invalid"

# Boundary values each converter admits: (label, value). A value the app's own schema describes
# (path_params) is not probed: the schema says what is valid there.
_LONG_DIGITS = "123456789012345678901234567890"
_BOUNDARIES: dict[str, tuple[str, ...]] = {
    "int": ("0", _LONG_DIGITS),
    "float": ("0", _LONG_DIGITS + ".5"),
    "str": ("a" * 1000, "ünï-ç😀"),
    "path": ("a/b/c",),
    "uuid": ("00000000-0000-0000-0000-000000000000",),
}


def build_probes(route: CompiledRoute, credential: Credential | None) -> list[Probe]:
    """The probes ``route`` gets, in the order they run; [] when its path cannot be drawn.

    Handshake probes carry the route's valid credential, exactly as conversations do; auth
    probes carry a missing, empty or malformed one instead. The first is the baseline when the
    handshake checks are on.
    """
    base = base_connection(route)
    if base is None:
        return []
    s = route.spec.settings
    probes: list[Probe] = []
    if s.check_enabled("subprotocol_negotiation") or s.check_enabled("handshake"):
        probes += _handshake_matrix(route, base, credential)
    if s.check_enabled("no_server_error") or s.check_enabled("no_hang"):
        probes += _path_probes(route, base, credential)
    auth = route.spec.auth
    if auth is not None and auth.required and s.check_enabled("auth_enforced"):
        probes += _auth_probes(route, base, auth, credential)
    if route.spec.invalid.enabled and s.check_enabled("invalid_input"):
        probes += negative_probes(route, base, credential)
    if s.origin and s.check_enabled("origin"):
        conversation = conversation_for(
            route, base, credential, extra_headers=(("origin", s.origin),)
        )
        probes.append(
            Probe("origin", f"origin: {s.origin}", conversation, "refuse", f"Origin {s.origin!r}")
        )
    return probes


def _handshake_matrix(
    route: CompiledRoute, base: BaseConnection, credential: Credential | None
) -> Iterator[Probe]:
    declared = route.spec.subprotocols
    cells: list[tuple[str, tuple[str, ...], Expect]] = [("none offered", (), "may_refuse")]
    cells += [(repr([p]), (p,), "accept") for p in declared]
    if len(declared) > 1:
        cells.append((repr(list(declared)), declared, "accept"))
        cells.append((repr(list(reversed(declared))), tuple(reversed(declared)), "accept"))
    cells.append((f"unknown {UNKNOWN_SUBPROTOCOL!r}", (UNKNOWN_SUBPROTOCOL,), "may_refuse"))
    # The cell offering what conversations offer runs first: it is the baseline.
    cells.sort(key=lambda cell: cell[1] != declared)
    for label, offered, expect in cells:
        conversation = conversation_for(route, base, credential, subprotocols=offered)
        baseline = offered == declared
        yield Probe("handshake", f"subprotocols: {label}", conversation, expect, baseline=baseline)


def _path_probes(
    route: CompiledRoute, base: BaseConnection, credential: Credential | None
) -> Iterator[Probe]:
    for name, converter in route.converters.items():
        if name in route.spec.path_params:
            continue
        for value in _BOUNDARIES.get(converter, ()):
            shown = f"<{len(value)} chars>" if len(value) > 40 else value
            values = {**base.values, name: value}
            conversation = conversation_for(route, base, credential, values=values)
            yield Probe("handshake", f"path: {name}={shown}", conversation, "survive")


def _auth_place(auth: AuthSpec, credential: Credential | None) -> tuple[str, str, str] | None:
    """(place, name, scheme) of the credential, from the spec, else from --routes-auth."""
    if auth.query_param:
        return "query", auth.query_param, ""
    if auth.header:
        return "header", auth.header.lower(), auth.scheme or ""
    if auth.cookie:
        return "cookie", auth.cookie, ""
    if auth.first_message is not None:
        return "first_message", "token", ""
    if credential is None:
        return None
    prefix = credential.value[: len(credential.value) - len(credential.secret)]
    scheme = prefix.strip() if credential.value.endswith(credential.secret) else ""
    return credential.place, credential.name, scheme


_WHERE = {
    "query": "query parameter {name!r}",
    "header": "header {name!r}",
    "cookie": "cookie {name!r}",
    "first_message": "auth message field {name!r}",
}


def _auth_probes(
    route: CompiledRoute, base: BaseConnection, auth: AuthSpec, credential: Credential | None
) -> Iterator[Probe]:
    place = _auth_place(auth, credential)
    variants: list[tuple[str, str, str | None]] = [("no credential", "no credential", None)]
    if place is not None:
        variants += [
            ("empty credential", "an empty credential", ""),
            ("malformed credential", "a malformed credential", MALFORMED_TOKEN),
        ]
    for label, words, token in variants:
        query, headers = list(base.query), list(base.headers)
        steps = list(base.steps)
        detail = words
        if place is not None:
            where, name, scheme = place
            # The route's own query/header schemas must not smuggle a credential back in.
            query = [(k, v) for k, v in query if not (where == "query" and k == name)]
            headers = [
                (k, v)
                for k, v in headers
                if not (where == "header" and k == name)
                and not (where == "cookie" and k == "cookie")
            ]
            # An empty bearer token arrives as the bare scheme: servers strip the space.
            value = None if token is None else (f"{scheme} {token}".strip() if scheme else token)
            field_name = _WHERE[where].format(name=name)
            detail = (
                f"{words} ({field_name} absent)"
                if value is None
                else f"{words} ({field_name}: {value!r})"
            )
            if where == "first_message":
                first = base.first_message
                payload = dict(first) if isinstance(first, dict) else {}
                payload.pop(name, None)
                if value is not None:
                    payload[name] = value
                steps = [Step("auth", "json", payload), *steps]
            elif value is not None and where == "query":
                query.append((name, value))
            elif value is not None and where == "header":
                headers.append((name, value))
            elif value is not None:
                headers.append(("cookie", f"{name}={value}"))
        conversation = Conversation(
            path=render_path(route.spec.path, base.values),
            query=tuple(query),
            headers=tuple(headers),
            subprotocols=route.spec.subprotocols,
            steps=tuple(steps),
        )
        yield Probe("auth", f"auth: {label}", conversation, "refuse", detail)


async def run_probe(
    transport: Transport,
    route: CompiledRoute,
    probe: Probe,
    *,
    transcript: Transcript | None = None,
) -> ProbeOutcome:
    """Run one probe and judge it. Pass ``transcript`` to keep what was seen if it is abandoned."""
    if transcript is None:
        transcript = Transcript(route=route.spec.path, path=probe.conversation.path)
    await run_conversation(transport, route, probe.conversation, transcript=transcript)
    return judge(route, probe, transcript)
