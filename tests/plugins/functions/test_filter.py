"""``filter`` (functions.md §4)."""
import pytest

from orion_builtins.functions import filter as filter_fn
from orion_kernel import HALT, SKIP

(FN,) = filter_fn.orion_task_functions()

GATE = {"condition": {">": [{"var": "data.input.priority"}, 5]}, "on_reject": "halt"}


async def test_worked_example_halts_below_threshold(run):
    ctx, result = await run(FN, GATE, data={"input": {"priority": 3}})
    assert result is HALT
    assert ctx.changes == [] and ctx.message.errors == []


async def test_exactly_true_passes(run):
    ctx, result = await run(FN, GATE, data={"input": {"priority": 7}})
    assert result is None
    assert ctx.changes == [] and ctx.message.errors == []


async def test_on_reject_defaults_to_halt(run):
    _, result = await run(FN, {"condition": False})
    assert result is HALT


async def test_skip_rejection(run):
    ctx, result = await run(FN, {"condition": {"var": "data.flag"}, "on_reject": "skip"}, data={"flag": False})
    assert result is SKIP
    assert ctx.message.errors == []


@pytest.mark.parametrize("flag", [1, "yes", "true", [True], {"a": 1}, None])
async def test_truthy_non_booleans_are_rejections(run, flag):
    _, result = await run(FN, {"condition": {"var": "data.flag"}}, data={"flag": flag})
    assert result is HALT


@pytest.mark.parametrize("on_reject", ["halt", "skip"])
async def test_evaluation_error_is_a_rejection_not_a_failure(run, on_reject):
    ctx, result = await run(FN, {"condition": {"+": ["a", 1]}, "on_reject": on_reject})
    assert result is (HALT if on_reject == "halt" else SKIP)
    assert ctx.message.errors == []


async def test_literal_true_passes(run):
    _, result = await run(FN, {"condition": True})
    assert result is None


def test_input_rules(input_errors, prepare):
    assert input_errors(FN, {}) == [
        ("function.input.condition", "REQUIRED", "config for function 'filter': missing field 'condition'")
    ]
    path, code, message = input_errors(FN, {"condition": True, "on_reject": "HALT"})[0]
    assert (path, code) == ("function.input.on_reject", "ENUM_MISMATCH")
    assert "config for function 'filter'" in message
    assert [e[1] for e in input_errors(FN, {"condition": {"==": [1]}})] == ["INVALID"]
    assert prepare(FN, {"condition": True})["on_reject"] == "halt"


def test_registration():
    assert (FN.name, FN.category) == ("filter", "control")


async def test_null_condition_is_a_rejection(run):
    _, result = await run(FN, {"condition": None, "on_reject": "skip"})
    assert result is SKIP
