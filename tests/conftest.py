"""Shared fixtures: run pytest with our flags on a tiny app written into a pytester folder."""

from __future__ import annotations

import importlib.util
import os
import shutil
import subprocess
import sys
import textwrap
import unicodedata
from collections.abc import Callable
from glob import escape
from pathlib import Path
from types import ModuleType

import pytest


def _import_all_of_ws_routes() -> None:
    # Before any Hypothesis test runs: every module of ours imported, then kept out of the pool
    # of local constants Hypothesis draws from (see engine.search.leave_out_our_constants), so a
    # seeded test draws the same whichever tests ran before it in this process.
    import importlib
    import pkgutil

    import ws_routes
    from ws_routes.engine.search import leave_out_our_constants

    for info in pkgutil.walk_packages(ws_routes.__path__, "ws_routes."):
        if not info.name.endswith("__main__"):  # that one runs the command line
            importlib.import_module(info.name)
    leave_out_our_constants()


_import_all_of_ws_routes()


def pytest_configure(config: pytest.Config) -> None:
    # `-n 2` steals work: xdist's default `load` hands out runs of consecutive tests, and the
    # acceptance tests sit together, so one worker kept 227 slow tests while the other idled for
    # 220 s of a 496 s suite. Here, not in addopts: the minimum-versions run has no xdist.
    # Before xdist's own (trylast) pytest_configure, which starts the workers.
    explicit = any(arg.startswith("--dist") for arg in config.invocation_params.args)
    if getattr(config.option, "dist", None) == "load" and not explicit:
        config.option.dist = "worksteal"


# Every acceptance run: flags that only make the inner pytest start faster.
QUIET_ARGS: tuple[str, ...] = (
    "-p",
    "no:cacheprovider",
    "-p",
    "no:faker",  # an unrelated plugin of the venv that costs half a second per run
    # No assertion rewriting: with PYTHONDONTWRITEBYTECODE set it re-rewrites Hypothesis' ~150
    # modules in every run (1.5 s); the runs under test contain no assert statements of ours.
    "--assert=plain",
)

# Fast, reproducible defaults for acceptance runs; a test's own arguments come after and win.
FAST_ARGS: tuple[str, ...] = (
    "--routes-websocket",
    "--routes-app",
    "app:app",
    "--routes-max-examples",
    "30",
    "--routes-ws-timeout",
    "2",
    "--routes-ws-message-timeout",
    "0.5",
    "--routes-seed",
    "1",
)

# The start of most app modules the acceptance tests write.
STARLETTE_HEADER = """\
import asyncio
import json

from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect


async def echo(ws: WebSocket) -> None:
    await ws.accept()
    await echo_accepted(ws)


async def echo_accepted(ws: WebSocket) -> None:
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is not None:
            await ws.send_text(message["text"])
        else:
            await ws.send_bytes(message["bytes"])
"""

# An app module's reader of text frames: a binary frame is refused with 1003, an allowed code.
TEXT_FRAMES = '''

async def texts(ws: WebSocket):
    """Text frames until the client leaves; a binary frame is refused with 1003."""
    while True:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            return
        if message.get("text") is None:
            await ws.close(code=1003)
            return
        yield message["text"]
'''

ECHO_APP = (
    STARLETTE_HEADER
    + """
app = Starlette(routes=[WebSocketRoute("/ws/echo", echo)])
"""
)

RunRoutes = Callable[..., pytest.RunResult]

# The seeds an acceptance test that must find its bug with several seeds runs with: all three
# with WS_ROUTES_SLOW_TESTS=1, seed 1 alone in the suite (its time budget: one proof each).
SEEDS = ["1", "2", "3"] if os.environ.get("WS_ROUTES_SLOW_TESTS") else ["1"]


@pytest.fixture(scope="session")
def unicode_tables(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Hypothesis' Unicode tables, computed once per worker.

    Hypothesis caches them under ``.hypothesis/unicode_data``; every fresh pytester folder would
    otherwise spend ~2 s rebuilding them for ``st.characters(codec="utf-8")``.
    """
    from hypothesis.configuration import storage_directory

    where = storage_directory("unicode_data", intent_to_write=False)
    ours = Path(getattr(where, "path", where))  # older Hypothesis returns the Path itself
    if (ours / unicodedata.unidata_version / "codec-v2-utf-8.json.gz").is_file():
        return ours  # this session's own Hypothesis already built them
    home = tmp_path_factory.mktemp("hypothesis-home")
    code = "from hypothesis.internal import charmap; charmap.charmap(); charmap.intervals_from_codec('utf-8')"
    env = {**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(home)}
    subprocess.run([sys.executable, "-c", code], env=env, check=True, timeout=120)
    return home / "unicode_data"


def seed_hypothesis_dir(folder: Path, unicode_tables: Path) -> None:
    """Give ``folder`` a ``.hypothesis`` with the Unicode tables and no example database."""
    shutil.copytree(unicode_tables, folder / ".hypothesis" / "unicode_data", dirs_exist_ok=True)


@pytest.fixture
def run_routes(pytester: pytest.Pytester, unicode_tables: Path) -> RunRoutes:
    """``run_routes(app_source, *args, spec=None, defaults=True, timeout=60)``: write ``app.py`` (and
    ``ws-routes.yaml``), then run pytest in a subprocess with :data:`QUIET_ARGS`,
    :data:`FAST_ARGS` (unless ``defaults`` is False) and ``args``."""
    pytester.makeini("[pytest]\n")
    seed_hypothesis_dir(pytester.path, unicode_tables)

    def run(
        app: str | None,
        *args: str,
        spec: str | None = None,
        defaults: bool = True,
        timeout: float = 60,
    ) -> pytest.RunResult:
        if app is not None:
            pytester.makepyfile(app=textwrap.dedent(app))
        if spec is not None:
            (pytester.path / "ws-routes.yaml").write_text(textwrap.dedent(spec), encoding="utf-8")
        full = [*QUIET_ARGS, *(FAST_ARGS if defaults else ()), *args]
        return pytester.runpytest_subprocess(*full, timeout=timeout)

    return run


def node(route: str) -> str:
    """The fnmatch pattern of a route item's node id (brackets escaped)."""
    return escape(f"ws-routes::test_websocket[{route}]")


def section(lines: list[str], start: str, *, stop: str = "") -> list[str]:
    """The lines after the first one starting with ``start``, up to a blank line or ``stop``."""
    out: list[str] = []
    inside = False
    for line in lines:
        if inside:
            if not line.strip() or (stop and line.startswith(stop)):
                break
            out.append(line)
        elif line.startswith(start):
            inside = True
    return out


def ci_module(filename: str) -> ModuleType:
    """A script of .ci/ (stdlib only, not a package module), loaded from its file."""
    path = Path(__file__).resolve().parent.parent / ".ci" / filename
    spec = importlib.util.spec_from_file_location(path.stem, path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
