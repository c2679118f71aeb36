"""``ws-routes import-asyncapi`` / ``export-asyncapi``: registered into the main parser by cli.py."""

from __future__ import annotations

import argparse

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the AsyncAPI subcommands to ``sub`` (the ``ws-routes`` subparsers)."""
