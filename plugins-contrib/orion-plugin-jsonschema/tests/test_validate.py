"""The checking logic on its own: no kernel, no message, just schemas and documents."""
from __future__ import annotations

import pytest

from orion_plugin_jsonschema.validate import (
    UnresolvableRef,
    Violation,
    compile_schema,
    context_path,
    find_violations,
    schema_problem,
)

ORDER = {
    "type": "object",
    "required": ["id", "total"],
    "properties": {
        "id": {"type": "string"},
        "total": {"type": "number", "minimum": 0},
        "items": {"type": "array", "items": {"type": "object", "required": ["sku"]}},
    },
}


def violations(schema, document, root="data.order"):
    return find_violations(compile_schema(schema), document, root)


def test_a_valid_document_has_no_violations():
    assert violations(ORDER, {"id": "A1", "total": 10, "items": [{"sku": "x"}]}) == []


def test_each_violation_names_the_failing_path_and_what_failed():
    found = violations(ORDER, {"total": -5, "items": [{"sku": "x"}, {}]})
    assert found == [
        Violation("data.order", "'id' is a required property"),
        Violation("data.order.total", "-5 is less than the minimum of 0"),
        Violation("data.order.items.1", "'sku' is a required property"),
    ]
    assert str(found[1]) == "data.order.total: -5 is less than the minimum of 0"


def test_a_missing_document_is_checked_as_null():
    assert violations(ORDER, None) == [Violation("data.order", "None is not of type 'object'")]


def test_paths_read_back_with_orion_path_syntax():
    assert context_path("data", ["items", 0, "price"]) == "data.items.0.price"
    assert context_path("data", ["fields", "20", "#tag"]) == "data.fields.#20.##tag"
    assert context_path("", ["order"]) == "order"


def test_a_valid_schema_has_no_problem():
    assert schema_problem(ORDER) is None


@pytest.mark.parametrize(
    ("schema", "path", "what"),
    [
        ({"properties": {"total": {"minimum": "zero"}}}, "schema.properties.total.minimum", "'zero' is not of type 'number'"),
        ({"allOf": [{"type": "strin"}]}, "schema.allOf[0].type", "'strin' is not valid under any of the given schemas"),
        ({"required": "id"}, "schema.required", "'id' is not of type 'array'"),
    ],
)
def test_an_invalid_schema_is_reported_where_it_is_wrong(schema, path, what):
    assert schema_problem(schema) == (path, what)


@pytest.mark.parametrize("dialect", ["https://example.com/my-draft", 7])
def test_an_unknown_dialect_is_a_schema_problem(dialect):
    schema = {"$schema": dialect, "type": "object"}
    path, what = schema_problem(schema)
    assert path == "schema.$schema"
    assert what.startswith(f"unknown JSON Schema dialect {dialect!r}")
    compile_schema(schema)  # reported, never raised: loading goes on to report it


def test_the_dialect_named_by_dollar_schema_is_used():
    # draft-04's boolean exclusiveMinimum is invalid in draft 2020-12, the default.
    draft4 = {"$schema": "http://json-schema.org/draft-04/schema#", "minimum": 0, "exclusiveMinimum": True}
    assert schema_problem(draft4) is None
    assert violations(draft4, 0, "data") == [Violation("data", "0 is less than or equal to the minimum of 0")]
    assert schema_problem({"minimum": 0, "exclusiveMinimum": True}) == ("schema.exclusiveMinimum", "True is not of type 'number'")


def test_local_references_are_followed():
    schema = {"$defs": {"sku": {"type": "string"}}, "properties": {"sku": {"$ref": "#/$defs/sku"}}}
    assert violations(schema, {"sku": 5}) == [Violation("data.order.sku", "5 is not of type 'string'")]


@pytest.mark.parametrize("ref", ["https://example.com/order.json", "#/$defs/missing"])
def test_an_unresolvable_reference_is_named(ref):
    with pytest.raises(UnresolvableRef, match="cannot be resolved"):
        violations({"$ref": ref}, {})
