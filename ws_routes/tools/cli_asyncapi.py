"""``ws-routes import-asyncapi`` / ``export-asyncapi``: registered into the main parser by cli.py.

Exit codes as for the other commands: 0 ok, 1 an invalid document or spec, 2 usage (a missing
input, an output that exists without ``--force``).
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from ws_routes.errors import SpecError, SpecErrors

__all__ = ["register"]

_IMPORT_HELP = """\
Convert an AsyncAPI 2.x or 3.x document (YAML or JSON) into a ws-routes spec. Channels on
WebSocket servers become routes; 2.x publish and 3.x receive operations give the messages
clients send, subscribe and send operations the replies. See docs/asyncapi.md for the mapping.
"""
_EXPORT_HELP = """\
Describe a ws-routes spec as an AsyncAPI 3.0 document: one channel per route, receive
operations for what clients send, send operations for the replies, x-ws-routes-* extensions
for the rest. Importing the result gives the same spec back.
"""


def _usage(command: str, message: str) -> int:
    print(f"ws-routes {command}: error: {message}", file=sys.stderr)
    return 2


def _report(errors: list[SpecError]) -> int:
    for error in errors:
        print(error, file=sys.stderr)
    print(f"{len(errors)} error(s)", file=sys.stderr)
    return 1


def _write(command: str, text: str, output: str | None, force: bool) -> int:
    if output is None:
        sys.stdout.write(text)
        return 0
    target = Path(output)
    if target.exists() and not force:
        return _usage(command, f"{output} exists; pass --force to overwrite it")
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        return _usage(command, f"cannot write {output}: {exc.strerror or exc}")
    print(f"wrote {output}", file=sys.stderr)
    return 0


def _import(args: argparse.Namespace) -> int:
    from ws_routes.spec.asyncapi import import_asyncapi

    source = Path(args.file)
    if not source.is_file():
        return _usage("import-asyncapi", f"no such file {args.file!r}")
    if args.output is not None and Path(args.output).exists() and not args.force:
        return _usage("import-asyncapi", f"{args.output} exists; pass --force to overwrite it")
    try:
        text = import_asyncapi(source)
    except SpecErrors as many:
        return _report(list(many.errors))
    except SpecError as one:
        return _report([one])
    return _write("import-asyncapi", text, args.output, args.force)


def _export(args: argparse.Namespace) -> int:
    from ws_routes.spec.asyncapi import export_asyncapi
    from ws_routes.spec.asyncapi.emit import dump_yaml
    from ws_routes.spec.loader import SPEC_FILE_NAMES, find_spec_file, load_spec

    spec_path = Path(args.spec) if args.spec is not None else find_spec_file(Path.cwd())
    if spec_path is None:
        names = ", ".join(SPEC_FILE_NAMES)
        return _usage(
            "export-asyncapi",
            f"no spec in {Path.cwd()} (looked for {names} and [tool.ws-routes] in pyproject.toml)",
        )
    if not spec_path.is_file():
        return _usage("export-asyncapi", f"no such file {str(spec_path)!r}")
    if args.output is not None and Path(args.output).exists() and not args.force:
        return _usage("export-asyncapi", f"{args.output} exists; pass --force to overwrite it")
    try:
        spec = load_spec(spec_path, rootdir=Path.cwd())
    except SpecErrors as many:
        return _report(list(many.errors))
    except SpecError as one:
        return _report([one])
    document = export_asyncapi(spec, include_secrets=args.include_secrets)
    if args.output is not None and args.output.lower().endswith(".json"):
        text = json.dumps(document, indent=2, ensure_ascii=False) + "\n"
    else:
        text = dump_yaml(document)
    return _write("export-asyncapi", text, args.output, args.force)


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the AsyncAPI subcommands to ``sub`` (the ``ws-routes`` subparsers)."""
    importer = sub.add_parser(
        "import-asyncapi",
        help="write a ws-routes spec from an AsyncAPI document",
        description=_IMPORT_HELP,
    )
    importer.add_argument(
        "file", metavar="FILE", help="the AsyncAPI document (.yaml, .yml or .json)"
    )
    importer.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="write the spec here (e.g. ws-routes.yaml) instead of stdout",
    )
    importer.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    importer.set_defaults(run=_import)

    exporter = sub.add_parser(
        "export-asyncapi",
        help="write an AsyncAPI 3.0 document from a ws-routes spec",
        description=_EXPORT_HELP,
    )
    exporter.add_argument(
        "spec", nargs="?", metavar="SPEC", help="spec file (default: found from the current folder)"
    )
    exporter.add_argument(
        "-o",
        "--output",
        metavar="OUT",
        help="write the document here instead of stdout; JSON when OUT ends in .json, else YAML",
    )
    exporter.add_argument("--force", action="store_true", help="overwrite OUT if it exists")
    exporter.add_argument(
        "--include-secrets",
        action="store_true",
        help="also write the spec's auth.token (left out by default: exports get published)",
    )
    exporter.set_defaults(run=_export)
