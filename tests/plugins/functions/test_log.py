"""``log`` (functions.md §9)."""
import logging

import pytest

from orion_builtins.functions import log

(FN,) = log.orion_task_functions()

LOGGER = "orion.functions.log"


@pytest.fixture
def logs(caplog):
    """caplog capturing every level of the log function's logger."""
    caplog.set_level(log.TRACE, logger=LOGGER)
    return caplog


async def test_worked_example(run, logs):
    task_input = {
        "level": "warn",
        "message": {"cat": ["order ", {"var": "data.order.id"}, " has no address"]},
        "fields": {"total": {"var": "data.order.total"}},
    }
    ctx, result = await run(FN, task_input, data={"order": {"id": 42, "total": 60}}, metadata={"channel": "orders"})
    assert result is None
    assert ctx.changes == [] and ctx.message.errors == []
    (record,) = logs.records
    assert record.name == LOGGER
    assert record.levelno == logging.WARNING
    assert record.getMessage() == "order 42 has no address [total=60]"
    assert (record.channel, record.workflow_id, record.task_id) == ("orders", "test-workflow", "test-task")
    assert record.request_id is None


async def test_plain_string_message_at_default_info_level(run, logs):
    await run(FN, {"message": "hello 100% sure"})
    (record,) = logs.records
    assert (record.levelno, record.getMessage()) == (logging.INFO, "hello 100% sure")


@pytest.mark.parametrize(
    ("level", "levelno"),
    [("trace", 5), ("debug", logging.DEBUG), ("info", logging.INFO), ("warn", logging.WARNING), ("error", logging.ERROR)],
)
async def test_levels(run, logs, level, levelno):
    await run(FN, {"message": "m", "level": level})
    assert [r.levelno for r in logs.records] == [levelno]
    assert logging.getLevelName(5) == "TRACE"


async def test_non_string_results_are_compact_json(run, logs):
    task_input = {
        "message": {"var": "data.order"},
        "fields": {"n": {"var": "data.n"}, "f": 2.0, "none": None, "s": "plain", "list": [1, "é"]},
    }
    await run(FN, task_input, data={"order": {"id": 42, "tags": ["a"]}, "n": 7})
    assert logs.records[0].getMessage() == '{"id":42,"tags":["a"]} [n=7, f=2.0, none=null, s=plain, list=[1,"é"]]'


async def test_evaluation_errors_render_as_placeholder(run, logs):
    ctx, result = await run(FN, {"message": {"+": ["a", 1]}, "fields": {"bad": {"throw": "x"}, "ok": 1}})
    assert result is None and ctx.message.errors == []
    assert logs.records[0].getMessage() == "<eval error> [bad=<eval error>, ok=1]"


class CountingExpr:
    """An expression that records being evaluated."""

    source = "counted"
    is_literal = False

    def __init__(self) -> None:
        self.calls = 0

    def evaluate(self, context):
        self.calls += 1
        return "counted"


async def test_disabled_level_evaluates_nothing(run, caplog):
    caplog.set_level(logging.INFO, logger=LOGGER)
    ctx, _ = await run(FN, {"message": "warm-up"})
    message, field = CountingExpr(), CountingExpr()
    caplog.clear()
    assert await log.run(ctx, {"message": message, "level": "debug", "fields": {"f": field}}) is None
    assert (message.calls, field.calls) == (0, 0)
    assert caplog.records == []
    assert await log.run(ctx, {"message": message, "level": "info", "fields": {"f": field}}) is None
    assert (message.calls, field.calls) == (1, 1)


def test_input_rules(input_errors, prepare):
    assert input_errors(FN, {}) == [("function.input.message", "REQUIRED", "config for function 'log': missing field 'message'")]
    assert [e[:2] for e in input_errors(FN, {"message": "m", "level": "WARN"})] == [("function.input.level", "ENUM_MISMATCH")]
    assert [e[:2] for e in input_errors(FN, {"message": "m", "fields": ["x"]})] == [("function.input.fields", "TYPE_MISMATCH")]
    params = prepare(FN, {"message": "m"})
    assert (params["level"], params["fields"]) == ("info", {})


def test_registration():
    assert (FN.name, FN.category) == ("log", "observability")
