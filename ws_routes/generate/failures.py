"""Why a (sub)schema yields no value, as exceptions the compiler raises and sometimes catches.

Both are :class:`~ws_routes.errors.SchemaCompileError` s, so one that reaches the caller is
an ordinary compile error with a message and a pointer. Inside the compiler they differ in
where they may be swallowed:

* :class:`Unsatisfiable`: the keywords contradict each other. Only an ``anyOf``/``oneOf``
  branch (which may well be impossible once merged with its parent) may drop it silently.
* :class:`CutOff`: nothing *here*, by design or by a limit: a ``false`` schema, the recursion
  depth bound, the ``max_size`` budget. An optional property or further array items are then
  simply left out.
"""

from __future__ import annotations

from ws_routes.errors import SchemaCompileError
from ws_routes.generate.node import Reason

__all__ = ["CutOff", "Unsatisfiable", "raise_reason"]


class Unsatisfiable(SchemaCompileError):
    """No value satisfies the keywords together."""


class CutOff(Unsatisfiable):
    """No value here: a ``false`` schema, the recursion bound or the size budget."""


def raise_reason(reason: Reason) -> None:
    """Raise the exception ``reason`` describes."""
    kind = CutOff if reason.deliberate else Unsatisfiable
    raise kind(reason.message, pointer=reason.pointer, keyword=reason.keyword)
