"""orion-plugin-jsonschema: the ``json_schema`` task function, declared to the kernel.

The checking itself lives in :mod:`orion_plugin_jsonschema.validate`.
"""
from __future__ import annotations

from typing import Any

from marshmallow import Schema, fields, post_load

from orion_kernel import FieldError, TaskContext, TaskError, TaskFunction, field_error, hookimpl

from .validate import UnresolvableRef, compile_schema, find_violations, schema_problem

# The entry-point name, so the plugin has one name however it is loaded (entry point or config).
ORION_PLUGIN_NAME = "jsonschema"
NAME = "json_schema"
FAILED_STATUS = 400


class JsonSchemaInput(Schema):
    schema = fields.Dict(
        required=True,
        metadata={"description": "The JSON Schema (draft 2020-12 unless \"$schema\" names another draft)."},
    )
    source = fields.String(
        load_default="data",
        metadata={"description": "Context path of the document to check, e.g. 'data.order'."},
    )
    message = fields.String(
        load_default=None,
        metadata={"description": "Prefix for every error message, e.g. 'Invalid order'."},
    )

    @post_load
    def _compile(self, params: dict[str, Any], **_: Any) -> dict[str, Any]:
        # Params are loaded once per engine build, so each message pays only for iter_errors.
        params["validator"] = compile_schema(params["schema"])
        return params


def check_input(params: dict[str, Any]) -> list[FieldError]:
    """Refuse a ``schema`` that is not a valid JSON Schema, pointing inside it."""
    problem = schema_problem(params["schema"])
    if problem is None:
        return []
    path, what = problem
    return [field_error(path, "INVALID", f"config for function '{NAME}': invalid JSON Schema at {path}: {what}")]


async def run(ctx: TaskContext, params: dict[str, Any]) -> int | None:
    """Record one VALIDATION_ERROR per schema violation and return 400; succeed when there is none."""
    try:
        violations = find_violations(params["validator"], ctx.read(params["source"]), params["source"])
    except UnresolvableRef as exc:
        raise TaskError(str(exc)) from None
    prefix = f"{params['message']}: " if params["message"] else ""
    for violation in violations:
        ctx.add_error("VALIDATION_ERROR", f"{prefix}{violation}", path=violation.path)
    return FAILED_STATUS if violations else None


@hookimpl
def orion_task_functions():
    yield TaskFunction(
        name=NAME,
        run=run,
        input_schema=JsonSchemaInput,
        description="Check part of the message against a JSON Schema and record an error for each violation",
        category="validation",
        check_input=check_input,
    )
