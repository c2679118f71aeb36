"""What every protocol server here promises: one factory, flags that are all documented, and a
ws_routes spec that loads and describes its routes: the reusable spec of specs/ for a standard
protocol, the one beside it otherwise.

The protocol behaviour and each planted bug are tested per server, in test_<module>.py.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType

import pytest

from tests.protocols import chat, graphql_transport_ws, graphql_ws_legacy, jsonrpc, rooms
from ws_routes import compile_route, load_spec

SERVERS = [graphql_transport_ws, graphql_ws_legacy, jsonrpc, chat, rooms]
HERE = Path(__file__).parent
SPECS = HERE.parents[1] / "specs"
# The servers of standard protocols and their reusable specs (which name no app).
STANDARD = {
    graphql_transport_ws: "graphql-transport-ws.yaml",
    graphql_ws_legacy: "graphql-ws-legacy.yaml",
    jsonrpc: "jsonrpc.yaml",
}


@pytest.mark.parametrize("module", SERVERS, ids=lambda m: m.__name__.rpartition(".")[2])
def test_one_factory_builds_both_versions_and_documents_every_bug(module: ModuleType) -> None:
    with pytest.raises(ValueError, match="unknown bugs"):
        module.make_app(bugs=frozenset({"no-such-bug"}))
    assert module.app is not module.buggy_app
    for bug in module.BUGS:
        module.make_app(bugs=frozenset({bug}))  # each bug can be switched on alone
        assert f"``{bug}``" in (module.__doc__ or ""), f"{bug} is not in the module docstring"


@pytest.mark.parametrize("module", SERVERS, ids=lambda m: m.__name__.rpartition(".")[2])
def test_the_spec_beside_each_server_loads_and_compiles(module: ModuleType) -> None:
    name = module.__name__.rpartition(".")[2]
    if module in STANDARD:
        spec = load_spec(SPECS / STANDARD[module])
        assert spec.app is None
    else:
        spec = load_spec(HERE / f"{name}.yaml")
        assert spec.app == f"{module.__name__}:app"
    paths = [route.path for route in module.app.routes]
    assert [route.path for route in spec.routes] == paths
    for route in spec.routes:
        compile_route(route)
