"""Compile stored workflow rows into executable workflows (done once per engine build)."""
from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ..errors import ExpressionError, FieldError, field_error
from ..expressions import Expr, ExpressionEngine, compile_expression
from ..rollout import RolloutKey
from ..task_inputs import prepare_params
from ..types import TaskFunction

logger = logging.getLogger("orion.engine")


@dataclass(frozen=True, slots=True)
class CompiledTask:
    """A task bound to its function object with its input loaded and expressions compiled."""

    id: str
    name: str
    function_name: str
    function: TaskFunction | None  # None: not registered, fails when run
    params: dict[str, Any]
    condition: Expr | None  # None: always runs
    continue_on_error: bool  # the effective flag (task's own, else the workflow's)


@dataclass(frozen=True, slots=True)
class CompiledWorkflow:
    """One active workflow version as the engine runs it."""

    engine_id: str
    workflow_id: str
    version: int
    priority: int
    condition: Expr | None  # None: literal true
    tasks: tuple[CompiledTask, ...]
    continue_on_error: bool
    bucket: tuple[int, int] | None  # rollout range [start, end) or None when not gated
    rollout_key: RolloutKey | None = None  # sticky rollout: where the caller's bucket comes from


class WorkflowBuildError(Exception):
    """A workflow cannot be compiled; ``errors`` point into its JSON."""

    def __init__(self, workflow_id: str, errors: list[FieldError]) -> None:
        super().__init__(f"workflow '{workflow_id}' cannot be loaded: " + "; ".join(f"{e.path}: {e.message}" for e in errors))
        self.errors = errors


def compile_condition(engine: ExpressionEngine, rule: Any) -> Expr | None:
    """Compile a workflow/task condition; literal ``true`` (the default) compiles to None."""
    if rule is True:
        return None
    return compile_expression(engine, rule, templating=True)


def _compile_task(
    index: int,
    task: Any,
    workflow_continue: bool,
    functions: Mapping[str, TaskFunction],
    engine: ExpressionEngine,
    errors: list[FieldError],
) -> CompiledTask | None:
    where = f"tasks[{index}]"
    if not isinstance(task, dict):
        errors.append(field_error(where, "INVALID", f"Task at index {index} must be an object"))
        return None
    function = task.get("function")
    if not isinstance(function, dict) or not isinstance(function.get("name"), str) or not function["name"]:
        errors.append(field_error(f"{where}.function.name", "REQUIRED", f"Task at index {index} is missing 'function.name'"))
        return None
    condition: Expr | None = None
    if "condition" in task:
        try:
            condition = compile_condition(engine, task["condition"])
        except ExpressionError as exc:
            errors.append(field_error(f"{where}.condition", "INVALID", f"Invalid JSONLogic in task condition: {exc}"))
    fn = functions.get(function["name"])
    params: dict[str, Any] = {}
    if fn is not None:
        params, input_errors = prepare_params(fn, function.get("input"), engine, f"{where}.function.input")
        errors.extend(input_errors)
    own = task.get("continue_on_error")
    return CompiledTask(
        id=str(task.get("id", "")),
        name=str(task.get("name", "")),
        function_name=function["name"],
        function=fn,
        params=params,
        condition=condition,
        continue_on_error=own if isinstance(own, bool) else workflow_continue,
    )


def compile_workflow(
    row: Mapping[str, Any],
    functions: Mapping[str, TaskFunction],
    engine: ExpressionEngine,
    *,
    engine_id: str | None = None,
    bucket: tuple[int, int] | None = None,
    rollout_key: RolloutKey | None = None,
) -> CompiledWorkflow:
    """Compile one workflow row; raise WorkflowBuildError listing every problem found."""
    errors: list[FieldError] = []
    workflow_continue = bool(row.get("continue_on_error", False))
    condition: Expr | None = None
    try:
        condition = compile_condition(engine, row.get("condition", True))
    except ExpressionError as exc:
        errors.append(field_error("condition", "INVALID", f"Invalid JSONLogic in workflow condition: {exc}"))
    tasks_raw = row.get("tasks")
    tasks: list[CompiledTask] = []
    if not isinstance(tasks_raw, list) or not tasks_raw:
        errors.append(field_error("tasks", "INVALID", "Tasks must be a non-empty array"))
    else:
        for index, task in enumerate(tasks_raw):
            compiled = _compile_task(index, task, workflow_continue, functions, engine, errors)
            if compiled is not None:
                tasks.append(compiled)
    if errors:
        raise WorkflowBuildError(str(row.get("workflow_id")), errors)
    return CompiledWorkflow(
        engine_id=engine_id or str(row["workflow_id"]),
        workflow_id=str(row["workflow_id"]),
        version=int(row.get("version", 1)),
        priority=int(row.get("priority", 0) or 0),
        condition=condition,
        tasks=tuple(tasks),
        continue_on_error=workflow_continue,
        bucket=bucket,
        rollout_key=rollout_key,
    )


def compile_active_workflows(
    rows: Iterable[Mapping[str, Any]], functions: Mapping[str, TaskFunction], engine: ExpressionEngine
) -> dict[str, list[CompiledWorkflow]]:
    """Compile every active version, grouped by workflow id, with rollout buckets (workflows.md §7.2).

    A version that fails to compile is excluded and logged; the others still load.
    """
    by_id: dict[str, list[Mapping[str, Any]]] = {}
    for row in rows:
        by_id.setdefault(str(row["workflow_id"]), []).append(row)
    compiled: dict[str, list[CompiledWorkflow]] = {}
    for workflow_id, versions in by_id.items():
        versions.sort(key=lambda r: -int(r["version"]))
        gated = not (len(versions) == 1 and int(versions[0].get("rollout_percentage", 100)) == 100)
        # the newest version's rollout_key decides for the whole split (one bucket per caller)
        key = RolloutKey.from_definition(versions[0].get("rollout_key"), workflow_id) if gated else None
        start = 0
        out: list[CompiledWorkflow] = []
        for row in versions:
            pct = int(row.get("rollout_percentage", 100))
            bucket = (start, start + pct) if gated else None
            start += pct
            engine_id = f"{workflow_id}:v{row['version']}" if gated else workflow_id
            try:
                out.append(compile_workflow(row, functions, engine, engine_id=engine_id, bucket=bucket, rollout_key=key))
            except WorkflowBuildError as exc:
                logger.error("excluded from the engine: %s", exc, extra={"workflow_id": workflow_id})
        compiled[workflow_id] = out
    return compiled
