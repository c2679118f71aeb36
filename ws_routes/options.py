"""Command-line options and their ini twins, resolved into one typed value. Standard library only.

The pytest plugin registers every :data:`OPTIONS` entry twice (``--routes-ws-timeout`` and
``routes_ws_timeout`` in ``[tool.pytest.ini_options]``); the CLI wins over the ini file, which
wins over the spec's ``settings``, which win over ``[tool.pytest-routes.websocket]``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ws_routes.errors import WsRoutesError

__all__ = ["MAX_SECONDS", "OPTIONS", "Option", "OptionError", "RunOptions", "resolve_options"]


class OptionError(WsRoutesError):
    """A bad option value; the message names the option and the valid values."""


@dataclass(frozen=True, slots=True)
class Option:
    flag: str
    dest: str
    kind: str  # "flag", "str", "int", "float", "csv"
    help: str
    metavar: str | None = None

    @property
    def ini(self) -> str:
        return self.flag.lstrip("-").replace("-", "_")


OPTIONS: tuple[Option, ...] = (
    Option(
        "--routes",
        "routes",
        "flag",
        "accepted for compatibility: route testing (WebSocket routes need --routes-websocket)",
    ),
    Option(
        "--routes-app",
        "routes_app",
        "str",
        "the ASGI app to test, as 'module:attribute' (or 'module:factory()')",
        "MODULE:APP",
    ),
    Option("--routes-websocket", "routes_websocket", "flag", "test the app's WebSocket routes"),
    Option(
        "--routes-url",
        "routes_url",
        "str",
        "test a running server over the network (live mode); routes come from the spec",
        "ws://HOST:PORT[/prefix]",
    ),
    Option(
        "--routes-tls-ca",
        "routes_tls_ca",
        "str",
        "CA certificate file (PEM) that a wss:// server's certificate must chain to",
        "FILE",
    ),
    Option(
        "--routes-tls-insecure",
        "routes_tls_insecure",
        "flag",
        "do not verify a wss:// server's certificate (self-signed test servers)",
    ),
    Option(
        "--routes-server",
        "routes_server",
        "str",
        "run --routes-app under a real server and test it over TCP: uvicorn, uvicorn-wsproto, "
        "uvicorn-websockets, uvicorn-websockets-sansio, hypercorn; or differential[:NAME] "
        "(each finding and probe replayed in-process and under NAME, disagreements reported)",
        "NAME",
    ),
    Option(
        "--routes-spec",
        "routes_spec",
        "str",
        "spec file (default: ws-routes.yaml / .toml next to the rootdir, then pyproject.toml)",
        "PATH",
    ),
    Option(
        "--routes-ws-max-messages",
        "routes_ws_max_messages",
        "int",
        "maximum messages per conversation (default 10)",
        "N",
    ),
    Option(
        "--routes-ws-timeout",
        "routes_ws_timeout",
        "float",
        "connection timeout in seconds (default 30.0)",
        "SECONDS",
    ),
    Option(
        "--routes-ws-message-timeout",
        "routes_ws_message_timeout",
        "float",
        "reply timeout in seconds (default 10.0)",
        "SECONDS",
    ),
    Option(
        "--routes-ws-include",
        "routes_ws_include",
        "csv",
        "comma-separated route globs to test",
        "GLOBS",
    ),
    Option(
        "--routes-ws-exclude",
        "routes_ws_exclude",
        "csv",
        "comma-separated route globs to skip",
        "GLOBS",
    ),
    Option(
        "--routes-max-examples",
        "routes_max_examples",
        "int",
        "conversations per route (default 100, or the Hypothesis profile's)",
        "N",
    ),
    Option(
        "--routes-max-time",
        "routes_max_time",
        "float",
        "stop a route's search after this many seconds (what it found is still shrunk)",
        "SECONDS",
    ),
    Option(
        "--routes-seed", "routes_seed", "int", "seed that makes a run exactly reproducible", "N"
    ),
    Option("--routes-verbose", "routes_verbose", "flag", "print every conversation as it runs"),
    Option(
        "--routes-auth",
        "routes_auth",
        "str",
        "credentials: bearer:TOKEN, header:NAME:VALUE, query:NAME:VALUE or cookie:NAME:VALUE",
        "AUTH",
    ),
)


@dataclass(frozen=True, slots=True, kw_only=True)
class RunOptions:
    """What the user asked for, before the spec is merged in. None means "not given"."""

    enabled: bool = False
    routes: bool = False
    app: str | None = None
    url: str | None = None
    tls_ca: str | None = None
    tls_insecure: bool = False
    server: str | None = None  # --routes-server, checked by driver.servers.parse_server
    spec: str | None = None
    max_messages: int | None = None
    connection_timeout: float | None = None
    message_timeout: float | None = None
    include: tuple[str, ...] | None = None
    exclude: tuple[str, ...] | None = None
    max_examples: int | None = None
    max_time: float | None = None
    seed: int | None = None
    verbose: bool = False
    auth: str | None = field(default=None, repr=False)

    def settings_overrides(self) -> dict[str, Any]:
        """The options that override spec settings, keyed by Settings field name."""
        pairs = {
            "max_messages": self.max_messages,
            "connection_timeout": self.connection_timeout,
            "message_timeout": self.message_timeout,
            "include": self.include,
            "exclude": self.exclude,
            "max_examples": self.max_examples,
        }
        return {k: v for k, v in pairs.items() if v is not None}


# The spec's bounds (ws-routes.schema.json): a day of waiting is never what a test means, and a
# huge float (1e308) overflows the loop's deadline arithmetic.
MAX_SECONDS = 86400
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _convert(option: Option, raw: Any, source: str) -> Any:
    name = option.flag if source == "cli" else f"ini option {option.ini!r}"
    text = str(raw).strip() if not isinstance(raw, list) else ",".join(map(str, raw))
    if option.kind == "flag":
        if isinstance(raw, bool):
            return raw
        if text.lower() in _TRUE | _FALSE:
            return text.lower() in _TRUE
        raise OptionError(f"{name}: expected one of true, false, got {text!r}")
    if option.kind == "int":
        try:
            value = int(text)
        except ValueError:
            raise OptionError(f"{name}: expected a whole number, got {text!r}") from None
        low = 0 if option.dest == "routes_seed" else 1
        if value < low:
            raise OptionError(f"{name}: expected a whole number >= {low}, got {value}")
        return value
    if option.kind == "float":
        wanted = f"a number of seconds greater than 0 and at most {MAX_SECONDS}"
        try:
            number = float(text)
        except ValueError:
            raise OptionError(f"{name}: expected {wanted}, got {text!r}") from None
        # "not 0 < number <= max" also refuses nan (every comparison with it is false) and inf.
        if not 0 < number <= MAX_SECONDS:
            raise OptionError(f"{name}: expected {wanted}, got {text!r}")
        return number
    if option.kind == "csv":
        parts = tuple(p.strip() for p in text.split(",") if p.strip())
        if not parts:
            raise OptionError(
                f"{name}: expected comma-separated route globs such as '/ws/*', got {text!r}"
            )
        return parts
    if not text:
        raise OptionError(f"{name}: expected a value, got an empty string")
    return text


def resolve_options(cli: Callable[[str], Any], ini: Callable[[str], Any]) -> RunOptions:
    """Combine CLI values (``cli(dest)``; None or False when absent) with ini values (``ini(name)``).

    Raises:
        OptionError: a value of the wrong type or range, naming the option and what is valid.
    """
    values: dict[str, Any] = {}
    for option in OPTIONS:
        raw = cli(option.dest)
        source = "cli"
        if raw is None or raw is False:
            raw, source = ini(option.ini), "ini"
            if raw in (None, "", []):
                continue
        values[option.dest] = _convert(option, raw, source)
    get = values.get
    return RunOptions(
        enabled=bool(get("routes_websocket", False)),
        routes=bool(get("routes", False)),
        app=get("routes_app"),
        url=get("routes_url"),
        tls_ca=get("routes_tls_ca"),
        tls_insecure=bool(get("routes_tls_insecure", False)),
        server=get("routes_server"),
        spec=get("routes_spec"),
        max_messages=get("routes_ws_max_messages"),
        connection_timeout=get("routes_ws_timeout"),
        message_timeout=get("routes_ws_message_timeout"),
        include=get("routes_ws_include"),
        exclude=get("routes_ws_exclude"),
        max_examples=get("routes_max_examples"),
        max_time=get("routes_max_time"),
        seed=get("routes_seed"),
        verbose=bool(get("routes_verbose", False)),
        auth=get("routes_auth"),
    )
