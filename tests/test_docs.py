"""The docs' examples run: the files a page shows (a code block whose first line names the file)
are written to a folder and tested there, so a doc cannot drift from what ws_routes does."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import QUIET_ARGS, seed_hypothesis_dir

DOCS = Path(__file__).resolve().parent.parent / "docs"
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
