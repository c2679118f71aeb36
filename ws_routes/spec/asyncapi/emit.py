"""YAML output that every reader reads back as the same data.

PyYAML writes YAML 1.1: it quotes ``'yes'`` but writes the string ``1e3`` or ``0o17`` bare, which a
YAML 1.2 reader (ours, see yamlpos) takes for a number. The dumper here knows both rule sets, so a
string is quoted whenever either would read it as something else.
"""

from __future__ import annotations

import re
from typing import Any

import yaml

from ws_routes.spec.yamlpos import CORE_RESOLVERS

__all__ = ["dump_yaml"]

_TAG = "tag:yaml.org,2002:"
_SCALARS = (str, int, float, bool, type(None))


class _Dumper(yaml.SafeDumper):
    def ignore_aliases(self, data: Any) -> bool:
        return True  # a shared value is written out twice: specs read better without anchors


for _name, _regexp, _first in CORE_RESOLVERS:
    _Dumper.add_implicit_resolver(_TAG + _name, re.compile(_regexp), list(_first))


def _represent_list(dumper: _Dumper, data: list[Any]) -> yaml.Node:
    # Short lists of plain values (close codes, subprotocols, enums) read best on one line.
    flow = all(isinstance(v, _SCALARS) for v in data) and len(repr(data)) <= 60
    return dumper.represent_sequence(_TAG + "seq", data, flow_style=flow)


_Dumper.add_representer(list, _represent_list)


def dump_yaml(data: Any) -> str:
    """``data`` as block-style YAML, keys in their order, read back identically by YAML 1.1 and 1.2."""
    return yaml.dump(
        data,
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )
