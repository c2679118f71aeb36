"""Compile canonical nodes into Hypothesis strategies: refs, combinators, enums and types.

Recursion: a ``$ref`` is expanded again each time it is met, up to :data:`RECURSION_LIMIT`
re-entries of the same reference on the current path; past that the reference raises
:class:`~ws_routes.generate.failures.CutOff`, which an optional place (a property that is not
required, further array items, another ``anyOf`` branch) turns into "leave it out". So deep
values are still reached, and generation always terminates. Compiled references are cached
per (reference, recursion state, budget), so each level is compiled once.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Any

from hypothesis import strategies as st
from hypothesis.strategies import SearchStrategy

from ws_routes.generate.arrays import array_strategy
from ws_routes.generate.awkward import json_strategy
from ws_routes.generate.canonical import Canonicaliser, is_trivial
from ws_routes.generate.disjoint import covers, disjoint
from ws_routes.generate.failures import CutOff, Unsatisfiable, raise_reason
from ws_routes.generate.merge import merge
from ws_routes.generate.node import FALSE_REASON, Node
from ws_routes.generate.numbers import NoNumber, float_strategy, integer_strategy
from ws_routes.generate.objects import object_strategy
from ws_routes.generate.strings import string_strategy
from ws_routes.generate.validate import is_valid
from ws_routes.generate.values import json_key, json_size, json_type

__all__ = ["MAX_VALUE_DEPTH", "RECURSION_LIMIT", "Compiler", "Context"]

RECURSION_LIMIT = 3
# Nested draws the schema's values may take: a conversation already spends ~28 of the 100
# nested draws Hypothesis allows (measured with ws_routes.engine.conversation.conversations).
MAX_VALUE_DEPTH = 60
_TYPE_ORDER = ("null", "boolean", "integer", "float", "string", "array", "object")


@dataclass(frozen=True, slots=True)
class Context:
    """Where a node is compiled: its byte budget, the ``$ref`` s being expanded, and whether
    it is (part of) an ``anyOf``/``oneOf`` branch, where contradictions prune the branch."""

    budget: int | None = None
    stack: tuple[str, ...] = ()
    in_branch: bool = False
    # No edge mixing: inside objects with so many properties that every extra draw per value
    # would overflow Hypothesis's per-example choice buffer (see sizes.LEAN_COUNT).
    lean: bool = False

    def sized(self, budget: int | None) -> Context:
        """The same context with another budget."""
        return replace(self, budget=budget)


class Compiler:
    """Turns the nodes of one canonicalised document into strategies."""

    def __init__(self, canonicaliser: Canonicaliser, *, edges: bool):
        self.canonicaliser = canonicaliser
        self.edges = edges
        self._refs: dict[tuple[Any, ...], SearchStrategy[Any]] = {}
        self._depth = 0

    def resolve(self, ref: str, pointer: str) -> Node:
        """The canonical node a ``$ref`` names."""
        return self.canonicaliser.resolve(ref, pointer)

    def valid(self, node: Node, value: Any, *, strict: bool = True) -> bool:
        """Whether ``value`` satisfies ``node``."""
        return is_valid(node, value, self.resolve, strict=strict)

    def compile(self, node: Node, ctx: Context) -> SearchStrategy[Any]:
        """A strategy of values valid against ``node`` that fit ``ctx.budget``.

        Raises:
            Unsatisfiable: no value satisfies the node (CutOff: none fits here).
        """
        if ctx.budget is not None and ctx.budget < 1:
            raise CutOff("no byte of max_size is left here", pointer=node.pointer)
        # Hypothesis gives up on a draw nested more than 100 strategies deep (the run then ends
        # "Unsatisfiable"). Measured: an object level costs one nested draw, an array level
        # about two (the list, then its element).
        cost = 2 if "array" in node.types else 1
        if self._depth + cost > MAX_VALUE_DEPTH:
            raise CutOff(
                "values nest too deep here for Hypothesis to draw (about"
                f" {MAX_VALUE_DEPTH // 2} nested arrays or {MAX_VALUE_DEPTH} nested objects):"
                " make the deeper parts optional, or flatten the schema",
                pointer=node.pointer,
            )
        self._depth += cost
        try:
            return self._compile(node, ctx)
        finally:
            self._depth -= cost

    def _compile(self, node: Node, ctx: Context) -> SearchStrategy[Any]:
        if node.ref is not None:
            return self._ref(node, ctx)
        if node.any_of or node.one_of:
            return self._branches(node, ctx)
        if not node.types:
            raise_reason(node.empty or FALSE_REASON)
        if is_trivial(node):
            return json_strategy(ctx.budget)
        strategy = self._enum(node, ctx) if node.enum is not None else self._types(node, ctx)
        if node.forbidden and node.enum is None:
            forbidden = {json_key(v) for v in node.forbidden}
            # `not: {const: ...}`: a tiny filter, it rejects only the excluded values.
            strategy = strategy.filter(lambda v: json_key(v) not in forbidden)
        return strategy

    def size_edges(self, ctx: Context) -> bool:
        """Whether to mix in empty/full collections here.

        Not inside a recursion: a full collection of full objects at every level multiplies
        into values too large to draw (Hypothesis gives up on them as overruns).
        """
        return self.edges and not ctx.lean and len(set(ctx.stack)) == len(ctx.stack)

    def optional(self, node: Node, ctx: Context) -> SearchStrategy[Any] | None:
        """Like :meth:`compile`, but None when the value may (and must) be left out."""
        try:
            return self.compile(node, ctx)
        except CutOff:
            return None
        except Unsatisfiable:
            if ctx.in_branch:
                return None
            raise

    def finite_values(
        self, node: Node | None, _seen: frozenset[str] = frozenset()
    ) -> list[Any] | None:
        """All values ``node`` allows when they are few and known (for ``uniqueItems``)."""
        if node is None:
            return None
        if node.ref is not None:
            if node.ref in _seen:
                return None
            _seen |= {node.ref}
            node = self.resolve(node.ref, node.pointer)
        candidates = self._candidates(node, _seen)
        if candidates is None:
            return None
        unique: dict[Any, Any] = {}
        for value in candidates:
            if self.valid(node, value):
                unique.setdefault(json_key(value), value)
        return list(unique.values())

    def _candidates(self, node: Node, seen: frozenset[str]) -> Sequence[Any] | None:
        # A superset of the values `node` allows, when one is known and small; is_valid then
        # judges each (so combinators and `not` need no care here).
        if node.enum is not None:
            return node.enum
        per_type = [_few_of_type(node, kind) for kind in node.types]
        if all(values is not None for values in per_type):
            return [value for values in per_type if values is not None for value in values]
        # A disjunction whose every branch is finite is finite: {"anyOf": [{"type": "null"}]}
        # allows one value, and unique lists of two of them cannot be drawn.
        for branches in (*node.any_of, *node.one_of):
            union: list[Any] = []
            for branch in branches:
                values = self.finite_values(branch, seen)
                if values is None:
                    break
                union.extend(values)
            else:
                return union
        return None

    # -- references and combinators -------------------------------------------------------------

    def _ref(self, node: Node, ctx: Context) -> SearchStrategy[Any]:
        ref = node.ref
        assert ref is not None
        if ctx.stack.count(ref) > RECURSION_LIMIT:
            raise CutOff(
                f"$ref {ref!r} recurses without end: every value it allows contains another {ref!r}"
                " (make the recursive property optional, or allow an empty array or a non-recursive"
                " anyOf branch)",
                pointer=node.at("$ref"),
                keyword="$ref",
            )
        key = (ref, frozenset(Counter(ctx.stack).items()), ctx.budget, ctx.in_branch)
        cached = self._refs.get(key)
        if cached is None:
            target = self.resolve(ref, node.pointer)
            cached = self.compile(target, replace(ctx, stack=(*ctx.stack, ref)))
            self._refs[key] = cached
        return cached

    def _branches(self, node: Node, ctx: Context) -> SearchStrategy[Any]:
        """Distribute the first ``anyOf``/``oneOf``: merge the rest of the node into each branch."""
        if node.any_of:
            kind, group, rest = "anyOf", node.any_of[0], replace(node, any_of=node.any_of[1:])
        else:
            kind, group, rest = "oneOf", node.one_of[0], replace(node, one_of=node.one_of[1:])
        alive: list[tuple[int, SearchStrategy[Any]]] = []
        failures: list[Unsatisfiable] = []
        for index, branch in enumerate(group):
            stack = ctx.stack
            if branch.ref is not None:
                # Merging inlines the reference, so count it here to bound recursion.
                stack = (*stack, branch.ref)
            try:
                if branch.ref is not None and ctx.stack.count(branch.ref) > RECURSION_LIMIT:
                    self._ref(branch, ctx)  # raises the CutOff
                merged = merge(rest, branch, self.resolve)
                alive.append(
                    (index, self.compile(merged, replace(ctx, stack=stack, in_branch=True)))
                )
            except Unsatisfiable as failure:
                failures.append(failure)
        if kind == "oneOf":
            # A branch inside a type-only branch never matches alone: drop it, not filter it.
            shadowed = {
                i
                for i, _ in alive
                for j, other in enumerate(group)
                if j != i and covers(other, group[i], self.resolve)
            }
            failures += [
                Unsatisfiable(
                    "every value of this oneOf branch also matches another branch, so none"
                    " matches exactly one",
                    pointer=group[i].pointer,
                    keyword="oneOf",
                )
                for i in sorted(shadowed)
            ]
            alive = [(i, s) for i, s in alive if i not in shadowed]
        if not alive:
            raise _no_branch(kind, failures)
        if kind == "oneOf" and not all(
            disjoint(group[i], other, self.resolve)
            for i, _ in alive
            for j, other in enumerate(group)
            if j != i
        ):
            # Branches may overlap: keep only values that match no other branch. Values match
            # their own branch by construction, so the filter rejects just the overlap.
            alive = [(i, s.filter(functools.partial(self._only, group, i))) for i, s in alive]
        return st.one_of([s for _, s in alive])

    def _only(self, group: Sequence[Node], index: int, value: Any) -> bool:
        return not any(
            self.valid(b, value, strict=False) for j, b in enumerate(group) if j != index
        )

    # -- values ---------------------------------------------------------------------------------

    def _enum(self, node: Node, ctx: Context) -> SearchStrategy[Any]:
        assert node.enum is not None
        rest = replace(node, enum=None)
        valid = [v for v in node.enum if self.valid(rest, v)]
        fitting = [v for v in valid if ctx.budget is None or json_size(v) <= ctx.budget]
        if fitting:
            return st.sampled_from(fitting)
        keyword = "enum" if "enum" in node.src or "const" not in node.src else "const"
        shown = ", ".join(repr(v) for v in node.enum[:5]) + (", ..." if len(node.enum) > 5 else "")
        if valid:
            raise CutOff(
                f"max_size leaves {ctx.budget} bytes here, too few for any {keyword} value",
                pointer=node.at(keyword),
                keyword=keyword,
            )
        if not any(json_type(v) in node.types for v in node.enum):
            raise Unsatisfiable(
                f"{keyword} has no value of type {_type_names(node.types)}: found {shown}",
                pointer=node.at(keyword),
                keyword=keyword,
            )
        raise Unsatisfiable(
            f"no {keyword} value satisfies the other keywords of the schema: found {shown}",
            pointer=node.at(keyword),
            keyword=keyword,
        )

    def _types(self, node: Node, ctx: Context) -> SearchStrategy[Any]:
        parts: list[SearchStrategy[Any]] = []
        failures: list[Unsatisfiable] = []
        _check_bounds(node)
        for kind in _TYPE_ORDER:
            if kind in node.types:
                try:
                    parts.append(self._type(kind, node, ctx))
                except Unsatisfiable as failure:
                    failures.append(failure)
        real = [f for f in failures if not isinstance(f, CutOff)]
        if not parts or (real and not ctx.in_branch):
            raise (real or failures)[0]
        return st.one_of(parts)

    def _type(self, kind: str, node: Node, ctx: Context) -> SearchStrategy[Any]:
        budget = ctx.budget
        if kind == "null":
            _fits(node, budget, 4)
            return st.none()
        if kind == "boolean":
            _fits(node, budget, 4)
            return st.just(True) if budget == 4 else st.booleans()
        bounds = (node.minimum, node.exclusive_minimum, node.maximum, node.exclusive_maximum)
        try:
            if kind == "integer":
                return integer_strategy(
                    *bounds, node.multiple_of, edges=self.edges and not ctx.lean, max_digits=budget
                )
            if kind == "float":
                return float_strategy(
                    *bounds,
                    node.multiple_of,
                    integral="integer" in node.types,
                    edges=self.edges and not ctx.lean,
                    max_chars=budget,
                )
        except NoNumber as problem:
            keyword = "multipleOf" if node.multiple_of else "minimum"
            if budget is not None and budget < 24:
                raise CutOff(
                    f"max_size leaves {budget} bytes here: {problem}", pointer=node.pointer
                ) from None
            raise Unsatisfiable(str(problem), pointer=node.at(keyword), keyword=keyword) from None
        if kind == "string":
            return string_strategy(node, budget, edges=self.edges and not ctx.lean)
        if kind == "array":
            return array_strategy(self, node, ctx)
        return object_strategy(self, node, ctx)


def _fits(node: Node, budget: int | None, size: int) -> None:
    if budget is not None and budget < size:
        raise CutOff(
            f"max_size leaves {budget} bytes here, fewer than {size}", pointer=node.pointer
        )


def _check_bounds(node: Node) -> None:
    """minimum above maximum is a contradiction whatever the type list says."""
    low, high = node.minimum, node.maximum
    if low is None or high is None or not node.types & {"integer", "float"}:
        return
    low_kw = "exclusiveMinimum" if node.exclusive_minimum else "minimum"
    high_kw = "exclusiveMaximum" if node.exclusive_maximum else "maximum"
    if low > high:
        relation = "greater than"
    elif low == high and (node.exclusive_minimum or node.exclusive_maximum):
        relation = "equal to"
    else:
        return
    raise Unsatisfiable(
        f"{low_kw} {low!r} is {relation} {high_kw} {high!r}: no number satisfies both",
        pointer=node.at(low_kw),
        keyword=low_kw,
    )


def _type_names(types: frozenset[str]) -> str:
    names = set(types)
    if {"integer", "float"} <= names:
        names = (names - {"integer", "float"}) | {"number"}
    names.discard("float")
    return " or ".join(sorted(names)) or "(none)"


def _no_branch(kind: str, failures: list[Unsatisfiable]) -> Unsatisfiable:
    real = [f for f in failures if not isinstance(f, CutOff)]
    if not real:
        return failures[0]
    first = real[0]
    return Unsatisfiable(
        f"no branch of {kind} can be satisfied; the first reason: {first.message}",
        pointer=first.pointer,
        keyword=first.keyword,
    )


def _few_of_type(node: Node, kind: str) -> list[Any] | None:
    """The values of JSON type ``kind`` that ``node`` may allow, when they are one or two.

    Hypothesis refuses a unique list longer than the values of ``st.just``/``st.sampled_from``
    (an array with ``maxItems: 0`` is ``st.just([])``), so these must be known as finite.
    """
    if kind == "null":
        return [None]
    if kind == "boolean":
        return [False, True]
    if kind == "string" and node.max_length == 0:
        return [""]
    if kind == "array" and node.max_items == 0:
        return [[]]
    if kind == "object" and node.max_properties == 0:
        return [{}]
    if kind in ("integer", "float") and node.minimum is not None and node.minimum == node.maximum:
        return [node.minimum]
    return None

