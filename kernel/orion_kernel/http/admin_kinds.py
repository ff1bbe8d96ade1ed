"""What the admin routes of workflows and channels differ in: one :class:`AdminKind` per entity kind."""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from marshmallow import Schema

from ..storage import CHANNEL, WORKFLOW
from .api_schemas import (
    CHANNEL_SORT_COLUMNS,
    WORKFLOW_SORT_COLUMNS,
    ChannelEnvelope,
    ChannelExport,
    ChannelFilters,
    ChannelInput,
    ChannelList,
    ChannelListQuery,
    ChannelStatusBody,
    ChannelUpdate,
    WorkflowEnvelope,
    WorkflowExport,
    WorkflowFilters,
    WorkflowInput,
    WorkflowList,
    WorkflowListQuery,
    WorkflowStatusBody,
    WorkflowUpdate,
)


@dataclass(frozen=True)
class AdminKind:
    """An entity kind as the admin API serves it under ``/api/v1/admin/<plural>``."""

    kind: str  #: WORKFLOW or CHANNEL (storage.py)
    singular: str  #: ``workflow``: in summaries and operation ids
    plural: str  #: ``workflows``: the last segment of the route prefix
    tag: str  #: the OpenAPI tag
    filters: tuple[str, ...]  #: exact-match query filters of list and export
    filters_by_tag: bool  #: whether ``?tag=`` filters too (workflows only)
    sort_columns: tuple[str, ...]
    input: type[Schema]
    update: type[Schema]
    status_body: type[Schema]
    envelope: type[Schema]
    list_envelope: type[Schema]
    list_query: type[Schema]
    export: type[Schema]
    export_query: type[Schema]
    create_description: str
    status_description: str
    rollback_description: str

    @property
    def base(self) -> str:
        return f"/api/v1/admin/{self.plural}"

    def filters_in(self, query: Mapping[str, str]) -> dict[str, str]:
        """The non-empty exact-match filters of a list or export query string."""
        return {key: query[key] for key in self.filters if query.get(key)}

    def tag_in(self, query: Mapping[str, str]) -> str | None:
        """The ``tag`` filter of a list or export query string; None when absent, empty or not supported."""
        return (query.get("tag") or None) if self.filters_by_tag else None


WORKFLOWS = AdminKind(
    kind=WORKFLOW, singular="workflow", plural="workflows", tag="Workflows",
    filters=("status",), filters_by_tag=True, sort_columns=WORKFLOW_SORT_COLUMNS,
    input=WorkflowInput, update=WorkflowUpdate, status_body=WorkflowStatusBody, envelope=WorkflowEnvelope,
    list_envelope=WorkflowList, list_query=WorkflowListQuery, export=WorkflowExport, export_query=WorkflowFilters,
    create_description="Validated strictly: task functions must be registered and their inputs must match their schemas.",
    status_description="Activating with rollout_percentage below 100 keeps the previous active version for the rest.",
    rollback_description="A copy of that version becomes the only active version, at once.",
)
CHANNELS = AdminKind(
    kind=CHANNEL, singular="channel", plural="channels", tag="Channels",
    filters=("status", "channel_type", "protocol"), filters_by_tag=False, sort_columns=CHANNEL_SORT_COLUMNS,
    input=ChannelInput, update=ChannelUpdate, status_body=ChannelStatusBody, envelope=ChannelEnvelope,
    list_envelope=ChannelList, list_query=ChannelListQuery, export=ChannelExport, export_query=ChannelFilters,
    create_description="With only a name it becomes a sync HTTP channel on POST /api/v1/data/<name>.",
    status_description="",
    rollback_description="A copy of that version becomes the active version, at once.",
)
#: in route order: each admin module registers its workflow route before its channel route
ADMIN_KINDS = (WORKFLOWS, CHANNELS)
