"""``ws-routes replay``: replay crash files (``.ws-routes/crashes/*.json``) against the app.

Registered into the main parser by cli.py. Exit codes: 0 every file passes now (each is
removed, unless ``--keep``), 1 at least one still fails (its report is printed as pytest prints
it) or cannot be replayed, 2 usage (no file named).
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

import ws_routes
from ws_routes.errors import WsRoutesError

__all__ = ["register"]

_HELP = """\
Replay crash files: each failure a pytest run found is saved as .ws-routes/crashes/<route>-<bug>.json
in its rootdir (the minimal conversation, the route's settings, the seed, versions; secrets
redacted). Each file is replayed in-process against the app (the earlier connections a state
leak needs first, in order) and judged by the same checks: a file that still fails prints the
report pytest printed; one that passes is removed. The app and spec are the file's unless --app
or --spec say otherwise.
"""


def _usage(message: str) -> int:
    print(f"ws-routes replay: error: {message}", file=sys.stderr)
    return 2


def _shown(path: Path) -> Path:
    """``path`` relative to the working folder when it is inside it, as a user would type it."""
    try:
        return path.relative_to(Path.cwd())
    except ValueError:
        return path


def _replay(args: argparse.Namespace) -> int:
    files = [Path(f) for f in args.files]
    if args.last:
        found = ws_routes.crash_files(Path.cwd())
        if not found:
            return _usage(
                "no crash files in .ws-routes/crashes here or above: a failing "
                "`pytest --routes-websocket` run writes them"
            )
        files.append(_shown(found[0]))
    if not files:
        return _usage("name the crash files to replay, or pass --last for the newest")
    failing = 0
    for path in files:
        try:
            result = ws_routes.replay_file(
                path, app=args.app, url=args.url, spec=args.spec, auth=args.auth, check=False
            )
        except WsRoutesError as err:
            print(f"ws-routes replay: {err}", file=sys.stderr)
            failing += 1
            continue
        for note in result.notes:
            print(f"{path}: note: {note}")
        if not result.passed:
            print(result.report)
            failing += 1
        elif args.keep:
            print(f"{path}: passes now (kept: --keep)")
        else:
            path.unlink(missing_ok=True)
            print(f"{path}: passes now; removed")
    if failing:
        print(f"{failing} of {len(files)} crash file(s) still fail", file=sys.stderr)
    return 1 if failing else 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``replay`` to ``sub`` (the ``ws-routes`` subparsers)."""
    replay = sub.add_parser(
        "replay", help="replay crash files of failing runs against the app", description=_HELP
    )
    replay.add_argument("files", nargs="*", metavar="FILE", help="crash files (.json)")
    replay.add_argument(
        "--last", action="store_true", help="also the newest crash file of this project"
    )
    target = replay.add_mutually_exclusive_group()
    target.add_argument("--app", help="the ASGI app as module:attribute (default: the file's)")
    target.add_argument(
        "--url", help="replay against a running server instead (ws://HOST:PORT[/prefix])"
    )
    replay.add_argument("--spec", help="spec file (default: the one the file names)")
    replay.add_argument(
        "--auth",
        default=os.environ.get("WS_ROUTES_AUTH"),
        help="the credential, as --routes-auth takes it, for a file whose credential was "
        "redacted (default: $WS_ROUTES_AUTH, else the spec's auth.token)",
    )
    replay.add_argument(
        "--keep", action="store_true", help="keep the files that pass instead of removing them"
    )
    replay.set_defaults(run=_replay)
