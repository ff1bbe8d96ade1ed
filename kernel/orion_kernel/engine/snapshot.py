"""The immutable, fully compiled view of everything active, built off the hot path."""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..channel_filter import ChannelFilter
from ..expressions import ExpressionEngine
from ..governance import Proceed
from ..rollout import RolloutKey
from ..routing import RouteTable, parse_pattern
from ..trace_policy import DEFAULT_TRACE_POLICY, TracePolicy, trace_policy
from ..types import TaskFunction
from .compiler import CompiledWorkflow, compile_active_workflows

ROUTABLE_PROTOCOLS = ("rest", "http")


@dataclass(frozen=True, slots=True)
class CompiledChannel:
    """An active channel with its workflows in execution order, its raw config and its chains.

    ``pipelines`` maps an ingress path (``sync``, ``async``, ``call``, ``kafka``) to the callable
    that runs the channel's policies for it around the run; filled right after construction.
    """

    name: str
    channel_id: str
    version: int
    channel_type: str
    protocol: str
    config: dict[str, Any]
    workflows: tuple[CompiledWorkflow, ...]
    rollout_key: RolloutKey | None = None  # sticky rollout: the first gated workflow's key
    pipelines: dict[str, Proceed] = field(default_factory=dict)
    trace_tasks: bool = False  # config.tracing.per_task (alias task_details): store each run's steps
    trace: TracePolicy = DEFAULT_TRACE_POLICY  # which trace rows to keep, and how to write them


@dataclass(frozen=True)
class Snapshot:
    """Routes, channels and compiled workflows; swapped as one reference on reload."""

    revision: int
    channels: dict[str, CompiledChannel]
    routes: RouteTable
    workflows_count: int
    active_versions: int
    built_at: float = field(default_factory=time.time)

    @classmethod
    def empty(cls) -> Snapshot:
        return cls(revision=-1, channels={}, routes=RouteTable(()), workflows_count=0, active_versions=0)


def _channel_workflows(
    row: Mapping[str, Any],
    compiled: Mapping[str, list[CompiledWorkflow]],
    bound_by_field: Mapping[str, list[str]],
) -> tuple[CompiledWorkflow, ...]:
    """The channel's ``workflow_id`` versions plus workflows naming it, lower priority first."""
    ids: list[str] = []
    if row.get("workflow_id"):
        ids.append(str(row["workflow_id"]))
    for workflow_id in bound_by_field.get(str(row["name"]), ()):
        if workflow_id not in ids:
            ids.append(workflow_id)
    ordered = [wf for workflow_id in ids for wf in compiled.get(workflow_id, ())]
    ordered.sort(key=lambda wf: wf.priority)  # stable: ties keep load order (newest version first)
    return tuple(ordered)


def _traces_tasks(config: Any) -> bool:
    """``config.tracing.per_task``, else its alias ``task_details`` (channels.md §4.8)."""
    tracing = config.get("tracing") if isinstance(config, Mapping) else None
    if not isinstance(tracing, Mapping):
        return False
    per_task = tracing.get("per_task")
    return (per_task if per_task is not None else tracing.get("task_details")) is True


def build_snapshot(
    workflow_rows: Iterable[Mapping[str, Any]],
    channel_rows: Iterable[Mapping[str, Any]],
    functions: Mapping[str, TaskFunction],
    engine: ExpressionEngine,
    channel_filter: ChannelFilter,
    revision: int,
    pipelines_for: Callable[[CompiledChannel], dict[str, Proceed]] | None = None,
    trace_settings: Mapping[str, Any] | None = None,
) -> Snapshot:
    """Compile active rows into a Snapshot. Bad workflows are excluded, never fatal.

    ``pipelines_for`` binds a channel's governance chains (the runtime passes its own);
    ``trace_settings`` (``[tracing.storage]``) resolves each channel's trace policy.
    """
    workflow_rows = list(workflow_rows)
    compiled = compile_active_workflows(workflow_rows, functions, engine)
    bound_by_field: dict[str, list[str]] = {}
    for row in workflow_rows:
        if row.get("channel"):
            ids = bound_by_field.setdefault(str(row["channel"]), [])
            if row["workflow_id"] not in ids:
                ids.append(str(row["workflow_id"]))

    channels: dict[str, CompiledChannel] = {}
    routes = []
    rows = sorted(channel_rows, key=lambda r: -int(r.get("priority", 0) or 0))
    for row in rows:
        name = str(row["name"])
        if not channel_filter.allows(name) or name in channels:
            continue
        workflows = _channel_workflows(row, compiled, bound_by_field)
        channel = channels[name] = CompiledChannel(
            name=name,
            channel_id=str(row["channel_id"]),
            version=int(row.get("version", 1)),
            channel_type=str(row.get("channel_type", "sync")),
            protocol=str(row.get("protocol", "http")),
            config=dict(row.get("config") or {}),
            workflows=workflows,
            rollout_key=next((wf.rollout_key for wf in workflows if wf.rollout_key is not None), None),
            trace_tasks=_traces_tasks(row.get("config")),
            trace=trace_policy(trace_settings, row.get("config")) if trace_settings is not None else DEFAULT_TRACE_POLICY,
        )
        if pipelines_for is not None:
            channel.pipelines.update(pipelines_for(channel))
        if row.get("channel_type", "sync") == "sync" and row.get("protocol") in ROUTABLE_PROTOCOLS and row.get("route_pattern"):
            routes.append(parse_pattern(name, str(row["route_pattern"]), row.get("methods"), int(row.get("priority", 0) or 0)))
    return Snapshot(
        revision=revision,
        channels=channels,
        routes=RouteTable(routes),
        workflows_count=sum(len(v) for v in compiled.values()),
        active_versions=len(workflow_rows),
    )
