"""``publish_json`` (functions.md §7)."""
import pytest

from orion_builtins.functions import publish_json
from orion_kernel import ValidationFailure

(FN,) = publish_json.orion_task_functions()


async def test_worked_example(run):
    ctx, result = await run(FN, {"source": "response", "target": "body"}, data={"response": {"status": "ok", "count": 2}})
    assert result is None
    assert ctx.data["body"] == '{"status":"ok","count":2}'
    assert ctx.changes == [{"path": "data.body", "old_value": None, "new_value": '{"status":"ok","count":2}'}]


async def test_compact_serialisation_rules(run):
    value = {"name": "Zoë ✓", "n": 1, "f": 3.0, "g": 0.1, "list": [1, None, True], "empty": {}}
    ctx, _ = await run(FN, {"source": "v", "target": "out"}, data={"v": value})
    assert ctx.data["out"] == '{"name":"Zoë ✓","n":1,"f":3.0,"g":0.1,"list":[1,null,true],"empty":{}}'


async def test_pretty_uses_two_space_indentation(run):
    ctx, _ = await run(FN, {"source": "v", "target": "out", "pretty": True}, data={"v": {"a": 1, "b": [1, 2], "c": {}}})
    assert ctx.data["out"] == '{\n  "a": 1,\n  "b": [\n    1,\n    2\n  ],\n  "c": {}\n}'


async def test_scalar_and_array_sources(run):
    ctx, _ = await run(FN, {"source": "s", "target": "out"}, data={"s": "text"})
    assert ctx.data["out"] == '"text"'
    ctx, _ = await run(FN, {"source": "a", "target": "out"}, data={"a": [1, "x"]})
    assert ctx.data["out"] == '[1,"x"]'


async def test_literal_key_with_a_dot_wins_over_the_nested_path(run):
    ctx, _ = await run(FN, {"source": "a.b", "target": "out"}, data={"a.b": 1, "a": {"b": 2}})
    assert ctx.data["out"] == "1"


async def test_nested_path_then_data_prefix(run):
    ctx, _ = await run(FN, {"source": "a.b", "target": "out"}, data={"a": {"b": 2}})
    assert ctx.data["out"] == "2"
    ctx, _ = await run(FN, {"source": "data.a.b", "target": "out"}, data={"a": {"b": 3}})
    assert ctx.data["out"] == "3"
    ctx, _ = await run(FN, {"source": "data.a", "target": "out"}, data={"data": {"a": 4}, "a": 5})
    assert ctx.data["out"] == "4"  # a nested path inside data comes before the prefix form


@pytest.mark.parametrize("data", [{}, {"x": None}, {"data": {"y": None}}])
async def test_missing_or_null_source_fails(run, data):
    ctx, result = await run(FN, {"source": "x", "target": "out"}, data=data)
    assert isinstance(result, ValidationFailure)
    assert str(result) == "Validation error: PublishJson: Source 'data.x' not found or is null"
    assert ctx.changes == []


async def test_root_element_is_accepted_and_ignored(run):
    ctx, _ = await run(FN, {"source": "v", "target": "out", "root_element": "Doc"}, data={"v": {"a": 1}})
    assert ctx.data["out"] == '{"a":1}'


async def test_unserialisably_deep_value_is_a_validation_failure(run):
    value: dict = {}
    node = value
    for _ in range(300):
        node["n"] = {}
        node = node["n"]
    _, result = await run(FN, {"source": "v", "target": "out"}, data={"v": value})
    assert isinstance(result, ValidationFailure)
    assert str(result).startswith("Validation error: PublishJson: Source 'data.v' cannot be serialised")


def test_input_rules(input_errors, prepare):
    assert [e[:2] for e in input_errors(FN, {"target": "t"})] == [("function.input.source", "REQUIRED")]
    assert [e[:2] for e in input_errors(FN, {"source": "s"})] == [("function.input.target", "REQUIRED")]
    assert [e[:2] for e in input_errors(FN, {"source": "s", "target": "t", "pretty": "very"})] == [
        ("function.input.pretty", "TYPE_MISMATCH")
    ]
    assert prepare(FN, {"source": "s", "target": "t"}) == {"source": "s", "target": "t", "pretty": False, "root_element": "root"}


def test_registration():
    assert (FN.name, FN.category) == ("publish_json", "output")
