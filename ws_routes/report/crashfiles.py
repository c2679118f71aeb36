"""Crash files: every finding saved as ``.ws-routes/crashes/<route>-<bug>.json`` in the rootdir.

A crash file holds what replaying the finding needs without the run that found it: the minimal
conversation (or the probe it was), the route, the run's settings for it and a digest of its
spec, the app and spec file, the seed and Hypothesis' reproduction blob, and the versions that
found it. Secrets are redacted as in every report: the strings that held one are listed, so a
replay puts the credential of its own run (``--routes-auth``, ``--auth``, ``auth.token``) back in.

The next pytest run of the route replays its crash files first and removes those that pass;
``ws-routes replay FILE`` does the same outside pytest (:func:`ws_routes.report.replay.replay_file`).
"""

from __future__ import annotations

import base64
import contextlib
import dataclasses
import datetime
import hashlib
import json
import os
import platform
import re
import shlex
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

from ws_routes.compile.credentials import MASK, Redactor
from ws_routes.driver.transcript import Failure
from ws_routes.engine.conversation import Client, Conversation, Step
from ws_routes.engine.probe_base import Probe
from ws_routes.engine.saved import AfterEarlier, Saved
from ws_routes.errors import WsRoutesError
from ws_routes.spec.model import RouteSpec, Settings

__all__ = [
    "CRASH_DIR",
    "CrashFile",
    "bug_slug",
    "crash_files",
    "crash_root",
    "for_route",
    "load",
    "path_for",
    "replay_command",
    "route_digest",
    "save",
]

CRASH_DIR = Path(".ws-routes") / "crashes"
FORMAT = 1
# A JSON path into the conversation's stored form: keys and list indexes.
Pointer = tuple[str | int, ...]


@dataclass(frozen=True, slots=True, kw_only=True)
class CrashFile:
    """One saved finding. ``conversation`` is the stored (JSON) form, redacted; ``redacted``
    lists the strings in it where a secret was masked."""

    route: str
    bug: str
    failure: Mapping[str, Any]  # check, error_type, message, expected, actual, index, security
    report: str
    conversation: Mapping[str, Any]
    redacted: tuple[Pointer, ...] = ()
    probe: Mapping[str, Any] | None = None  # group, name, expect, detail, baseline
    app: str | None = None
    url: str | None = None  # the server a live run tested (--routes-url): replays go there
    spec: str | None = None  # relative to the crash file's root
    spec_digest: str = ""
    settings: Settings = field(default_factory=Settings)
    seed: int | None = None
    derandomized: bool = False
    hypothesis_blob: str | None = None  # @reproduce_failure(...) of the shrunk example
    versions: Mapping[str, str] = field(default_factory=dict)
    created: str = ""
    # Connections to replay first, in order (a state leak, engine.leaks), stored and redacted
    # as ``conversation`` is.
    earlier: tuple[Mapping[str, Any], ...] = ()
    earlier_redacted: tuple[Pointer, ...] = ()

    @property
    def check(self) -> str:
        return str(self.failure.get("check", ""))

    def saved(self, secret: str | None = None) -> Saved:
        """The conversation (or probe) to replay, with ``secret`` where one was redacted."""
        data = json.loads(json.dumps(self.conversation))  # a copy to put the secret into
        earlier = json.loads(json.dumps(list(self.earlier)))
        if secret is not None:
            for pointer in self.redacted:
                _restore(data, pointer, secret)
            for pointer in self.earlier_redacted:
                _restore(earlier, pointer, secret)
        saved = self._saved(_conversation(data))
        if earlier:
            return AfterEarlier(saved, tuple(_conversation(c) for c in earlier))
        return saved

    def _saved(self, conversation: Conversation) -> Conversation | Probe:
        if self.probe is None:
            return conversation
        p = self.probe
        return Probe(
            p["group"],
            p["name"],
            conversation,
            p.get("expect", "accept"),
            p.get("detail", ""),
            bool(p.get("baseline", False)),
        )


def build(
    *,
    route: RouteSpec,
    failure: Failure,
    bug: str,
    conversation: Conversation,
    report: str,
    redactor: Redactor,
    probe: Probe | None = None,
    app: str | None = None,
    spec: str | None = None,
    seed: int | None = None,
    derandomized: bool = False,
    blob: str | None = None,
    url: str | None = None,
    earlier: Sequence[Conversation] = (),
) -> CrashFile:
    """The crash file of one finding, every secret ``redactor`` knows masked."""
    stored, redacted = _redacted(_conversation_json(conversation, redactor), redactor)
    before, before_redacted = _redacted(
        [_conversation_json(c, redactor) for c in earlier], redactor
    )
    return CrashFile(
        route=route.path,
        bug=bug,
        failure={
            "check": failure.check,
            "error_type": failure.error_type,
            "message": redactor.redact(failure.message),
            "expected": redactor.redact(failure.expected),
            "actual": redactor.redact(failure.actual),
            "index": failure.index,
            "security": failure.security,
        },
        report=redactor.redact(report),
        conversation=stored,
        redacted=tuple(redacted),
        probe=None
        if probe is None
        else {
            "group": probe.group,
            "name": probe.name,
            "expect": probe.expect,
            "detail": redactor.redact(probe.detail),
            "baseline": probe.baseline,
        },
        app=app,
        url=url,
        spec=spec,
        spec_digest=route_digest(route),
        settings=route.settings,
        seed=seed,
        derandomized=derandomized,
        hypothesis_blob=blob,
        versions=_versions(),
        created=datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
        earlier=tuple(before),
        earlier_redacted=tuple(before_redacted),
    )


def save(root: Path, crash: CrashFile) -> Path:
    """Write ``crash`` under ``root`` (atomically: a reader never sees half a file)."""
    path = path_for(root, crash.route, crash.bug)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = {"ws_routes_crash": FORMAT, **_fields(crash)}
    # ASCII, so lone surrogates a conversation may hold travel as \ud800 escapes.
    text = json.dumps(data, indent=2, ensure_ascii=True) + "\n"
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)
    return path


def load(path: Path | str) -> CrashFile:
    """Read a crash file.

    Raises:
        WsRoutesError: it cannot be read, or is not a ws_routes crash file of a known format.
    """
    path = Path(path)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise WsRoutesError(f"{path}: cannot read this crash file: {exc}") from None
    if not isinstance(data, dict) or data.get("ws_routes_crash") != FORMAT:
        raise WsRoutesError(
            f"{path}: not a ws_routes crash file (format {FORMAT}); write one with a pytest run"
        )
    try:
        names = {f.name for f in dataclasses.fields(Settings)}
        stored: dict[str, Any] = {
            k: tuple(v) if isinstance(v, list) else v
            for k, v in data.pop("settings", {}).items()
            if k in names
        }
        settings = Settings(**stored)
        known = {f.name for f in dataclasses.fields(CrashFile)}
        fields = {k: v for k, v in data.items() if k in known}
        for name in ("redacted", "earlier_redacted"):
            fields[name] = tuple(tuple(p) for p in fields.get(name, ()))
        fields["earlier"] = tuple(fields.get("earlier", ()))
        crash = CrashFile(settings=settings, **fields)
        crash.saved(MASK)  # a broken conversation, probe or pointer is found now, not mid-replay
    except (TypeError, KeyError, IndexError, ValueError, AttributeError) as exc:
        raise WsRoutesError(f"{path}: a malformed crash file: {exc!r}") from None
    return crash


def crash_root(path: Path | str) -> Path:
    """The project folder a crash file belongs to: above ``.ws-routes/crashes/``, else cwd."""
    path = Path(path).resolve()
    if path.parent.name == CRASH_DIR.name and path.parent.parent.name == CRASH_DIR.parent.name:
        return path.parent.parent.parent
    return Path.cwd()


def path_for(root: Path, route: str, bug: str) -> Path:
    return root / CRASH_DIR / f"{_slug(route) or 'root'}-{bug}.json"


def for_route(root: Path, route: str) -> Iterator[tuple[Path, CrashFile]]:
    """The crash files of ``route`` under ``root``, oldest first; unreadable ones are left."""
    folder = root / CRASH_DIR
    try:
        paths = _by_age(folder.glob(f"{_slug(route) or 'root'}-*.json"), newest=False)
    except OSError:  # no folder, or one we may not read: nothing to replay
        return
    for path in paths:
        with contextlib.suppress(WsRoutesError):
            crash = load(path)
            if crash.route == route:
                yield path, crash


def crash_files(start: Path | str = ".") -> list[Path]:
    """Every crash file of the project ``start`` is in (the nearest ``.ws-routes/crashes``
    in it or above it), newest first."""
    here = Path(start).resolve()
    for folder in (here, *here.parents):
        crashes = folder / CRASH_DIR
        if crashes.is_dir():
            return _by_age(crashes.glob("*.json"), newest=True)
    return []


def bug_slug(failure: Failure, bug: str, root: Path | None = None) -> str:
    """The file-name part of a bug: its check, the exception type if any, and a short digest
    of :func:`ws_routes.engine.findings.bug_of` (with ``root`` left out of its paths, so the
    same bug gets the same name wherever the project is checked out)."""
    if root is not None:
        bug = bug.replace(str(root) + os.sep, "")
    kind = failure.cause.exception.__class__.__name__ if failure.cause is not None else ""
    digest = hashlib.sha256(bug.encode("utf-8", "backslashreplace")).hexdigest()[:8]
    return "-".join(p for p in (failure.check, _slug(kind), digest) if p)


def route_digest(route: RouteSpec) -> str:
    """A digest of everything the spec says about ``route`` (its settings included): a replay
    tells whether the route changed since the crash file was written."""
    text = json.dumps(_plain(route), sort_keys=True, default=repr, ensure_ascii=True)
    return "sha256:" + hashlib.sha256(text.encode("ascii")).hexdigest()[:16]


def replay_command(path: Path | str, root: Path | None = None) -> str:
    """``ws-routes replay <path>``, the path relative to ``root`` (where it is run from)."""
    shown = Path(path)
    if root is not None:
        with contextlib.suppress(ValueError):
            shown = Path(path).relative_to(root)
    return shlex.join(["ws-routes", "replay", str(shown)])


# --- The stored form -----------------------------------------------------------------------------


def _fields(crash: CrashFile) -> dict[str, Any]:
    out = {f.name: getattr(crash, f.name) for f in dataclasses.fields(CrashFile)}
    out["settings"] = _plain(crash.settings)
    out["redacted"] = [list(p) for p in crash.redacted]
    out["earlier"] = list(crash.earlier)
    out["earlier_redacted"] = [list(p) for p in crash.earlier_redacted]
    return out


def _conversation_json(c: Conversation, redactor: Redactor) -> dict[str, Any]:
    return {
        "path": c.path,
        "query": [list(pair) for pair in c.query],
        "headers": [list(pair) for pair in c.headers],
        "subprotocols": list(c.subprotocols),
        "steps": [_step_json(step, redactor) for step in c.steps],
        "close_code": c.close_code,
        **({"clients": [_client_json(o) for o in c.clients]} if c.clients else {}),
    }


def _client_json(c: Client) -> dict[str, Any]:
    return {
        "path": c.path,
        "query": [list(pair) for pair in c.query],
        "headers": [list(pair) for pair in c.headers],
        "joins": c.joins,
    }


def _step_json(step: Step, redactor: Redactor) -> dict[str, Any]:
    out: dict[str, Any] = {"message": step.message, "kind": step.kind}
    if isinstance(step.payload, bytes | bytearray):
        # Bytes as base64, unless they hold a secret: then as text (bytes that are not UTF-8
        # kept as lone surrogates), so the secret can be masked and put back.
        text = bytes(step.payload).decode("utf-8", "surrogateescape")
        if redactor.redact(text) != text:
            out["payload"], out["encoding"] = text, "utf-8"
        else:
            out["payload"] = base64.b64encode(bytes(step.payload)).decode("ascii")
            out["encoding"] = "base64"
    else:
        out["payload"] = step.payload
    if not step.wait:
        out["wait"] = False
    if step.mutation is not None:
        out["mutation"], out["invalid"] = step.mutation, step.invalid
    if step.client:  # numbered as reports number them: client 1 is the first
        out["client"] = step.client + 1
    if step.leave is not None:
        out["leave"] = step.leave
    return out


def _conversation(data: Mapping[str, Any]) -> Conversation:
    steps = []
    for s in data.get("steps", ()):
        payload = s["payload"]
        if s.get("encoding") == "base64":
            payload = base64.b64decode(payload)
        elif s.get("encoding") == "utf-8":
            payload = str(payload).encode("utf-8", "surrogateescape")
        steps.append(
            Step(
                str(s["message"]),
                s["kind"],
                payload,
                wait=bool(s.get("wait", True)),
                mutation=s.get("mutation"),
                invalid=bool(s.get("invalid", False)),
                client=int(s.get("client", 1)) - 1,
                leave=s.get("leave"),
            )
        )
    close = data.get("close_code", 1000)
    return Conversation(
        path=str(data["path"]),
        query=tuple((str(k), str(v)) for k, v in data.get("query", ())),
        headers=tuple((str(k), str(v)) for k, v in data.get("headers", ())),
        subprotocols=tuple(str(p) for p in data.get("subprotocols", ())),
        steps=tuple(steps),
        close_code=None if close is None else int(close),
        clients=tuple(
            Client(
                path=str(o["path"]),
                query=tuple((str(k), str(v)) for k, v in o.get("query", ())),
                headers=tuple((str(k), str(v)) for k, v in o.get("headers", ())),
                joins=int(o.get("joins", 0)),
            )
            for o in data.get("clients", ())
        ),
    )


def _redacted(value: Any, redactor: Redactor, at: Pointer = ()) -> tuple[Any, list[Pointer]]:
    """``value`` with every string redacted, and where a secret was (keys are redacted too)."""
    if isinstance(value, str):
        masked = redactor.redact(value)
        return masked, [at] if masked != value else []
    if isinstance(value, Mapping):
        out: dict[Any, Any] = {}
        found: list[Pointer] = []
        more: list[Pointer]
        for key, each in value.items():
            if key == "payload" and value.get("encoding") == "base64":
                masked, more = each, []  # bytes without a secret (see _step_json)
            else:
                masked, more = _redacted(each, redactor, (*at, key))
            out[redactor.redact(key) if isinstance(key, str) else key] = masked
            found += more
        return out, found
    if isinstance(value, Sequence) and not isinstance(value, bytes | bytearray):
        pairs = [_redacted(each, redactor, (*at, i)) for i, each in enumerate(value)]
        return [p[0] for p in pairs], [q for p in pairs for q in p[1]]
    return value, []


def _restore(data: Any, pointer: Pointer, secret: str) -> None:
    *path, last = pointer
    for part in path:
        data = data[part]
    if isinstance(data[last], str):
        data[last] = data[last].replace(MASK, secret)


def _plain(value: Any) -> Any:
    """JSON-able form of spec dataclasses; locations (and the token, a secret) left out."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: _plain(getattr(value, f.name))
            for f in dataclasses.fields(value)
            if f.name not in ("location", "token")
        }
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.]+", "-", text).strip("-.")[:80]


def _by_age(paths: Iterator[Path], *, newest: bool) -> list[Path]:
    def age(path: Path) -> tuple[float, str]:
        try:
            return path.stat().st_mtime, path.name
        except OSError:
            return 0.0, path.name

    return sorted(paths, key=age, reverse=newest)


def _versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for name, dist in (("ws_routes", "ws-routes"), ("hypothesis", "hypothesis")):
        try:
            out[name] = metadata.version(dist)
        except metadata.PackageNotFoundError:
            out[name] = "unknown"
    return out
