"""Test task functions for async jobs: ``explode`` always fails, ``append_line`` records that a run
happened (one line per run in a file, so a test can count runs per job)."""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields

from orion_kernel import TaskContext, TaskError, TaskFunction, hookimpl


async def explode(ctx: TaskContext, params: dict[str, Any]) -> None:
    raise TaskError("boom")


class AppendInput(Schema):
    path = fields.String(required=True)


async def append_line(ctx: TaskContext, params: dict[str, Any]) -> None:
    token = ctx.payload.get("token") if isinstance(ctx.payload, dict) else None
    with open(params["path"], "a", encoding="utf-8") as file:  # one short append: atomic across processes
        file.write(f"{token}\n")


@hookimpl
def orion_task_functions():
    yield TaskFunction(name="explode", run=explode, description="Fail with 'boom'")
    yield TaskFunction(name="append_line", run=append_line, input_schema=AppendInput,
                       description="Append payload.token as a line to the file at path")
