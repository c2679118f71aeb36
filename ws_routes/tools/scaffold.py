"""``ws-routes init``: a commented spec for an app's WebSocket routes, from its typed handlers.

What a handler's code says becomes the spec: a Litestar ``websocket_listener``'s ``data``
annotation gives the messages and its return annotation the replies (through
:mod:`ws_routes.app.typeschema`), a Starlette ``WebSocketEndpoint``'s ``encoding`` the frame kind,
FastAPI and Litestar signatures the query parameters. What the code does not say (a FastAPI
handler that parses its messages itself) gets ws_routes' permissive defaults and a comment
saying what to fill in.

:func:`merge_spec` adds routes to a spec the user has edited by appending text: the existing
routes, comments and formatting stay byte for byte (a YAML dumper would lose the comments).
:func:`match_routes` pairs spec routes with app routes, as the pytest plugin and ``ws-routes
validate`` both need.
"""

from __future__ import annotations

import dataclasses
import json
import re
import textwrap
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ws_routes import generate
from ws_routes.app.discovery import DiscoveredRoute, inspect_app, normalize_template
from ws_routes.app.handlertypes import HandlerReader, HandlerShape, Part
from ws_routes.errors import SchemaCompileError, WsRoutesError
from ws_routes.spec.yamlpos import parse_yaml

__all__ = [
    "SCHEMA_FILE",
    "SCHEMA_NAME",
    "RouteDraft",
    "Scaffold",
    "ScaffoldError",
    "init_spec",
    "merge_spec",
    "render_yaml",
    "routes_to_add",
    "scaffold",
]

SCHEMA_FILE = Path(__file__).resolve().parents[1] / "data" / "ws-routes.schema.json"
# The spec's first line names the schema by this name, next to the spec: a reference that holds
# on every machine the spec is committed to (`ws-routes schema -o` writes the file).
SCHEMA_NAME = "ws-routes.schema.json"
_WIDTH = 96
_MAX_MESSAGE_SIZE = 65536  # Settings().max_message_size: schemas must fit the default budget


class ScaffoldError(WsRoutesError):
    """A spec that cannot be merged into (flow-style routes, not YAML)."""


# -- YAML text -----------------------------------------------------------------------------------

# Strings that read back as themselves in YAML 1.2 (and 1.1) plain style, in block and flow context.
_PLAIN = re.compile(r"[A-Za-z_$][A-Za-z0-9_$.-]*\Z")
_NOT_PLAIN = frozenset({"true", "false", "null", "yes", "no", "on", "off", "y", "n"})
# Characters YAML does not allow raw in a double-quoted scalar, or reads as line breaks.
_ESCAPE = re.compile("[\x7f-\x9f\u2028\u2029\ud800-\udfff\ufeff\ufffe\uffff]")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    if isinstance(value, str) and _PLAIN.match(value) and value.lower() not in _NOT_PLAIN:
        return value
    # A JSON string is a YAML double-quoted scalar, once YAML's non-printables are escaped.
    text = json.dumps(str(value), ensure_ascii=False)
    return _ESCAPE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def _flow(value: Any) -> str:
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def render_yaml(value: Any, indent: int = 0) -> list[str]:
    """Lines of YAML for a JSON value: block style, short parts in flow style."""
    if not isinstance(value, Mapping | list | tuple) or not value:
        return [" " * indent + _flow(value)]
    pad = " " * indent
    lines: list[str] = []
    if isinstance(value, Mapping):
        for key, item in value.items():
            lines += _entry(_scalar(key), item, indent)
        return lines
    for item in value:
        flow = _flow(item)
        if not isinstance(item, Mapping | list | tuple) or len(pad) + 2 + len(flow) <= _WIDTH:
            lines.append(f"{pad}- {flow}")
        else:
            inner = render_yaml(item, indent + 2)
            lines += [f"{pad}- {inner[0].lstrip()}", *inner[1:]]
    return lines


def _entry(key: str, value: Any, indent: int) -> list[str]:
    pad = " " * indent
    flow = _flow(value)
    if (
        not isinstance(value, Mapping | list | tuple)
        or len(pad) + len(key) + 2 + len(flow) <= _WIDTH
    ):
        return [f"{pad}{key}: {flow}"]
    return [f"{pad}{key}:", *render_yaml(value, indent + 2)]


def _comment(text: str, indent: int) -> list[str]:
    pad = " " * indent + "# "
    return textwrap.wrap(text, _WIDTH, initial_indent=pad, subsequent_indent=pad) or [pad.rstrip()]


# -- what a handler says -------------------------------------------------------------------------


_UNTYPED = (
    "Its messages are not typed in the handler's signature, so ws_routes sends any text, JSON "
    "and bytes until you say what it reads: keep the kinds it handles and give each a schema. "
    "If the handler parses with a pydantic model, paste Model.model_json_schema() as `schema:` "
    'or save it to a file and write `schema: {$ref: "schemas/model.json"}`.'
)
_REPLIES_HINT = [
    "Declare what the server sends to have it checked, and list the replies a message gets",
    "under it as `reply: [ack]`:",
    "replies:",
    "  ack: {kind: json, schema: {type: object, required: [ok]}}",
    "  error: {kind: json, schema: {type: object, required: [error]}, error: true}",
]


def _checked(part: Part) -> Part:
    """``part`` without a schema ws_routes cannot generate from (and a note saying why)."""
    if part.schema is None:
        return part
    try:
        generate.check_schema(part.schema, max_size=_MAX_MESSAGE_SIZE)
    except SchemaCompileError as err:
        why = f"ws_routes cannot generate from the schema ({err}): write one it can."
        return dataclasses.replace(part, schema=None, notes=(*part.notes, why))
    return part


def _finished(shape: HandlerShape) -> HandlerShape:
    if not shape.messages:
        return dataclasses.replace(
            shape, messages=_DEFAULT_MESSAGES, notes=(*shape.notes, _UNTYPED)
        )
    return dataclasses.replace(
        shape,
        messages=tuple(_checked(p) for p in shape.messages),
        replies=tuple(_checked(p) for p in shape.replies),
    )


_DEFAULT_MESSAGES = (
    Part(name="text", kind="text"),
    Part(name="json", kind="json"),
    Part(name="bytes", kind="bytes"),
)


# -- the spec text -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteDraft:
    """One route of a written spec.

    Attributes:
        path: The template, with converters.
        endpoint: The handler, for the summary.
        typed: Its messages came from the handler's code (annotations, ``encoding``).
        text: The route's lines of YAML, its key indented by two spaces.
    """

    path: str
    endpoint: str | None
    typed: bool
    text: str


@dataclass(frozen=True, slots=True, kw_only=True)
class Scaffold:
    """A written spec and the routes in it."""

    text: str
    routes: tuple[RouteDraft, ...]

    @property
    def typed(self) -> int:
        """How many routes have messages taken from their handler's code."""
        return sum(r.typed for r in self.routes)


_PARAM_EXAMPLES = {
    "int": {"type": "integer", "minimum": 0},
    "float": {"type": "number", "minimum": 0},
    "uuid": {"type": "string", "format": "uuid"},
    "path": {"type": "string", "pattern": "^[a-z0-9-]+(/[a-z0-9-]+)*$"},
    "date": {"type": "string", "format": "date"},
}


def _route_text(route: DiscoveredRoute, shape: HandlerShape) -> str:
    lines = [f"  {_scalar(route.path)}:"]
    what = "websocket_listener" if route.framework == "litestar" and shape.typed else "handler"
    lines += _comment(f"{route.framework} {what}: {route.endpoint or '?'}", 4)
    for note in shape.notes:
        lines += _comment(note, 4)
    if shape.path_params:
        lines += _comment("From the handler's signature (other values are refused).", 4)
        lines += _entry("path_params", shape.path_params, 4)
    free = {n: c for n, c in route.params.items() if n not in shape.path_params}
    if free:
        names = ", ".join(f"{{{n}}} ({c})" for n, c in free.items())
        lines += _comment(f"Values for {names} follow the converter; to narrow them:", 4)
        lines += ["    # path_params:"]
        for name, converter in free.items():
            example = _PARAM_EXAMPLES.get(
                converter, {"type": "string", "pattern": "^[a-z0-9-]{1,16}$"}
            )
            lines += [f"    #   {_scalar(name)}: {_flow(example)}"]
    if shape.query is not None:
        lines += _comment("From the handler's query parameters.", 4)
        lines += _entry("query", shape.query, 4)
    lines.append("    messages:")
    replies = [r.name for r in shape.replies]
    for message in shape.messages:
        lines.append(f"      {_scalar(message.name)}:")
        for note in message.notes:
            lines += _comment(note, 8)
        body: dict[str, Any] = {"kind": message.kind}
        if message.schema is not None:
            body["schema"] = message.schema
        if replies:
            body["reply"] = replies
        lines += render_yaml(body, 8)
    if shape.replies:
        lines.append("    replies:")
        for reply in shape.replies:
            lines.append(f"      {_scalar(reply.name)}:")
            for note in reply.notes:
                lines += _comment(note, 8)
            body = {"kind": reply.kind}
            if reply.schema is not None:
                body["schema"] = reply.schema
            lines += render_yaml(body, 8)
    else:
        lines += [f"    # {line}" for line in _REPLIES_HINT]
    return "\n".join(lines) + "\n"


def scaffold(app: Any, app_ref: str) -> Scaffold:
    """Write a spec for every WebSocket route of ``app``.

    Args:
        app: The ASGI app, loaded.
        app_ref: How the spec names it (``"myproject.main:app"``), written as ``app:``.

    Returns:
        The YAML text (it loads with :func:`ws_routes.spec.loader.load_spec_text`) and its routes.
    """
    found = inspect_app(app)
    reader = HandlerReader(app)
    drafts = tuple(
        RouteDraft(
            path=route.path,
            endpoint=route.endpoint,
            typed=(shape := _finished(reader.shape(route))).typed,
            text=_route_text(route, shape),
        )
        for route in found.routes or ()
    )
    lines = [
        f"# yaml-language-server: $schema=./{SCHEMA_NAME}",
        f"# Written by `ws-routes init {app_ref}`. Describe what each route's messages and",
        "# replies look like, then run `pytest --routes-websocket`. Reference: docs/spec.md.",
        "version: 1",
        f"app: {_scalar(app_ref)}",
        "",
    ]
    if found.routes is None:
        lines += _comment(
            f"{app_ref} has no routing table ws_routes can read: list its WebSocket routes "
            'here, e.g. "/ws/chat": {messages: {say: {kind: text}}}',
            0,
        )
    elif not drafts:
        lines += _comment(f"{app_ref} has no WebSocket routes.", 0)
    if not drafts:
        return Scaffold(text="\n".join(lines) + "\nroutes: {}\n", routes=())
    body = "\n".join(d.text for d in drafts)
    return Scaffold(text="\n".join(lines) + "\nroutes:\n" + body, routes=drafts)


def init_spec(app: Any, app_ref: str) -> str:
    """The YAML spec :func:`scaffold` writes for ``app``."""
    return scaffold(app, app_ref).text


# -- merging -------------------------------------------------------------------------------------


def _routes_of(text: str, filename: str) -> dict[str, Any]:
    data, _ = parse_yaml(text, filename=filename)
    if data is None:
        return {}
    if not isinstance(data, Mapping):
        raise ScaffoldError(
            f"{filename}: expected a mapping at the top level, got {type(data).__name__}"
        )
    routes = data.get("routes")
    return dict(routes) if isinstance(routes, Mapping) else {}


def routes_to_add(existing_text: str, new_text: str, *, filename: str = "<spec>") -> list[str]:
    """Route templates of ``new_text`` that ``existing_text`` does not have (converters aside)."""
    have = {normalize_template(p) for p in _routes_of(existing_text, filename)}
    return [p for p in _routes_of(new_text, "<new>") if normalize_template(p) not in have]


def _compose(text: str) -> yaml.Node | None:
    # Positions only: parse_yaml already checked the text (and its duplicate keys).
    return yaml.compose(text, Loader=yaml.SafeLoader)  # type: ignore[no-any-return]


def _last_line(node: yaml.Node) -> int:
    """0-based line of the end of ``node``'s last scalar or flow collection."""
    while isinstance(node, yaml.MappingNode | yaml.SequenceNode) and not node.flow_style:
        if not node.value:
            break
        last = node.value[-1]
        node = last[1] if isinstance(node, yaml.MappingNode) else last
    mark = node.end_mark
    return int(mark.line if mark.column > 0 or mark.line == 0 else mark.line - 1)


def _route_blocks(text: str) -> dict[str, list[str]]:
    """Each route's lines in ``text`` (block style), dedented to column 0."""
    lines = text.splitlines()
    root = _compose(text)
    routes = _top_value(root, "routes")
    if not isinstance(routes, yaml.MappingNode) or routes.flow_style:
        return {}
    blocks: dict[str, list[str]] = {}
    for key, value in routes.value:
        start, column = key.start_mark.line, key.start_mark.column
        while start > 0 and lines[start - 1].strip().startswith("#"):
            start -= 1  # comments right above the key belong to it
        block = lines[start : _last_line(value) + 1]
        blocks[str(key.value)] = [
            line[column:] if line[:column].isspace() else line.lstrip() for line in block
        ]
    return blocks


def _top_value(root: yaml.Node | None, name: str) -> yaml.Node | None:
    if not isinstance(root, yaml.MappingNode):
        return None
    for key, value in root.value:
        if isinstance(key, yaml.ScalarNode) and key.value == name:
            found: yaml.Node = value
            return found
    return None


def merge_spec(existing_text: str, new_text: str, *, filename: str = "ws-routes.yaml") -> str:
    """Add the routes of ``new_text`` that ``existing_text`` lacks, changing nothing else.

    The new routes are appended, as text, after the last existing route (or a ``routes:`` key is
    appended to the file); every existing line stays as it was.

    Raises:
        SpecError: ``existing_text`` is not valid YAML (located).
        ScaffoldError: Its ``routes`` is not a block mapping that text can be appended to.
    """
    if not existing_text.strip():
        return new_text
    missing = routes_to_add(existing_text, new_text, filename=filename)
    if not missing:
        return existing_text
    merged = _append_routes(existing_text, new_text, missing, filename)
    # A safety net before anything is written: every old route kept, in order, new ones after.
    expected = [*_routes_of(existing_text, filename), *missing]
    if list(_routes_of(merged, filename)) != expected:
        raise ScaffoldError(
            f"{filename}: merging went wrong (expected the routes {expected}); nothing was "
            "changed, please report this"
        )
    return merged


def _append_routes(existing_text: str, new_text: str, missing: list[str], filename: str) -> str:
    blocks = _route_blocks(new_text)
    root = _compose(existing_text)
    lines = existing_text.splitlines(keepends=True)
    if lines and not lines[-1].endswith("\n"):
        lines[-1] += "\n"
    if root is None:  # comments only
        return "".join(lines) + new_text
    if not isinstance(root, yaml.MappingNode) or root.flow_style:
        raise ScaffoldError(f"{filename}: the top level is not a block mapping; add routes by hand")
    routes = _top_value(root, "routes")
    if routes is None:
        added = ["\n", "routes:\n", *_indented(missing, blocks, 2)]
        return "".join(lines) + "".join(added)
    if isinstance(routes, yaml.MappingNode) and not routes.flow_style and routes.value:
        column = routes.value[0][0].start_mark.column
        at = _last_line(routes) + 1
        while at < len(lines) and _is_comment_deeper_than(lines[at], column):
            at += 1  # comments indented under the last route are part of it
        return "".join(lines[:at] + _indented(missing, blocks, column) + lines[at:])
    empty_flow = isinstance(routes, yaml.MappingNode) and not routes.value
    if empty_flow or (isinstance(routes, yaml.ScalarNode) and routes.value in ("", "~", "null")):
        # `routes: {}` or `routes:`: the value goes, the routes come in block style under the key.
        start, end = routes.start_mark, routes.end_mark
        line = lines[start.line]
        if end.line == start.line:
            lines[start.line] = line[: start.column].rstrip() + line[end.column :]
        return "".join(
            lines[: start.line + 1] + _indented(missing, blocks, 2) + lines[start.line + 1 :]
        )
    where = f"{filename}:{routes.start_mark.line + 1}"
    raise ScaffoldError(
        f"{where}: routes is written in flow style ({{...}}); write it as a block mapping to "
        "merge new routes into it, or add them by hand"
    )


def _is_comment_deeper_than(line: str, column: int) -> bool:
    stripped = line.lstrip(" ")
    return stripped.startswith("#") and len(line) - len(stripped) > column


def _indented(paths: list[str], blocks: Mapping[str, list[str]], column: int) -> list[str]:
    out: list[str] = []
    for path in paths:
        out.append("\n")
        out += [(" " * column + line if line.strip() else "") + "\n" for line in blocks[path]]
    return out
