"""``validation`` (alias ``validate``): check rules and record an error for each that fails."""
from __future__ import annotations

from typing import Any

from marshmallow import EXCLUDE, Schema, fields

from orion_kernel import ExpressionError, TaskContext, TaskFunction, hookimpl
from orion_kernel import fields as orion_fields

FAILED_STATUS = 400


class RuleInput(Schema):
    class Meta:
        unknown = EXCLUDE  # legacy keys such as ``path`` are ignored

    logic = orion_fields.Logic(
        required=True,
        metadata={"description": "JSONLogic that must evaluate to exactly true for the rule to pass."},
    )
    message = fields.String(
        load_default="Validation failed",
        metadata={"description": "Error message recorded when the rule fails."},
    )


class ValidationInput(Schema):
    rules = fields.List(
        fields.Nested(RuleInput),
        required=True,
        metadata={"description": "Rules, all evaluated in order (no short-circuit)."},
    )


async def run(ctx: TaskContext, params: dict[str, Any]) -> int | None:
    """Evaluate every rule; return 400 when any error entry was added, else succeed."""
    failed = False
    for index, rule in enumerate(params["rules"]):
        try:
            passed = rule["logic"].evaluate(ctx.context) is True
        except ExpressionError as exc:
            ctx.add_error("EVALUATION_ERROR", f"Failed to evaluate rule {index}: {exc}")
            failed = True
            continue
        if not passed:
            ctx.add_error("VALIDATION_ERROR", rule["message"])
            failed = True
    return FAILED_STATUS if failed else None


@hookimpl
def orion_task_functions():
    yield TaskFunction(
        name="validation",
        run=run,
        input_schema=ValidationInput,
        description="Check rules and record an error for each that fails",
        category="validation",
        aliases=("validate",),
    )
