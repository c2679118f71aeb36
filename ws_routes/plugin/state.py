"""The session's state, kept in the config's stash, and the user properties items report with.

A module of its own so the hooks, the collector, the item and the reporters share it without
importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from ws_routes.compile.credentials import Credential, Redactor
    from ws_routes.options import RunOptions
    from ws_routes.spec.model import Spec

STATS_PROPERTY = "ws_routes_stats"
# The seed of a run whose Hypothesis profile derandomizes: fixed, and printed like any seed.
DERANDOMIZED_SEED = 0
# --routes-verbose under xdist: a worker has no terminal, so each route's conversations travel
# to the controller with its report and are printed there when the route finishes.
VERBOSE_PROPERTY = "ws_routes_verbose"
# The note that the app's HTTP routes went untested travels with each item's report (xdist too).
NOTE_PROPERTY = "ws_routes_note"
# What JUnit's properties say of each route (besides the counters' JSON): CI dashboards show them.
ROUTE_PROPERTY, SEED_PROPERTY, CHECKS_PROPERTY = "route", "seed", "checks"


@dataclass(slots=True)
class State:
    options: RunOptions
    seed: int
    # Every secret of the run (--routes-auth, the spec's auth.token), in every encoding; its repr
    # and the credential's are masked, so a traceback's locals (pytest -l) show neither.
    redactor: Redactor
    app: Any = None
    # Live mode (--routes-url): a driver.targets.Target the traffic goes to instead of ``app``.
    target: Any = None
    # --routes-server differential[:NAME]: the driver.servers.ServerChoice each case is replayed
    # under after the in-process run (engine.differential).
    differential: Any = None
    spec: Spec | None = None
    credential: Credential | None = None
    log_filter: Any = None  # on the asyncio logger for the whole session
    note: str | None = None
    # Fixtures every route item requests (the ini option routes_fixtures).
    fixtures: tuple[str, ...] = ()
    # The seed was given (--routes-seed, --hypothesis-seed): the example database is then
    # write-only, so the seed alone decides what is sent.
    seeded: bool = False
    # The profile derandomizes and no seed was given: the seed is DERANDOMIZED_SEED.
    derandomized: bool = False


STATE = pytest.StashKey[State]()
