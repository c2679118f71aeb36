"""Finding an app's WebSocket routes, and loading the app from a ``module:attribute`` path.

Discovery walks the routing tables of Starlette (``WebSocketRoute``, ``Mount`` prefixes,
``Router``), FastAPI (``APIWebSocketRoute``, ``include_router`` prefixes, ``mount``) and Litestar
(``app.routes``, which already carry Router and Controller prefixes), through ASGI middleware: a
wrapper is followed through ``.app``-like attributes and ``functools.partial`` arguments.
Framework classes are looked up in ``sys.modules`` only, so discovering a Starlette app never
imports Litestar.

Not seen: routes behind a ``Host`` (our client always sends ``host: testserver``; they are listed
in :attr:`AppRoutes.skipped_hosts`), and routes inside mounted apps without a routing table (a
GraphQL app, a hand-written ASGI app): their prefixes are :attr:`AppRoutes.opaque_mounts`, so
spec routes under them can still be tested as declared.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import re
import sys
import traceback
import types
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ws_routes.app.faults import guarded_app_code
from ws_routes.errors import AppLoadError, did_you_mean
from ws_routes.spec.model import RouteSpec

__all__ = [
    "RouteMatch",
    "match_routes",
    "AppRoutes",
    "DiscoveredRoute",
    "discover",
    "inspect_app",
    "load_app",
    "normalize_template",
    "opaque_mounts",
    "render_path",
    "split_template",
]

# "{name}" or "{name:converter}"; Litestar allows blanks around both parts.
_PARAM = re.compile(r"\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?::\s*([A-Za-z_][A-Za-z0-9_]*)\s*)?\}")
# Attributes through which ASGI middleware usually reaches the app it wraps.
_WRAPPED_ATTRIBUTES = ("app", "application", "asgi_app", "_app", "wrapped", "__wrapped__")
_MAX_DEPTH = 64


@dataclass(frozen=True, slots=True, kw_only=True)
class DiscoveredRoute:
    """A WebSocket route an app declares.

    Attributes:
        path: The template as the app declares it, with every Mount/router prefix:
            ``"/ws/chat/{room_id:int}"``.
        params: Parameter name -> converter (``"str"``, ``"int"``, ``"float"``, ``"path"``,
            ``"uuid"``; Litestar also ``"decimal"``, ``"date"``, ``"datetime"``, ``"time"``,
            ``"timedelta"``; custom Starlette converters by their registered name).
        framework: ``"starlette"``, ``"fastapi"`` or ``"litestar"``.
        endpoint: ``"module.qualname"`` of the handler, for reports.
        handler: The handler object (function, endpoint class, listener method), for type
            introspection.
    """

    path: str
    params: Mapping[str, str]
    framework: str
    endpoint: str | None
    handler: object | None = field(default=None, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class AppRoutes:
    """Everything discovery learned about an app.

    Attributes:
        routes: The WebSocket routes sorted by path; None when no routing table was found
            (a plain ASGI callable).
        opaque_mounts: Prefixes of mounted apps without a visible routing table (``""`` for a
            mount at the root), sorted.
        skipped_hosts: Host patterns of ``Host`` routes, which are not walked.
        http_routes: Paths of the HTTP routes the app documents (in its OpenAPI schema), sorted:
            what pytest-routes tests, so a run without it can say they went untested.
    """

    routes: tuple[DiscoveredRoute, ...] | None
    opaque_mounts: tuple[str, ...] = ()
    skipped_hosts: tuple[str, ...] = ()
    http_routes: tuple[str, ...] = ()


def inspect_app(app: Any) -> AppRoutes:
    """Walk ``app``'s routing tables (through middleware) and report what was found."""
    walker = _Walker()
    found = walker.visit(app, "", "starlette", ())
    unique: dict[str, DiscoveredRoute] = {}
    for route in walker.routes:
        unique.setdefault(route.path, route)  # the first one wins, as in routing
    return AppRoutes(
        routes=tuple(sorted(unique.values(), key=lambda r: r.path)) if found else None,
        opaque_mounts=tuple(sorted(set(walker.mounts))),
        skipped_hosts=tuple(sorted(set(walker.hosts))),
        http_routes=tuple(sorted(set(walker.http))),
    )


def discover(app: Any) -> list[DiscoveredRoute] | None:
    """The app's WebSocket routes sorted by path, or None when it has no routing table."""
    routes = inspect_app(app).routes
    return None if routes is None else list(routes)


def opaque_mounts(app: Any) -> list[str]:
    """Prefixes of mounted apps whose routes cannot be seen (see :class:`AppRoutes`)."""
    return list(inspect_app(app).opaque_mounts)


def split_template(path: str) -> dict[str, str]:
    """``"/ws/{room:int}/{name}"`` -> ``{"room": "int", "name": "str"}``."""
    return {m.group(1): m.group(2) or "str" for m in _PARAM.finditer(path)}


def normalize_template(path: str) -> str:
    """``"/ws/{id:int}"`` -> ``"/ws/{id}"``: the form spec paths and app paths are matched in."""
    return _PARAM.sub(lambda m: "{" + m.group(1) + "}", path)


def render_path(template: str, values: Mapping[str, str]) -> str:
    """Fill a template's parameters with ``values``, percent-encoded for the wire.

    Everything outside RFC 3986's unreserved characters is encoded, ``/`` included, except in
    ``path`` parameters, which may span segments.

    Raises:
        ValueError: A parameter has no value.
    """
    missing = [name for name in split_template(template) if name not in values]
    if missing:
        raise ValueError(f"no value for path parameter(s) {', '.join(missing)} of {template!r}")

    def fill(match: re.Match[str]) -> str:
        safe = "/" if (match.group(2) or "str") == "path" else ""
        return quote(str(values[match.group(1)]), safe=safe)

    return _PARAM.sub(fill, template)


class _Walker:
    def __init__(self) -> None:
        self.routes: list[DiscoveredRoute] = []
        self.mounts: list[str] = []
        self.hosts: list[str] = []
        self.http: list[str] = []

    def visit(self, app: object, prefix: str, framework: str, stack: tuple[int, ...]) -> bool:
        """Collect routes under ``app``; False when it has no routing table we can read."""
        if id(app) in stack or len(stack) > _MAX_DEPTH:
            return False
        stack += (id(app),)
        if _isinstance(app, "litestar.app", "Litestar"):
            self._litestar(app, prefix)
            return True
        if _isinstance(app, "starlette.applications", "Starlette"):
            framework = (
                "fastapi" if _isinstance(app, "fastapi.applications", "FastAPI") else "starlette"
            )
            self._routes(getattr(app, "router", app).routes, prefix, framework, stack)  # type: ignore[attr-defined]
            return True
        if _isinstance(app, "starlette.routing", "Router"):
            if _isinstance(app, "fastapi.routing", "APIRouter"):
                framework = "fastapi"
            self._routes(app.routes, prefix, framework, stack)  # type: ignore[attr-defined]
            return True
        return any(self.visit(inner, prefix, framework, stack) for inner in _wrapped(app))

    def _routes(
        self, routes: Iterable[Any], prefix: str, framework: str, stack: tuple[int, ...]
    ) -> None:
        for route in routes:
            if _isinstance(route, "starlette.routing", "WebSocketRoute"):
                api = _isinstance(route, "fastapi.routing", "APIWebSocketRoute")
                self._add(prefix + route.path, "fastapi" if api else framework, route.endpoint)
            elif _isinstance(route, "starlette.routing", "Mount"):
                path = prefix + route.path
                if not self.visit(route.app, path, framework, stack):
                    self.mounts.append(path)
            elif _isinstance(route, "starlette.routing", "Host"):
                self.hosts.append(route.host)
            elif _isinstance(route, "starlette.routing", "Route"):
                # FastAPI's own /docs and /openapi.json are left out of the schema: not the app's.
                if getattr(route, "include_in_schema", True):
                    self.http.append(prefix + route.path)
            elif hasattr(route, "original_router") and hasattr(route, "include_context"):
                # Recent FastAPI (0.165 here) includes routers lazily, as a private
                # _IncludedRouter, instead of copying their routes with the prefix applied.
                inner_prefix = prefix + getattr(route.include_context, "prefix", "")
                self._routes(route.original_router.routes, inner_prefix, "fastapi", stack)

    def _litestar(self, app: Any, prefix: str) -> None:
        for route in app.routes:
            if _isinstance(route, "litestar.routes.websocket", "WebSocketRoute"):
                fn = route.route_handler.fn
                # Listeners wrap the user's function in a ListenerHandler (private ``_fn``),
                # sync ones also in an AsyncCallable (``func``).
                fn = getattr(fn, "_fn", fn)
                self._add(_join(prefix, route.path), "litestar", getattr(fn, "func", fn))
            elif _isinstance(route, "litestar.routes.asgi", "ASGIRoute"):
                self.mounts.append(_join(prefix, route.path))
            elif _isinstance(route, "litestar.routes.http", "HTTPRoute") and any(
                # Litestar's /schema routes (and automatic OPTIONS handlers) are not in the schema.
                _in_schema(h)
                for h in getattr(route, "route_handlers", ())
            ):
                self.http.append(_join(prefix, route.path))

    def _add(self, path: str, framework: str, handler: object) -> None:
        self.routes.append(
            DiscoveredRoute(
                path=path,
                params=split_template(path),
                framework=framework,
                endpoint=_qualified_name(handler),
                handler=handler,
            )
        )


def _in_schema(handler: object) -> bool:
    resolve = getattr(handler, "resolve_include_in_schema", None)
    if callable(resolve):
        return bool(resolve())
    return getattr(handler, "include_in_schema", True) is True


def _isinstance(obj: object, module: str, name: str) -> bool:
    # A class from a module that was never imported cannot have instances.
    cls = getattr(sys.modules.get(module), name, None)
    return isinstance(cls, type) and isinstance(obj, cls)


def _join(prefix: str, path: str) -> str:
    return prefix + path if path != "/" or not prefix else prefix


def _wrapped(app: object) -> Iterator[object]:
    """Objects ``app`` may wrap: middleware ``.app`` chains, partial arguments, bound methods."""
    if isinstance(app, functools.partial):
        yield app.func
        yield from app.args
        yield from app.keywords.values()
        return
    if inspect.ismethod(app):
        yield app.__self__
    for name in _WRAPPED_ATTRIBUTES:
        try:
            inner = inspect.getattr_static(app, name)
        except AttributeError:
            continue
        if isinstance(inner, property | functools.cached_property):
            continue  # computing it could have side effects
        if isinstance(inner, types.MemberDescriptorType):  # a __slots__ attribute
            inner = getattr(app, name, None)
        if callable(inner):
            yield inner


def _qualified_name(obj: object) -> str | None:
    try:
        target = inspect.unwrap(obj) if callable(obj) else obj
    except ValueError:  # a __wrapped__ cycle
        target = obj
    if inspect.ismethod(target):
        target = target.__func__
    module = getattr(target, "__module__", None)
    qualname = getattr(target, "__qualname__", None)
    if not isinstance(qualname, str):  # an instance: name its class
        module, qualname = type(target).__module__, type(target).__qualname__
    return f"{module}.{qualname}" if module else qualname


def load_app(
    import_path: str, *, rootdir: Path | None = None, timeout: float | None = None
) -> Any:
    """Import an ASGI app from ``"module:attribute"`` (``"module:factory()"`` calls a factory).

    ``rootdir`` is put first on ``sys.path`` so a project's own modules import. With
    ``timeout``, the import and the factory call each get that many seconds (on the main
    thread; see :func:`ws_routes.app.faults.main_thread_deadline`).

    Raises:
        AppLoadError: The path is malformed, the module or attribute is missing, importing or the
            factory raised (``SystemExit`` and ``KeyboardInterrupt`` included; a real Ctrl-C
            propagates), did not finish within ``timeout``, or the result is not callable. The
            message says what to do.
    """
    module_name, _, attribute = import_path.partition(":")
    call = attribute.endswith("()")
    attribute = attribute.removesuffix("()")
    if not module_name or not attribute:
        raise AppLoadError(
            f"invalid app {import_path!r}: expected 'module:attribute', e.g. 'myproject.main:app'"
            " (or 'myproject.main:create_app()' to call a factory)"
        )
    if rootdir is not None and str(rootdir) not in sys.path:
        sys.path.insert(0, str(rootdir))
    importlib.invalidate_caches()  # files written since the last import (pytester) are found
    with guarded_app_code(f"importing app module {module_name!r}", timeout):
        module = _import(module_name, rootdir)
    obj: Any = module
    parts = attribute.split(".")
    for depth, part in enumerate(parts):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            owner = ":".join([module_name, *parts[:depth]][:2]) + "".join(
                "." + p for p in parts[1:depth]
            )
            raise AppLoadError(_missing_attribute(module, owner, part, obj)) from None
    if call:
        if not callable(obj):
            raise AppLoadError(f"app factory {import_path!r} is not callable: {obj!r:.80}")
        with guarded_app_code(f"the app factory {import_path!r}", timeout):
            try:
                obj = obj()
            except Exception as exc:
                raise AppLoadError(f"app factory {import_path!r} raised {_summary(exc)}") from exc
        if inspect.isawaitable(obj):
            getattr(obj, "close", lambda: None)()
            raise AppLoadError(f"app factory {import_path!r} is async; use a sync factory")
    if not callable(obj):
        raise AppLoadError(
            f"{import_path!r} is a {type(obj).__name__}, not an ASGI app "
            "(expected a callable 'app(scope, receive, send)')"
        )
    return obj


def _import(module_name: str, rootdir: Path | None) -> Any:
    try:
        return importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        missing = exc.name or ""
        if module_name == missing or module_name.startswith(missing + "."):
            where = rootdir if rootdir is not None else Path.cwd()
            raise AppLoadError(
                f"cannot import app module {module_name!r}: no module named {missing!r} "
                f"(looked on sys.path, starting at {where}; is the project installed, or run "
                "from its root?)"
            ) from exc
        raise AppLoadError(f"importing app module {module_name!r} failed: {exc}") from exc
    except Exception as exc:
        raise AppLoadError(f"importing app module {module_name!r} raised {_summary(exc)}") from exc


def _missing_attribute(module: Any, owner_path: str, part: str, owner: Any) -> str:
    message = f"{owner_path!r} has no attribute {part!r}"
    hint = did_you_mean(part, [n for n in dir(owner) if not n.startswith("_")])
    if hint:
        message += f"; {hint}"
    apps = _app_like_names(module) if owner is module else []
    if apps:
        message += f"; ASGI apps in the module: {', '.join(apps)}"
    return message


def _app_like_names(module: Any) -> list[str]:
    names = []
    for name, value in sorted(vars(module).items()):
        if not name.startswith("_") and _looks_like_asgi_app(value):
            names.append(name)
    return names[:10]


def _looks_like_asgi_app(value: object) -> bool:
    if inspect.isclass(value) or inspect.ismodule(value) or not callable(value):
        return False
    if _isinstance(value, "starlette.applications", "Starlette") or _isinstance(
        value, "litestar.app", "Litestar"
    ):
        return True
    call: Callable[..., Any] = value if inspect.isfunction(value) else value.__call__
    if not inspect.iscoroutinefunction(call):
        return False
    try:
        params = inspect.signature(call).parameters
    except (TypeError, ValueError):
        return False
    return len(params) == 3


def _summary(exc: BaseException) -> str:
    """``RuntimeError: db url missing (at settings.py:12)``: where in the user's code it raised."""
    frames = traceback.extract_tb(exc.__traceback__)
    own = [
        f for f in frames if "importlib" not in f.filename and not f.filename.startswith("<frozen")
    ]
    where = f" (at {own[-1].filename}:{own[-1].lineno})" if own else ""
    text = f": {exc}" if str(exc) else ""
    return f"{type(exc).__name__}{text}{where}"


# -- matching spec routes with app routes ------------------------------------------------------


@dataclass(frozen=True, slots=True, kw_only=True)
class RouteMatch:
    """One route of the app, of the spec, or of both.

    Attributes:
        found: The app's route; None for a spec route the app lacks (or that sits under a
            mounted app whose routes cannot be seen).
        declared: The spec's route; None for an app route the spec does not describe.
        problem: Why a spec route has no app route ("... did you mean ...?"); None when it is
            fine (matched, or under an opaque mount, or the app has no routing table).
    """

    found: DiscoveredRoute | None
    declared: RouteSpec | None
    problem: str | None = None


def match_routes(declared: Sequence[RouteSpec], app: AppRoutes) -> list[RouteMatch]:
    """Pair spec routes with the app's, by template without converters.

    ``{room}`` in the spec matches ``{room:int}`` in the app. App routes come first (in the
    app's order), then spec routes the app lacks.
    """
    if app.routes is None:
        return [RouteMatch(found=None, declared=route) for route in declared]
    by_template = {normalize_template(r.path): r for r in declared}
    used: set[str] = set()
    matches: list[RouteMatch] = []
    for found in app.routes:
        route = by_template.get(normalize_template(found.path))
        if route is not None:
            used.add(route.path)
        matches.append(RouteMatch(found=found, declared=route))
    templates = [normalize_template(r.path) for r in app.routes]
    for route in declared:
        if route.path in used:
            continue
        if any(route.path.startswith(m.rstrip("/") + "/") for m in app.opaque_mounts):
            matches.append(RouteMatch(found=None, declared=route))
            continue
        hint = did_you_mean(normalize_template(route.path), templates)
        problem = (
            f"route {route.path!r} is in the spec but the app has no such WebSocket route"
            + (f" ({hint})" if hint else "")
            + f"; the app's WebSocket routes: {', '.join(sorted(r.path for r in app.routes)) or 'none'}"
        )
        matches.append(RouteMatch(found=None, declared=route, problem=problem))
    return matches
