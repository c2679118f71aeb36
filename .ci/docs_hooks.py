"""MkDocs hook: a page line ``<!-- readme: Section title -->`` becomes that section of README.md.

The README stays the one place these sections are written; on the site its links point to the
site's pages (``docs/x.md`` -> ``x.md``) or, for other files of the repository, to the
repository itself. A marker naming no section of the README fails the build.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
MARKER = re.compile(r"^<!-- readme: (.+?) -->$", re.M)
LINK = re.compile(r"\]\((?!https?://|#)([^)\s]+)\)")


def readme_section(title: str, readme: str, repo: str) -> str:
    """The README's ``## title`` section, heading included, its links made to work on the site."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", readme, re.M | re.S)
    if match is None:
        raise ValueError(f"README.md has no section '## {title}'")

    def link(found: re.Match[str]) -> str:
        target = found.group(1)
        if target.startswith("docs/"):
            return f"]({target.removeprefix('docs/')})"
        return f"]({repo.rstrip('/')}/blob/main/{target})"

    return LINK.sub(link, f"## {title}\n{match.group(1)}".rstrip() + "\n")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    repo = str(config["repo_url"])
    return MARKER.sub(lambda m: readme_section(m.group(1), readme, repo), markdown)
