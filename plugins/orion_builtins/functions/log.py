"""``log``: write one structured log record (functions.md §9)."""
from __future__ import annotations

import logging
from typing import Any

import orjson
from marshmallow import Schema, fields, validate

from orion_kernel import Expr, ExpressionError, TaskContext, TaskFunction, hookimpl
from orion_kernel import fields as orion_fields

logger = logging.getLogger("orion.functions.log")

TRACE = logging.DEBUG - 5
logging.addLevelName(TRACE, "TRACE")

LEVELS = {
    "trace": TRACE,
    "debug": logging.DEBUG,
    "info": logging.INFO,
    "warn": logging.WARNING,
    "error": logging.ERROR,
}

EVAL_ERROR_TEXT = "<eval error>"


class LogInput(Schema):
    message = orion_fields.Logic(
        required=True,
        metadata={"description": "The log text: a plain string or JSONLogic."},
    )
    level = fields.String(
        load_default="info",
        validate=validate.OneOf(list(LEVELS)),
        metadata={"description": "One of trace, debug, info, warn, error."},
    )
    fields = fields.Dict(
        keys=fields.String(),
        values=orion_fields.Logic(),
        load_default=dict,
        metadata={"description": "Extra values (JSONLogic each), appended as [key=value, ...]."},
    )


def render(expr: Expr, context: dict[str, Any]) -> str:
    """Evaluate ``expr``: a string as-is, anything else as compact JSON, a failure as ``<eval error>``."""
    try:
        value = expr.evaluate(context)
    except ExpressionError:
        return EVAL_ERROR_TEXT
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


async def run(ctx: TaskContext, params: dict[str, Any]) -> None:
    """Log the message at its level; evaluate nothing when that level is disabled."""
    level = LEVELS[params["level"]]
    if not logger.isEnabledFor(level):
        return
    text = render(params["message"], ctx.context)
    if params["fields"]:
        pairs = ", ".join(f"{key}={render(expr, ctx.context)}" for key, expr in params["fields"].items())
        text = f"{text} [{pairs}]"
    logger.log(
        level,
        text,
        extra={
            "channel": ctx.channel,
            "workflow_id": ctx.workflow_id,
            "task_id": ctx.task_id,
            "request_id": ctx.request_id,
        },
    )


@hookimpl
def orion_task_functions():
    yield TaskFunction(
        name="log",
        run=run,
        input_schema=LogInput,
        description="Emit a structured log line",
        category="observability",
    )
