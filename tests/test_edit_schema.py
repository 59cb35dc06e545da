"""The edit schemas must be valid for OpenAI strict structured outputs; this walks them."""

from __future__ import annotations

from typing import Any

import pytest

from briefbot.models import EDIT_TYPES, EditBatch, EditList


def _resolve(schema: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    ref = node.get("$ref")
    if ref is None:
        return node
    assert ref.startswith("#/$defs/"), ref
    return schema["$defs"][ref.removeprefix("#/$defs/")]


def strict_problems(schema: dict[str, Any]) -> list[str]:
    """Every violation of the strict-mode rules, as `path: problem`."""
    problems: list[str] = []
    if schema.get("type") != "object":
        problems.append("$: root is not an object")

    def walk(node: dict[str, Any], path: str) -> None:
        if "oneOf" in node:
            problems.append(f"{path}: oneOf is not allowed (use anyOf)")
        if "allOf" in node:
            problems.append(f"{path}: allOf is not allowed")
        if node.get("type") == "object" or "properties" in node:
            properties = node.get("properties", {})
            if node.get("additionalProperties") is not False:
                problems.append(f"{path}: additionalProperties is not false")
            missing = set(properties) - set(node.get("required", []))
            if missing:
                problems.append(f"{path}: not required: {sorted(missing)}")
            for name, sub in properties.items():
                if "default" in sub:
                    problems.append(f"{path}.{name}: has a default")
                walk(sub, f"{path}.{name}")
        if "items" in node:
            walk(node["items"], f"{path}[]")
        for i, option in enumerate(node.get("anyOf", [])):
            walk(option, f"{path}|{i}")
        if "$ref" in node:
            ref = node["$ref"].removeprefix("#/$defs/")
            if ref not in seen:
                seen.add(ref)
                walk(schema["$defs"][ref], f"$defs.{ref}")

    seen: set[str] = set()
    walk(schema, "$")
    return problems


def _edit_union(schema: dict[str, Any]) -> list[dict[str, Any]]:
    return schema["properties"]["edits"]["items"]["anyOf"]


@pytest.mark.parametrize("model", [EditBatch, EditList])
def test_schema_is_strict_mode_valid(model):
    schema = model.model_json_schema()
    assert strict_problems(schema) == []


@pytest.mark.parametrize("model", [EditBatch, EditList])
def test_edit_union_is_anyof_tagged_by_a_literal_op(model):
    schema = model.model_json_schema()
    members = [_resolve(schema, option) for option in _edit_union(schema)]
    tags = []
    for member in members:
        op = member["properties"]["op"]
        assert "const" in op or len(op.get("enum", [])) == 1, member["title"]
        tags.append(op.get("const") or op["enum"][0])
    assert sorted(tags) == sorted(cls.model_fields["op"].annotation.__args__[0] for cls in EDIT_TYPES)
    assert len(set(tags)) == len(tags)


def test_nullable_fields_are_required_anyof_with_null():
    schema = EditBatch.model_json_schema()
    stance = schema["$defs"]["UpdatePerspective"]["properties"]["stance"]
    assert {"type": "null"} in stance["anyOf"]
    assert "stance" in schema["$defs"]["UpdatePerspective"]["required"]


def test_the_checker_catches_violations():
    # The walk must be able to fail: a discriminated-union-style schema with optional fields.
    bad = {
        "type": "object",
        "properties": {
            "x": {"oneOf": [{"type": "object", "properties": {"a": {"type": "string", "default": "z"}}}]},
        },
    }
    assert strict_problems(bad) == [
        "$: additionalProperties is not false",
        "$: not required: ['x']",
        "$.x: oneOf is not allowed (use anyOf)",
    ]
