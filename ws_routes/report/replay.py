"""Replay one conversation against an app, outside pytest: what failure reports tell users to run.

from ws_routes import replay
replay("chat_app:app", "/ws/chat/general", messages=[("json", {"type": "leave"})])
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any, TextIO

from ws_routes.app.discovery import discover, load_app
from ws_routes.compile.route import CompiledRoute, compile_route
from ws_routes.driver.transcript import Failure, Transcript
from ws_routes.engine.checks import evaluate
from ws_routes.engine.conversation import Conversation, Step
from ws_routes.engine.play import run_conversation
from ws_routes.engine.runner import running_app
from ws_routes.errors import WsRoutesError, did_you_mean
from ws_routes.report.render import render_handshake
from ws_routes.spec.loader import load_spec
from ws_routes.spec.model import KINDS, RouteSpec, Spec, default_route

__all__ = ["replay"]


def _template_regex(template: str) -> re.Pattern[str]:
    parts = re.split(r"({[^}]+})", template)
    pattern = "".join(
        ("(.+)" if ":path}" in p else "([^/]+)") if p.startswith("{") else re.escape(p)
        for p in parts
    )
    return re.compile(pattern + "$")


def _route_for(
    path: str, spec_path: str | None, app: Any
) -> tuple[RouteSpec, dict[str, str] | None]:
    """The spec of the route ``path`` belongs to, and its converters when the app declares it."""
    spec = load_spec(spec_path) if spec_path else Spec()
    found = next((r for r in discover(app) or [] if _template_regex(r.path).match(path)), None)
    declared = next((r for r in spec.routes if _template_regex(r.path).match(path)), None)
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
            )
        )
    return tuple(steps)


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
) -> tuple[Transcript, list[Failure]]:
    """Send ``messages`` to ``path`` on ``app``, print the transcript and what the checks found.

    Args:
        app: an ASGI app, or its import path ``"module:attribute"``.
        path: the concrete path, e.g. ``/ws/chat/general``.
        messages: ``(kind, payload)`` or ``(message name, kind, payload)``, in order; a negative
            step adds ``{"mutation": "...", "invalid": True}`` as a fourth item, a step sent in a
            burst (the next one follows without waiting for replies) ``{"wait": False}``.
        close_code: how the client closes; None drops the connection without a close frame.
        spec: a spec file, so replies are matched and checked as in the pytest run.
        out: where to print (default stdout); pass ``io.StringIO()`` to capture.

    Returns:
        The transcript and the failures the checks found (empty when the conversation passed).
    """
    out = out or sys.stdout
    if isinstance(app, str):
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
    )
    settings = route_spec.settings
    transcript = Transcript(route=route_spec.path, path=path)
    deadline = (
        2 * settings.connection_timeout
        + settings.message_timeout * (len(conversation.steps) + 1)
        + 5
    )
    with running_app(app, timeout=settings.connection_timeout) as (loop, transport):
        loop.run(
            run_conversation(transport, route, conversation, transcript=transcript),
            timeout=deadline,
            stall=settings.message_timeout,  # as in the pytest run (RouteRunner._run)
        )
    failures = evaluate(route, conversation, transcript)
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
    return transcript, failures
