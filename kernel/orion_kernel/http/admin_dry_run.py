"""Admin dry-run route: run the latest version of a workflow on sample data, nothing stored."""
from __future__ import annotations

from typing import Any

from aiohttp import web

from ..engine.compiler import WorkflowBuildError
from ..engine.dry_run import dry_run, sample_message
from ..errors import ApiError, FieldError, RunAborted, field_error, validation_error
from ..storage import WORKFLOW
from ..validation.common import summarize
from .admin_bodies import DryRunBody
from .admin_common import load_body, path_id, registry_of
from .api_schemas import DryRunResult, EntityPath
from .common import json_response, read_json_body
from ..ingress import abort_error
from .keys import KERNEL
from .middleware import REQUEST_ID
from .openapi import describe

DRY_RUN_BODY = DryRunBody()


@describe("Dry-run the latest version of a workflow on sample data", tag="Workflows", path=EntityPath,
          body=DryRunBody, description="Nothing is stored and no trace is written; connector-backed functions really run.",
          responses={200: DryRunResult}, errors=(400, 404, 415, 500, 504))
async def dry_run_workflow(request: web.Request) -> web.Response:
    """Dry-run the latest version of a workflow on sample data: result and per-task trace, nothing stored."""
    workflow_id = path_id(request, WORKFLOW)
    body = load_body(await read_json_body(request), DRY_RUN_BODY)
    registry = registry_of(request)
    row = await registry.get(WORKFLOW, workflow_id)
    errors = registry.check_definition(WORKFLOW, row)  # a function may be gone since the version was saved
    if errors:
        raise _cannot_run(row, errors)
    kernel = request.app[KERNEL]
    timeout_ms = kernel.config["queue"]["processing_timeout_ms"]
    try:
        result = await dry_run(row, sample_message(body["data"], body.get("metadata")), registry.functions, registry.engine,
                               kernel.runtime.services, request_id=request[REQUEST_ID], timeout_secs=timeout_ms / 1000)
    except WorkflowBuildError as exc:
        raise _cannot_run(row, exc.errors) from None
    except RunAborted as exc:
        raise _aborted(exc, row) from None
    except TimeoutError:
        raise ApiError("TIMEOUT_ERROR", f"Dry-run of workflow '{workflow_id}' exceeded {timeout_ms}ms "
                                        "(queue.processing_timeout_ms)") from None
    return json_response(result)


def _cannot_run(row: dict[str, Any], errors: list[FieldError]) -> ApiError:
    return validation_error(summarize(f"Workflow '{row['workflow_id']}' version {row['version']} cannot run", errors), errors)


def _aborted(exc: RunAborted, row: dict[str, Any]) -> ApiError:
    """The data API's error for a stopped run, plus a FieldError naming the task that failed and why."""
    err = abort_error(exc)
    tasks = row.get("tasks") or []
    index = next((i for i, task in enumerate(tasks) if isinstance(task, dict) and task.get("id") == exc.task_id), None)
    path = f"tasks[{index}]" if index is not None else "tasks"
    err.details = [field_error(path, "TASK_FAILED", f"task '{exc.task_id}' stopped the run: {exc.cause}")]
    return err


def add_routes(app: web.Application) -> None:
    app.router.add_post("/api/v1/admin/workflows/{id}/test", dry_run_workflow)
