"""``filter``: halt the workflow, or skip this task, unless a condition is exactly ``true``."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, validate

from orion_kernel import HALT, SKIP, ExpressionError, Outcome, TaskContext, TaskFunction, hookimpl
from orion_kernel import fields as orion_fields


class FilterInput(Schema):
    condition = orion_fields.Logic(
        required=True,
        metadata={"description": "JSONLogic that must evaluate to exactly true for the workflow to go on."},
    )
    on_reject = fields.String(
        load_default="halt",
        validate=validate.OneOf(["halt", "skip"]),
        metadata={"description": "'halt' stops this workflow (audit 299); 'skip' acts as if this task never ran."},
    )


async def run(ctx: TaskContext, params: dict[str, Any]) -> Outcome | None:
    """Pass on exactly ``true``; any other result or an evaluation error rejects."""
    try:
        passed = params["condition"].evaluate(ctx.context) is True
    except ExpressionError:
        passed = False
    if passed:
        return None
    return HALT if params["on_reject"] == "halt" else SKIP


@hookimpl
def orion_task_functions():
    yield TaskFunction(
        name="filter",
        run=run,
        input_schema=FilterInput,
        description="Halt the workflow, or skip this task, when a condition is not true",
        category="control",
    )
