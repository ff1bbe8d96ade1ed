"""Admin validate routes: check a workflow or channel definition without saving it (workflows.md §10).

Always 200 ``{"valid", "errors", "warnings"}`` for a JSON object; each issue is a FieldError
(``path``, ``code``, ``message``, ...) plus ``field``, the same path under the spec's name.
Errors are exactly what create would refuse (with the same paths); warnings are what would
not work once live (a connector or channel that is not there, an id or name already taken).
"""
from __future__ import annotations

from typing import Any

from aiohttp import web

from ..errors import FieldError, validation_error
from ..storage import CHANNEL, WORKFLOW
from ..validation import channels as channel_rules
from ..validation import workflows as workflow_rules
from ..validation.common import body_object_error
from ..validation.warnings import channel_warnings, workflow_warnings
from .api_schemas import ChannelInput, ValidationReport, WorkflowInput
from .common import json_response, read_json_body
from .keys import KERNEL
from .openapi import describe


def _issues(items: list[FieldError]) -> list[dict[str, Any]]:
    return [{"field": item.path, **item.to_json()} for item in items]


def _report(errors: list[FieldError], warnings: list[FieldError]) -> web.Response:
    return json_response({"valid": not errors, "errors": _issues(errors), "warnings": _issues(warnings)})


def _require_object(body: Any, what: str) -> None:
    problem = body_object_error(body, what)
    if problem:
        raise validation_error(f"Invalid request body: {problem.message}", [problem])


@describe("Validate a workflow definition without saving it", tag="Workflows", body=WorkflowInput,
          description="200 for any JSON object: `errors` are what create would refuse, `warnings` what would not work once live.",
          responses={200: ValidationReport}, errors=(400, 413, 415))
async def validate_workflow(request: web.Request) -> web.Response:
    """Validate a workflow definition without saving it: errors create would refuse, warnings for what would not work live."""
    body = await read_json_body(request)
    _require_object(body, "a workflow definition")
    kernel = request.app[KERNEL]
    storage, plugins = kernel.storage, kernel.plugins
    assert plugins.expression_engine is not None  # Kernel refuses to start without one
    content, errors = workflow_rules.validate_create(body, plugins.functions, plugins.expression_engine)
    connectors, _ = await storage.list_connectors(filters={"enabled": True})
    workflow_id = content.get("workflow_id")
    exists = workflow_id is not None and await storage.get_latest(WORKFLOW, workflow_id) is not None
    warnings = workflow_warnings(content, plugins.functions, {row["name"]: row["connector_type"] for row in connectors},
                                 kernel.runtime.snapshot.channels, exists=exists)
    return _report(errors, warnings)


@describe("Validate a channel definition without saving it", tag="Channels", body=ChannelInput,
          description="200 for any JSON object: `errors` are what create would refuse, `warnings` what would not work once live.",
          responses={200: ValidationReport}, errors=(400, 413, 415))
async def validate_channel(request: web.Request) -> web.Response:
    """Validate a channel definition without saving it: errors create would refuse, warnings for what would not work live."""
    body = await read_json_body(request)
    _require_object(body, "a channel definition")
    kernel = request.app[KERNEL]
    assert kernel.plugins.expression_engine is not None
    content, errors = channel_rules.validate_create(body, kernel.runtime.policies)
    channel_id, name = content.get("channel_id"), content.get("name")
    async with kernel.storage.transaction() as tx:  # the same reads create makes
        exists = channel_id is not None and bool(await tx.versions(CHANNEL, channel_id))
        name_taken = isinstance(name, str) and await tx.name_in_use(CHANNEL, name, channel_id)
    live_workflows = {row["workflow_id"] for row in await kernel.storage.list_active(WORKFLOW)}
    return _report(errors, channel_warnings(content, live_workflows, exists=exists, name_taken=name_taken))


def add_routes(app: web.Application) -> None:
    """Register before ``/{id}`` routes (a static sub-path wins)."""
    app.router.add_post("/api/v1/admin/workflows/validate", validate_workflow)
    app.router.add_post("/api/v1/admin/channels/validate", validate_channel)
