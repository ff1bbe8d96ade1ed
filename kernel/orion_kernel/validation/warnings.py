"""Warnings of ``/validate`` (workflows.md §10.2): what is valid but would not work once live.

Each check reads plain data the caller looked up (registered connectors, live channels, ...), so
the rules stay testable without storage. Paths point into the submitted JSON like errors do.
"""
from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ..errors import FieldError, field_error
from ..types import TaskFunction
from .ids import shorten

CHANNEL_CALL = "channel_call"


def workflow_warnings(
    content: Mapping[str, Any],
    functions: Mapping[str, TaskFunction],
    connectors: Mapping[str, str],
    live_channels: Collection[str],
    *,
    exists: bool,
) -> list[FieldError]:
    """Warnings for a workflow create body already checked by the create rules.

    ``connectors`` maps each registered (enabled) connector name to its type; ``live_channels``
    holds the names of the active channels; ``exists`` whether the body's ``workflow_id`` is taken.
    """
    warnings: list[FieldError] = []
    if exists:
        warnings.append(field_error(
            "workflow_id", "CONFLICT",
            f"Workflow '{shorten(str(content['workflow_id']))}' already exists: create would answer 409; change it through "
            "a new version (POST .../versions, PUT the draft, activate it)"))
    channel = content.get("channel")
    if isinstance(channel, str) and channel and channel not in live_channels:
        warnings.append(field_error("channel", "NOT_FOUND", f"Channel '{shorten(channel)}' is not active: "
                                                           "this workflow receives no traffic until it is"))
    tasks = content.get("tasks")
    for index, task in enumerate(tasks if isinstance(tasks, list) else []):
        function = task.get("function") if isinstance(task, dict) else None
        if not isinstance(function, dict) or not isinstance(function.get("input"), dict):
            continue
        fn = functions.get(function.get("name")) if isinstance(function.get("name"), str) else None
        if fn is None:
            continue
        where = f"tasks[{index}].function.input"
        warnings += _connector_warnings(fn, function["input"], connectors, where)
        target = function["input"].get("channel")
        if fn.name == CHANNEL_CALL and isinstance(target, str) and target and target not in live_channels:
            warnings.append(field_error(f"{where}.channel", "NOT_FOUND", f"Channel '{shorten(target)}' not found"))
    return warnings


def _connector_warnings(fn: TaskFunction, task_input: Mapping[str, Any], connectors: Mapping[str, str], where: str) -> list[FieldError]:
    """A connector-backed function (``connector_kinds`` non-empty) must name a registered connector of a fitting type."""
    name = task_input.get("connector")
    if not fn.connector_kinds or not isinstance(name, str):
        return []
    kind = connectors.get(name)
    if kind is None:
        return [field_error(f"{where}.connector", "NOT_FOUND", f"Connector '{shorten(name)}' not found in registry")]
    if kind not in fn.connector_kinds:
        expected = " or ".join(fn.connector_kinds)
        return [field_error(f"{where}.connector", "INVALID",
                            f"Connector '{shorten(name)}' is of type {kind}; {fn.name} requires a connector of type {expected}",
                            expected=list(fn.connector_kinds), got=kind)]
    return []


def channel_warnings(
    content: Mapping[str, Any], live_workflows: Collection[str], *, exists: bool, name_taken: bool
) -> list[FieldError]:
    """Warnings for a channel create body: id or name taken, a workflow that is not active."""
    warnings: list[FieldError] = []
    if exists:
        warnings.append(field_error(
            "channel.channel_id", "CONFLICT",
            f"Channel '{shorten(str(content['channel_id']))}' already exists: create would answer 409; change it through "
            "a new version (POST .../versions, PUT the draft, activate it)"))
    if name_taken:
        warnings.append(field_error("channel.name", "CONFLICT",
                                    f"Channel with name '{shorten(str(content['name']))}' already exists: create would answer 409"))
    workflow_id = content.get("workflow_id")
    if isinstance(workflow_id, str) and workflow_id not in live_workflows:
        warnings.append(field_error("channel.workflow_id", "NOT_FOUND",
                                    f"Workflow '{shorten(workflow_id)}' has no active version: the channel answers with "
                                    "empty data until it has one"))
    return warnings
