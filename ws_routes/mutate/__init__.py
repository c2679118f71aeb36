"""Negative messages: values derived from a message's spec that break it ("mutants").

A mutant starts from a valid value drawn from the message's own strategy and changes one thing:
the frame kind, the JSON syntax, one node of the value (its type, a required field, a
discriminator, an extra field, a bound), one string (NUL, lone surrogate, non-BMP character), or
the size. Families come in :data:`MUTATION_FAMILIES` order and locations from the top of the
value down, so shrinking heads for a simple mutation near the root.

``Mutant.invalid`` is a promise the checks rely on; :mod:`.oracle` keeps it. A structural
mutation that the message's own schema still accepts (another ``oneOf`` branch took it: a
JSON-RPC request without its ``id`` is a notification) moves to the next location a few times,
and is otherwise sent as maybe valid. Sites are found by :mod:`.sites`.
"""

from __future__ import annotations

import functools
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from hypothesis import strategies as st

from ws_routes.mutate.oracle import ANYTHING, NOT_JSON, byte_size, encode_json, oracle_for, parse
from ws_routes.mutate.sites import (
    CHARS,
    FRAME_FAMILIES,
    MUTATION_FAMILIES,
    SITES,
    STRING_FAMILIES,
    STRUCTURAL,
    Ctx,
    Position,
    Site,
    Types,
    applicable,
    apply,
    is_free,
    positions,
    tag_keys,
)
from ws_routes.spec.model import Kind, MessageSpec, RouteSpec

__all__ = ["FRAME_FAMILIES", "MUTATION_FAMILIES", "Mutant", "ValidMessage", "mutants", "sweep"]


class ValidMessage(Protocol):
    """What mutants start from: a message's spec and the strategy of its valid values.

    Defined here, not taken from the compiler: the compiler builds mutants into its
    ``CompiledMessage`` (which satisfies this), so mutate must not import it back."""

    @property
    def spec(self) -> MessageSpec: ...

    @property
    def strategy(self) -> st.SearchStrategy[Any]: ...

# Locations a structural mutation tries before it is sent as maybe valid.
_RETRIES = 3
Draw = Callable[[st.SearchStrategy[Any]], Any]


# Strategies are built once, not per draw: building one costs Hypothesis more than drawing.
@functools.lru_cache(maxsize=1024)
def _below(n: int) -> st.SearchStrategy[int]:
    """An index into a list of ``n`` options; shrinks to the first.

    Drawn from a wide range and folded, not as ``integers(0, n - 1)``: inside a conversation
    Hypothesis draws small bounded integers far from uniformly (the first options dominate), and
    a mutant at the top of a value or of the family list every time would miss most bugs.
    """
    return st.integers(0, 2**16 - 1).map(lambda i: i % n) if n > 1 else st.just(0)


_CHOICES = {family: st.sampled_from(chars) for family, chars in CHARS.items()}


@dataclass(frozen=True, slots=True)
class Mutant:
    """One negative message.

    Attributes:
        family: one of :data:`MUTATION_FAMILIES`.
        mutation: what was changed and where, for reports (``"missing required field /type"``).
        kind: how to send ``payload``: ``"json"`` (a JSON value, sent as compact JSON text),
            ``"text"`` (a ``str``, may hold lone surrogates) or ``"bytes"``.
        payload: the value to send.
        invalid: True only when no message type of the route that a server could take this
            frame for accepts it; awkward but possibly valid input is False.
    """

    family: str
    mutation: str
    kind: Kind
    payload: Any
    invalid: bool


def _single_quoted(value: Any) -> str:
    if not isinstance(value, dict) or not value:
        return "{'type':1}"
    return "{" + ",".join(f"'{k}':{encode_json(v)}" for k, v in value.items()) + "}"


def _trailing_comma(value: Any) -> str:
    text = encode_json(value)
    if isinstance(value, dict | list) and value:
        return text[:-1] + "," + text[-1]
    return f"[{text},]"


_NOT_JSON_VARIANTS: tuple[tuple[str, Callable[[Any], str]], ...] = (
    ("a lone '{'", lambda _v: "{"),
    ("a bare word", lambda _v: "hello"),
    ("truncated", lambda v: encode_json(v)[:-1]),
    ("single-quoted keys", _single_quoted),
    ("a trailing comma", _trailing_comma),
)


def _by_place(
    make: Callable[[Ctx, Position], list[Site]], ctx: Ctx, found: list[Position]
) -> dict[str, list[Site]]:
    """The sites ``make`` finds at each of ``found``, grouped by place, places in order."""
    by_place: dict[str, list[Site]] = {}
    for pos in found:
        for site in make(ctx, pos):
            by_place.setdefault(repr(site.path), []).append(site)
    return by_place


class _Mutator:
    """Everything one message's mutants need, built once; :meth:`draw` is the per-draw work."""

    def __init__(
        self,
        route: RouteSpec,
        message: ValidMessage,
        *,
        registered: frozenset[Kind],
        lone_surrogates: bool,
    ):
        spec = message.spec
        self.label = f"mutants({route.path!r}, {spec.name!r})"
        self.kind: Kind = spec.kind
        self.name = spec.name
        self.values = message.strategy
        self.limit = route.settings.max_message_size
        self.oracle = oracle_for(route, registered)
        self.shape = self.oracle.shapes.get(spec.name) or ANYTHING
        self.types = Types(self.shape)
        self.own = self.oracle.own(self.kind, spec.name)
        # Tags are a route's business: a property is one when it tells message types apart.
        self.tags = tag_keys(s for s in self.oracle.shapes.values() if s is not None)
        self.families = applicable(
            self.shape, self.types, self.kind, lone_surrogates, self.tags
        )
        families = self.families
        self.family = _below(len(families)).map(lambda i: families[i])

    def __repr__(self) -> str:
        return self.label

    def _mutant(self, family: str, mutation: str, kind: Kind, payload: Any) -> Mutant:
        return Mutant(family, mutation, kind, payload, self.oracle.invalid(kind, payload))

    def empty(self) -> Mutant:
        if self.kind == "bytes":
            return self._mutant("empty_frame", "empty bytes frame", "bytes", b"")
        return self._mutant("empty_frame", "empty text frame", "text", "")

    def wrong_frame_kind(self, value: Any) -> Mutant:
        if self.kind == "bytes":
            text = value.decode("utf-8", "replace")
            return self._mutant("wrong_frame_kind", "text frame to a bytes message", "text", text)
        data = (encode_json(value) if self.kind == "json" else value).encode(
            "utf-8", "surrogatepass"
        )
        mutation = f"bytes frame to a {self.kind} message"
        return self._mutant("wrong_frame_kind", mutation, "bytes", data)

    def not_json(self, value: Any, variant: int) -> Mutant:
        label, make = _NOT_JSON_VARIANTS[variant]
        text = make(value)
        if parse(text) is not NOT_JSON:  # "12" truncated is "1": still JSON
            label, text = _NOT_JSON_VARIANTS[0][0], "{"
        return self._mutant("not_json", f"text that is not JSON: {label}", "text", text)

    def _strings(self, value: Any) -> tuple[list[Position], list[Position]]:
        """The strings in ``value``: (free ones, constrained ones), each top first."""
        free: list[Position] = []
        bound: list[Position] = []
        for pos in positions(self.shape, value):
            if isinstance(pos.value, str):
                (free if is_free(pos) else bound).append(pos)
        return free, bound

    def oversize(self, value: Any, draw: Draw) -> Mutant:
        want = self.limit + 1
        if self.kind == "bytes":
            seed = value or b"\x00"
            data = (seed * (want // len(seed) + 1))[:want]
            return self._mutant("oversize", f"oversize: {want} bytes", "bytes", data)
        if self.kind == "text":
            grown = value + "a" * max(1, want - byte_size(value))
            return self._mutant("oversize", f"oversize: {byte_size(grown)} bytes", "text", grown)
        text = encode_json(value)
        extra = max(1, want - byte_size(text))
        size = byte_size(text) + extra
        free, bound = self._strings(value)
        # A free string grown (maxLength aside) and spaces after the JSON keep the value valid.
        free = [p for p in free if all(n.max_length is None for n in p.nodes)]
        options: list[Position | None] = [*free, None, *bound]
        chosen = options[draw(_below(len(options)))]
        if chosen is None:
            mutation = f"oversize: {size} bytes, JSON padded with spaces"
            return self._mutant("oversize", mutation, "text", text + " " * extra)
        payload = apply(value, chosen.path, chosen.value + "a" * extra)
        mutation = f"oversize: {size} bytes, the string at {chosen.where} grown"
        return self._mutant("oversize", mutation, "json", payload)

    def _own_accepts(self, payload: Any) -> bool:
        if self.kind == "json":
            return self.own(payload)
        return self.oracle.text_accepted(self.own, payload, parse(payload))

    def at_site(self, family: str, value: Any, sites: list[Site], index: int) -> Mutant:
        tries = min(_RETRIES, len(sites)) if family in STRUCTURAL else 1
        for attempt in range(tries):
            site = sites[(index + attempt) % len(sites)]
            payload = apply(value, site.path, site.new)
            own_accepts = self._own_accepts(payload)
            if not own_accepts:
                break
        if own_accepts:
            invalid = False
        elif self.kind == "json":
            invalid = self.oracle.json_invalid(payload, skip=self.name)
        else:
            invalid = self.oracle.text_invalid(payload, skip=self.name)
        return Mutant(family, site.mutation, self.kind, payload, invalid)

    def sweep(self, value: Any, per_family: int) -> list[Mutant]:
        """Every family at up to ``per_family`` places in ``value``, deterministically.

        Random draws inside conversations favour some families and places; this is the list
        the negative probes send, so each family reaches the app at least once per route.
        """
        if self.kind == "text" and not isinstance(value, str):
            value = str(value)
        elif self.kind == "bytes":
            value = bytes(value)
        out: list[Mutant] = []
        for family in self.families:
            if family == "empty_frame":
                out.append(self.empty())
            elif family == "wrong_frame_kind":
                out.append(self.wrong_frame_kind(value))
            elif family == "not_json":
                out += [self.not_json(value, i) for i in range(min(2, len(_NOT_JSON_VARIANTS)))]
            elif family == "oversize":
                out.append(self.oversize(value, lambda strategy: 0))
            elif family in SITES:
                ctx = Ctx(self.shape, self.types, self.limit, CHARS[family][0], self.tags)
                if family in STRING_FAMILIES:
                    found = [p for group in self._strings(value) for p in group]
                else:
                    found = list(positions(self.shape, value))
                places = list(_by_place(SITES[family], ctx, found).values())
                limit = per_family
                if family == "wrong_type":
                    # Each wrong type at each place (of the first per_family ones): a handler
                    # that checks for null may still crash on a number, an object or a list.
                    places = places[:per_family]
                    limit = sum(len(sites) for sites in places)
                # One mutation per place before a second anywhere: a wrong type at /n matters
                # more than a fifth wrong type at the top.
                rounds = itertools.zip_longest(*places)
                sites = [site for row in rounds for site in row if site is not None]
                seen: set[str] = set()
                for index in range(len(sites)):
                    mutant = self.at_site(family, value, sites, index)
                    if mutant.mutation not in seen and len(seen) < limit:
                        seen.add(mutant.mutation)
                        out.append(mutant)
        return out

    def draw(self, draw: Draw) -> Mutant:
        family: str = draw(self.family)
        # Drawn for every family, even the empty frame: the shrinker prefers fewer choices, and
        # should end at the first family, not at the one that draws least.
        value = draw(self.values)
        if family == "empty_frame":
            return self.empty()
        # As conversations send them (conversation.encode_payload).
        if self.kind == "text" and not isinstance(value, str):
            value = str(value)
        elif self.kind == "bytes":
            value = bytes(value)
        if family == "not_json":
            return self.not_json(value, draw(_below(len(_NOT_JSON_VARIANTS))))
        if family == "oversize":
            return self.oversize(value, draw)
        if family in SITES:
            ctx = Ctx(self.shape, self.types, self.limit, draw(_CHOICES[family]), self.tags)
            if family in STRING_FAMILIES:
                # Strings that stay valid first: an awkward character in a valid value is the
                # input that finds crashes; one in a tag is just an unknown tag.
                found = [p for group in self._strings(value) for p in group]
            else:
                found = list(positions(self.shape, value))
            places = list(_by_place(SITES[family], ctx, found).values())
            if places:
                # The place first (shrinking to the top of the value), then what goes there
                # (shrinking to the simplest: null before false, 0, "", [] and {} for a wrong
                # type), so every place is drawn as often whatever it has to offer.
                place = draw(_below(len(places)))
                index = sum(len(sites) for sites in places[:place])
                index += draw(_below(len(places[place])))
                sites = [site for group in places for site in group]
                return self.at_site(family, value, sites, index)
        # This value has no place for the family (no string, the optional object left out...).
        return self.wrong_frame_kind(value)


def sweep(
    route: RouteSpec,
    message: ValidMessage,
    value: Any,
    *,
    per_family: int = 6,
    registered: frozenset[Kind] = frozenset(),
    lone_surrogates: bool = True,
) -> list[Mutant]:
    """Mutants of ``value`` (a valid ``message``): each applicable family, at up to
    ``per_family`` places, top of the value first. Deterministic: no Hypothesis draws."""
    mutator = _Mutator(route, message, registered=registered, lone_surrogates=lone_surrogates)
    return mutator.sweep(value, per_family)


def with_every_property(schema: Any) -> dict[str, Any] | None:
    """``schema`` with its optional top-level properties made required, or None when it has
    none: the sweep's second starting value, so optional fields get their mutants too (a bad
    ``window`` is only ever sent if some valid value has a ``window``)."""
    if not isinstance(schema, dict) or not isinstance(schema.get("properties"), dict):
        return None
    required = schema.get("required", [])
    if not isinstance(required, list):
        return None
    optional = [name for name in schema["properties"] if name not in required]
    if not optional:
        return None
    return {**schema, "required": [*required, *optional]}


@st.composite
def _draw_mutant(draw: st.DrawFn, mutator: _Mutator) -> Mutant:
    return mutator.draw(draw)


def mutants(
    route: RouteSpec,
    message: ValidMessage,
    *,
    registered: frozenset[Kind] = frozenset(),
    lone_surrogates: bool = True,
) -> st.SearchStrategy[Mutant] | None:
    """Mutants of one message type of ``route``, or None when nothing applies.

    Args:
        route: the route the message belongs to; all its message types (with any registered
            strategy and ``auth.first_message``) decide whether a mutant is ``invalid``.
        message: the compiled message; its strategy supplies the valid values mutants start from.
        registered: the kinds with a registered strategy on this route (it may carry anything
            of that kind, so nothing sent as that kind is known to be invalid).
        lone_surrogates: also insert lone surrogates into strings (a frame carrying one is not
            valid UTF-8: turn this off for transports that must encode frames).

    Returns:
        A strategy of :class:`Mutant`: families shrink towards ``wrong_frame_kind``, locations
        towards the top of the value.
    """
    mutator = _Mutator(route, message, registered=registered, lone_surrogates=lone_surrogates)
    if not mutator.families:
        return None
    return _draw_mutant(mutator)
