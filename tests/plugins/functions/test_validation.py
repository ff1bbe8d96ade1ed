"""``validation`` / ``validate`` (functions.md §6)."""
import re

from orion_builtins.functions import validation
from orion_kernel.plugins import load_plugins

(FN,) = validation.orion_task_functions()

TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d+Z$")


async def test_worked_example(run):
    rules = [
        {"logic": {"!!": {"var": "data.input.name"}}, "message": "Name is required"},
        {"logic": {"in": ["@", {"var": "data.input.email"}]}, "message": "Email is invalid"},
    ]
    ctx, result = await run(FN, {"rules": rules}, data={"input": {"name": "Ann"}})
    assert result == 400
    (error,) = ctx.message.errors
    assert set(error) == {"code", "message", "path", "timestamp"}  # no workflow_id / task_id
    assert (error["code"], error["message"], error["path"]) == ("VALIDATION_ERROR", "Email is invalid", None)
    assert TIMESTAMP.match(error["timestamp"])
    assert ctx.changes == []


async def test_all_rules_pass(run):
    rules = [{"logic": {"==": [{"var": "data.a"}, 1]}, "message": "a must be 1"}]
    ctx, result = await run(FN, {"rules": rules}, data={"a": 1})
    assert result is None
    assert ctx.message.errors == []


async def test_every_rule_is_evaluated_in_order(run):
    rules = [{"logic": False, "message": "first"}, {"logic": True, "message": "ok"}, {"logic": False, "message": "third"}]
    ctx, result = await run(FN, {"rules": rules})
    assert result == 400
    assert [e["message"] for e in ctx.message.errors] == ["first", "third"]


async def test_only_exactly_true_passes(run):
    rules = [{"logic": {"var": "data.v"}, "message": "not true"}]
    for value in (1, "yes", [1], {"a": 1}, None):
        ctx, result = await run(FN, {"rules": rules}, data={"v": value})
        assert result == 400, value
        assert [e["message"] for e in ctx.message.errors] == ["not true"]


async def test_message_defaults(run):
    ctx, _ = await run(FN, {"rules": [{"logic": False}]})
    assert ctx.message.errors[0]["message"] == "Validation failed"


async def test_evaluation_error_is_recorded_and_later_rules_still_run(run):
    rules = [
        {"logic": True, "message": "fine"},
        {"logic": {"+": ["a", 1]}, "message": "unused"},
        {"logic": False, "message": "after"},
    ]
    ctx, result = await run(FN, {"rules": rules})
    assert result == 400
    first, second = ctx.message.errors
    assert first["code"] == "EVALUATION_ERROR"
    assert first["message"].startswith("Failed to evaluate rule 1: ")
    assert "NaN" in first["message"]
    assert "workflow_id" not in first and "task_id" not in first
    assert (second["code"], second["message"]) == ("VALIDATION_ERROR", "after")


async def test_legacy_keys_in_a_rule_are_ignored(run):
    ctx, result = await run(FN, {"rules": [{"logic": True, "path": "data.x", "message": "m"}]})
    assert result is None


async def test_empty_rules_succeed(run):
    ctx, result = await run(FN, {"rules": []})
    assert result is None and ctx.message.errors == []


def test_input_rules(input_errors):
    assert input_errors(FN, {}) == [
        ("function.input.rules", "REQUIRED", "config for function 'validation': missing field 'rules'")
    ]
    assert [e[:2] for e in input_errors(FN, {"rules": "x"})] == [("function.input.rules", "TYPE_MISMATCH")]
    assert [e[:2] for e in input_errors(FN, {"rules": [{"message": "m"}]})] == [
        ("function.input.rules[0].logic", "REQUIRED")
    ]
    assert [e[:2] for e in input_errors(FN, {"rules": [{"logic": True, "message": 5}]})] == [
        ("function.input.rules[0].message", "TYPE_MISMATCH")
    ]


def test_registered_under_its_name_and_alias():
    plugins = load_plugins(discover=False, modules=["orion_builtins.functions.validation"])
    assert plugins.functions["validation"] is plugins.functions["validate"]
    assert plugins.function_names() == ["validation"]
    assert FN.category == "validation"
