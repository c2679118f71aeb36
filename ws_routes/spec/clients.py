"""The keys of routes with several clients: checked, located, and turned into dataclass fields.

``clients`` on a route, ``delivery`` on a reply (docs/spec.md, "Several clients"). The shipped
JSON Schema checks their shapes; this module checks what it cannot: a ``same`` names a path
parameter of the route's template, and the keys are not combined with those the multi-client
player does not follow yet (protocol states). :mod:`ws_routes.spec.build` calls it on possibly
invalid data.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from ws_routes.errors import SpecError, did_you_mean, pointer_join
from ws_routes.spec.model import Clients, Delivery

if TYPE_CHECKING:  # build imports this module: the context is only a type here
    from ws_routes.spec.build import SpecContext

__all__ = ["check_clients", "reply_delivery", "route_clients"]

_PARAM = re.compile(r"{([^}:]+)(?::[^}]*)?}")


def _mapping(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def check_clients(
    route: Mapping[str, Any], path: str, pointer: str, ctx: SpecContext
) -> list[SpecError]:
    """Every problem of one route's multi-client keys, each located at its key."""
    errors: list[SpecError] = []
    params = _PARAM.findall(path)
    for name, raw in _mapping(route.get("replies")).items():
        delivery = _mapping(raw).get("delivery")
        same = _mapping(delivery).get("same")
        if isinstance(same, str) and same not in params:
            at = pointer_join(pointer, "replies", name, "delivery", "same")
            hint = did_you_mean(same, params) or (
                f"the path's parameters: {', '.join(params)}"
                if params
                else f"the path {path!r} has no parameters"
            )
            errors.append(ctx.error(f"'same' names no path parameter: {same!r}", at, hint))
    clients = route.get("clients")
    count = _mapping(clients).get("max") if isinstance(clients, Mapping) else clients
    if isinstance(count, int) and count > 1 and (route.get("states") or route.get("opening")):
        errors.append(
            ctx.error(
                "'clients' cannot be combined with 'states' or 'opening' yet",
                pointer_join(pointer, "clients"),
                "conversations with several clients send fixed steps: one protocol state per "
                "client is not followed yet; drop 'clients' or the state keys",
            )
        )
    return errors


def route_clients(route: Mapping[str, Any]) -> dict[str, Any]:
    """The multi-client field of a checked route, as :class:`RouteSpec` keywords."""
    raw = route.get("clients")
    if raw is None:
        return {}
    if isinstance(raw, int):
        return {"clients": Clients(max=raw)}
    return {"clients": Clients(max=raw["max"], path_params=raw.get("path_params", "drawn"))}


def reply_delivery(reply: Mapping[str, Any]) -> dict[str, Any]:
    """The delivery field of a checked reply, as :class:`ReplySpec` keywords."""
    raw = reply.get("delivery")
    if raw is None:
        return {}
    # The shipped schema allowed only the three names of `to`.
    if isinstance(raw, str):
        return {"delivery": Delivery(to=cast("Any", raw))}
    return {"delivery": Delivery(to=raw["to"], same=raw.get("same"))}
