"""Render failures and run summaries as text. Pure functions: no I/O, no pytest.

A failure block leads with what a person needs first (what broke, where, expected vs actual),
then the minimal transcript, the app's traceback, and how to reproduce it: the exact pytest
command and a standalone Python snippet.
"""

from __future__ import annotations

import shlex
import textwrap
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from ws_routes.compile.credentials import Redactor, redact
from ws_routes.driver.transcript import Failure, Transcript, printable, render_payload, short_repr
from ws_routes.driver.transport import Accepted, Rejected
from ws_routes.engine.stats import RouteStats

if TYPE_CHECKING:
    from ws_routes.engine.conversation import Conversation, Step

__all__ = [
    "render_failure",
    "render_handshake",
    "render_internal_error",
    "render_summary",
    "replay_snippet",
]

RULE = "=" * 60


def render_handshake(t: Transcript) -> str:
    url = t.path + (f"?{t.query_string}" if t.query_string else "")
    offered = f"  subprotocols={list(t.subprotocols)}" if t.subprotocols else ""
    headers = "".join(f"\n      {k}: {v}" for k, v in t.headers)
    hs = t.handshake
    if isinstance(hs, Accepted):
        chosen = short_repr(hs.subprotocol, 80) if hs.subprotocol else ""
        result = "accepted" + (f" (subprotocol {chosen})" if chosen else "")
    elif isinstance(hs, Rejected) and t.over_network:
        result = _network_refusal(hs)
    elif isinstance(hs, Rejected):
        result = (
            f"refused: close {hs.close_code} before accept (HTTP 403 on a real server)"
            if hs.close_code is not None
            else f"refused: HTTP {hs.status}"
        )
    else:
        result = "no answer (neither accepted nor refused)"
    return f"! connect {url}{offered}{headers}\n! handshake {result}"


def _network_refusal(hs: Rejected) -> str:
    """The server's handshake response, as the client received it: status, headers, body."""
    if hs.status == 0:
        return f"no valid HTTP response ({printable(hs.reason)})"
    lines = [f"refused: HTTP {hs.status} {printable(hs.reason)}".rstrip()]
    lines += [f"      {k}: {printable(v)}" for k, v in hs.headers]
    if hs.body:
        lines.append(f"      body: {render_payload('bytes', hs.body, limit=400)}")
    return "\n".join(lines)


def _cut_line(line: str, limit: int = 2000) -> str:
    return line if len(line) <= limit else line[:limit] + f"… ({len(line)} chars)"


def _indent(text: str, prefix: str = "  ") -> str:
    return textwrap.indent(text, prefix, lambda _line: True)


def render_failure(
    failure: Failure,
    transcript: Transcript,
    *,
    reproduce_command: str | None = None,
    snippet: str | None = None,
    secrets: Redactor | Iterable[str] = (),
    extra: Sequence[str] = (),
    probe: str | None = None,
    traceback_lines: int | None = None,
    last_frame: bool = False,
) -> str:
    """The full failure report for one (minimal) failing conversation.

    ``probe`` names the fixed probe that failed, when the failure came from one (not shrunk).
    ``traceback_lines`` keeps only the app traceback's last lines (further bugs of a route);
    ``last_frame`` only its last frame and the exception (``--tb=short``).
    """
    t = transcript
    lines = [
        RULE,
        f"WEBSOCKET TEST FAILURE: {t.route}" + ("   [SECURITY]" if failure.security else ""),
        RULE,
        f"Error Type: {failure.error_type}",
        f"Check: {failure.check}",
    ]
    if probe is not None:
        lines.append(f"Probe: {probe}")
    lines.append(f"Message: {failure.message}")
    if t.over_network:
        lines.append("Over the network: findings rest on what a client can see")
    if failure.index is not None:
        lines.append(f"Failed at message index: {failure.index}")
    if failure.frame is not None and failure.frame.kind is not None:
        mutation = f" [invalid: {failure.frame.mutation}]" if failure.frame.mutation else ""
        lines += [
            f"Sent ({failure.frame.kind}){mutation}:",
            _indent(render_payload(failure.frame.kind, failure.frame.data, limit=2000)),
        ]
    lines += ["Expected:", _indent(failure.expected), "Actual:", _indent(failure.actual)]
    state, code = _connection_end(t)
    lines += [f"Connection State: {state}", f"Close Code: {code}"]
    received = t.received
    last = received[-1].render(limit=200) if received else "None"
    lines += [
        "Additional Context:",
        f"  total_messages_sent: {t.messages_sent}",
        f"  last_response: {last}",
        f"  elapsed_time_ms: {t.elapsed_ms:.1f}",
    ]
    for key, value in failure.details:
        lines.append(f"  {key}: {value}")
    how = "a fixed probe, nothing to shrink" if probe is not None else "minimal after shrinking"
    lines += ["", f"Transcript ({t.messages_sent} message(s) sent, {how}):"]
    lines.append(_indent(render_handshake(t)))
    lines.extend(_indent(line) for line in t.render())
    if t.app_error is not None:
        # Previews: an exception's message can hold a whole frame the app was sent or built.
        tb = [_cut_line(line) for line in t.app_error.traceback.rstrip().splitlines()[-200:]]
        if last_frame:
            tb = _last_frame(tb)
        elif traceback_lines is not None and len(tb) > traceback_lines:
            tb = ["...", *tb[-traceback_lines:]]
        lines += ["", "App traceback:", _indent("\n".join(tb))]
    lines.extend(extra)
    lines += _reproduce_lines(reproduce_command, snippet)
    lines.append(RULE)
    # Printable whatever the server sent: lone surrogates become \udXXX escapes.
    return printable(redact("\n".join(lines), secrets))


def _last_frame(tb: list[str]) -> list[str]:
    """A formatted traceback's last frame (its ``File`` line onwards), as ``--tb=short`` shows."""
    starts = [i for i, line in enumerate(tb) if line.startswith('  File "')]
    if not starts or starts[-1] == 0:
        return tb
    return ["...", *tb[starts[-1] :]]


def _reproduce_lines(reproduce_command: str | None, snippet: str | None) -> list[str]:
    if not reproduce_command and not snippet:
        return []
    lines = ["", "Reproduce with:"]
    if reproduce_command:
        lines.append(_indent(reproduce_command))
    if snippet:
        lines += ["Or replay this exact conversation in Python:", _indent(snippet.rstrip())]
    return lines


def render_internal_error(
    route: str,
    traceback_text: str,
    transcript: Transcript | None,
    *,
    reproduce_command: str | None = None,
    snippet: str | None = None,
    secrets: Redactor | Iterable[str] = (),
) -> str:
    """The report of a bug in ws_routes itself: our traceback, the conversation that set it
    off, and how to report it. Findings made before it are rendered separately."""
    lines = [
        RULE,
        f"INTERNAL ERROR IN WS_ROUTES: {route}",
        RULE,
        "ws_routes itself raised while testing this route: this is a bug in ws_routes, not a",
        "finding about your app. The route's findings made before it are reported as usual.",
        "Please report it: open an issue on the ws_routes tracker with this whole block (the",
        "traceback, and the conversation and replay snippet below), redacted as you see fit.",
        "",
        "ws_routes traceback:",
        _indent(traceback_text.rstrip()),
    ]
    if transcript is not None:
        lines += ["", f"Conversation it happened in ({transcript.messages_sent} message(s) sent):"]
        lines.append(_indent(render_handshake(transcript)))
        lines.extend(_indent(line) for line in transcript.render())
    lines += _reproduce_lines(reproduce_command, snippet)
    lines.append(RULE)
    return printable(redact("\n".join(lines), secrets))


def _connection_end(t: Transcript) -> tuple[str, str]:
    """How the connection ended, and with which code, as the client saw it."""
    hs = t.handshake
    if hs is None:
        return "never opened (no answer to the handshake)", "None"
    if isinstance(hs, Rejected):
        code = (
            f"{hs.close_code} (before accept; HTTP {hs.status} on a real server)"
            if hs.close_code is not None
            else f"None (HTTP {hs.status})"
        )
        return "refused", code
    for frame in t.frames:
        if frame.direction == "server_close" and frame.dropped:
            return (
                "dropped by the server (the handler returned)",
                "None (no close frame; clients see 1006)",
            )
        if frame.direction == "server_close":
            return "closed by the server", str(frame.code)
        if frame.direction == "client_close":
            return "closed by the client", f"{frame.code} (sent by the client)"
        if frame.direction == "abort":
            return "dropped by the client", "1006 (no close frame)"
    return "open", "None"


def _snippet_step(step: Step) -> str:
    extra: dict[str, object] = {}
    if step.mutation is not None:
        extra = {"mutation": step.mutation, "invalid": step.invalid}
    if not step.wait:  # a burst: the next message goes at once, as in the run
        extra["wait"] = False
    if step.client:  # numbered as reports number them
        extra["client"] = step.client + 1
    if step.leave is not None:
        extra["leave"] = step.leave
    if extra:
        return f"({step.message!r}, {step.kind!r}, {step.payload!r}, {extra!r})"
    if step.message == step.kind:
        return f"({step.kind!r}, {step.payload!r})"
    return f"({step.message!r}, {step.kind!r}, {step.payload!r})"


def replay_snippet(
    app: str,
    conversation: Conversation,
    *,
    spec: str | None = None,
    earlier: Sequence[Conversation] = (),
) -> str:
    """A standalone script that replays ``conversation`` against ``app`` and prints the transcript.

    Steps are ``(kind, payload)``, or ``(message, kind, payload)`` when the message type is not
    just its kind: replay needs the name to expect the same replies (``reply: [...]``).
    ``earlier``: connections the case needs run first (a state leak), as ``earlier=[...]``.
    """
    steps = ",\n".join(f"        {_snippet_step(step)}" for step in conversation.steps)
    args = [
        f"    {app!r}",
        f"    {conversation.path!r}",
        f"    messages=[\n{steps}\n    ]" if steps else "    messages=[]",
    ]
    if earlier:
        args.append("    earlier=[\n" + "".join(_snippet_earlier(c) for c in earlier) + "    ]")
    if conversation.query:
        args.append(f"    query={list(conversation.query)!r}")
    if conversation.headers:
        args.append(f"    headers={list(conversation.headers)!r}")
    if conversation.subprotocols:
        args.append(f"    subprotocols={list(conversation.subprotocols)!r}")
    if conversation.close_code != 1000:
        args.append(f"    close_code={conversation.close_code}")  # None: drop the connection
    if conversation.clients:
        others = [
            {"path": c.path, "joins": c.joins}
            | ({"query": list(c.query)} if c.query else {})
            | ({"headers": list(c.headers)} if c.headers else {})
            for c in conversation.clients
        ]
        args.append(f"    clients={others!r}")
    if spec:
        args.append(f"    spec={spec!r}")
    return "from ws_routes import replay\n\nreplay(\n" + ",\n".join(args) + ",\n)\n"


def _snippet_earlier(c: Conversation) -> str:
    """One earlier connection of a snippet: ``replay``'s arguments as a dict."""
    entry: dict[str, object] = {"path": c.path}
    steps = "".join(f"            {_snippet_step(step)},\n" for step in c.steps)
    for key, value in (
        ("query", list(c.query)),
        ("headers", list(c.headers)),
        ("subprotocols", list(c.subprotocols)),
    ):
        if value:
            entry[key] = value
    if c.close_code != 1000:
        entry["close_code"] = c.close_code
    fields = "".join(f"            {k!r}: {v!r},\n" for k, v in entry.items())
    messages = f"            'messages': [\n{steps}            ],\n" if steps else ""
    return "        {\n" + fields + messages + "        },\n"


def reproduce_command(args: Sequence[str], *, route: str, seed: int) -> str:
    """The user's pytest command narrowed to one route, with the seed pinned.

    xdist's ``-n``/``--numprocesses`` and any earlier seed or include option are dropped.
    """
    kept: list[str] = []
    skip_next = False
    for arg in _hide_auth(args):
        if skip_next:
            skip_next = False
            continue
        if arg in (
            "--routes-seed",
            "--routes-ws-include",
            "-n",
            "--numprocesses",
            "--hypothesis-seed",
        ):
            skip_next = True
            continue
        if arg.startswith(
            (
                "--routes-seed=",
                "--routes-ws-include=",
                "-n=",
                "--numprocesses=",
                "--hypothesis-seed=",
            )
        ):
            continue
        if arg.startswith("-n") and len(arg) > 2:  # -n4, -nauto, -nlogical (xdist's only -n)
            continue
        kept.append(arg)
    # The credential itself never goes into a report: the command reads it from the environment.
    command = shlex.join(
        ["pytest", *kept, "--routes-ws-include", route, "--routes-seed", str(seed)]
    )
    return command.replace(_AUTH_MARK, '"$WS_ROUTES_AUTH"')


_AUTH_MARK = "__WS_ROUTES_AUTH__"


def _hide_auth(args: Sequence[str]) -> list[str]:
    out: list[str] = []
    hide_next = False
    for arg in args:
        if hide_next:
            out.append(_AUTH_MARK)
            hide_next = False
        elif arg == "--routes-auth":
            out.append(arg)
            hide_next = True
        elif arg.startswith("--routes-auth="):
            out += ["--routes-auth", _AUTH_MARK]
        else:
            out.append(arg)
    return out


def render_summary(stats: Iterable[RouteStats]) -> str:
    """The per-route summary block printed at the end of a session."""
    lines = ["ws_routes: WebSocket Test Summary", "=" * 37]
    for s in sorted(stats, key=lambda s: s.route):
        lines += [
            f"Route: {s.route}" + (f"   [{s.outcome}]" if s.outcome else ""),
            f"  Sequences tested: {s.sequences:,}",
            f"  Messages sent: {s.messages:,}",
            f"  Connections established: {s.connections:,}",
        ]
        if s.refused:
            lines.append(f"  Connections refused: {s.refused:,}")
        extras = _extra_counts(s)
        if extras:
            lines.append(f"  {extras}")
        lines.append(f"  Failures: {s.failures}")
        if s.time_limited:
            lines.append(f"  Stopped at the time limit after {s.sequences:,} conversations")
        if s.elapsed_s > 0:
            rate = s.sequences / s.elapsed_s
            lines.append(f"  Time: {s.elapsed_s:.2f} s ({rate:,.0f} conversations/s)")
    lines.append("=" * 37)
    return printable("\n".join(lines))


_EXTRA_COUNTS = (
    ("negative", "Negative cases"),
    ("handshake_cells", "Handshake cells"),
    ("path_probes", "Path probes"),
    ("auth_probes", "Auth probes"),
    ("origin_probes", "Origin probes"),
    ("aborts", "Aborted connections"),
    ("replayed", "Crash files replayed"),
)


def _extra_counts(s: RouteStats) -> str:
    """One line of the counters that are not zero, e.g. ``Negative cases: 37 · Auth probes: 3``."""
    parts = [f"{label}: {getattr(s, name):,}" for name, label in _EXTRA_COUNTS if getattr(s, name)]
    return " · ".join(parts)
