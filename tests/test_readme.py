"""The README's two commands are the contract with users and CI; keep them true."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = (ROOT / "README.md").read_text(encoding="utf-8")


def _top_commands() -> list[str]:
    top = README.split("\n## ", 1)[0]
    return re.findall(r"```bash\n(.*?)\n```", top, flags=re.S)


def test_readme_has_exactly_two_commands_near_the_top() -> None:
    assert len(_top_commands()) == 2


def test_ci_runs_the_readme_test_command_verbatim() -> None:
    test_command = _top_commands()[1]
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert test_command in ci.splitlines()


def test_example_command_runs_the_bundled_example_with_the_seed_flags() -> None:
    example = _top_commands()[0]
    assert "--routes --routes-app chat_app:app --routes-websocket" in example
    # Pinned: the demo must show its finding on every machine, not on most.
    assert example.endswith("--routes-seed 1")
    assert (ROOT / "examples" / "chat_app.py").is_file()
    assert (ROOT / "examples" / "ws-routes.yaml").is_file()


def test_every_option_is_documented() -> None:
    from ws_routes.options import OPTIONS

    missing = [o.flag for o in OPTIONS if f"`{o.flag}" not in README]
    assert not missing


def test_the_example_command_shows_the_planted_bug(tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    command = _top_commands()[0].split("../.venv/bin/pytest", 1)[1].split()
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *command],
        cwd=ROOT / "examples",
        # As on a fresh machine: no example database of earlier runs to replay failures from.
        env={**os.environ, "HYPOTHESIS_STORAGE_DIRECTORY": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 1, run.stdout[-2000:]
    assert "WEBSOCKET TEST FAILURE: /ws/chat/{room}" in run.stdout
    assert "list.remove(x): x not in list" in run.stdout
    assert "Route: /ws/echo   [passed]" in run.stdout
