"""The ``ws-routes`` command: check a spec, list an app's WebSocket routes.

Exit codes: 0 ok, 1 findings (an invalid spec, an app that cannot be loaded), 2 usage errors.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path

from ws_routes.errors import SpecError, SpecErrors, WsRoutesError

__all__ = ["main"]


def _validate(args: argparse.Namespace) -> int:
    from ws_routes.compile import compile_route
    from ws_routes.loader import load_spec, validate_spec

    errors: list[SpecError] = list(validate_spec(args.spec, rootdir=Path.cwd()))
    if not errors:
        # The format is right; now every schema must compile and every import path resolve.
        spec = load_spec(args.spec, rootdir=Path.cwd())
        sys.path.insert(0, str(Path.cwd()))
        for route in spec.routes:
            try:
                compile_route(route)
            except SpecErrors as many:
                errors.extend(many.errors)
            except SpecError as one:
                errors.append(one)
    for error in errors:
        print(error, file=sys.stderr)
    if errors:
        print(f"{len(errors)} error(s)", file=sys.stderr)
        return 1
    print("spec OK")
    return 0


def _routes(args: argparse.Namespace) -> int:
    from ws_routes.discovery import discover, load_app

    sys.path.insert(0, str(Path.cwd()))
    app = load_app(args.app, rootdir=Path.cwd())
    routes = discover(app)
    if routes is None:
        print(f"{args.app} has no routing table: describe its routes in ws-routes.yaml", file=sys.stderr)
        return 1
    if args.json:
        rows = [
            {"path": r.path, "params": dict(r.params), "framework": r.framework, "endpoint": r.endpoint}
            for r in routes
        ]
        print(json.dumps(rows, indent=2))
        return 0
    width = max([len(r.path) for r in routes] + [4])
    print(f"{'PATH':{width}}  PARAMS  HANDLER")
    for r in routes:
        params = ", ".join(f"{k}:{v}" for k, v in r.params.items()) or "-"
        print(f"{r.path:{width}}  {params}  {r.endpoint or '-'}")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ws-routes", description="Property-based testing of ASGI WebSocket routes."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    validate = sub.add_parser("validate", help="check a spec: format, schemas, import paths")
    validate.add_argument("spec", nargs="?", help="spec file (default: found from the current folder)")
    validate.set_defaults(run=_validate)
    routes = sub.add_parser("routes", help="list an app's WebSocket routes")
    routes.add_argument("app", help="the ASGI app as module:attribute")
    routes.add_argument("--json", action="store_true", help="machine-readable output")
    routes.set_defaults(run=_routes)
    from ws_routes import cli_asyncapi

    cli_asyncapi.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except WsRoutesError as err:
        print(f"ws-routes: {err}", file=sys.stderr)
        return 1
