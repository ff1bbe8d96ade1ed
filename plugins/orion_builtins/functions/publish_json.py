"""``publish_json``: serialise part of ``data`` to a JSON string at ``data.{target}``."""
from __future__ import annotations

from typing import Any

import orjson
from marshmallow import Schema, fields

from orion_kernel import TaskContext, TaskFunction, ValidationFailure, hookimpl

from .sources import read_publish_source


class PublishJsonInput(Schema):
    source = fields.String(
        required=True,
        metadata={"description": "What to serialise, relative to data (a key, a path, or data.<path>)."},
    )
    target = fields.String(
        required=True,
        metadata={"description": "The JSON string is written at data.<target>."},
    )
    pretty = fields.Boolean(
        load_default=False,
        metadata={"description": "Indent with 2 spaces, one member per line."},
    )
    root_element = fields.String(
        load_default="root",
        metadata={"description": "Accepted and ignored (shared configuration shape with publish_xml)."},
    )


def to_json_text(value: Any, *, pretty: bool = False) -> str:
    """Standard JSON: compact or 2-space indented, raw UTF-8, whole floats keep ``.0``."""
    return orjson.dumps(value, option=orjson.OPT_INDENT_2 if pretty else 0).decode()


async def run(ctx: TaskContext, params: dict[str, Any]) -> None:
    """Serialise the source; a missing or null source is a validation failure."""
    source = params["source"]
    value = read_publish_source(ctx.data, source)
    if value is None:
        raise ValidationFailure(f"PublishJson: Source 'data.{source}' not found or is null")
    try:
        text = to_json_text(value, pretty=params["pretty"])
    except orjson.JSONEncodeError as exc:  # e.g. nested deeper than the encoder allows
        raise ValidationFailure(f"PublishJson: Source 'data.{source}' cannot be serialised: {exc}") from None
    ctx.write(f"data.{params['target']}", text)


@hookimpl
def orion_task_functions():
    yield TaskFunction(
        name="publish_json",
        run=run,
        input_schema=PublishJsonInput,
        description="Serialise part of data to a JSON string",
        category="output",
    )
