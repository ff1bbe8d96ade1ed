"""The storage interface a backend plugin implements (chosen by the ``storage.url`` scheme).

Rows are plain dicts of Python values keyed by the API field names (JSON columns arrive and
leave as Python objects; timestamps as ``YYYY-MM-DDTHH:MM:SS.ffffff`` strings, UTC). The
lifecycle rules (one draft, activation archives, ...) live in the kernel's registry; a backend
only reads and writes rows, atomically inside :meth:`StorageBackend.transaction`.
"""
from __future__ import annotations

import abc
from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

WORKFLOW = "workflow"
CHANNEL = "channel"
KINDS = (WORKFLOW, CHANNEL)

WORKFLOW_FIELDS = (
    "workflow_id", "version", "name", "description", "priority", "status", "rollout_percentage",
    "condition", "tasks", "tags", "continue_on_error", "channel", "rollout_key", "created_at", "updated_at",
)
CHANNEL_FIELDS = (
    "channel_id", "version", "name", "description", "channel_type", "protocol", "methods",
    "route_pattern", "topic", "consumer_group", "transport_config", "workflow_id", "config",
    "status", "priority", "created_at", "updated_at",
)
TRACE_FIELDS = (
    "id", "channel", "channel_id", "mode", "status", "input_json", "result_json", "error_message",
    "duration_ms", "started_at", "completed_at", "created_at", "updated_at", "task_trace_json",
)
AUDIT_FIELDS = ("id", "principal", "action", "resource_type", "resource_id", "details", "created_at")
CONNECTOR_FIELDS = ("id", "name", "connector_type", "config", "enabled", "created_at", "updated_at")
DLQ_FIELDS = (
    "id", "trace_id", "channel", "payload_json", "metadata_json", "error_message", "retry_count",
    "max_retries", "next_retry_at", "created_at", "updated_at",
)
ASYNC_JOB_FIELDS = (
    "id", "channel", "trace_record", "trace_steps", "profile", "payload_json", "metadata_json", "attempt", "dlq_id",
    "bucket", "status", "owner", "lease_until", "started_at", "created_at", "updated_at",
)
#: unversioned row kinds a transaction writes with insert_row / update_rows / delete_rows
TRACE = "trace"
ASYNC_JOB = "async_job"
DLQ = "dlq"
ROW_KINDS = (TRACE, ASYNC_JOB, DLQ)


class StorageError(Exception):
    """The database failed; answered as 500 ``STORAGE_ERROR`` with a fixed message."""


class StorageConflict(StorageError):
    """A write broke a store rule: a second draft, a duplicate key or connector name, a content
    change to an active row. The message is the spec text (``Only one draft version allowed per
    workflow``, ...); callers that check first never see it, so it may be answered as 409."""


class StorageTransaction(abc.ABC):
    """Reads and writes of versioned rows inside one atomic, serialized transaction."""

    @abc.abstractmethod
    async def versions(self, kind: str, entity_id: str) -> list[dict[str, Any]]:
        """Every version of one entity, newest (highest ``version``) first."""

    @abc.abstractmethod
    async def insert_version(self, kind: str, row: dict[str, Any]) -> None:
        """Insert one version row (all fields of the kind present)."""

    @abc.abstractmethod
    async def update_version(self, kind: str, entity_id: str, version: int, changes: dict[str, Any]) -> None:
        """Update fields of one version row (``updated_at`` is part of ``changes``; set to now when
        absent). Raises StorageConflict when the content of a row that stays ``active`` would change
        (only ``status`` and ``rollout_percentage`` may change then)."""

    @abc.abstractmethod
    async def delete_entity(self, kind: str, entity_id: str) -> int:
        """Delete every version of an entity; return the number of rows removed."""

    @abc.abstractmethod
    async def name_in_use(self, kind: str, name: str, exclude_id: str | None) -> bool:
        """Whether another entity (not ``exclude_id``) of this kind has a version named ``name``."""

    @abc.abstractmethod
    async def bump_revision(self) -> int:
        """Increment and return the live-definition revision (other workers poll it to reload)."""

    # --- unversioned rows: traces, async jobs, dead-letter entries (``ROW_KINDS``) ------------

    @abc.abstractmethod
    async def insert_row(self, kind: str, row: dict[str, Any]) -> None:
        """Insert one row of ``kind`` (missing fields take their defaults)."""

    @abc.abstractmethod
    async def update_rows(self, kind: str, where: dict[str, Any], changes: dict[str, Any]) -> int:
        """Update the rows of ``kind`` equal to ``where`` (``updated_at`` set to now when absent);
        return how many changed. A tuple in ``where`` matches any of its values. Equality on every
        ``where`` field is what makes a claim atomic: ``{"id": j, "owner": me, "status":
        "pending"}`` matches only while nobody else took it."""

    @abc.abstractmethod
    async def delete_rows(self, kind: str, where: dict[str, Any]) -> int:
        """Delete the rows of ``kind`` equal to ``where`` (never all: ``where`` is required)."""


class StorageBackend(abc.ABC):
    """One database. Opened once per process; every method is safe to call concurrently."""

    #: short backend name shown in ``test-connectivity`` and ``/health`` (``sqlite``, ...)
    name: str = "storage"
    #: whether :meth:`backup` works (``POST /api/v1/admin/backups`` answers 400 otherwise)
    supports_backup: bool = False

    def __init__(self, url: str, options: dict[str, Any]) -> None:
        self.url = url
        self.options = options

    # --- lifecycle -----------------------------------------------------------------------------

    @abc.abstractmethod
    async def open(self) -> None:
        """Connect (creating the database file if needed). Does not migrate."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release every connection."""

    @abc.abstractmethod
    async def ping(self) -> bool:
        """True when a trivial query succeeds."""

    @abc.abstractmethod
    async def pending_migrations(self) -> list[tuple[int, str]]:
        """Migrations not yet applied, as ``(version, description)`` in order."""

    @abc.abstractmethod
    async def migrate(self) -> list[tuple[int, str]]:
        """Apply pending migrations; return what was applied."""

    # --- versioned entities --------------------------------------------------------------------

    @abc.abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[StorageTransaction]:
        """An exclusive write transaction; committed on normal exit, rolled back on error."""

    @abc.abstractmethod
    async def get_latest(self, kind: str, entity_id: str) -> dict[str, Any] | None:
        """The highest version of one entity, or None."""

    @abc.abstractmethod
    async def list_latest(
        self,
        kind: str,
        *,
        filters: dict[str, Any],
        tag: str | None = None,
        sort_by: str,
        descending: bool,
        limit: int,
        offset: int,
    ) -> tuple[list[dict[str, Any]], int]:
        """Latest version of each entity matching exact-match ``filters`` (and ``tag`` for
        workflows), sorted and paged; returns ``(rows, total_before_paging)``."""

    @abc.abstractmethod
    async def list_versions(self, kind: str, entity_id: str, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """Versions of one entity newest first, paged; ``(rows, total)``."""

    @abc.abstractmethod
    async def list_active(self, kind: str) -> list[dict[str, Any]]:
        """Every ``active`` row of a kind (several versions of one entity may be active)."""

    @abc.abstractmethod
    async def revision(self) -> int:
        """The live-definition revision counter (0 on a fresh database)."""

    # --- traces and audit ----------------------------------------------------------------------

    @abc.abstractmethod
    async def insert_traces(self, rows: Sequence[dict[str, Any]]) -> None:
        """Insert trace rows in one transaction (the batch writer calls this)."""

    @abc.abstractmethod
    async def get_trace(self, trace_id: str) -> dict[str, Any] | None:
        """One trace row by id."""

    @abc.abstractmethod
    async def list_traces(
        self, *, filters: dict[str, Any], sort_by: str, descending: bool, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Trace rows matching exact-match ``filters``, sorted and paged."""

    @abc.abstractmethod
    async def update_trace(self, trace_id: str, changes: dict[str, Any]) -> bool:
        """Update fields of one trace (``updated_at`` set to now when absent); False if it is unknown."""

    @abc.abstractmethod
    async def delete_traces(self, *, statuses: Sequence[str], created_before: str) -> int:
        """Delete traces in one of ``statuses`` created before the timestamp; return how many."""

    @abc.abstractmethod
    async def insert_audit(self, row: dict[str, Any]) -> None:
        """Append one audit-log row."""

    @abc.abstractmethod
    async def list_audit(self, *, filters: dict[str, Any], limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
        """Audit rows matching exact-match ``filters`` (action, resource_type, resource_id,
        principal), newest first, paged; ``(rows, total)``."""

    # --- connectors (unversioned) --------------------------------------------------------------

    @abc.abstractmethod
    async def insert_connector(self, row: dict[str, Any]) -> None:
        """Insert one connector; StorageConflict when its id or name is taken."""

    @abc.abstractmethod
    async def get_connector(self, connector_id: str) -> dict[str, Any] | None:
        """One connector by id, or None."""

    @abc.abstractmethod
    async def list_connectors(
        self, *, filters: dict[str, Any], limit: int | None = None, offset: int = 0
    ) -> tuple[list[dict[str, Any]], int]:
        """Connectors matching exact-match ``filters`` (``enabled``, ``connector_type``, ``name``)
        by name ascending; ``limit=None`` returns all. ``(rows, total)``."""

    @abc.abstractmethod
    async def update_connector(self, connector_id: str, changes: dict[str, Any]) -> bool:
        """Update fields of one connector; False if it is unknown, StorageConflict on a taken name."""

    @abc.abstractmethod
    async def delete_connector(self, connector_id: str) -> bool:
        """Delete one connector; False if it is unknown."""

    # --- trace dead-letter queue ---------------------------------------------------------------

    @abc.abstractmethod
    async def insert_dlq(self, row: dict[str, Any]) -> None:
        """Insert one dead-letter entry."""

    @abc.abstractmethod
    async def due_dlq(self, now: str, limit: int) -> list[dict[str, Any]]:
        """Entries not exhausted (``retry_count < max_retries``) whose ``next_retry_at <= now``,
        earliest first, at most ``limit``."""

    @abc.abstractmethod
    async def update_dlq(self, entry_id: str, changes: dict[str, Any]) -> bool:
        """Update fields of one entry; False if it is unknown."""

    @abc.abstractmethod
    async def delete_dlq(self, entry_id: str) -> bool:
        """Delete one entry; False if it is unknown."""

    @abc.abstractmethod
    async def get_dlq(self, entry_id: str) -> dict[str, Any] | None:
        """One dead-letter entry by id, or None."""

    @abc.abstractmethod
    async def list_dlq(
        self, *, channel: str | None, exhausted: bool | None, limit: int, offset: int
    ) -> tuple[list[dict[str, Any]], int]:
        """Entries newest first, filtered by channel and by exhaustion (``retry_count >=
        max_retries``) when those are not None, paged; ``(rows, total)``."""

    @abc.abstractmethod
    async def purge_dlq(self, *, exhausted_only: bool, created_before: str | None) -> int:
        """Delete entries (only exhausted ones with ``exhausted_only``; only those created before
        the timestamp when given); return how many."""

    # --- the async queue ---------------------------------------------------------------------

    @abc.abstractmethod
    async def expired_async_jobs(self, now: str, limit: int) -> list[dict[str, Any]]:
        """Async jobs whose claim ran out (``lease_until < now``), oldest lease first, at most ``limit``."""

    # --- backups -------------------------------------------------------------------------------

    async def backup(self, path: str) -> None:
        """Write a consistent snapshot of the database to the file ``path`` (see ``supports_backup``)."""
        raise StorageError(f"Database backup via VACUUM INTO is only supported for SQLite (storage backend: {self.name})")
