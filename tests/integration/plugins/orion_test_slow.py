"""Test task functions: ``sleep`` holds a request in flight, ``whoami`` names the worker process."""
from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from marshmallow import Schema, fields

from orion_kernel import TaskContext, TaskFunction, hookimpl

logger = logging.getLogger("orion.test.slow")


class SleepInput(Schema):
    seconds = fields.Float(required=True)


async def sleep(ctx: TaskContext, params: dict[str, Any]) -> None:
    logger.info("sleep task started for %ss", params["seconds"])  # tests wait for this line
    await asyncio.sleep(params["seconds"])
    ctx.write("data.slept", params["seconds"])


async def whoami(ctx: TaskContext, params: dict[str, Any]) -> None:
    ctx.write("data.pid", os.getpid())


@hookimpl
def orion_task_functions():
    yield TaskFunction(name="sleep", run=sleep, input_schema=SleepInput, description="Wait, then set data.slept")
    yield TaskFunction(name="whoami", run=whoami, description="Set data.pid to the worker's process id")
