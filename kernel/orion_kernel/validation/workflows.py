"""Workflow definitions (workflows.md §2, §10): request bodies → normalized rows plus FieldErrors.

Top-level paths are plain field names (``name``, ``tasks[0].function.input.mappings``).
``condition`` and ``tasks`` are kept verbatim; only omitted fields get their defaults.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from ..errors import FieldError, field_error
from ..expressions import ExpressionEngine
from ..rollout import check_rollout_key
from ..task_inputs import prepare_params
from ..types import TaskFunction
from .common import (
    MAX_NAME_BYTES,
    body_object_error,
    check_bool,
    check_description,
    check_int32,
    check_logic,
    check_name,
    check_optional_string,
    check_string_list,
    type_error,
    unknown_keys,
)
from .ids import check_id, shorten

logger = logging.getLogger("orion.admin")

CONTENT_FIELDS = ("name", "description", "priority", "condition", "tasks", "tags", "continue_on_error", "channel", "rollout_key")
SERVER_MANAGED = ("version", "status", "rollout_percentage", "created_at", "updated_at")
BODY_KEYS = ("workflow_id", "id", *CONTENT_FIELDS, *SERVER_MANAGED)
TASK_KEYS = ("id", "name", "description", "condition", "function", "continue_on_error")
FUNCTION_KEYS = ("name", "input")
DEFAULTS: dict[str, Any] = {
    "description": None, "priority": 0, "condition": True, "tags": [], "continue_on_error": False, "channel": None,
    "rollout_key": None,
}

Functions = Mapping[str, TaskFunction]


def validate_create(body: Any, functions: Functions, engine: ExpressionEngine) -> tuple[dict[str, Any], list[FieldError]]:
    """A create body → ``{"workflow_id": <id or None>, **content}`` with defaults, and its errors."""
    problem = body_object_error(body, "a workflow definition")
    if problem:
        return {}, [problem]
    errors = unknown_keys(body, BODY_KEYS)
    workflow_id, id_errors = _requested_id(body)
    errors += id_errors
    content = {key: body.get(key) for key in CONTENT_FIELDS}
    for key, default in DEFAULTS.items():
        if content[key] is None:
            content[key] = default
    errors += check_definition(content, functions, engine)
    return {"workflow_id": workflow_id, **content}, errors


def validate_update(
    body: Any, entity_id: str, draft: Mapping[str, Any], functions: Functions, engine: ExpressionEngine
) -> tuple[dict[str, Any], list[FieldError]]:
    """A PUT body applied to the stored ``draft`` → the merged content, checked like a create.

    Omitted and ``null`` fields keep their stored value.
    """
    problem = body_object_error(body, "a workflow update")
    if problem:
        return {}, [problem]
    errors = unknown_keys(body, BODY_KEYS)
    for key in ("workflow_id", "id"):
        if body.get(key) is not None and body[key] != entity_id:
            errors.append(field_error(key, "INVALID", f"workflow_id cannot change: the path names '{shorten(entity_id)}'", got=body[key]))
    merged = {key: draft.get(key) for key in CONTENT_FIELDS}
    merged.update({key: body[key] for key in CONTENT_FIELDS if body.get(key) is not None})
    errors += check_definition(merged, functions, engine)
    return merged, errors


def _requested_id(body: dict[str, Any]) -> tuple[str | None, list[FieldError]]:
    """``workflow_id`` or its alias ``id``; both present and different is an error."""
    primary, alias = body.get("workflow_id"), body.get("id")
    if primary is not None and alias is not None and primary != alias:
        return None, [field_error("workflow_id", "INVALID", "'workflow_id' and its alias 'id' differ; send only one", got=primary)]
    chosen = primary if primary is not None else alias
    if chosen is None:
        return None, []
    problem = check_id(chosen, "workflow_id")
    return (None, [problem]) if problem else (chosen, [])


def check_definition(content: Mapping[str, Any], functions: Functions, engine: ExpressionEngine) -> list[FieldError]:
    """Every rule of workflows.md §10.1 (plus registered functions) on the content fields."""
    errors = check_name(content.get("name"), "name")
    errors += check_description(content.get("description"), "description")
    errors += check_int32(content.get("priority"), "priority")
    errors += check_logic(engine, content.get("condition"), "condition", "workflow condition")
    errors += check_string_list(content.get("tags"), "tags")
    errors += check_bool(content.get("continue_on_error"), "continue_on_error")
    errors += _check_channel(content.get("channel"))
    errors += check_rollout_key(content.get("rollout_key"))
    errors += _check_tasks(content.get("tasks"), functions, engine)
    return errors


def _check_channel(value: Any) -> list[FieldError]:
    if value is None:
        return []
    if not isinstance(value, str):
        return [type_error("channel", "string", value)]
    if not value.strip() or len(value.encode()) > MAX_NAME_BYTES:
        return [field_error("channel", "INVALID", f"channel must be a channel name (non-blank, at most {MAX_NAME_BYTES} bytes) or null", got=shorten(value))]
    return []


def _check_tasks(tasks: Any, functions: Functions, engine: ExpressionEngine) -> list[FieldError]:
    message = "Tasks must be a non-empty array"
    if tasks is None:
        return [field_error("tasks", "REQUIRED", message)]
    if not isinstance(tasks, list):
        return [field_error("tasks", "TYPE_MISMATCH", message, expected="array", got=tasks)]
    if not tasks:
        return [field_error("tasks", "INVALID", message)]
    errors: list[FieldError] = []
    first_index: dict[str, int] = {}
    for index, task in enumerate(tasks):
        errors += _check_task(index, task, functions, engine)
        task_id = task.get("id") if isinstance(task, dict) else None
        if isinstance(task_id, str) and task_id:
            if task_id in first_index:
                errors.append(field_error("tasks", "INVALID", f"Duplicate task id '{task_id}' (tasks[{first_index[task_id]}] and tasks[{index}])"))
            else:
                first_index[task_id] = index
    return errors


def _check_task(index: int, task: Any, functions: Functions, engine: ExpressionEngine) -> list[FieldError]:
    where = f"tasks[{index}]"
    if not isinstance(task, dict):
        return [field_error(where, "TYPE_MISMATCH", f"Task at index {index} must be an object", expected="object", got=task)]
    errors = unknown_keys(task, TASK_KEYS, f"{where}.")
    for key in ("id", "name"):
        value = task.get(key)
        if value is not None and not isinstance(value, str):
            errors.append(field_error(f"{where}.{key}", "TYPE_MISMATCH", f"Task at index {index} is missing '{key}' (it must be a string)", expected="string", got=value))
        elif not value:
            errors.append(field_error(f"{where}.{key}", "REQUIRED", f"Task at index {index} is missing '{key}'"))
    errors += check_optional_string(task.get("description"), f"{where}.description")
    if task.get("continue_on_error") is not None:
        errors += check_bool(task["continue_on_error"], f"{where}.continue_on_error")
    if "condition" in task:
        errors += check_logic(engine, task["condition"], f"{where}.condition", "task condition")
    errors += _check_function(index, task.get("function"), functions, engine)
    return errors


def _check_function(index: int, function: Any, functions: Functions, engine: ExpressionEngine) -> list[FieldError]:
    where = f"tasks[{index}].function"
    if function is None:
        return [field_error(f"{where}.name", "REQUIRED", f"Task at index {index} is missing 'function.name'")]
    if not isinstance(function, dict):
        return [field_error(where, "TYPE_MISMATCH", f"tasks[{index}].function must be an object {{\"name\": ..., \"input\": {{...}}}}", expected="object", got=function)]
    errors = unknown_keys(function, FUNCTION_KEYS, f"{where}.")
    name = function.get("name")
    if name is not None and not isinstance(name, str):
        return errors + [type_error(f"{where}.name", "string", name)]
    if not name:
        return errors + [field_error(f"{where}.name", "REQUIRED", f"Task at index {index} is missing 'function.name'")]
    fn = functions.get(name)
    if fn is None:
        registered = ", ".join(sorted(functions)) or "(none)"
        return errors + [field_error(f"{where}.name", "INVALID", f"Unknown function '{shorten(name)}'; registered functions: {registered}", got=shorten(name))]
    if "input" not in function:
        return errors + [field_error(f"{where}.input", "REQUIRED", f"config for function '{name}': missing field 'input'", expected="object")]
    return errors + _check_input(fn, function["input"], engine, f"{where}.input")


def _check_input(fn: TaskFunction, raw_input: Any, engine: ExpressionEngine, path: str) -> list[FieldError]:
    """The function's own input checks; a plugin that crashes here is reported, not raised."""
    try:
        return prepare_params(fn, raw_input, engine, path=path)[1]
    except Exception as exc:  # a third-party schema or check_input bug must not become a 500
        logger.exception("input check of task function '%s' crashed", fn.name)
        return [field_error(path, "INVALID", f"function '{fn.name}' could not check its input ({type(exc).__name__}: {exc}); "
                                             "this is a bug in the plugin that provides it")]
