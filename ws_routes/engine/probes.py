"""Probes: fixed connections run once per route, before the generated conversations.

Some bugs live in one exact handshake, not in a sequence of messages: a subprotocol the server
picks although nobody offered it, a path value at the edge of what the router admits, a token
that is missing, empty or malformed, a foreign ``Origin``. Random draws reach those rarely, and a
failure among them needs no shrinking, so each is one deterministic connection that sends the
simplest valid message and closes.

Every probe is judged by what its group allows: a refusal is the right answer to a missing
credential or an unknown subprotocol, so it is not a ``handshake`` failure there; a server that
crashes is always a ``no_server_error`` failure.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

from hypothesis import HealthCheck, Phase, find, settings
from hypothesis import strategies as st
from hypothesis.errors import HypothesisException

from ws_routes.app.discovery import render_path
from ws_routes.compile.credentials import Credential
from ws_routes.compile.route import CompiledMessage, CompiledRoute
from ws_routes.driver.transcript import Failure, Frame, Transcript
from ws_routes.driver.transport import Accepted, Rejected, Transport
from ws_routes.engine.checks import evaluate, is_server_error_close
from ws_routes.engine.conversation import Conversation, Step, apply_credential
from ws_routes.engine.play import run_conversation
from ws_routes.errors import SchemaCompileError
from ws_routes.generate import from_schema
from ws_routes.mutate import Mutant, sweep, with_every_property
from ws_routes.spec.model import SERVER_ERROR_CLOSE_CODES, AuthSpec

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

UNKNOWN_SUBPROTOCOL = "ws-routes-unknown"
MALFORMED_TOKEN = "x" * 3 + ".invalid"

ProbeGroup = Literal["handshake", "auth", "origin", "negative"]
# How a probe is judged:
#   accept      the standard checks (a cell offering declared subprotocols)
#   may_refuse  the standard checks, but refusing is allowed (no or an unknown subprotocol)
#   survive     only crashes, hangs and invalid close codes (odd path values may be refused)
#   refuse      survive, plus: serving anything is a security failure (auth, origin)
Expect = Literal["accept", "may_refuse", "survive", "refuse"]

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

_SIMPLEST = settings(
    database=None,
    max_examples=10,
    phases=[Phase.generate, Phase.shrink],
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
# A sentinel: a strategy that could not produce a value.
_NOTHING: Any = object()


@dataclass(frozen=True, slots=True)
class Probe:
    """One fixed connection: its group, a name reports print, and what it sends.

    ``detail`` says in words what is special about it (for security failures). The ``baseline``
    probe connects exactly as conversations do (declared subprotocols, valid credential); every
    other probe differs from it in one respect, so its failures are that respect's fault only
    while the baseline passes.
    """

    group: ProbeGroup
    name: str
    conversation: Conversation
    expect: Expect = "accept"
    detail: str = ""
    baseline: bool = False


@dataclass(slots=True)
class ProbeOutcome:
    probe: Probe
    transcript: Transcript
    failures: list[Failure] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def simplest(strategy: st.SearchStrategy[Any]) -> Any:
    """The value Hypothesis shrinks ``strategy`` to: deterministic and cheap.

    Raises:
        HypothesisException: the strategy produced no value.
    """
    return find(strategy, lambda _: True, settings=_SIMPLEST)


@dataclass(frozen=True, slots=True)
class _Base:
    """The simplest valid handshake and message of a route, shared by all its probes."""

    values: dict[str, str]
    query: list[tuple[str, str]]
    headers: list[tuple[str, str]]
    steps: list[Step]
    first_message: Any


def _base(route: CompiledRoute) -> _Base | None:
    def draw(strategy: st.SearchStrategy[Any] | None, default: Any) -> Any:
        if strategy is None:
            return default
        try:
            return simplest(strategy)
        except HypothesisException:
            return _NOTHING

    values = draw(route.path_params, {})
    if values is _NOTHING:
        return None  # no path to connect to; the conversations report why
    query = draw(route.query, [])
    headers = draw(route.headers, [])
    steps: list[Step] = []
    if route.messages and route.spec.settings.max_messages >= 1:
        message = route.messages[0]
        payload = draw(message.strategy, None)
        if payload is not _NOTHING:
            steps.append(Step(message.spec.name, message.spec.kind, payload))
    first = draw(route.first_message, None)
    return _Base(
        values=values,
        query=[] if query is _NOTHING else query,
        headers=[] if headers is _NOTHING else headers,
        steps=steps,
        first_message=None if first is _NOTHING else first,
    )


def _conversation(
    route: CompiledRoute,
    base: _Base,
    credential: Credential | None,
    *,
    values: dict[str, str] | None = None,
    subprotocols: tuple[str, ...] | None = None,
    extra_headers: tuple[tuple[str, str], ...] = (),
) -> Conversation:
    query, headers, steps = apply_credential(
        credential, list(base.query), list(base.headers), list(base.steps), base.first_message
    )
    replaced = {name for name, _ in extra_headers}
    headers = [(k, v) for k, v in headers if k not in replaced] + list(extra_headers)
    return Conversation(
        path=render_path(route.spec.path, values if values is not None else base.values),
        query=tuple(query),
        headers=tuple(headers),
        subprotocols=route.spec.subprotocols if subprotocols is None else subprotocols,
        steps=tuple(steps),
    )


def build_probes(route: CompiledRoute, credential: Credential | None) -> list[Probe]:
    """The probes ``route`` gets, in the order they run; [] when its path cannot be drawn.

    Handshake probes carry the route's valid credential, exactly as conversations do; auth
    probes carry a missing, empty or malformed one instead. The first is the baseline when the
    handshake checks are on.
    """
    base = _base(route)
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
        probes += _negative_probes(route, base, credential)
    if s.origin and s.check_enabled("origin"):
        conversation = _conversation(route, base, credential, extra_headers=(("origin", s.origin),))
        probes.append(
            Probe("origin", f"origin: {s.origin}", conversation, "refuse", f"Origin {s.origin!r}")
        )
    return probes


def _handshake_matrix(
    route: CompiledRoute, base: _Base, credential: Credential | None
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
        conversation = _conversation(route, base, credential, subprotocols=offered)
        baseline = offered == declared
        yield Probe("handshake", f"subprotocols: {label}", conversation, expect, baseline=baseline)


def _negative_probes(
    route: CompiledRoute, base: _Base, credential: Credential | None
) -> Iterator[Probe]:
    """Each mutation family of each message type, once on a fresh connection, and once more
    after a valid message of the first declared type.

    Conversations draw mutants at random and Hypothesis favours some families and places over
    others; this sweep makes sure every one reaches the app before the conversations start. The
    second round is for stateful protocols, which declare their opening message (join, hello,
    subscribe) first: on a fresh connection, a mutant only ever tests the gate in front of the
    state where handlers do their work.
    """
    sweeps: list[tuple[CompiledMessage, Any, list[Mutant]]] = []
    for message in route.messages:
        try:
            value = simplest(message.strategy)
        except HypothesisException:
            continue
        lone = message.spec.kind != "text"
        registered = route.registered_kinds
        found = sweep(route.spec, message, value, registered=registered, lone_surrogates=lone)
        fuller = _with_every_property(route, message)
        if fuller is not None:  # the optional fields' mutants, which the simplest value lacks
            seen = {m.mutation for m in found}
            extra = sweep(
                route.spec, message, fuller, registered=registered, lone_surrogates=lone
            )
            found += [m for m in extra if m.mutation not in seen]
        sweeps.append((message, value, found))
    prefixes: list[tuple[str, tuple[Step, ...]]] = [("", ())]
    if len(route.messages) > 1 and sweeps and sweeps[0][0] is route.messages[0]:
        opening, value, _ = sweeps[0]
        prefixes.append(
            (f" after {opening.spec.name}", (Step(opening.spec.name, opening.spec.kind, value),))
        )
    # A probe sends its prefix and one mutant: no more than a conversation may (max_messages).
    limit = route.spec.settings.max_messages
    for after, prefix in [(a, p) for a, p in prefixes if len(p) + 1 <= limit]:
        for message, _, mutants in sweeps:
            spec = message.spec
            for mutant in mutants:
                step = Step(
                    spec.name,
                    mutant.kind,
                    mutant.payload,
                    mutation=mutant.mutation,
                    invalid=mutant.invalid,
                )
                query, headers, steps = apply_credential(
                    credential,
                    list(base.query),
                    list(base.headers),
                    [*prefix, step],
                    base.first_message,
                )
                conversation = Conversation(
                    path=render_path(route.spec.path, base.values),
                    query=tuple(query),
                    headers=tuple(headers),
                    subprotocols=route.spec.subprotocols,
                    steps=tuple(steps),
                )
                name = f"negative{after}: {spec.name}: {mutant.mutation}"
                yield Probe("negative", name, conversation)


def _with_every_property(route: CompiledRoute, message: CompiledMessage) -> Any | None:
    """The simplest value of ``message`` that has every top-level property, if it differs."""
    schema = message.spec.schema
    if message.source != "schema" or schema is None:
        return None
    full = with_every_property(schema.value)
    if full is None:
        return None
    try:
        # compile_route already warned about the schema's unknown formats.
        strategy = from_schema(
            full,
            max_size=route.spec.settings.max_message_size,
            on_unknown_format=lambda _name, _pointer: None,
        )
        return simplest(strategy)
    except (HypothesisException, SchemaCompileError):
        return None


def _path_probes(
    route: CompiledRoute, base: _Base, credential: Credential | None
) -> Iterator[Probe]:
    for name, converter in route.converters.items():
        if name in route.spec.path_params:
            continue
        for value in _BOUNDARIES.get(converter, ()):
            shown = f"<{len(value)} chars>" if len(value) > 40 else value
            values = {**base.values, name: value}
            conversation = _conversation(route, base, credential, values=values)
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
    route: CompiledRoute, base: _Base, auth: AuthSpec, credential: Credential | None
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


def judge(route: CompiledRoute, probe: Probe, transcript: Transcript) -> ProbeOutcome:
    """The failures (most severe first) and warnings of one probe's transcript."""
    failures = evaluate(route, probe.conversation, transcript)
    if probe.expect == "may_refuse":
        failures = [f for f in failures if not _refusal_allowed(f, transcript)]
        failures += _unsupported_selected(route, transcript)
    elif probe.expect in ("survive", "refuse"):
        failures = [f for f in failures if _is_crash(f)]
        if probe.expect == "refuse":
            failures = _served(route, probe, transcript) + failures
    return ProbeOutcome(probe, transcript, failures, lint_warnings(route, transcript))


def _is_crash(failure: Failure) -> bool:
    if failure.check in ("no_server_error", "no_hang", "close_before_return"):
        return True
    return failure.check == "close_code" and failure.error_type == "protocol_violation"


def _server_closed(t: Transcript) -> bool:
    close = t.server_close()
    return close is not None and close.code not in SERVER_ERROR_CLOSE_CODES


def _refusal_allowed(failure: Failure, t: Transcript) -> bool:
    """Without a subprotocol it supports, a server may refuse, or accept and pick none."""
    if failure.check == "handshake":
        return True
    if failure.check == "subprotocol_negotiation":
        return isinstance(t.handshake, Accepted) and t.handshake.subprotocol is None
    if failure.check == "close_code":
        return failure.error_type == "contract_violation"
    return failure.check == "reply_expected" and _server_closed(t)


def _unsupported_selected(route: CompiledRoute, t: Transcript) -> list[Failure]:
    if not route.spec.settings.check_enabled("subprotocol_negotiation"):
        return []
    hs = t.handshake
    if not isinstance(hs, Accepted) or hs.subprotocol != UNKNOWN_SUBPROTOCOL:
        return []
    declared = list(route.spec.subprotocols)
    return [
        Failure(
            check="subprotocol_negotiation",
            error_type="protocol_violation",
            message=(
                f"server selected {UNKNOWN_SUBPROTOCOL!r}, a subprotocol no server supports "
                "(it echoes the client's offer instead of choosing one it speaks)"
            ),
            expected=f"one of {declared}, no subprotocol, or a refusal"
            if declared
            else "no subprotocol, or a refusal",
            actual=repr(hs.subprotocol),
        )
    ]


def _served(route: CompiledRoute, probe: Probe, t: Transcript) -> list[Failure]:
    """A security failure when the server answered a client it had to refuse."""
    check = "auth_enforced" if probe.group == "auth" else "origin"
    if not isinstance(t.handshake, Accepted) or not route.spec.settings.check_enabled(check):
        return []
    frame = _first_served(route, probe, t)
    if frame is None:
        return []
    auth = route.spec.auth
    codes = list(auth.reject_close_codes) if auth is not None else []
    actual = f"accepted, then replied {frame.render(limit=200)}"
    sent = next((f for f in t.sent if f.index == frame.index), None)
    if check == "auth_enforced":
        return [
            Failure(
                check=check,
                error_type="security",
                message="SECURITY: authentication not enforced: the server accepted and served "
                f"a client with {probe.detail}",
                expected=f"a refusal: HTTP 401/403, or a close with one of {codes} "
                "(auth.reject_close_codes), before any reply",
                actual=actual,
                index=frame.index,
                frame=sent,
                security=True,
            )
        ]
    return [
        Failure(
            check=check,
            error_type="security",
            message=f"SECURITY: cross-site WebSocket hijacking: a connection with {probe.detail} "
            "was accepted and served (browsers send cookies along; check the Origin header)",
            expected="the handshake refused (HTTP 403) for an Origin the app does not trust, "
            "or a close before any reply",
            actual=actual,
            index=frame.index,
            frame=sent,
            security=True,
        )
    ]


def _first_served(route: CompiledRoute, probe: Probe, t: Transcript) -> Frame | None:
    """The first received frame that is real service: not an error reply."""
    frames = t.received
    auth = route.spec.auth
    steps = probe.conversation.steps
    if (
        probe.group == "auth"
        and auth is not None
        and auth.first_message is not None
        and len(steps) > 1
    ):
        # A server may greet before authenticating; what it answers the message sent after the
        # rejected auth message is what shows whether it let the client in.
        frames = [f for f in frames if f.index is not None and f.index >= 1]
    if not route.replies:
        return frames[0] if frames else None
    errors = {r.spec.name for r in route.replies if r.spec.error}
    for frame in frames:
        if frame.name is not None and frame.name not in errors:
            return frame
    return None


def lint_warnings(route: CompiledRoute, t: Transcript) -> list[str]:
    """Server-realism lints for one connection: what works in-process but not on every server."""
    early = early_close_warning(route.spec.path, t)
    return ([early] if early else []) + [f"{route.spec.path}: {note}" for note in t.portability]


def early_close_warning(route: str, t: Transcript) -> str | None:
    """Server-realism lint: a custom close code sent before accepting never reaches a client.

    ASGI servers (uvicorn, hypercorn) answer ``websocket.close`` before ``websocket.accept`` with
    HTTP 403; the code is lost. 1000, the ASGI default, is a plain refusal and not flagged.
    """
    hs = t.handshake
    if not isinstance(hs, Rejected) or hs.close_code is None or hs.close_code == 1000:
        return None
    if is_server_error_close(hs.close_code, hs.reason):
        return None  # a crash in the handshake: no_server_error's finding, not a style point
    code = hs.close_code
    return (
        f"{route}: the app closes the connection with code {code} before accepting it; real "
        f"servers (uvicorn, hypercorn) answer that handshake with HTTP 403 and clients never see "
        f"code {code}. To send the code, call accept() first, then close(code={code})."
    )
