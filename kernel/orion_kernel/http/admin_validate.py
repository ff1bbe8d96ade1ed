"""Admin validate routes: check a workflow or channel definition without saving it (workflows.md §10).

Always 200 ``{"valid", "errors", "warnings"}`` for a JSON object; each issue is a FieldError
(``path``, ``code``, ``message``, ...) plus ``field``, the same path under the spec's name.
Errors are exactly what create would refuse (with the same paths); warnings are what would
not work once live (a connector or channel that is not there, an id or name already taken).
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from ..errors import FieldError, validation_error
from ..kernel import Kernel
from ..storage import CHANNEL, WORKFLOW
from ..validation import channels as channel_rules
from ..validation import workflows as workflow_rules
from ..validation.common import body_object_error
from ..validation.warnings import channel_warnings, workflow_warnings
from .admin_kinds import ADMIN_KINDS, AdminKind
from .api_schemas import ValidationReport
from .common import json_response, read_json_body
from .keys import KERNEL
from .middleware import Handler
from .openapi import describe

Issues = tuple[list[FieldError], list[FieldError]]


async def _workflow_issues(kernel: Kernel, body: dict[str, Any]) -> Issues:
    """``(errors, warnings)`` of a workflow definition."""
    storage, plugins = kernel.storage, kernel.plugins
    assert plugins.expression_engine is not None  # Kernel refuses to start without one
    content, errors = workflow_rules.validate_create(body, plugins.functions, plugins.expression_engine)
    connectors, _ = await storage.list_connectors(filters={"enabled": True})
    workflow_id = content.get("workflow_id")
    exists = workflow_id is not None and await storage.get_latest(WORKFLOW, workflow_id) is not None
    warnings = workflow_warnings(content, plugins.functions, {row["name"]: row["connector_type"] for row in connectors},
                                 kernel.runtime.snapshot.channels, exists=exists)
    return errors, warnings


async def _channel_issues(kernel: Kernel, body: dict[str, Any]) -> Issues:
    """``(errors, warnings)`` of a channel definition."""
    content, errors = channel_rules.validate_create(body, kernel.runtime.policies)
    channel_id, name = content.get("channel_id"), content.get("name")
    async with kernel.storage.transaction() as tx:  # the same reads create makes
        exists = channel_id is not None and bool(await tx.versions(CHANNEL, channel_id))
        name_taken = isinstance(name, str) and await tx.name_in_use(CHANNEL, name, channel_id)
    live_workflows = {row["workflow_id"] for row in await kernel.storage.list_active(WORKFLOW)}
    return errors, channel_warnings(content, live_workflows, exists=exists, name_taken=name_taken)


ISSUES_BY_KIND: dict[str, Callable[[Kernel, dict[str, Any]], Awaitable[Issues]]] = {
    WORKFLOW: _workflow_issues,
    CHANNEL: _channel_issues,
}


def _issues(items: list[FieldError]) -> list[dict[str, Any]]:
    return [{"field": item.path, **item.to_json()} for item in items]


def _require_object(body: Any, what: str) -> None:
    problem = body_object_error(body, what)
    if problem:
        raise validation_error(f"Invalid request body: {problem.message}", [problem])


def validator(kind: AdminKind) -> Handler:
    issues_of = ISSUES_BY_KIND[kind.kind]

    @describe(f"Validate a {kind.singular} definition without saving it", tag=kind.tag, body=kind.input,
              description="200 for any JSON object: `errors` are what create would refuse, `warnings` what would not work once live.",
              responses={200: ValidationReport}, errors=(400, 413, 415), operation_id=f"admin_validate_validate_{kind.singular}")
    async def handler(request: web.Request) -> web.Response:
        """Validate a definition without saving it: errors create would refuse, warnings for what would not work live."""
        body = await read_json_body(request)
        _require_object(body, f"a {kind.singular} definition")
        errors, warnings = await issues_of(request.app[KERNEL], body)
        return json_response({"valid": not errors, "errors": _issues(errors), "warnings": _issues(warnings)})

    return handler


def add_routes(app: web.Application) -> None:
    """Register before ``/{id}`` routes (a static sub-path wins)."""
    for kind in ADMIN_KINDS:
        app.router.add_post(kind.base + "/validate", validator(kind))
