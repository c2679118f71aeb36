from __future__ import annotations

from typing import Any

from ws_routes.app.schemarefs import inline_single_use, rename_refs, resolve, tag_property


def ref(name: str) -> dict[str, Any]:
    return {"$ref": f"#/$defs/{name}"}


INT = {"type": "integer"}


def test_a_definition_used_once_is_inlined_and_defs_dropped() -> None:
    root = {"type": "array", "items": ref("A")}
    assert inline_single_use(root, {"A": INT}) == {"type": "array", "items": INT}


def test_shared_and_recursive_definitions_stay_under_defs() -> None:
    node = {"type": "object", "properties": {"next": ref("Node")}}
    root = {"prefixItems": [ref("B"), ref("B"), ref("Node")]}
    out = inline_single_use(root, {"B": INT, "Node": node})
    assert out == {**root, "$defs": {"B": INT, "Node": node}}


def test_inlining_follows_chains_of_definitions() -> None:
    # A is used once, by B, which is used once: both end up written in place.
    out = inline_single_use(ref("B"), {"A": INT, "B": {"type": "array", "items": ref("A")}})
    assert out == {"type": "array", "items": INT}


def test_siblings_of_a_ref_are_kept_and_clashing_ones_go_through_all_of() -> None:
    beside = inline_single_use({**ref("A"), "description": "d"}, {"A": INT})
    assert beside == {"type": "integer", "description": "d"}
    clash = inline_single_use({**ref("A"), "type": "number"}, {"A": INT})
    assert clash == {"type": "number", "allOf": [INT]}


def test_rename_refs_rewrites_only_local_def_refs() -> None:
    value = {"a": [ref("Old"), ref("Kept")], "b": {"$ref": "#/properties/x"}}
    assert rename_refs(value, {"Old": "New"}) == {
        "a": [ref("New"), ref("Kept")],
        "b": {"$ref": "#/properties/x"},
    }


def test_resolve_follows_bare_refs_and_stops_on_cycles_or_dangling_ones() -> None:
    assert resolve(ref("A"), {"A": ref("B"), "B": INT}) == INT
    assert resolve(ref("A"), {"A": ref("A")}) == ref("A")
    assert resolve(ref("Missing"), {}) == ref("Missing")
    assert resolve({**ref("A"), "title": "t"}, {"A": INT}) == {**ref("A"), "title": "t"}


def test_tag_property_looks_through_refs() -> None:
    def tagged(tag: str) -> dict[str, Any]:
        return {"type": "object", "properties": {"kind": {"enum": [tag]}}, "required": ["kind"]}

    defs = {"A": tagged("a"), "B": tagged("b")}
    assert tag_property([ref("A"), ref("B")], defs) == "kind"
    assert tag_property([ref("A"), tagged("a")], defs) is None  # the tags collide
    assert tag_property([ref("A")], defs) is None  # one member is no union
