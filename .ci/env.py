"""What .ci/run needs to know about this machine and this project; stdlib only.

python3 .ci/env.py pythons     one line per CPython >= 3.11 found: "3.12 /path/to/python3"
python3 .ci/env.py minimums    the declared minimum of every dependency, pinned: "pytest==7.0"
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
OLDEST = (3, 11)  # requires-python
# Extras whose minimums are pinned too: the quick subset runs the bundled Starlette example.
PINNED_EXTRAS = ("starlette",)
PROBE = "import platform, sys; print(platform.python_implementation(), *sys.version_info[:3])"


def _candidates() -> list[str]:
    found: list[str] = []
    pyenv = shutil.which("pyenv")
    if pyenv:
        root = subprocess.run([pyenv, "root"], capture_output=True, text=True, check=False)
        if root.returncode == 0:
            found += sorted(glob.glob(os.path.join(root.stdout.strip(), "versions/*/bin/python3")))
    for minor in range(OLDEST[1], 30):
        path = shutil.which(f"python3.{minor}")
        if path:
            found.append(path)
    return found


def pythons() -> dict[str, str]:
    """One interpreter per CPython minor version >= 3.11, the newest micro of each."""
    best: dict[str, tuple[int, str]] = {}
    for path in _candidates():
        try:
            # A pyenv shim for a version that is not active fails here: not an interpreter.
            probe = subprocess.run([path, "-c", PROBE], capture_output=True, text=True, timeout=30)
        except (OSError, subprocess.TimeoutExpired):
            continue
        words = probe.stdout.split()
        if probe.returncode != 0 or len(words) != 4 or words[0] != "CPython":
            continue
        major, minor, micro = (int(w) for w in words[1:])
        if (major, minor) < OLDEST:
            continue
        key = f"{major}.{minor}"
        if key not in best or micro > best[key][0]:
            best[key] = (micro, path)
    return {key: best[key][1] for key in sorted(best, key=lambda k: tuple(map(int, k.split("."))))}


def minimums() -> list[str]:
    """``name==X`` for every dependency's ``name>=X``; anything else is an error."""
    project = tomllib.loads((ROOT / "pyproject.toml").read_text("utf-8"))["project"]
    extras = project.get("optional-dependencies", {})
    pins: list[str] = []
    for requirement in [*project["dependencies"], *(r for e in PINNED_EXTRAS for r in extras[e])]:
        name, sep, version = requirement.partition(">=")
        if not sep or not version or any(c in version for c in ",;<>=!~ "):
            raise SystemExit(f"pyproject.toml: {requirement!r}: expected name>=version")
        pins.append(f"{name.strip()}=={version.strip()}")
    return pins


if __name__ == "__main__":
    if sys.argv[1:] == ["pythons"]:
        for key, path in pythons().items():
            print(key, path)
    elif sys.argv[1:] == ["minimums"]:
        print("\n".join(minimums()))
    else:
        raise SystemExit(__doc__)
