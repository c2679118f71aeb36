"""What every protocol server here promises: one factory, flags that are all documented.

The protocol behaviour and each planted bug are tested per server, in test_<module>.py.
"""

from __future__ import annotations

from types import ModuleType

import pytest

from tests.protocols import chat, graphql_transport_ws, jsonrpc

SERVERS = [graphql_transport_ws, jsonrpc, chat]


@pytest.mark.parametrize("module", SERVERS, ids=lambda m: m.__name__.rpartition(".")[2])
def test_one_factory_builds_both_versions_and_documents_every_bug(module: ModuleType) -> None:
    with pytest.raises(ValueError, match="unknown bugs"):
        module.make_app(bugs=frozenset({"no-such-bug"}))
    assert module.app is not module.buggy_app
    for bug in module.BUGS:
        module.make_app(bugs=frozenset({bug}))  # each bug can be switched on alone
        assert f"``{bug}``" in (module.__doc__ or ""), f"{bug} is not in the module docstring"
