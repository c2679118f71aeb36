"""Replay one conversation against an app, outside pytest: what failure reports tell users to run.

from ws_routes import replay
replay("chat_app:app", "/ws/chat/general", messages=[("json", {"type": "leave"})])

``replay`` returns a :class:`ReplayResult` and raises :class:`ReplayFailed` (its message is the
failure report, as pytest prints it) when a check fails; ``replay_file`` does the same for a
crash file (:mod:`ws_routes.report.crashfiles`), which ``ws-routes replay`` runs.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TextIO

from ws_routes.app.discovery import discover, load_app
from ws_routes.compile.credentials import Credential, Redactor, credential_for, parse_auth_option
from ws_routes.compile.route import CompiledRoute, compile_route
from ws_routes.driver.loop import LoopBlocked
from ws_routes.driver.targets import Target, running_target
from ws_routes.driver.transcript import Failure, Transcript
from ws_routes.engine.conversation import Client, Conversation, Step
from ws_routes.engine.findings import hang_failure
from ws_routes.engine.saved import (
    AfterEarlier,
    Saved,
    conversation_of,
    earlier_of,
    judge_saved,
    play_saved,
    probe_of,
)
from ws_routes.errors import WsRoutesError, did_you_mean
from ws_routes.report import crashfiles
from ws_routes.report.leaks import earlier_lines
from ws_routes.report.render import render_failure, render_handshake, replay_snippet
from ws_routes.spec.loader import load_spec
from ws_routes.spec.model import KINDS, RouteSpec, Spec, default_route

__all__ = ["ReplayFailed", "ReplayResult", "replay", "replay_file"]

_LIVE = ("ws://", "wss://")  # replay()'s app is a running server's URL


@dataclass(frozen=True, slots=True)
class ReplayResult:
    """What a replay saw. Unpacks as ``transcript, failures`` (what ``replay`` once returned)."""

    transcript: Transcript
    # What the checks found, most severe first; empty when the conversation passed.
    failures: list[Failure]
    conversation: Conversation
    # The failure report, as pytest prints it ("" when it passed).
    report: str = ""
    # What the replay had to assume (a credential put back, a spec that changed since).
    notes: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures

    def __iter__(self) -> Iterator[Any]:
        return iter((self.transcript, self.failures))


class ReplayFailed(WsRoutesError):
    """The replayed conversation failed a check; the message is the failure report."""

    def __init__(self, result: ReplayResult):
        self.result = result
        super().__init__(result.report)


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"({[^}]+})", template)
    pattern = "".join(
        ("(.+)" if ":path}" in p else "([^/]+)") if p.startswith("{") else re.escape(p)
        for p in parts
    )
    return re.compile(pattern + "$")


def _route_for(
    path: str,
    spec_path: str | Path | None,
    app: Any,
    *,
    template: str | None = None,
    rootdir: Path | None = None,
) -> tuple[RouteSpec, dict[str, str] | None]:
    """The spec of the route ``path`` belongs to (``template``, when known, first), and its
    converters when the app declares it."""
    spec = load_spec(spec_path, rootdir=rootdir) if spec_path else Spec()
    routes = (discover(app) or []) if app is not None else []  # a live server: the spec's
    found = next((r for r in routes if r.path == template), None) or next(
        (r for r in routes if _template_regex(r.path).match(path)), None
    )
    declared = (spec.route(template) if template else None) or next(
        (r for r in spec.routes if _template_regex(r.path).match(path)), None
    )
    converters = dict(found.params) if found is not None else None
    if declared is not None:
        return (replace(declared, path=found.path) if found is not None else declared), converters
    return default_route(found.path if found is not None else path, spec.settings), converters


Item = tuple[str, Any] | tuple[str, str, Any] | tuple[str, str, Any, Mapping[str, Any]]


def _steps(route: CompiledRoute, messages: Sequence[Item]) -> tuple[Step, ...]:
    names = {m.spec.name: m.spec.kind for m in route.messages}
    steps = []
    for item in messages:
        negative: Mapping[str, Any] = {}
        if len(item) == 4:
            name, kind, payload, negative = item  # type: ignore[misc]
        elif len(item) == 3:
            name, kind, payload = item  # type: ignore[misc]
        else:
            kind, payload = item  # type: ignore[misc]
            name = next((n for n, k in names.items() if k == kind), kind)
        if "leave" in negative:  # a client of several leaves: nothing sent
            steps.append(
                Step(
                    "",
                    "text",
                    None,
                    wait=bool(negative.get("wait", True)),
                    client=int(negative.get("client", 1)) - 1,
                    leave=str(negative["leave"]),
                )
            )
            continue
        if kind not in KINDS:
            raise WsRoutesError(
                f"replay: message kind must be one of {', '.join(KINDS)}, got {kind!r}"
            )
        mutation = negative.get("mutation")
        # A negative step may send any kind of frame: breaking the spec is its point.
        if mutation is None and route.spec.declared and names.get(name) != kind:
            known = ", ".join(f"{n} ({k})" for n, k in names.items()) or "none"
            hint = did_you_mean(name, names)
            raise WsRoutesError(
                f"replay: route {route.spec.path} declares no {kind} message {name!r}"
                + (f" ({hint})" if hint else "")
                + f"; its messages: {known}"
            )
        steps.append(
            Step(
                name,
                kind,
                payload,
                wait=bool(negative.get("wait", True)),
                mutation=mutation,
                invalid=bool(negative.get("invalid")),
                client=int(negative.get("client", 1)) - 1,
            )
        )
    return tuple(steps)


def play_in_app(
    target: Any, route: CompiledRoute, saved: Saved
) -> tuple[Transcript, list[Failure], list[Transcript]]:
    """Run ``saved`` once against ``target`` (an app, or a Target: a running server), its earlier
    connections first, in order, each on its own deadline, and judge it as the pytest run would:
    (its transcript, its failures, the earlier connections' transcripts)."""
    target = target if isinstance(target, Target) else Target(app=target)
    settings = route.spec.settings
    earlier: list[Transcript] = []
    with running_target(target, settings=settings) as (loop, transport):
        for conversation in (*earlier_of(saved), None):
            played = saved if conversation is None else conversation
            conversation = conversation_of(played)
            transcript = Transcript(route=route.spec.path, path=conversation.path)
            deadline = (1 + len(conversation.clients)) * (  # each client waited for on its own
                2 * settings.connection_timeout
                + settings.message_timeout * (len(conversation.steps) + 1)
            ) + 5
            try:
                loop.run(
                    play_saved(transport, route, played, transcript),
                    timeout=deadline,
                    stall=settings.message_timeout,  # as in the pytest run (RouteRunner._run)
                )
            except LoopBlocked as exc:  # a hang is a finding here too, never a traceback
                hang = hang_failure(exc, settings, transcript, conversation).failure
                return transcript, [hang], earlier
            if played is not saved:
                earlier.append(transcript)
    return transcript, judge_saved(route, saved, transcript), earlier


def _earlier(route: CompiledRoute, earlier: Sequence[Mapping[str, Any]]) -> Iterator[Conversation]:
    for number, entry in enumerate(earlier, 1):
        unknown = set(entry) - {
            "path",
            "messages",
            "query",
            "headers",
            "subprotocols",
            "close_code",
        }
        if "path" not in entry or unknown:
            raise WsRoutesError(
                f"replay: earlier connection {number} must be a dict with a 'path' (and "
                f"messages, query, headers, subprotocols, close_code); got {dict(entry)!r}"
            )
        yield Conversation(
            path=str(entry["path"]),
            query=tuple(tuple(p) for p in entry.get("query", ())),  # type: ignore[misc]
            headers=tuple(tuple(p) for p in entry.get("headers", ())),  # type: ignore[misc]
            subprotocols=tuple(entry.get("subprotocols", ())),
            steps=_steps(route, entry.get("messages", ())),
            close_code=entry.get("close_code", 1000),
        )


def _redactor(route: RouteSpec, credential: Credential | None) -> Redactor:
    token = route.auth.token if route.auth is not None else None
    return Redactor([s for s in (token, credential.secret if credential else None) if s])


def replay(
    app: str | Any,
    path: str,
    messages: Sequence[Item] = (),
    *,
    query: Sequence[tuple[str, str]] = (),
    headers: Sequence[tuple[str, str]] = (),
    subprotocols: Sequence[str] = (),
    close_code: int | None = 1000,
    spec: str | None = None,
    out: TextIO | None = None,
    check: bool = True,
    earlier: Sequence[Mapping[str, Any]] = (),
    clients: Sequence[Mapping[str, Any]] = (),
) -> ReplayResult:
    """Send ``messages`` to ``path`` on ``app``, print the transcript and what the checks found.

    Args:
        app: an ASGI app, or its import path ``"module:attribute"``, or a running server's URL
            (``"ws://host:port"``: live mode, the route's spec then comes from ``spec`` alone).
        path: the concrete path, e.g. ``/ws/chat/general``.
        messages: ``(kind, payload)`` or ``(message name, kind, payload)``, in order; a negative
            step adds ``{"mutation": "...", "invalid": True}`` as a fourth item, a step sent in a
            burst (the next one follows without waiting for replies) ``{"wait": False}``.
        close_code: how the client closes; None drops the connection without a close frame.
        spec: a spec file, so replies are matched and checked as in the pytest run.
        out: where to print (default stdout); pass ``io.StringIO()`` to capture.
        check: raise :class:`ReplayFailed` when a check fails (False: return the result).
        earlier: connections to run first, in order, in the same app (what a state leak
            needs, as its report gives them): each a dict of this function's arguments,
            ``{"path": ..., "messages": [...]}`` and optionally ``query``, ``headers``,
            ``subprotocols``, ``close_code``.
        clients: the other clients of a multi-client conversation (the arguments above are
            client 1's), each ``{"path": ..., "joins": step}`` with optional ``query`` and
            ``headers``; a step of client 2 adds ``{"client": 2}`` as its fourth item, and
            ``("", "text", None, {"client": 2, "leave": "close"})`` (or ``"abort"``) makes it
            leave.

    Returns:
        The transcript and the failures the checks found (empty when the conversation passed);
        it unpacks as ``transcript, failures``.

    Raises:
        ReplayFailed: a check failed (and ``check`` is true); ``.result`` is the result, the
            message the failure report.
    """
    out = out or sys.stdout
    target = Target(url=app) if isinstance(app, str) and app.startswith(_LIVE) else None
    if target is not None:
        app = None
    elif isinstance(app, str):
        sys.path.insert(0, str(Path.cwd()))
        app = load_app(app)
    route_spec, converters = _route_for(path, spec, app)
    route = compile_route(route_spec, converters=converters)
    conversation = Conversation(
        path=path,
        query=tuple(query),
        headers=tuple(headers),
        subprotocols=tuple(subprotocols),
        steps=_steps(route, messages),
        close_code=close_code,
        clients=tuple(
            Client(
                path=str(c["path"]),
                query=tuple(c.get("query", ())),
                headers=tuple(c.get("headers", ())),
                joins=int(c.get("joins", 0)),
            )
            for c in clients
        ),
    )
    before = tuple(_earlier(route, earlier))
    saved: Saved = AfterEarlier(conversation, before) if before else conversation
    transcript, failures, played = play_in_app(target or Target(app=app), route, saved)
    for line in earlier_lines(played):
        print(line, file=out)
    print(render_handshake(transcript), file=out)
    for line in transcript.render():
        print(line, file=out)
    if transcript.app_error is not None:
        print("\nApp traceback:\n" + transcript.app_error.traceback.rstrip(), file=out)
    for failure in failures:
        print(
            f"\nFAILED {failure.check}: {failure.message}\n  expected: {failure.expected}\n  actual: {failure.actual}",
            file=out,
        )
    if not failures:
        print("\nall checks passed", file=out)
    secrets = _redactor(route_spec, None)
    report = render_failure(failures[0], transcript, secrets=secrets) if failures else ""
    result = ReplayResult(transcript, failures, conversation, report)
    if check and failures:
        raise ReplayFailed(result)
    return result


def replay_file(
    path: str | Path,
    *,
    app: str | Any | None = None,
    spec: str | Path | None = None,
    auth: str | None = None,
    check: bool = True,
    url: str | None = None,
) -> ReplayResult:
    """Replay a crash file (``.ws-routes/crashes/*.json``) as the pytest run that wrote it would.

    The app and the spec are the file's (relative to the project folder it is in) unless
    ``app`` or ``spec`` say otherwise; the route keeps the settings it ran with. A credential
    that was redacted in the file is taken from ``auth`` (``--routes-auth``'s forms, e.g.
    ``"bearer:TOKEN"``) or the spec's ``auth.token``. ``url`` replays against a running server
    instead (live mode: the app is then neither loaded nor asked for), as does a file a live run
    wrote, unless ``app`` is given. Nothing is printed: ``report`` holds the
    failure report, with ``ws-routes replay <file>`` as its reproduce command.

    Raises:
        ReplayFailed: the conversation still fails (and ``check`` is true).
        WsRoutesError: the file cannot be read, has no app to replay against, or needs a
            credential that was not given.
    """
    crash = crashfiles.load(path)
    root = crashfiles.crash_root(path)
    if url is None and app is None:
        url = crash.url  # a live run's file replays against its server, unless told otherwise
    app_ref = app if app is not None else crash.app
    if app_ref is None and url is None:
        raise WsRoutesError(
            f"{path}: the crash file names no app: pass one (--app module:app), or a running "
            "server's URL (--url ws://HOST:PORT)"
        )
    app_obj = None
    if url is None:
        app_obj = load_app(app_ref, rootdir=root) if isinstance(app_ref, str) else app_ref
    spec_path = spec if spec is not None else (root / crash.spec if crash.spec else None)
    probe = crash.saved()
    conversation = conversation_of(probe)
    route_spec, converters = _route_for(
        conversation.path, spec_path, app_obj, template=crash.route, rootdir=root
    )
    route_spec = replace(route_spec, settings=crash.settings)  # as the run that found it had them
    notes = []
    if crashfiles.route_digest(route_spec) != crash.spec_digest:
        notes.append(
            f"the spec of {crash.route} changed since this crash file was written; "
            "replayed with the current one"
        )
    credential = credential_for(route_spec.auth, parse_auth_option(auth) if auth else None)
    if crash.redacted or crash.earlier_redacted:
        if credential is None:
            raise WsRoutesError(
                f"{path}: its credential was redacted (***) when it was saved; pass it again "
                "(ws-routes replay --auth, as --routes-auth: bearer:TOKEN, header:NAME:VALUE, "
                "query:NAME:VALUE, cookie:NAME:VALUE) or set the route's auth.token in the spec"
            )
        notes.append(
            "the credential, redacted in the file, was taken from "
            + ("--auth" if auth else "the spec's auth.token")
        )
    saved = crash.saved(credential.secret if credential is not None else None)
    target = Target(url=url) if url is not None else Target(app=app_obj)
    route = compile_route(route_spec, converters=converters)
    transcript, failures, played = play_in_app(target, route, saved)
    report = ""
    if failures:
        reference = url or (app_ref if isinstance(app_ref, str) else "module:app")
        as_probe = probe_of(saved)
        report = render_failure(
            failures[0],
            transcript,
            reproduce_command=crashfiles.replay_command(path, Path.cwd()),
            snippet=replay_snippet(
                reference,
                conversation,
                spec=crash.spec if spec is None else str(spec),
                earlier=earlier_of(saved),
            ),
            secrets=_redactor(route_spec, credential),
            extra=[f"Note: {note}." for note in notes]
            + (["", "Earlier connections (replayed first, in order):"] if played else [])
            + earlier_lines(played),
            probe=as_probe.name if as_probe is not None else None,
        )
    result = ReplayResult(transcript, failures, conversation_of(saved), report, tuple(notes))
    if check and failures:
        raise ReplayFailed(result)
    return result
