"""The ``ws-routes`` command: write a spec, check it, list an app's WebSocket routes, replay
crash files (``replay``, in cli_replay.py).

Exit codes: 0 ok, 1 findings (an invalid spec, a spec route the app lacks, an app that cannot be
loaded), 2 usage errors (argparse's, and an output file that exists without --force/--merge).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ws_routes.errors import SpecError, SpecErrors, WsRoutesError

__all__ = ["main"]


def _usage(command: str, message: str) -> int:
    print(f"ws-routes {command}: error: {message}", file=sys.stderr)
    return 2


def _load_app(app_ref: str) -> Any:
    from ws_routes.app.discovery import load_app

    return load_app(app_ref, rootdir=Path.cwd())


def _spec_errors(path: str | None) -> tuple[Any, list[SpecError]]:
    """The spec and every problem in it: format first, then schemas and import paths."""
    from ws_routes.compile.route import compile_route
    from ws_routes.spec.loader import load_spec, validate_spec

    errors = list(validate_spec(path, rootdir=Path.cwd()))
    if errors:
        return None, errors
    spec = load_spec(path, rootdir=Path.cwd())
    if str(Path.cwd()) not in sys.path:
        sys.path.insert(0, str(Path.cwd()))  # strategies import from the project
    for route in spec.routes:
        try:
            compile_route(route)
        except SpecErrors as many:
            errors.extend(many.errors)
        except SpecError as one:
            errors.append(one)
    return spec, errors


def _validate(args: argparse.Namespace) -> int:
    from ws_routes.app.discovery import inspect_app, match_routes
    from ws_routes.spec.loader import find_spec_file

    if args.spec is None and find_spec_file(Path.cwd()) is None:
        print(
            f"ws-routes: no spec in {Path.cwd()} (ws-routes.yaml, ws-routes.yml, ws-routes.toml or "
            "[tool.ws-routes] in pyproject.toml); write one with `ws-routes init module:app`",
            file=sys.stderr,
        )
        return 1
    spec, spec_errors = _spec_errors(args.spec)
    problems = [str(e) for e in spec_errors]
    app_ref = args.app or (spec.app if spec is not None else None)
    checked_app = False
    if spec is not None and app_ref:
        try:
            found = inspect_app(_load_app(app_ref))
        except WsRoutesError as err:
            problems.append(f"cannot load app {app_ref!r}: {err}")
        else:
            checked_app = found.routes is not None
            for match in match_routes(spec.routes, found):
                if match.problem is not None and match.declared is not None:
                    problems.append(str(SpecError(match.problem, location=match.declared.location)))
    for problem in problems:
        print(problem, file=sys.stderr)
    if problems:
        print(f"{len(problems)} error(s)", file=sys.stderr)
        if spec is None and app_ref:
            print(
                f"(the routes were not checked against {app_ref}: fix these first)", file=sys.stderr
            )
        return 1
    against = f"; every route exists in {app_ref}" if checked_app else ""
    print(f"spec OK: {len(spec.routes)} route(s){against}")
    return 0


def _spec_summary(route: Any) -> dict[str, Any]:
    auth = route.auth
    where = None
    if auth is not None:
        for key in ("query_param", "header", "cookie"):
            if getattr(auth, key):
                where = f"{key} {getattr(auth, key)}"
        where = where or ("first_message" if auth.first_message is not None else "auth")
    return {
        "declared": route.declared,
        "messages": [m.name for m in route.messages],
        "replies": [r.name for r in route.replies],
        "auth": where,
        "subprotocols": list(route.subprotocols),
    }


def _spec_text(summary: dict[str, Any]) -> str:
    if not summary["declared"]:
        return "default (any text, JSON, bytes)"
    parts = [f"{len(summary['messages'])} message(s)", f"{len(summary['replies'])} reply(ies)"]
    if summary["auth"]:
        parts.append(f"auth {summary['auth']}")
    if summary["subprotocols"]:
        parts.append("subprotocols " + ",".join(summary["subprotocols"]))
    return ", ".join(parts)


def _routes(args: argparse.Namespace) -> int:
    from ws_routes.app.discovery import inspect_app, match_routes
    from ws_routes.spec.loader import find_spec_file, load_spec
    from ws_routes.spec.model import default_route

    found = inspect_app(_load_app(args.app))
    if found.routes is None:
        print(
            f"{args.app} has no routing table: describe its routes in ws-routes.yaml",
            file=sys.stderr,
        )
        return 1
    spec = None
    if args.spec is not None or find_spec_file(Path.cwd()) is not None:
        spec = load_spec(args.spec, rootdir=Path.cwd())
    matches = match_routes(spec.routes if spec is not None else (), found)
    rows = []
    for match in matches:
        if match.found is None:
            continue
        row: dict[str, Any] = {
            "path": match.found.path,
            "params": dict(match.found.params),
            "framework": match.found.framework,
            "endpoint": match.found.endpoint,
        }
        if spec is not None:
            route = match.declared or default_route(match.found.path, spec.settings)
            row["spec"] = _spec_summary(route)
        rows.append(row)
    missing = [m.problem for m in matches if m.problem is not None]
    for problem in missing:
        print(f"spec: {problem}", file=sys.stderr)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    table = [
        [
            row["path"],
            ", ".join(f"{k}:{v}" for k, v in row["params"].items()) or "-",
            row["endpoint"] or "-",
            *([_spec_text(row["spec"])] if "spec" in row else []),
        ]
        for row in rows
    ]
    header = ["PATH", "PARAMS", "HANDLER", *(["SPEC"] if spec is not None else [])]
    widths = [max(len(r[i]) for r in [header, *table]) for i in range(len(header))]
    for cells in [header, *table]:
        print("  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip())
    return 0


def _write_schema(target: Path, *, force: bool) -> str | None:
    """Write the format's JSON Schema to ``target``; what happened, or None if it was left."""
    from ws_routes.tools.scaffold import SCHEMA_FILE

    text = SCHEMA_FILE.read_text("utf-8")
    if target.exists():
        if target.read_text("utf-8") == text:
            return f"{target} is up to date"
        if not force:
            return None
    target.write_text(text, "utf-8")
    return f"wrote {target}"


def _schema(args: argparse.Namespace) -> int:
    from ws_routes.tools.scaffold import SCHEMA_FILE

    if args.output == "-":
        sys.stdout.write(SCHEMA_FILE.read_text("utf-8"))
        return 0
    output = Path(args.output)
    done = _write_schema(output, force=args.force)
    if done is None:
        return _usage(
            "schema",
            f"{output} exists and differs (an older ws_routes?); pass --force to replace it",
        )
    print(done)
    return 0


def _init(args: argparse.Namespace) -> int:
    from ws_routes.tools.scaffold import SCHEMA_NAME, merge_spec, routes_to_add, scaffold

    to_stdout = args.output == "-"
    output = Path(args.output)
    # Usage errors, reported the way argparse reports its own (exit 2).
    if not to_stdout and output.suffix.lower() not in (".yaml", ".yml"):
        return _usage("init", f"init writes YAML: name the file .yaml, not {output.name!r}")
    if not to_stdout and not output.parent.is_dir():
        return _usage(
            "init", f"cannot write {output}: the folder {output.parent} does not exist; create it"
        )
    if not to_stdout and output.is_dir():
        return _usage("init", f"cannot write {output}: it is a folder; name a .yaml file")
    exists = not to_stdout and output.exists()
    if exists and not (args.force or args.merge):
        return _usage(
            "init",
            f"{output} exists; pass --merge to add the app's new routes to it, or --force to "
            "overwrite it",
        )
    written = scaffold(_load_app(args.app), args.app)
    if to_stdout:
        sys.stdout.write(written.text)
        print(
            f"ws-routes init: the first line names ./{SCHEMA_NAME}, for editors; write it next to "
            f"the spec with `ws-routes schema -o {SCHEMA_NAME}`",
            file=sys.stderr,
        )
        return 0
    if exists and args.merge:
        existing = output.read_text("utf-8")
        added = routes_to_add(existing, written.text, filename=str(output))
        if not added:
            print(f"{output}: nothing to add: it has all {len(written.routes)} of the app's routes")
            return 0
        output.write_text(merge_spec(existing, written.text, filename=str(output)), "utf-8")
        typed = sum(d.typed for d in written.routes if d.path in added)
        print(f"added to {output}: {len(added)} route(s) ({typed} typed): {', '.join(added)}")
        return 0
    try:
        output.write_text(written.text, "utf-8")
    except OSError as exc:  # read-only folder, a full disk: say so, without a traceback
        return _usage("init", f"cannot write {output}: {exc.strerror}")
    print(f"wrote {output}: {len(written.routes)} route(s) ({written.typed} typed)")
    # The schema the spec's first line names, beside it: editors find it on every machine.
    schema = output.parent / SCHEMA_NAME
    done = _write_schema(schema, force=args.force)
    print(
        f"{done}: the spec format's JSON Schema, for editors (commit it with the spec)"
        if done
        else f"left {schema} as it is; `ws-routes schema -o {schema} --force` replaces it"
    )
    print("next: describe each route's messages and replies, then run `pytest --routes-websocket`")
    return 0


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ws-routes",
        description="Property-based testing of ASGI WebSocket routes.",
        epilog="exit codes: 0 ok, 1 findings (invalid spec, missing route, app error), 2 usage "
        "(also: an output file that exists)",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    init = sub.add_parser(
        "init",
        help="write a spec for an app's WebSocket routes",
        description="Write a commented spec for every WebSocket route of APP: messages and replies "
        "from typed handlers (Litestar listeners), permissive defaults with what to fill in "
        "elsewhere.",
    )
    init.add_argument("app", help="the ASGI app as module:attribute")
    init.add_argument(
        "-o",
        "--output",
        default="ws-routes.yaml",
        help="the spec file (default: ws-routes.yaml; - for stdout)",
    )
    mode = init.add_mutually_exclusive_group()
    mode.add_argument("--force", action="store_true", help="overwrite an existing file")
    mode.add_argument(
        "--merge",
        action="store_true",
        help="add routes missing from an existing file, leaving the rest as it is",
    )
    init.set_defaults(run=_init)
    validate = sub.add_parser(
        "validate",
        help="check a spec: format, schemas, import paths, routes",
        description="Check a spec and print every problem at once. With an app (--app, or `app:` in "
        "the spec) also check that each spec route exists in it.",
    )
    validate.add_argument(
        "spec", nargs="?", help="spec file (default: found from the current folder)"
    )
    validate.add_argument(
        "--app", help="the ASGI app as module:attribute (default: the spec's `app`)"
    )
    validate.set_defaults(run=_validate)
    routes = sub.add_parser(
        "routes",
        help="list an app's WebSocket routes",
        description="List APP's WebSocket routes and, when there is a spec, what it says of each.",
    )
    routes.add_argument("app", help="the ASGI app as module:attribute")
    routes.add_argument("--spec", help="spec file (default: found from the current folder)")
    routes.add_argument("--json", action="store_true", help="machine-readable output")
    routes.set_defaults(run=_routes)
    schema = sub.add_parser(
        "schema",
        help="write the spec format's JSON Schema, for editors",
        description="Write the JSON Schema of the ws-routes.yaml format (the one `init` names on "
        "the spec's first line, for yaml-language-server): to stdout, or to a file.",
    )
    schema.add_argument(
        "-o", "--output", default="-", help="where to write (default: - for stdout)"
    )
    schema.add_argument("--force", action="store_true", help="replace a file that differs")
    schema.set_defaults(run=_schema)
    from ws_routes.tools import cli_asyncapi, cli_gentests, cli_replay

    cli_asyncapi.register(sub)
    cli_replay.register(sub)
    cli_gentests.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command; returns the exit code."""
    args = _parser().parse_args(argv)
    try:
        return int(args.run(args))
    except WsRoutesError as err:
        print(f"ws-routes: {err}", file=sys.stderr)
        return 1
