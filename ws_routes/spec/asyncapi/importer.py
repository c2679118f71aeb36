"""AsyncAPI 2.x / 3.x document -> the text of an equivalent ws_routes spec.

Channels on WebSocket servers become routes (the server's path prefix joined to the channel
address); parameters become ``path_params``, ``ws`` bindings ``query`` and ``headers``, messages
and replies come from :mod:`.channels`, and the ``x-ws-routes-*`` extensions fill in what AsyncAPI
cannot say. The text is loaded back before it is returned, so whatever this module writes is a
valid spec; a problem found only then is still reported at its line in the AsyncAPI document.
"""

from __future__ import annotations

import dataclasses
import difflib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ws_routes.errors import (
    Location,
    SpecError,
    SpecErrors,
    did_you_mean,
    pointer_join,
    pointer_tokens,
)
from ws_routes.spec.asyncapi.channels import Channel, entries, read_channels, read_servers
from ws_routes.spec.asyncapi.documents import Address, Documents, display_path
from ws_routes.spec.asyncapi.emit import dump_yaml
from ws_routes.spec.asyncapi.extensions import PARAMETER, ROOT, ROUTE, read_extensions
from ws_routes.spec.asyncapi.messages import Message
from ws_routes.spec.asyncapi.protocol_keys import with_replies
from ws_routes.spec.asyncapi.schemas import DRAFT_07, bundle_schema
from ws_routes.spec.loader import load_spec_text
from ws_routes.spec.metavalidate import show
from ws_routes.spec.urls import url_problem

__all__ = ["import_asyncapi"]

_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)(?:-[0-9A-Za-z.-]+)?$")
_PATH_PARAM = re.compile(r"\{([^{}:]+)(?::[^{}]*)?\}")
_ROUTE_ORDER = (
    "description",
    "path_params",
    "query",
    "headers",
    "subprotocols",
    "auth",
    "states",
    "opening",
    "clients",
    "messages",
    "replies",
    "close_codes",
    "invalid",
    "checks",
    "settings",
    "markers",
    "fixtures",
)
_API_KEY_PLACES = {"query": "query_param", "header": "header", "cookie": "cookie"}


def _join(prefix: str, address: str | None) -> str:
    """A server path prefix joined to a channel address: ``/v2`` + ``/book/{symbol}``."""
    address = address or ""
    if address in ("", "/") and prefix:
        return prefix
    return prefix.rstrip("/") + "/" + address.lstrip("/") if prefix else "/" + address.lstrip("/")


def _scheme_auth(scheme: Mapping[str, Any]) -> dict[str, Any] | None:
    """Where a security scheme puts the credential, as a ws_routes ``auth`` mapping."""
    kind, place = scheme.get("type"), scheme.get("in")
    if (
        kind == "httpApiKey"
        and isinstance(place, str)
        and place in _API_KEY_PLACES
        and isinstance(scheme.get("name"), str)
    ):
        return {_API_KEY_PLACES[place]: scheme["name"]}
    http = str(scheme.get("scheme", "")).lower()
    if (kind == "http" and http == "bearer") or kind in ("oauth2", "openIdConnect"):
        return {"header": "Authorization", "scheme": "Bearer"}
    if kind == "http" and http == "basic":
        return {"header": "Authorization", "scheme": "Basic"}
    return None


@dataclasses.dataclass(slots=True)
class _Route:
    path: str
    fields: dict[str, Any]
    # Pointer inside the route's output -> where it came from.
    origins: dict[str, Address]
    messages: list[Message]
    replies: list[Message]


def _name(messages: list[Message], fallback: str) -> None:
    """Give each message the first of its candidate names that is still free on the route."""
    taken: set[str] = set()
    for message in messages:
        candidates = message.candidates or [fallback]
        free = [c for c in candidates if c not in taken]
        if free:
            message.name = free[0]
        else:
            base, number = candidates[0], 2
            while f"{base}_{number}" in taken:
                number += 1
            message.name = f"{base}_{number}"
        taken.add(message.name)


class _Importer:
    def __init__(self, path: Path) -> None:
        self.docs = Documents(path)
        self.at = Address(self.docs.main)
        self.notes: list[str] = []
        self.version = self._version()
        self.root: Mapping[str, Any] = self.docs.root
        content_type = self.root.get("defaultContentType")
        self.default_content_type = content_type if isinstance(content_type, str) else None
        self.servers = read_servers(self.docs, self.version)
        self.origins: dict[str, Address] = {}
        self.extensions = read_extensions(self.docs, self.root, self.at, ROOT)
        self.dialect = str(self.extensions.pop("schema_dialect", (DRAFT_07,))[0])

    def _version(self) -> int:
        root, docs = self.docs.root, self.docs
        if not isinstance(root, Mapping):
            raise docs.error(
                f"expected an AsyncAPI document (a mapping with an 'asyncapi' key), got {show(root)}",
                self.at,
            )
        if "asyncapi" not in root:
            keys = ", ".join(map(repr, list(root)[:6])) or "none"
            if "openapi" in root or "swagger" in root:
                hint = "this is an OpenAPI document: it describes HTTP operations, not WebSocket channels"
            elif "routes" in root:
                hint = "this looks like a ws-routes spec already"
            else:
                close = difflib.get_close_matches("asyncapi", [str(k) for k in root], n=1)
                hint = (
                    f"did you mean 'asyncapi' instead of {close[0]!r}?"
                    if close
                    else "is this an AsyncAPI document?"
                )
            raise docs.error(
                f"not an AsyncAPI document: expected a top-level 'asyncapi' key, got keys {keys}",
                self.at,
                hint,
            )
        version, at = root["asyncapi"], self.at.child("asyncapi")
        if not isinstance(version, str):
            raise docs.error(
                f"expected the AsyncAPI version as a string such as '3.0.0', got {show(version)}",
                at,
                hint=f"quote it: asyncapi: '{version}'" if isinstance(version, float) else None,
            )
        match = _VERSION.match(version)
        if match is None:
            raise docs.error(f"expected a version such as '2.6.0' or '3.0.0', got {version!r}", at)
        major = int(match.group(1))
        if major not in (2, 3):
            hint = "convert it to AsyncAPI 2.6 or 3.0 first, e.g. with the AsyncAPI CLI's 'convert'"
            raise docs.error(
                f"unsupported AsyncAPI version {version!r}: expected 2.x or 3.x",
                at,
                hint if major < 2 else None,
            )
        return major

    # -- routes -----------------------------------------------------------------------------

    def _prefixes(self, channel: Channel) -> list[str] | None:
        """The path prefixes a channel is served under, or None when no WebSocket server has it."""
        if not self.servers:
            return [""]
        candidates = channel.servers or list(dict.fromkeys(self.servers.values()))
        websocket = [s for s in candidates if s.websocket]
        if not websocket:
            others = ", ".join(f"{s.name!r} ({s.protocol})" for s in candidates)
            location = self.docs.locate(channel.at)
            self.notes.append(f"{location}: skipped: only on non-WebSocket servers {others}")
            return None
        return list(dict.fromkeys(s.prefix for s in websocket))

    def _extensions(self, channel: Channel) -> dict[str, tuple[Any, Address]]:
        found: dict[str, tuple[Any, Address]] = {}
        for node, at in channel.sources:
            for key, value in read_extensions(self.docs, node, at, ROUTE).items():
                found.setdefault(key, value)
        return found

    def _schema(self, origins: dict[str, Address], pointer: str, node: Any, at: Address) -> Any:
        bundled = bundle_schema(self.docs, node, at, self.dialect)
        origins.update({pointer + inner: source for inner, source in bundled.origins.items()})
        return bundled.value

    def _path_params(
        self, channel: Channel, path: str, origins: dict[str, Address]
    ) -> dict[str, Any]:
        names = set(_PATH_PARAM.findall(path))
        params: dict[str, Any] = {}
        at = channel.at.child("parameters")
        for name, raw in entries(self.docs, channel.node.get("parameters"), at, "parameters"):
            try:
                node, where, _ = self.docs.deref(raw, at.child(name))
            except SpecError as exc:
                self.docs.errors.append(exc)
                continue
            if name not in names:
                location = self.docs.locate(where)
                self.notes.append(
                    f"{location}: parameter {name!r} is not in the path {path!r}: left out"
                )
                continue
            extension = read_extensions(self.docs, node, where, PARAMETER).get("schema")
            pointer = pointer_join("/path_params", name)
            if extension is not None:
                params[name] = self._schema(origins, pointer, *extension)
            elif self.version == 2 and isinstance(node, Mapping) and "schema" in node:
                params[name] = self._schema(origins, pointer, node["schema"], where.child("schema"))
            elif isinstance(node, Mapping) and any(
                k in node for k in ("enum", "default", "examples", "description")
            ):
                # 3.x parameters are strings described by enum/default/examples, not by a schema.
                keys = ("enum", "default", "examples", "description")
                params[name] = {"type": "string", **{k: node[k] for k in keys if k in node}}
                origins[pointer] = where
        return params

    def _bindings(
        self, channel: Channel, fields: dict[str, Any], origins: dict[str, Address]
    ) -> None:
        if channel.node.get("bindings") is None:
            return
        try:
            bindings, at, _ = self.docs.deref(
                channel.node["bindings"], channel.at.child("bindings")
            )
            if not isinstance(bindings, Mapping) or "ws" not in bindings:
                return
            ws, at, _ = self.docs.deref(bindings["ws"], at.child("ws"))
        except SpecError as exc:
            self.docs.errors.append(exc)
            return
        for key in ("query", "headers"):
            if isinstance(ws, Mapping) and key in ws:
                fields[key] = self._schema(origins, "/" + key, ws[key], at.child(key))

    def _schemes(self, requirement: Any, at: Address) -> list[tuple[Any, Address]]:
        """The security schemes one requirement names: by name (2.x) or by $ref (3.x)."""
        if self.version == 3:
            return [(requirement, at)]
        components = self.root.get("components")
        schemes = components.get("securitySchemes") if isinstance(components, Mapping) else None
        schemes = schemes if isinstance(schemes, Mapping) else {}
        found = []
        for name in requirement if isinstance(requirement, Mapping) else []:
            if name in schemes:
                found.append((schemes[name], self.at.child("components", "securitySchemes", name)))
            else:
                hint = did_you_mean(name, schemes) or "declare it under components.securitySchemes"
                self.docs.report(f"unknown security scheme {name!r}", at.child(name), hint)
        return found

    def _auth_from_security(self, channel: Channel) -> dict[str, Any] | None:
        requirements = list(channel.security)
        for server in channel.servers or list(dict.fromkeys(self.servers.values())):
            if server.websocket:
                requirements += server.security
        for requirement, at in requirements:
            for raw, where in self._schemes(requirement, at):
                try:
                    scheme, scheme_at, _ = self.docs.deref(raw, where)
                except SpecError as exc:
                    self.docs.errors.append(exc)
                    continue
                auth = _scheme_auth(scheme) if isinstance(scheme, Mapping) else None
                location = self.docs.locate(scheme_at)
                if auth is not None:
                    self.notes.append(
                        f"{location}: auth comes from this security scheme;"
                        " give the token with --routes-auth"
                    )
                    return auth
                self.notes.append(f"{location}: a security scheme ws-routes cannot send: not used")
        return None

    def _route(
        self, channel: Channel, path: str, extensions: dict[str, tuple[Any, Address]]
    ) -> _Route:
        fields: dict[str, Any] = {}
        origins: dict[str, Address] = {"": channel.at}
        description = channel.node.get("description", channel.node.get("summary"))
        if isinstance(description, str) and description.strip():
            fields["description"] = description.strip()
        params = self._path_params(channel, path, origins)
        if params:
            fields["path_params"] = params
        self._bindings(channel, fields, origins)
        for key, (value, at) in extensions.items():
            if key == "path":
                continue
            origins["/" + key] = at
            if key == "auth" and isinstance(value.get("first_message"), (Mapping, bool)):
                pointer = "/auth/first_message"
                value = {
                    **value,
                    "first_message": self._schema(
                        origins, pointer, value["first_message"], at.child("first_message")
                    ),
                }
            fields[key] = value
        if "auth" not in fields:
            auth = self._auth_from_security(channel)
            if auth is not None:
                fields["auth"] = auth
        copies = [
            [dataclasses.replace(m) for m in group] for group in (channel.messages, channel.replies)
        ]
        return _Route(path, fields, origins, *copies)

    def _routes(self) -> dict[str, _Route]:
        routes: dict[str, _Route] = {}
        channels = read_channels(
            self.docs,
            self.version,
            self.servers,
            self.default_content_type,
            self.dialect,
            self.notes,
        )
        for channel in channels:
            prefixes = self._prefixes(channel)
            if prefixes is None:
                continue
            extensions = self._extensions(channel)
            if "path" in extensions:
                paths = [extensions["path"][0]]
            else:
                paths = [_join(prefix, channel.address) for prefix in prefixes]
            for path in paths:
                route = self._route(channel, path, extensions)
                if path not in routes:
                    routes[path] = route
                    continue
                # Several channels on one socket: one route with all their messages.
                location = self.docs.locate(channel.at)
                self.notes.append(
                    f"{location}: same path {path!r} as an earlier channel: merged into its route"
                )
                existing = routes[path]
                existing.messages += route.messages
                existing.replies += route.replies
                for key, value in route.fields.items():
                    existing.fields.setdefault(key, value)
        return routes

    # -- output -----------------------------------------------------------------------------

    def _route_data(self, route: _Route, pointer: str) -> dict[str, Any]:
        _name(route.messages, "message")
        _name(route.replies, "reply")
        data = dict(route.fields)
        self.origins.update({pointer + inner: at for inner, at in route.origins.items()})
        for group, members in (("messages", route.messages), ("replies", route.replies)):
            if not members:
                continue
            data[group] = {}
            for message in members:
                body = dict(message.body)
                if group == "messages":
                    linked = [
                        r.name for link in message.links for r in route.replies if r.identity & link
                    ]
                    body, left_out = with_replies(body, linked)
                    if left_out:
                        self.notes.append(
                            f"{self.docs.locate(message.origin)}: its stream has no"
                            f" {', '.join(map(repr, left_out))} that its operation reply lists:"
                            " left out"
                        )
                at = pointer_join(pointer, group, message.name)
                self.origins.update(
                    {at + inner: source for inner, source in message.origins.items()}
                )
                data[group][message.name] = body
        return {key: data[key] for key in _ROUTE_ORDER if key in data}

    def data(self) -> dict[str, Any]:
        routes = self._routes()
        spec: dict[str, Any] = {"version": 1}
        for key, (value, at) in self.extensions.items():
            spec[key] = value
            self.origins["/" + key] = at
        spec["routes"] = {
            path: self._route_data(route, pointer_join("", "routes", path))
            for path, route in routes.items()
        }
        if self.docs.errors:
            _raise(self.docs.errors, display_path(self.docs.main))
        if not routes:
            reasons = "; ".join(self.notes[:3]) or "the document has no channels"
            raise self.docs.error("no WebSocket channel to import", self.at, hint=reasons)
        self._live_notes("server" in spec)
        return spec

    def _live_notes(self, chosen: bool) -> None:
        """Where each WebSocket server runs, for live mode; the routes already hold its prefix."""
        seen = {s.name: s for s in self.servers.values() if s.websocket and s.host}
        for server in seen.values():
            url = f"{server.protocol}://{server.host}"
            if url_problem(url) is None and not chosen:
                self.notes.append(
                    f"server {server.name!r} runs at {url}: test it there with --routes-url "
                    f"{url} (or x-ws-routes-server: {{url: ...}} in the document)"
                )

    def header(self) -> str:
        info = self.root.get("info")
        info = info if isinstance(info, Mapping) else {}
        title = " ".join(str(info[k]) for k in ("title", "version") if k in info)
        lines = [
            f"ws-routes spec imported from {display_path(self.docs.main)}"
            f" (AsyncAPI {self.root['asyncapi']}{': ' + title if title else ''}).",
            "Check it against the app: AsyncAPI does not say how the server closes or how clients",
            "authenticate unless the x-ws-routes-* extensions do (see docs/asyncapi.md).",
        ]
        if self.notes:
            lines += ["", "Notes:", *(f"- {note}" for note in dict.fromkeys(self.notes))]
        return "".join(f"# {line}".rstrip() + "\n" for line in lines)

    def relocate(self, error: SpecError) -> SpecError:
        """A problem of the generated spec, located where its source is in the AsyncAPI document."""
        tokens = pointer_tokens(error.location.pointer)
        for size in range(len(tokens), -1, -1):
            source = self.origins.get(pointer_join("", *tokens[:size]))
            if source is not None:
                location = self.docs.locate(source.child(*tokens[size:]))
                return SpecError(error.message, location=location, hint=error.hint)
        location = Location(file=display_path(self.docs.main), pointer=error.location.pointer)
        return SpecError(error.message, location=location, hint=error.hint)


def _raise(errors: list[SpecError], main: str) -> None:
    """Raise every problem once, in file order, the main document's first."""
    unique = {(str(e.location), e.message): e for e in errors}
    ordered = sorted(
        unique.values(),
        key=lambda e: (
            e.location.file != main,
            e.location.file or "",
            e.location.line or 0,
            e.location.column or 0,
        ),
    )
    if len(ordered) == 1:
        raise ordered[0]
    raise SpecErrors(ordered)


def import_asyncapi(path: str | Path) -> str:
    """Convert an AsyncAPI 2.x or 3.x document (YAML or JSON) into a ws_routes spec.

    Args:
        path: The AsyncAPI document. Its local ``$ref``s, to itself or to files relative to it,
            are resolved; the schemas in the result are self-contained.

    Returns:
        The spec as YAML text, with a comment saying where it came from and what was left out.

    Raises:
        SpecError: The document has one problem (not AsyncAPI, an unsupported version, a
            ``$ref`` that points nowhere...), located at its line.
        SpecErrors: The document has several problems.
    """
    importer = _Importer(Path(path))
    data = importer.data()
    text = importer.header() + dump_yaml(data)
    main = display_path(importer.docs.main)
    try:
        load_spec_text(text, filename="<imported spec>")
    except SpecErrors as many:
        _raise([importer.relocate(e) for e in many.errors], main)
    except SpecError as one:
        _raise([importer.relocate(one)], main)
    return text
