"""``parse_json``: copy a source into ``data.{target}``, decoding JSON text on the way."""
from __future__ import annotations

from typing import Any

import orjson
from marshmallow import Schema, fields

from orion_kernel import TaskContext, TaskFunction, hookimpl

from .sources import read_parse_source


class ParseJsonInput(Schema):
    source = fields.String(
        required=True,
        metadata={"description": "Where to read: 'payload', 'payload.<path>', 'data.<path>' or any context path."},
    )
    target = fields.String(
        required=True,
        metadata={"description": "Destination inside data: the value is written at data.<target>."},
    )


async def run(ctx: TaskContext, params: dict[str, Any]) -> None:
    """Read the source (unresolvable → null), decode it if it is JSON text, set ``data.{target}``."""
    value = read_parse_source(ctx, params["source"])
    if isinstance(value, str):
        try:
            value = orjson.loads(value)
        except orjson.JSONDecodeError:
            pass  # not JSON text: the string itself is the value
    ctx.write(f"data.{params['target']}", value)


@hookimpl
def orion_task_functions():
    yield TaskFunction(
        name="parse_json",
        run=run,
        input_schema=ParseJsonInput,
        description="Copy the payload (or another source) into data, decoding JSON text",
        category="parse",
    )
