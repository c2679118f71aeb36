"""The ``x-ws-routes-*`` extensions: what AsyncAPI cannot say about a WebSocket route.

Each extension holds a value in the ws_routes spec format and is checked, where it is written,
against the same part of the shipped JSON Schema that checks a spec, so a bad value is reported
at its line in the AsyncAPI document rather than in the generated spec.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ws_routes.errors import Location, did_you_mean, pointer_join
from ws_routes.spec.asyncapi.documents import Address, Documents
from ws_routes.spec.metavalidate import meta_validate
from ws_routes.spec.model import ALWAYS_INVALID_CLOSE_CODES

__all__ = [
    "MESSAGE",
    "PARAMETER",
    "PREFIX",
    "ROOT",
    "ROUTE",
    "read_extensions",
]

PREFIX = "x-ws-routes-"

# extension -> (key in the spec format, the part of the format's schema that checks its value)
ROOT: Mapping[str, tuple[str, str]] = {
    "x-ws-routes-app": ("app", "#/$defs/name"),
    # Live mode: the running server to test (which of the document's servers, or another).
    "x-ws-routes-server": ("server", "#/$defs/server"),
    "x-ws-routes-settings": ("settings", "#/$defs/settings"),
    # The JSON Schema dialect of the document's schemas (default: AsyncAPI's, draft-07).
    "x-ws-routes-schema-dialect": ("schema_dialect", "#/$defs/name"),
}
# On a channel (and, for values the channel leaves out, on its operations).
ROUTE: Mapping[str, tuple[str, str]] = {
    "x-ws-routes-path": ("path", "#/$defs/name"),
    "x-ws-routes-subprotocols": ("subprotocols", "#/$defs/route/properties/subprotocols"),
    "x-ws-routes-auth": ("auth", "#/$defs/auth"),
    "x-ws-routes-close-codes": ("close_codes", "#/$defs/closeCodes"),
    "x-ws-routes-invalid": ("invalid", "#/$defs/invalid"),
    "x-ws-routes-checks": ("checks", "#/$defs/checks"),
    "x-ws-routes-settings": ("settings", "#/$defs/routeSettings"),
    "x-ws-routes-markers": ("markers", "#/$defs/route/properties/markers"),
    "x-ws-routes-fixtures": ("fixtures", "#/$defs/route/properties/fixtures"),
    # Protocol state: names, as the imported spec calls its messages (their AsyncAPI `name`).
    "x-ws-routes-states": ("states", "#/$defs/route/properties/states"),
    "x-ws-routes-opening": ("opening", "#/$defs/route/properties/opening"),
    # Several clients (docs/spec.md, "Several clients"): how many a conversation opens.
    "x-ws-routes-clients": ("clients", "#/$defs/route/properties/clients"),
}
# One table for both directions: the same message object may be sent by both sides.
MESSAGE: Mapping[str, tuple[str, str]] = {
    "x-ws-routes-kind": ("kind", "#/$defs/kind"),
    "x-ws-routes-error": ("error", "#/$defs/reply/properties/error"),
    # Wins over the payload: how an export keeps a boolean schema, which AsyncAPI has no room for.
    "x-ws-routes-schema": ("schema", "#/$defs/userSchema"),
    "x-ws-routes-weight": ("weight", "#/$defs/positiveNumber"),
    "x-ws-routes-strategy": ("strategy", "#/$defs/message/properties/strategy"),
    "x-ws-routes-reply": ("reply", "#/$defs/message/properties/reply"),
    "x-ws-routes-min-size": ("min_size", "#/$defs/size"),
    "x-ws-routes-max-size": ("max_size", "#/$defs/size"),
    # The protocol keys AsyncAPI has no word for (its correlationId and operation replies carry
    # `correlation` and `reply`). A shared message object gives each side only its own keys.
    "x-ws-routes-when": ("when", "#/$defs/message/properties/when"),
    "x-ws-routes-goto": ("goto", "#/$defs/name"),
    "x-ws-routes-wrong-state": ("wrong_state", "#/$defs/wrongState"),
    "x-ws-routes-use": ("use", "#/$defs/message/properties/use"),
    "x-ws-routes-capture": ("capture", "#/$defs/reply/properties/capture"),
    "x-ws-routes-delivery": ("delivery", "#/$defs/reply/properties/delivery"),
    "x-ws-routes-unique": ("unique", "#/$defs/message/properties/unique"),
    "x-ws-routes-stream": ("stream", "#/$defs/message/properties/stream"),
    "x-ws-routes-no-reply": ("no_reply", "#/$defs/message/properties/no_reply"),
    "x-ws-routes-ends": ("ends", "#/$defs/message/properties/ends"),
    "x-ws-routes-echo": ("echo", "#/$defs/message/properties/echo"),
    # Each case's `match` is a schema of the document, bundled like a payload.
    "x-ws-routes-cases": ("cases", "#/$defs/message/properties/cases"),
}
PARAMETER: Mapping[str, tuple[str, str]] = {
    "x-ws-routes-schema": ("schema", "#/$defs/userSchema"),
}
_WHERE = {
    "a channel or operation": ROUTE,
    "a message": MESSAGE,
    "a channel parameter": PARAMETER,
    "the document's top level": ROOT,
}


def _misplaced(key: str) -> str | None:
    for where, table in _WHERE.items():
        if key in table:
            return f"it belongs on {where}"
    return None


def read_extensions(
    docs: Documents, node: Any, at: Address, table: Mapping[str, tuple[str, str]]
) -> dict[str, tuple[Any, Address]]:
    """The valid ``x-ws-routes-*`` values of ``node``, by spec key, with where each was written.

    Unknown or misplaced extensions and invalid values are recorded in ``docs.errors``.
    """
    found: dict[str, tuple[Any, Address]] = {}
    if not isinstance(node, Mapping):
        return found
    for key, value in node.items():
        if not isinstance(key, str) or not key.startswith(PREFIX):
            continue
        here = at.child(key)
        if key not in table:
            hint = _misplaced(key) or did_you_mean(key, table)
            docs.report(f"unknown extension {key!r} here", here, hint)
            continue
        name, definition = table[key]

        def locate(pointer: str, at_key: str, here: Address = here) -> Location:
            location = docs.locate(Address(here.file, here.pointer + at_key))
            return Location(
                file=location.file,
                line=location.line,
                column=location.column,
                pointer=here.pointer + pointer,
            )

        errors = meta_validate(value, locate, definition=definition)
        if name == "close_codes":
            for index, code in enumerate(value if isinstance(value, list) else []):
                if isinstance(code, int) and code in ALWAYS_INVALID_CLOSE_CODES:
                    errors.append(
                        docs.error(
                            f"close code {code} can never be sent in a close frame",
                            Address(here.file, pointer_join(here.pointer, index)),
                            hint="RFC 6455, section 7.4.1 reserves 1004, 1005, 1006 and 1015",
                        )
                    )
        if name == "path" and isinstance(value, str) and not value.startswith("/"):
            errors.append(docs.error(f"expected a path starting with '/', got {value!r}", here))
        docs.errors.extend(errors)
        if not errors:
            found[name] = (value, here)
    return found
