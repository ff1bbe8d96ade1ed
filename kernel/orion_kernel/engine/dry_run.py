"""Dry-run one stored workflow version on a sample message (api-admin.md §3.2 ``/test``, workflows.md §11).

The version is compiled into a throw-away engine of its own and run without a rollout gate;
nothing is stored. Tasks run for real: ``channel_call`` reaches the live channels through
``services``. The trace gets what a reader needs to fix a workflow: each executed step's
message before (``input``) and after (``message``) the task with its duration, and for each
skipped step the ``reason`` and the ``condition`` that was not true.
"""
from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

import orjson

from ..context import RunInfo
from ..expressions import ExpressionEngine
from ..message import Message
from ..services import Services
from ..types import TaskFunction
from .compiler import compile_workflow
from .executor import run_workflows, stamp_metadata

WORKFLOW_SKIPPED = "workflow condition was not true"
TASK_SKIPPED = "task condition was not true"


def _copy(message: Message) -> Any:
    return orjson.loads(orjson.dumps(message.snapshot(), default=str))


def sample_message(data: Any, metadata: Any) -> Message:
    """The test message: ``data`` is the payload (an object's keys copied into a fresh object),
    ``metadata`` (objects only) the initial metadata."""
    payload = dict(data) if isinstance(data, dict) else data
    return Message(payload, dict(metadata) if isinstance(metadata, dict) else {})


async def dry_run(
    row: Mapping[str, Any],
    message: Message,
    functions: Mapping[str, TaskFunction],
    expressions: ExpressionEngine,
    services: Services,
    *,
    request_id: str | None,
    timeout_secs: float,
) -> dict[str, Any]:
    """Run ``row`` on ``message``; the response object ``{matched, trace, output, errors, ...}``.

    Raises WorkflowBuildError (the version does not compile), RunAborted (a task failure stopped
    the run) or TimeoutError (``timeout_secs`` passed).
    """
    workflow = compile_workflow(row, functions, expressions, engine_id=str(row["workflow_id"]))
    steps: list[dict[str, Any]] = []
    stamp_metadata(message, None)
    before = _copy(message)
    async with asyncio.timeout(timeout_secs):
        await run_workflows([workflow], message, RunInfo(services, None, request_id, copy_changes=True), steps=steps, gate=False)
    _annotate(steps, before, row)
    return {
        "workflow_id": row["workflow_id"],
        "version": row["version"],
        "matched": any(step["task_id"] is not None for step in steps),
        "trace": {"steps": steps},
        "output": message.context["data"],
        "errors": message.errors,
    }


def _annotate(steps: list[dict[str, Any]], before: Any, row: Mapping[str, Any]) -> None:
    """Give executed steps their ``input`` (the previous executed step's message) and skipped
    steps their ``reason`` and ``condition``."""
    conditions = {task.get("id"): task.get("condition") for task in row.get("tasks") or () if isinstance(task, dict)}
    previous = before
    for step in steps:
        if step["result"] == "executed":
            step["input"] = previous
            previous = step["message"]
        elif step["task_id"] is None:
            step.update(reason=WORKFLOW_SKIPPED, condition=row.get("condition", True))
        else:
            step.update(reason=TASK_SKIPPED, condition=conditions.get(step["task_id"]))
