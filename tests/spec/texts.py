"""Loading a spec written in a test, as ``ws-routes.yaml`` in the current folder, and its errors."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ws_routes.errors import SpecError, SpecErrors
from ws_routes.spec.loader import load_spec_text
from ws_routes.spec.model import Spec


def load_text(text: str) -> Spec:
    return load_spec_text(textwrap.dedent(text), filename="ws-routes.yaml", base_dir=Path.cwd())


def errors_of(text: str) -> list[str]:
    """The located errors ``text`` is refused with (it must be refused)."""
    with pytest.raises((SpecError, SpecErrors)) as info:
        load_text(text)
    error = info.value
    return [str(e) for e in error.errors] if isinstance(error, SpecErrors) else [str(error)]
