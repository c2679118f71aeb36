"""One AsyncAPI message -> one ws_routes message or reply: its frame kind, schema and name.

The frame kind follows the content type (``application/json`` and ``+json`` types: json,
``text/*`` and other textual types: text, anything else: bytes); without one, a binary payload
(``format: binary``) is bytes, a string payload text, and anything else json. ``x-ws-routes-kind``
overrides all of that.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ws_routes.errors import SpecError, pointer_tokens
from ws_routes.spec.asyncapi.documents import Address, Documents
from ws_routes.spec.asyncapi.extensions import MESSAGE, read_extensions
from ws_routes.spec.asyncapi.protocol_keys import (
    MESSAGE_ONLY,
    REPLY_ONLY,
    bundle_cases,
    read_correlation,
)
from ws_routes.spec.asyncapi.schemas import DRAFT_07, DRAFT_2020_12, bundle_schema

__all__ = ["Direction", "Message", "kind_of", "read_message"]

Direction = Literal["messages", "replies"]

_TEXT_TYPES = frozenset(
    {
        "application/xml",
        "application/yaml",
        "application/x-yaml",
        "application/javascript",
        "application/graphql",
        "application/x-ndjson",
        "application/x-www-form-urlencoded",
    }
)
# Where WebSocket APIs put the field that tells their messages apart.
_DISCRIMINATORS = ("type", "event", "action", "op", "method", "kind", "cmd", "command")
_NAME = re.compile(r"^[A-Za-z0-9_.:-]{1,40}$")
_SCHEMA_FORMATS = (
    "application/vnd.aai.asyncapi",
    "application/schema+json",
    "application/schema+yaml",
)


@dataclass(slots=True)
class Message:
    """A message type of one route in one direction, before it gets its final name."""

    candidates: list[str]
    body: dict[str, Any]
    origin: Address
    identity: frozenset[Address]
    # Pointer inside ``body`` -> where it came from, to locate problems found later.
    origins: dict[str, Address] = field(default_factory=dict)
    # Identities of the replies an AsyncAPI 3 operation reply links to this message.
    links: list[frozenset[Address]] = field(default_factory=list)
    name: str = ""


def kind_of(content_type: str | None, payload: Any) -> str:
    """The frame kind of a message with this content type and (bundled) payload schema."""
    if content_type:
        media = content_type.split(";")[0].strip().lower()
        if media == "application/json" or media.endswith("+json"):
            return "json"
        if media.startswith("text/") or media in _TEXT_TYPES or media.endswith("+xml"):
            return "text"
        return "bytes"
    if isinstance(payload, Mapping):
        if payload.get("format") == "binary" or payload.get("contentEncoding") == "binary":
            return "bytes"
        if payload.get("type") == "string":
            return "text"
    return "json"


def _format_dialect(schema_format: Any, default: str) -> str:
    """The dialect a ``schemaFormat`` names; AsyncAPI's own format uses the document's."""
    if not isinstance(schema_format, str) or not schema_format.startswith("application/schema+"):
        return default
    version = schema_format.partition("version=")[2]
    if "2020-12" in version:
        return DRAFT_2020_12
    if "2019-09" in version:
        return "https://json-schema.org/draft/2019-09/schema"
    return DRAFT_07


def _with_traits(
    docs: Documents, node: Mapping[str, Any], at: Address
) -> tuple[dict[str, Any], dict[str, Address]]:
    """The message with its traits applied (its own fields win), and where each field came from."""
    merged: dict[str, Any] = {}
    origins: dict[str, Address] = {}
    traits = node.get("traits")
    for index, raw in enumerate(traits if isinstance(traits, list) else []):
        try:
            trait, trait_at, _ = docs.deref(raw, at.child("traits", index))
        except SpecError as exc:
            docs.errors.append(exc)
            continue
        if isinstance(trait, Mapping):
            for key, value in trait.items():
                merged[key], origins[key] = value, trait_at.child(key)
    for key, value in node.items():
        if key != "traits":
            merged[key], origins[key] = value, at.child(key)
    return merged, origins


def _derived_name(schema: Any) -> str | None:
    """``subscribe`` for a payload whose ``type`` (or ``event``, ``op``...) is the constant 'subscribe'."""
    if not isinstance(schema, Mapping):
        return None
    candidates = [schema.get("const")]
    properties = schema.get("properties")
    if isinstance(properties, Mapping):
        for key in _DISCRIMINATORS:
            prop = properties.get(key)
            if isinstance(prop, Mapping):
                enum = prop.get("enum")
                candidates += [
                    prop.get("const"),
                    enum[0] if isinstance(enum, list) and len(enum) == 1 else None,
                ]
    for value in candidates:
        if isinstance(value, str) and _NAME.match(value):
            return value
    return None


def _component_key(chain: tuple[Address, ...]) -> str | None:
    for address in reversed(chain):
        tokens = pointer_tokens(address.pointer)
        if len(tokens) == 3 and tokens[:2] == ["components", "messages"]:
            return tokens[2]
    return None


def read_message(
    docs: Documents,
    raw: Any,
    at: Address,
    *,
    direction: Direction,
    default_content_type: str | None,
    version: int,
    key: str | None = None,
    dialect: str,
    notes: list[str],
) -> Message | None:
    """Convert the message ``raw`` (a Message Object or a reference to one) written at ``at``.

    ``key`` is the message's key in its channel (AsyncAPI 3), a naming fallback.
    """
    try:
        node, where, chain = docs.deref(raw, at)
    except SpecError as exc:
        docs.errors.append(exc)
        return None
    if not isinstance(node, Mapping):
        docs.report(f"expected a message (a mapping), got {type(node).__name__}", where)
        return None
    message, fields = _with_traits(docs, node, where)
    extensions = read_extensions(docs, message, where, MESSAGE)
    content_type = message.get("contentType", default_content_type)
    content_type = content_type if isinstance(content_type, str) else None
    payload, payload_at, schema_format = message.get("payload"), fields.get("payload"), None
    if version == 3 and isinstance(payload, Mapping) and set(payload) == {"$ref"} and payload_at:
        # components.schemas may hold a Multi Format Schema Object: look behind the reference.
        try:
            target, target_at, _ = docs.deref(payload, payload_at)
        except SpecError:
            target = None  # bundling the payload reports it
        if isinstance(target, Mapping) and "schemaFormat" in target and "schema" in target:
            payload, payload_at = target, target_at
    if version == 2:
        schema_format = message.get("schemaFormat")
    elif isinstance(payload, Mapping) and "schemaFormat" in payload and "schema" in payload:
        schema_format, payload = payload["schemaFormat"], payload["schema"]
        payload_at = payload_at.child("schema") if payload_at else None
    bundled = None
    if payload is not None and payload_at is not None:
        if schema_format is None or str(schema_format).startswith(_SCHEMA_FORMATS):
            dialect = _format_dialect(schema_format, dialect)
            bundled = bundle_schema(docs, payload, payload_at, dialect)
        else:
            location = docs.locate(payload_at)
            notes.append(
                f"{location}: payload in {schema_format!r} is not checked (JSON Schema only)"
            )
    if "schema" in extensions:  # the exact schema, where AsyncAPI would need another spelling
        bundled = bundle_schema(docs, *extensions["schema"], dialect)
    schema = bundled.value if bundled is not None else None
    kind = extensions["kind"][0] if "kind" in extensions else kind_of(content_type, schema)
    body: dict[str, Any] = {"kind": kind}
    origins: dict[str, Address] = {"": where}
    description = message.get("description", message.get("summary"))
    if isinstance(description, str) and description.strip():
        body["description"] = description.strip()
    if kind == "bytes" and isinstance(schema, Mapping):
        for size, keyword in (("min_size", "minLength"), ("max_size", "maxLength")):
            if isinstance(schema.get(keyword), int):
                body[size] = schema[keyword]
    elif bundled is not None and kind != "bytes" and "strategy" not in extensions:
        if (
            kind == "text"
            and isinstance(schema, Mapping)
            and schema.get("type", "string") != "string"
        ):
            notes.append(
                f"{docs.locate(where)}: a text message's payload must describe a string; not checked"
            )
        else:
            body["schema"] = schema
            origins.update({"/schema" + inner: source for inner, source in bundled.origins.items()})
    if "correlationId" in message:
        correlation = read_correlation(
            docs, message["correlationId"], fields["correlationId"], notes
        )
        if correlation is not None:
            body["correlation"], origins["/correlation"] = correlation
    other_side = MESSAGE_ONLY if direction == "replies" else REPLY_ONLY
    for name, (value, ext_at) in extensions.items():
        if name in ("kind", "schema") or name in other_side:
            continue
        body[name] = value
        origins["/" + name] = ext_at
        if name == "cases":
            body[name], case_origins = bundle_cases(docs, value, ext_at, dialect)
            origins.update(case_origins)
    candidates = [
        message.get("name"),
        _component_key(chain),
        key,
        message.get("messageId"),
        message.get("title"),
        _derived_name(schema),
    ]
    return Message(
        candidates=[c.strip() for c in candidates if isinstance(c, str) and c.strip()],
        body=body,
        origin=where,
        identity=frozenset(chain),
        origins=origins,
    )
