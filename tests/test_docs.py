"""The docs' examples run: the files a page shows (a code block whose first line names the file)
are written to a folder and tested there, so a doc cannot drift from what ws_routes does."""

from __future__ import annotations

import re
from pathlib import Path
from types import ModuleType

import pytest

from tests.conftest import QUIET_ARGS, ci_module, seed_hypothesis_dir

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
# ```python / ```yaml blocks whose first line is "# name.ext".
BLOCK = re.compile(r"^```(?:python|yaml|toml)\n# ([\w.-]+)\n(.*?)^```$", re.M | re.S)


def files_of(page: str) -> dict[str, str]:
    """The files a doc page shows, by name (the first line of each block names its file)."""
    return {name: body for name, body in BLOCK.findall((DOCS / page).read_text("utf-8"))}


def test_the_api_page_shows_an_app_its_spec_and_given_tests() -> None:
    files = files_of("api.md")
    assert set(files) == {"app.py", "ws-routes.yaml", "test_echo.py"}
    assert "@given(from_schema(" in files["test_echo.py"]
    assert "@given(conversations(" in files["test_echo.py"]


def test_the_api_page_example_passes(pytester: pytest.Pytester, unicode_tables: Path) -> None:
    for name, body in files_of("api.md").items():
        (pytester.path / name).write_text(body, encoding="utf-8")
    seed_hypothesis_dir(pytester.path, unicode_tables)
    result = pytester.runpytest_subprocess(
        *QUIET_ARGS, "-p", "no:xdist", "test_echo.py", timeout=60
    )
    result.assert_outcomes(passed=2)


def test_the_fuzzing_page_test_module_is_collected(
    pytester: pytest.Pytester, unicode_tables: Path
) -> None:
    files = files_of("fuzzing.md")
    assert "route_test(" in files["test_ws_routes.py"]
    api = files_of("api.md")  # the same app and spec: the page's module runs on them
    for name, body in {
        **files,
        "app.py": api["app.py"],
        "ws-routes.yaml": api["ws-routes.yaml"],
    }.items():
        (pytester.path / name).write_text(body, encoding="utf-8")
    seed_hypothesis_dir(pytester.path, unicode_tables)
    result = pytester.runpytest_subprocess(
        *QUIET_ARGS, "-p", "no:xdist", "test_ws_routes.py", "-v", timeout=60
    )
    result.stdout.fnmatch_lines(["*test_ws_routes.py::test_echo PASSED*"])
    result.assert_outcomes(passed=1)


def _hooks() -> ModuleType:
    return ci_module("docs_hooks.py")  # MkDocs' hook, not a package module


def test_every_readme_marker_names_a_readme_section() -> None:
    hooks = _hooks()
    readme = (ROOT / "README.md").read_text("utf-8")
    markers = [
        (page.name, title)
        for page in sorted(DOCS.glob("*.md"))
        for title in hooks.MARKER.findall(page.read_text("utf-8"))
    ]
    assert len(markers) >= 8
    for _page, title in markers:
        section = hooks.readme_section(title, readme, "https://example.org/repo")
        assert section.startswith(f"## {title}\n")
        assert "](docs/" not in section  # README links to docs pages become site links
    with pytest.raises(ValueError, match="no section '## Nothing like it'"):
        hooks.readme_section("Nothing like it", readme, "https://example.org/repo")


def test_readme_links_point_to_site_pages_or_to_the_repository() -> None:
    readme = "## A\nsee [spec](docs/spec.md#invalid), [arch](ARCHITECTURE.md), [w](https://x.org)\n## B\n"
    section = _hooks().readme_section("A", readme, "https://example.org/repo/")
    assert "[spec](spec.md#invalid)" in section
    assert "[arch](https://example.org/repo/blob/main/ARCHITECTURE.md)" in section
    assert "[w](https://x.org)" in section
    assert "## B" not in section


def test_every_docs_page_is_in_the_site_nav() -> None:
    import yaml

    config = yaml.safe_load((ROOT / "mkdocs.yml").read_text("utf-8"))
    listed = {page for entry in config["nav"] for page in entry.values()}
    missing = sorted(p.name for p in DOCS.glob("*.md") if p.name not in listed)
    assert not missing, f"add a line `- Title: page.md` to mkdocs.yml's nav for: {missing}"
