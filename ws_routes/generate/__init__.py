"""JSON Schema to Hypothesis strategies, built by construction.

The pipeline follows hypothesis-jsonschema's shape (our own implementation; that package is
unmaintained and breaks with current Hypothesis):

* :mod:`.canonical` parses the schema into canonical :class:`~.node.Node` records, checking
  every keyword (:mod:`.reader`), resolving local ``$ref`` s (:mod:`.lookup`) and merging
  ``allOf`` (:mod:`.merge`);
* :mod:`.compiler` turns nodes into strategies: references with a recursion bound,
  ``anyOf``/``oneOf`` (proved disjoint by :mod:`.disjoint`, else filtered with
  :mod:`.validate`), ``enum``, then type by type (:mod:`.numbers`, :mod:`.strings` with
  :mod:`.patterns` and :mod:`.formats`, :mod:`.arrays`, :mod:`.objects`);
* a byte budget splits ``max_size`` among the parts of a value (:mod:`.sizes`), and edge
  values are mixed in (:mod:`.boundaries`, :mod:`.awkward`).

Anything we cannot generate is a :class:`~ws_routes.errors.SchemaCompileError` naming the
keyword and its JSON pointer, never a silent approximation.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from hypothesis.strategies import SearchStrategy

from ws_routes.errors import SchemaCompileError
from ws_routes.generate.awkward import any_json, awkward_bytes, awkward_text, named
from ws_routes.generate.canonical import Canonicaliser
from ws_routes.generate.compiler import Compiler, Context
from ws_routes.generate.sizes import min_bytes
from ws_routes.generate.values import json_size

__all__ = ["any_json", "awkward_bytes", "awkward_text", "check_schema", "from_schema"]


def _compile(
    schema: Mapping[str, Any] | bool, max_size: int | None, boundaries: bool
) -> SearchStrategy[Any]:
    if not isinstance(schema, Mapping | bool):
        raise SchemaCompileError(f"a schema must be an object or a boolean, found {schema!r}")
    if max_size is not None and (
        isinstance(max_size, bool) or not isinstance(max_size, int) or max_size < 1
    ):
        raise ValueError(f"max_size must be a positive integer or None, found {max_size!r}")
    canonicaliser = Canonicaliser(schema)
    root = canonicaliser.canon(schema, "")
    if max_size is not None:
        smallest = min_bytes(root, canonicaliser.resolve)
        # An infinite minimum means "no value at all": the compiler explains that better.
        if max_size < smallest < math.inf:
            raise SchemaCompileError(
                f"max_size {max_size} is too small: the smallest value this schema allows takes"
                f" {smallest:.0f} bytes as JSON",
                pointer="",
                keyword=None,
            )
    compiler = Compiler(canonicaliser, edges=boundaries)
    strategy = compiler.compile(root, Context(budget=max_size))
    if max_size is not None:
        # A guard only: every part was compiled to fit its share of max_size.
        strategy = strategy.filter(lambda value: json_size(value) <= max_size)
    title = schema.get("title") if isinstance(schema, Mapping) else None
    label = repr(title) if isinstance(title, str) else "..."
    return named(strategy, f"from_schema({label}, {max_size=}, {boundaries=})")


def from_schema(
    schema: Mapping[str, Any] | bool, *, max_size: int | None = None, boundaries: bool = True
) -> SearchStrategy[Any]:
    """A strategy of JSON values valid against ``schema``.

    Args:
        schema: a self-contained JSON Schema (draft 2020-12, or draft-07 when its ``$schema``
            says so) whose ``$ref`` s are all local (``#/$defs/...``).
        max_size: the most bytes a value may take as ``json.dumps(value, ensure_ascii=False)``
            encoded as UTF-8 (a route's maximum message size); None for no limit.
        boundaries: mix in edge values (empty and maximal collections, exact length and range
            bounds, every enum value, awkward text).

    Returns:
        A Hypothesis strategy of ``dict``/``list``/``str``/``int``/``float``/``bool``/None values.

    Raises:
        SchemaCompileError: the schema uses something we cannot generate (an unsupported
            keyword, a remote ``$ref``, unbounded recursion), contradicts itself, or its smallest
            value is larger than ``max_size``. ``pointer`` and ``keyword`` say where.
    """
    return _compile(schema, max_size, boundaries)


def check_schema(schema: Mapping[str, Any] | bool, *, max_size: int | None = None) -> None:
    """Check that :func:`from_schema` can generate values from ``schema``.

    Runs the same analysis as :func:`from_schema` (the strategies it builds are lazy and are
    never drawn from) and discards the result.

    Raises:
        SchemaCompileError: as :func:`from_schema` would.
    """
    _compile(schema, max_size, True)
