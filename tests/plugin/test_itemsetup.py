"""itemsetup: markers and fixtures on an Item that is no test function, through pytest's own
machinery; shown on a bare item a conftest collects (no WebSocket app involved)."""

from __future__ import annotations

import textwrap

import pytest

CONFTEST = """
import pytest

from ws_routes.plugin.itemsetup import MARKER_HELP, add_markers, fill_fixtures, request_fixtures

EVENTS = []


def pytest_configure(config):
    config.addinivalue_line("markers", MARKER_HELP)
    config.addinivalue_line("markers", "slow: slow routes")


class BareItem(pytest.Item):
    def __init__(self, *, markers, fixtures, **kw):
        super().__init__(**kw)
        self.problem = add_markers(self, markers, filename="routes.yaml", lineno=7)
        self.named = {name: "the test's list" for name in fixtures}
        request_fixtures(self, list(self.named))

    def reportinfo(self):
        return self.path, None, self.name

    def setup(self):
        fill_fixtures(self, self.named)

    def runtest(self):
        if self.problem:
            raise AssertionError(self.problem)
        ours = {"everywhere", "engine", "database"}  # other plugins may add their autouse ones
        EVENTS.append(("run", self.name, sorted(ours & set(self.funcargs))))


class Routes(pytest.Collector):
    def collect(self):
        yield BareItem.from_parent(self, name="plain", markers=(), fixtures=())
        yield BareItem.from_parent(self, name="slow_db", markers=("slow",), fixtures=("database",))
        yield BareItem.from_parent(self, name="typo", markers=(), fixtures=("databse",))
        yield BareItem.from_parent(self, name="unregistered", markers=("nope",), fixtures=())


@pytest.hookimpl(tryfirst=True)  # before -k and -m deselect, as the plugin's own
def pytest_collection_modifyitems(session, config, items):
    items.extend(Routes.from_parent(session, name="routes", nodeid="routes").collect())


@pytest.fixture(autouse=True)
def everywhere():
    EVENTS.append(("autouse up",))
    yield
    EVENTS.append(("autouse down",))


@pytest.fixture(scope="session")
def engine():
    EVENTS.append(("engine up",))
    yield "engine"
    EVENTS.append(("engine down",))


@pytest.fixture
def database(engine, request):
    EVENTS.append(("database up", request.node.name))
    yield "db"
    EVENTS.append(("database down",))


def pytest_sessionfinish(session):
    print("\\nEVENTS", EVENTS)
"""


@pytest.fixture
def bare(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makeini("[pytest]\n")
    return pytester


def test_autouse_and_named_fixtures_are_set_up_and_torn_down_around_the_item(
    bare: pytest.Pytester,
) -> None:
    result = bare.runpytest("-p", "no:cacheprovider", "-s", "-k", "plain or slow_db")
    result.assert_outcomes(passed=2)
    events = next(line for line in result.outlines if line.startswith("EVENTS"))
    assert events == "EVENTS " + repr(
        [
            ("autouse up",),
            ("run", "plain", ["everywhere"]),
            ("autouse down",),
            ("engine up",),
            ("autouse up",),
            ("database up", "slow_db"),
            ("run", "slow_db", ["database", "engine", "everywhere"]),
            ("database down",),
            ("autouse down",),
            ("engine down",),
        ]
    )


def test_markers_select_items(bare: pytest.Pytester) -> None:
    result = bare.runpytest("-p", "no:cacheprovider", "--collect-only", "-q", "-m", "websocket")
    assert {"routes::plain", "routes::slow_db"} <= set(result.outlines)
    result = bare.runpytest("-p", "no:cacheprovider", "--collect-only", "-q", "-m", "not slow")
    assert "routes::slow_db" not in result.outlines
    assert "routes::plain" in result.outlines


def test_an_unknown_fixture_fails_its_item_setup_with_a_suggestion(bare: pytest.Pytester) -> None:
    result = bare.runpytest("-p", "no:cacheprovider", "-k", "typo")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(
        [
            "*ERROR at setup of typo*",
            "the test's list: fixture 'databse' not found (did you mean 'database'?)",
        ]
    )
    assert "Traceback" not in result.stdout.str()


def test_an_unregistered_marker_under_strict_markers_is_the_items_problem(
    bare: pytest.Pytester,
) -> None:
    result = bare.runpytest("-p", "no:cacheprovider", "--strict-markers", "-k", "unregistered")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(
        [
            "*'nope' not found in `markers` configuration option: register it under `markers`"
            " in the ini file*"
        ]
    )
    # Without --strict-markers, pytest accepts any marker, as on a test function.
    bare.runpytest("-p", "no:cacheprovider", "-k", "unregistered", "-W", "ignore").assert_outcomes(
        passed=1
    )


def test_the_marker_help_registers_websocket() -> None:
    from ws_routes.plugin.itemsetup import MARKER, MARKER_HELP

    assert MARKER == "websocket"
    assert MARKER_HELP.startswith("websocket: ")
    assert textwrap.dedent(MARKER_HELP) == MARKER_HELP
