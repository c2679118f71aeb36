"""Messages drawn into each of their ``cases``: a case's payloads as often as the rest.

A message's ``cases`` split its payloads by what they must get back (JSON-RPC's batch: one
array of responses when it holds a request, nothing at all when it holds notifications only).
Each part is a behaviour to test, but the message's schema alone may reach some rarely: the
batches of specs/jsonrpc.yaml (1 to 4 items, each a request or a notification) were all
notifications in 18% of draws, and a server that answered those with ``[]`` passed 30
conversations. So each case whose ``match`` the generator can intersect with the message's
schema adds a strategy of its own (measured: 43% all notifications).
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

from ws_routes import generate
from ws_routes.errors import SchemaCompileError
from ws_routes.spec.model import MessageSpec

__all__ = ["case_strategies", "intersect"]

# Where a bundled schema keeps what its "#/..." references point at.
_DEFINITIONS = ("$defs", "definitions")


def intersect(schema: Any, match: Any) -> Any | None:
    """The schema of the values ``schema`` and ``match`` both accept, as one document; None when
    their definitions clash (both bundled, each with its own ``$defs`` at the root)."""
    root: dict[str, Any] = {"allOf": [schema, match]}
    if isinstance(schema, dict) and "$schema" in schema:  # the dialect is the root's
        root["$schema"] = schema["$schema"]
    for key in _DEFINITIONS:
        merged: dict[str, Any] = {}
        for part in (schema, match):
            found = part.get(key) if isinstance(part, dict) else None
            if not isinstance(found, dict):
                continue
            if any(merged.get(name, value) != value for name, value in found.items()):
                return None
            merged.update(found)
        if merged:
            root[key] = merged
    return root


def case_strategies(message: MessageSpec, max_size: int | None) -> list[st.SearchStrategy[Any]]:
    """A strategy of the payloads of each of a JSON message's ``cases`` the generator can draw.

    A case left out (its match cannot be generated together with the schema: a ``not`` the
    generator cannot satisfy, clashing definitions) is still drawn when the schema reaches it:
    this only steers generation, the checks read every case as declared.
    """
    if message.kind != "json" or message.schema is None or not message.cases:
        return []
    out = []
    for case in message.cases:
        both = intersect(message.schema.value, case.match.value)
        if both is None:
            continue
        try:
            # Unknown formats were warned about once, with the message's own schema.
            out.append(generate.from_schema(both, max_size=max_size, on_unknown_format=_quiet))
        except (SchemaCompileError, RecursionError):
            continue
    return out


def _quiet(name: str, pointer: str) -> None:
    pass
