"""``map``: assign JSONLogic results to context paths, in order (functions.md §5)."""
from __future__ import annotations

import logging
from typing import Any

from marshmallow import EXCLUDE, Schema, fields

from orion_kernel import ExpressionError, TaskContext, TaskFunction, hookimpl
from orion_kernel import fields as orion_fields

logger = logging.getLogger("orion.functions.map")

MAPPING_FAILED_STATUS = 500


class MappingInput(Schema):
    class Meta:
        unknown = EXCLUDE

    path = fields.String(
        required=True,
        metadata={"description": "Destination, a full context path such as data.order.total."},
    )
    logic = orion_fields.Logic(
        required=True,
        metadata={"description": "JSONLogic (or a literal) whose result is written; null skips the mapping."},
    )


class MapInput(Schema):
    mappings = fields.List(
        fields.Nested(MappingInput),
        required=True,
        metadata={"description": "Mappings applied in order; each sees the writes of the ones before."},
    )


async def run(ctx: TaskContext, params: dict[str, Any]) -> int | None:
    """Evaluate and write every mapping; return 500 if any of them failed to evaluate.

    A ``null`` result writes nothing. A bare root (``data``, ``metadata``, ``temp_data``) takes
    a shallow merge of an object and is replaced by anything else.
    """
    failed = False
    context = ctx.context
    for index, mapping in enumerate(params["mappings"]):
        try:
            value = mapping["logic"].evaluate(context)
        except ExpressionError as exc:
            failed = True
            logger.warning(
                "map mapping %d (path '%s') failed to evaluate: %s", index, mapping["path"], exc,
                extra={"channel": ctx.channel, "workflow_id": ctx.workflow_id, "task_id": ctx.task_id, "request_id": ctx.request_id},
            )
            continue
        if value is not None:
            ctx.write_output(mapping["path"], value)
    return MAPPING_FAILED_STATUS if failed else None


@hookimpl
def orion_task_functions():
    yield TaskFunction(
        name="map",
        run=run,
        input_schema=MapInput,
        description="Compute values with JSONLogic and assign them to paths",
        category="transform",
    )
