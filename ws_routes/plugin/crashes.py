"""Crash files in a pytest run: a route's replayed first, those that pass removed, each finding
saved; and the reproduce lines of a report, which name the crash file.

Imported by the item only when a route runs (it imports the report stage).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from ws_routes.plugin.state import STATE

if TYPE_CHECKING:
    from ws_routes.compile.credentials import Credential
    from ws_routes.engine.findings import ConversationFailed
    from ws_routes.engine.result import RouteResult
    from ws_routes.engine.saved import Saved

# Per item: id() of each finding -> the crash file that holds it.
SAVED = pytest.StashKey[dict[int, Path]]()


def saved_for(item: Any, credential: Credential | None) -> list[tuple[Path, Saved]]:
    """The route's crash files, oldest first, each as what to replay.

    One whose credential was redacted is left when this run has none to put back: replayed
    without it, it would test something else.
    """
    from ws_routes.report import crashfiles

    out = []
    for path, crash in crashfiles.for_route(item.config.rootpath, item.route.path):
        if crash.redacted and credential is None:
            continue
        out.append((path, crash.saved(credential.secret if credential is not None else None)))
    return out


def after_run(item: Any, result: RouteResult, saved: list[tuple[Path, Saved]]) -> None:
    """Remove the crash files that passed, save every finding, hand Hypothesis' statistics on."""
    replayed = list(zip(saved, result.replayed, strict=False))  # shorter if the route ended early
    for (path, _), outcome in replayed:
        if outcome is None:
            path.unlink(missing_ok=True)
    found = [result.failure, *result.failure.also] if result.failure is not None else []
    paths: dict[int, Path] = {}
    for exc in found:
        if exc.failure.check == "differential":
            continue  # a replay runs in-process, where it passes: the command line reproduces it
        # A saved failure that still fails keeps its own file; any other finding gets one.
        own = next((path for (path, _), outcome in replayed if outcome is exc), None)
        written = own or _save(item, exc, result)
        if written is not None:
            paths[id(exc)] = written
    item.stash[SAVED] = paths
    if result.statistics:
        # What Hypothesis' plugin prints for --hypothesis-show-statistics (and puts in JUnit).
        item.hypothesis_statistics = _statistics(item.nodeid, result.statistics)


def fresh_app(item: Any) -> Any:
    """Where the route's findings are replayed in a fresh app (``engine.leaks``): the app
    imported anew, here or in a worker process started only when a finding needs it."""
    from ws_routes.report.fresh import FreshApps

    state = item.config.stash[STATE]
    app = state.options.app or (state.spec.app if state.spec else None)
    # Over the network (a URL, or the app under a real server) a fresh in-process app is another
    # environment: a case that passes there says nothing about state left behind.
    if not app or getattr(state.target, "over_network", False):
        return None
    return FreshApps(app, item.route, item.converters, rootdir=item.config.rootpath)


def leak_lines(exc: ConversationFailed) -> list[str]:
    """What the report says about a case that did not fail in a fresh app on its own."""
    from ws_routes.report.leaks import leak_lines as lines

    return lines(exc.leak)


def reproduce(item: Any, exc: ConversationFailed) -> str:
    """The report's reproduce lines: the pytest command with the seed when the seed drew the
    failure, and the crash file's replay command; only the latter after a replay."""
    from ws_routes.report.crashfiles import replay_command
    from ws_routes.report.render import reproduce_command

    state = item.config.stash[STATE]
    args = list(item.config.invocation_params.args)
    command = reproduce_command(args, route=item.route.path, seed=state.seed)
    path = item.stash.get(SAVED, {}).get(id(exc))
    replay = replay_command(path, item.config.invocation_params.dir) if path else None
    if exc.replayed is None:
        return "\n".join(c for c in (command, replay) if c)
    note = (
        f"(found by replaying {exc.replayed}: seed {state.seed} draws other conversations, "
        "so the crash file is what reproduces it)"
    )
    return f"{replay}\n{note}" if replay else f"{command}\n{note}"


def blob_line(exc: ConversationFailed) -> list[str]:
    """Hypothesis' reproduction blob, when the profile's ``print_blob`` asks for it."""
    from hypothesis import settings

    if exc.blob is None or not settings().print_blob:
        return []
    return ["", f"Hypothesis reproduction blob (print_blob; also in the crash file): {exc.blob}"]


def _save(item: Any, exc: ConversationFailed, result: RouteResult) -> Path | None:
    from ws_routes.engine.findings import bug_of
    from ws_routes.errors import WsRoutesWarning
    from ws_routes.report import crashfiles
    from ws_routes.report.render import render_failure, replay_snippet

    state = item.config.stash[STATE]
    root = item.config.rootpath
    bug = crashfiles.bug_slug(exc.failure, bug_of(exc.failure, exc.transcript), root)
    path = crashfiles.path_for(root, item.route.path, bug)
    item.stash.setdefault(SAVED, {})[id(exc)] = path  # so the report names it
    app = state.options.app or (state.spec.app if state.spec else None)
    spec = state.spec.source if state.spec else None
    shown = os.path.relpath(spec, item.config.invocation_params.dir) if spec else None
    try:
        report = render_failure(
            exc.failure,
            exc.transcript,
            reproduce_command=reproduce(item, exc),
            snippet=replay_snippet(
                getattr(state.target, "url", None) or app or "module:app",
                exc.conversation,
                spec=shown,
                earlier=exc.earlier,
            ),
            secrets=state.redactor,
            probe=exc.probe,
            extra=leak_lines(exc),
        )
        crashfiles.save(
            root,
            crashfiles.build(
                route=item.route,
                failure=exc.failure,
                bug=bug,
                conversation=exc.conversation,
                report=report,
                redactor=state.redactor,
                probe=result.probes.get(exc.probe) if exc.probe else None,
                app=app,
                url=getattr(state.target, "url", None),
                spec=os.path.relpath(spec, root) if spec else None,
                seed=state.seed,
                derandomized=state.derandomized,
                blob=exc.blob,
                earlier=exc.earlier,
            ),
        )
    except (OSError, TypeError, ValueError) as err:  # a read-only folder, a value JSON cannot hold
        # Shown as a warning even under filterwarnings=error: the finding must still be reported.
        item._warn(
            WsRoutesWarning(f"{item.route.path}: no crash file written ({path}): {err}"),
            always=True,
        )
        item.stash[SAVED].pop(id(exc), None)
        return None
    return path


def _statistics(nodeid: str, searches: list[dict[str, Any]]) -> str:
    from hypothesis.statistics import describe_statistics

    parts = [f"{nodeid}:\n"]
    for number, stats in enumerate(searches, 1):
        if len(searches) > 1:
            parts.append(f"  search {number} of {len(searches)}:")
        parts.append(describe_statistics(stats))  # type: ignore[arg-type]
    return "\n".join(parts)
