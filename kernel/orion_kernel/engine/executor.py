"""Run compiled workflows on a message (workflows.md §7–§8): conditions, outcomes, failures."""
from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Sequence
from typing import Any

import orjson

from .. import __version__
from ..context import RunInfo, TaskContext
from ..errors import ExpressionError, RunAborted, TaskError
from ..expressions import Expr
from ..message import Message, rfc3339_now
from ..types import HALT, HALT_STATUS, SKIP
from .compiler import CompiledTask, CompiledWorkflow

logger = logging.getLogger("orion.engine")

STATUS_FAILED_TASK = 500


class FunctionNotFound(TaskError):
    kind = "Function not found"


def _holds(condition: Expr | None, context: dict[str, Any]) -> bool:
    """A condition passes only when it evaluates to exactly ``true``; errors mean false."""
    if condition is None:
        return True
    try:
        return condition.evaluate(context) is True
    except ExpressionError:
        return False


def _snapshot(message: Message) -> Any:
    """A deep, JSON-clean copy of the message for trace steps."""
    return orjson.loads(orjson.dumps(message.snapshot(), default=str))


def stamp_metadata(message: Message, channel: str | None) -> str:
    """Write the engine keys (channel, processed_at, engine_version); return the timestamp."""
    now = rfc3339_now()
    metadata = message.context["metadata"]
    if channel is not None:
        metadata["channel"] = channel
    metadata["processed_at"] = now
    metadata["engine_version"] = __version__
    return now


async def run_workflows(
    workflows: Sequence[CompiledWorkflow],
    message: Message,
    run: RunInfo,
    *,
    steps: list[dict[str, Any]] | None = None,
    gate: bool = True,
    bucket: int | None = None,
) -> None:
    """Offer ``message`` to each workflow in order; raise RunAborted when a failure stops it.

    ``steps`` (when given) receives dry-run/per-task trace steps. ``gate=False`` disables
    rollout buckets (dry-run). ``bucket`` (0–99) is the caller's sticky rollout bucket; None
    draws a random one.
    """
    timestamp = stamp_metadata(message, run.channel)
    ctx = TaskContext(message, run)
    context = message.context
    for workflow in workflows:
        if gate and workflow.bucket is not None:
            if bucket is None:
                bucket = random.randrange(100)  # drawn only when a rollout needs it
            if not workflow.bucket[0] <= bucket < workflow.bucket[1]:
                if steps is not None:
                    steps.append({"workflow_id": workflow.engine_id, "task_id": None, "result": "skipped"})
                continue
        if not _holds(workflow.condition, context):
            if steps is not None:
                steps.append({"workflow_id": workflow.engine_id, "task_id": None, "result": "skipped"})
            continue
        ctx.workflow_id = workflow.engine_id
        await _run_tasks(workflow, ctx, timestamp, steps)


async def _run_tasks(workflow: CompiledWorkflow, ctx: TaskContext, timestamp: str, steps: list[dict[str, Any]] | None) -> None:
    message = ctx.message
    context = message.context
    for task in workflow.tasks:
        if task.condition is not None and not _holds(task.condition, context):
            if steps is not None:
                steps.append({"workflow_id": workflow.engine_id, "task_id": task.id, "result": "skipped"})
            continue
        ctx.task_id = task.id
        ctx.changes = []
        started = time.perf_counter() if steps is not None else 0.0
        started_at = rfc3339_now() if steps is not None else ""
        failure: TaskError | None = None
        try:
            function = task.function
            if function is None:
                raise FunctionNotFound(task.function_name)
            result = await function.run(ctx, task.params)
        except TaskError as exc:
            failure, result = exc, None
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # a plugin bug must become a task error, never a crash
            logger.exception("task function '%s' raised", task.function_name,
                             extra={"workflow_id": workflow.engine_id, "task_id": task.id})
            failure, result = TaskError(f"{type(exc).__name__}: {exc}"), None

        if result is SKIP and failure is None:
            if steps is not None:
                steps.append(_executed_step(workflow, task, message, started, started_at))
            continue
        if failure is not None:
            status = STATUS_FAILED_TASK
            message.add_error("TASK_ERROR", f"Task {task.id} error: {failure}", workflow_id=workflow.engine_id, task_id=task.id)
            changes: list[dict[str, Any]] = []
        elif result is HALT:
            status, changes = HALT_STATUS, ctx.changes
        elif isinstance(result, int) and not isinstance(result, bool):
            status, changes = result, ctx.changes
            if status >= 500:
                message.add_error("TASK_STATUS_ERROR", f"Task {task.id} returned status {status}",
                                  workflow_id=workflow.engine_id, task_id=task.id)
                failure = TaskError(f"Task {task.id} failed with status {status}", kind="Task error")
        else:
            status, changes = 200, ctx.changes
        message.audit_trail.append({"workflow_id": workflow.engine_id, "task_id": task.id, "timestamp": timestamp,
                                    "status": status, "changes": changes})
        context["metadata"]["progress"] = {"workflow_id": workflow.engine_id, "task_id": task.id, "status_code": status}

        if failure is not None:
            if task.continue_on_error:
                if steps is not None:
                    steps.append(_executed_step(workflow, task, message, started, started_at))
                continue
            message.add_error("WORKFLOW_ERROR", f"Workflow {workflow.engine_id} error: {failure}", workflow_id=workflow.engine_id)
            if workflow.continue_on_error:
                return
            raise RunAborted(failure, workflow.engine_id, task.id)
        if steps is not None:
            steps.append(_executed_step(workflow, task, message, started, started_at))
        if result is HALT:
            return


def _executed_step(workflow: CompiledWorkflow, task: CompiledTask, message: Message, started: float, started_at: str) -> dict[str, Any]:
    return {
        "workflow_id": workflow.engine_id,
        "task_id": task.id,
        "result": "executed",
        "started_at": started_at,
        "duration_us": int((time.perf_counter() - started) * 1_000_000),
        "message": _snapshot(message),
    }
