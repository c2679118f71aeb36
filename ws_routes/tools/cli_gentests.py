"""``ws-routes gen-tests``: a test module of one route test per route, for HypoFuzz and xdist.

Registered into the main parser by cli.py. Each line binds ``ws_routes.testing.route_test`` for
one route to a ``test_*`` name, so pytest collects it as an ordinary ``@given`` test that
pytest-xdist distributes and ``hypothesis fuzz`` fuzzes (docs/fuzzing.md). The routes are the
spec's, and with an app (``--app``, or the spec's ``app``) the ones only the app declares too.
Exit codes: 0 written, 1 a bad spec or app, 2 usage (an output file that exists).
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

from ws_routes.app.discovery import discover, load_app
from ws_routes.spec.loader import find_spec_file, load_spec

__all__ = ["register", "route_tests_module"]


def _name(path: str, taken: set[str]) -> str:
    """``/ws/chat/{room}`` -> ``test_ws_chat_room``, numbered when two routes would clash."""
    base = "test_" + (re.sub(r"\W+", "_", path.split(":")[0]).strip("_") or "root")
    name, n = base, 2
    while name in taken:
        name, n = f"{base}_{n}", n + 1
    taken.add(name)
    return name


def route_tests_module(spec: str | None, app: str, routes: list[str]) -> str:
    """The module's text: one ``route_test`` per route, in order (``spec`` None: the project's)."""
    taken: set[str] = set()
    lines = [
        '"""Route tests, one per WebSocket route (written by `ws-routes gen-tests`).',
        "",
        "Ordinary Hypothesis tests: `pytest -n 4` spreads them over workers and `hypothesis fuzz`",
        "fuzzes them (HypoFuzz); the probes stay with `pytest --routes-websocket`.",
        '"""',
        "",
        "from ws_routes.testing import route_test",
        "",
        f"SPEC = {spec!r}",
        f"APP = {app!r}",
        "",
    ]
    lines += [f"{_name(r, taken)} = route_test(SPEC, {r!r}, app=APP)" for r in routes]
    return "\n".join(lines) + "\n"


def _gen_tests(args: argparse.Namespace) -> int:
    spec_path = Path(args.spec) if args.spec else find_spec_file(Path.cwd())
    spec = load_spec(spec_path)
    app_ref = args.app or spec.app
    if not app_ref:
        print(
            "ws-routes gen-tests: error: no app: pass --app module:app or set `app:` in the spec",
            file=sys.stderr,
        )
        return 2
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))
    routes = [r.path for r in spec.routes]
    found = discover(load_app(app_ref)) or []
    declared = {re.sub(r":[^}]*}", "}", r) for r in routes}
    routes += [r.path for r in found if re.sub(r":[^}]*}", "}", r.path) not in declared]
    shown = None
    if spec_path is not None:  # relative when inside the project: the module gets committed
        absolute = spec_path.resolve()
        inside = absolute.is_relative_to(Path.cwd().resolve())
        shown = str(absolute.relative_to(Path.cwd().resolve()) if inside else spec_path)
    text = route_tests_module(shown, app_ref, routes)
    if args.output == "-":
        sys.stdout.write(text)
        return 0
    output = Path(args.output)
    if output.exists() and not args.force:
        print(f"ws-routes gen-tests: error: {output} exists; --force replaces it", file=sys.stderr)
        return 2
    output.write_text(text, "utf-8")
    print(
        f"wrote {output}: {len(routes)} route test(s); run `pytest {output}` or `hypothesis fuzz -- {output}`"
    )
    return 0


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``gen-tests`` to ``sub`` (the ``ws-routes`` subparsers)."""
    gen = sub.add_parser(
        "gen-tests",
        help="write a test module of one route test per route (HypoFuzz, pytest-xdist)",
        description=__doc__.split("\n\n")[1] if __doc__ else None,
    )
    gen.add_argument("spec", nargs="?", help="spec file (default: found from the current folder)")
    gen.add_argument("--app", help="the ASGI app as module:attribute (default: the spec's `app`)")
    gen.add_argument(
        "-o",
        "--output",
        default="test_ws_routes.py",
        help="the module (default: test_ws_routes.py; - for stdout)",
    )
    gen.add_argument("--force", action="store_true", help="overwrite an existing file")
    gen.set_defaults(run=_gen_tests)
